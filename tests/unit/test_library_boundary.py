"""compression/ is the library: it never imports streamlit or plotly, and its import graph has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "compression"
BANNED = ("streamlit", "plotly")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_library_never_imports_streamlit_or_plotly():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in LIBRARY.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in BANNED
    ]
    assert offenders == []


def test_ruff_bans_those_imports_in_the_library():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"TID251"' in text and '"streamlit".msg' in text and '"plotly".msg' in text


def test_the_quantization_package_has_no_import_cycle():
    package = LIBRARY / "quantization"
    graph = {}
    for path in package.glob("*.py"):
        if path.stem == "__init__":
            continue
        graph[path.stem] = {
            name.rsplit(".", 1)[1]
            for name in _imports(path)
            if name.startswith("compression.quantization.") and name.count(".") == 2
        }
    seen: dict[str, int] = {}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, " -> ".join((*stack, node))
        if seen.get(node):
            return
        for target in graph.get(node, ()):
            visit(target, (*stack, node))
        seen[node] = 1

    for node in graph:
        visit(node, ())
    assert {"schemes", "inputs", "core", "calibration", "quantizer", "formats", "sweep", "article"} <= set(graph)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the library that `path` imports at module level (not inside functions), `if TYPE_CHECKING:`
    blocks included: a type-only import back is still a cycle between two modules (engine -> trainer was one)."""
    found: set[str] = set()
    body = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while body:
        node = body.pop(0)
        if isinstance(node, (ast.If, ast.Try)):
            body.extend(node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                body.extend(handler.body)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                if child in modules:
                    found.add(child)
                elif node.module in modules:
                    found.add(node.module)
    return found


def test_the_whole_library_has_no_import_cycle():
    """Every module under compression/, packages included (ptq's CLI once imported ptq back)."""
    paths = list(LIBRARY.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = {}
    for path in paths:
        name = _module_name(path)
        # a module importing its own parent package is how Python packages work, not a cycle
        graph[name] = {m for m in _top_level_imports(path, modules) if not name.startswith(m + ".")}
    done: set[str] = set()

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, " -> ".join((*stack, node))
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, (*stack, node))
        done.add(node)

    for node in sorted(graph):
        visit(node, ())
    assert {"compression.ptq", "compression.ptq.cli", "compression.distillation.jobs"} <= set(graph)


def test_python_m_compression_ptq_runs_its_module_once():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "compression.ptq", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loads = [line for line in out.stderr.splitlines() if line.rstrip().endswith("compression.ptq.core")]
    assert len(loads) == 1, loads
