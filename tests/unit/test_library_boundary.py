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
