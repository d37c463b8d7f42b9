"""What the deployment runtime is, on which CPU: ONNX Runtime's presence and version, the CPU model, VNNI.

Nothing here imports onnxruntime at module level: a server without it still opens every page, and
`runtime_problem()` says what is missing in a sentence (the page shows it, the rest of the page works).

VNNI (AVX512-VNNI or AVX-VNNI on x86) is the instruction that multiplies int8 by int8 and accumulates in
int32 in one step; without it an int8 matrix product takes several instructions and can be slower than
float32 (ONNX Runtime's issues #20052 and #6695). On ARM the counterpart is the dot-product extension
("asimddp"), reported by the same flag.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from compression.i18n import DEFAULT_LANG, LabError, t

VNNI_FLAGS: tuple[str, ...] = ("avx512_vnni", "avx_vnni", "avx512vnni", "asimddp")


class DeployError(LabError):
    """A model or run that cannot be exported or measured; its text is a catalogue key under ``deploy.error``.

    A LabError (so a ValueError): ``str()`` is the English, pages show ``message(lang)``."""

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields
        ValueError.__init__(self, t(f"deploy.error.{key}", DEFAULT_LANG, **fields))

    def message(self, lang: str) -> str:
        return t(f"deploy.error.{self.key}", lang, **self.fields)


def _import_runtime() -> Any:
    import onnxruntime

    return onnxruntime


def runtime_problem(importer: Callable[[], Any] = _import_runtime) -> DeployError | None:
    """None when ONNX Runtime imports with its CPU provider and onnx and the exporter's onnxscript are installed;
    else the reason. (onnx and onnxscript are found, not imported: importing them takes seconds, a page should
    not pay that on every visit.)"""
    import importlib.util

    try:
        ort = importer()
        for name in ("onnx", "onnxscript"):
            if importlib.util.find_spec(name) is None:
                return DeployError("runtime_missing", name=name)
        if "CPUExecutionProvider" not in ort.get_available_providers():
            return DeployError("no_cpu_provider", providers=", ".join(ort.get_available_providers()))
    except ImportError as exc:
        return DeployError("runtime_missing", name=getattr(exc, "name", None) or str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken native library raises anything at import
        return DeployError("runtime_broken", problem=f"{type(exc).__name__}: {str(exc)[:200]}")
    return None


@cache
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what the platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@cache
def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if re.match(r"^(flags|features)\s*:", line.lower()):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def vnni_flags() -> list[str]:
    """The VNNI-like flags this CPU reports (empty when it has none, or the OS does not say)."""
    flags = cpu_flags()
    return [f for f in VNNI_FLAGS if f in flags]


def environment(threads: int) -> dict[str, Any]:
    """Beside every figure: the CPU, whether it has VNNI, the threads used, and the runtime's versions."""
    import onnx
    import onnxruntime
    import torch

    return {
        "cpu": cpu_model(),
        "has_vnni": bool(vnni_flags()),
        "vnni_flags": vnni_flags(),
        "cores": os.cpu_count() or 1,
        "threads": int(threads),
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "torch": torch.__version__.split("+")[0],
        "machine": platform.machine(),
    }
