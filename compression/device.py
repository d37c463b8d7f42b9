"""Which device training uses (CUDA > MPS > CPU) and what to show about it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    """What the sidebar shows about a device."""

    device: str
    """torch device string, e.g. "cuda:0" or "cpu"."""
    kind: str
    """"cuda", "mps" or "cpu"."""
    name: str
    total_memory_bytes: int | None
    free_memory_bytes: int | None
    torch_version: str
    cuda_version: str | None
    cpu_threads: int
    """Threads torch uses for intra-op parallelism in this process."""
    cpu_count: int

    @property
    def summary(self) -> str:
        """One line, e.g. "CUDA: NVIDIA H200 (139.8 GiB, 120.1 GiB free)"."""
        label = {"cuda": "CUDA", "mps": "Apple MPS", "cpu": "CPU"}[self.kind]
        text = f"{label}: {self.name}"
        if self.total_memory_bytes is not None:
            text += f" ({format_bytes(self.total_memory_bytes)}"
            if self.free_memory_bytes is not None:
                text += f", {format_bytes(self.free_memory_bytes)} free"
            text += ")"
        return text


def format_bytes(n: int) -> str:
    """Human-readable binary size: 1536 -> "1.5 KiB"."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device choices a form may offer: "auto", "cpu", then "cuda"/"mps" where present."""
    choices = ["auto", "cpu"]
    if torch.cuda.is_available():
        choices.append("cuda")
        choices.extend(f"cuda:{i}" for i in range(torch.cuda.device_count()) if torch.cuda.device_count() > 1)
    if mps_available():
        choices.append("mps")
    return choices


def resolve_device(preference: str = "auto") -> torch.device:
    """Turn "auto"/"cpu"/"cuda"/"cuda:N"/"mps" into a torch.device, CUDA > MPS > CPU for "auto".

    Raises ValueError, with what to do, for an unknown name or an absent accelerator.
    """
    pref = (preference or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "mps":
        if not mps_available():
            raise ValueError("Device 'mps' was asked for, but this server has no Apple GPU. Choose 'auto' or 'cpu'.")
        return torch.device("mps")
    if pref == "cuda" or pref.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError("Device 'cuda' was asked for, but this server has no CUDA GPU. Choose 'auto' or 'cpu'.")
        index_text = pref.partition(":")[2] or str(torch.cuda.current_device())
        if not index_text.isdigit() or int(index_text) >= torch.cuda.device_count():
            raise ValueError(
                f"Device {preference!r} does not exist: this server has {torch.cuda.device_count()} CUDA GPU(s), "
                f"numbered 0 to {torch.cuda.device_count() - 1}."
            )
        return torch.device("cuda", int(index_text))
    raise ValueError(f"Unknown device {preference!r}. Choose one of: {', '.join(DEVICE_CHOICES)} (or cuda:N).")


def device_info(preference: str = "auto") -> DeviceInfo:
    """Describe the device `resolve_device(preference)` picks: name, memory, versions, CPU threads."""
    device = resolve_device(preference)
    total = free = None
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        try:
            free, total = torch.cuda.mem_get_info(device)
        except RuntimeError:  # a busy or broken driver: show what we can
            total = torch.cuda.get_device_properties(device).total_memory
    elif device.type == "mps":
        name = "Apple Silicon GPU"
    else:
        name = _cpu_name()
    return DeviceInfo(
        device=str(device),
        kind=device.type,
        name=name,
        total_memory_bytes=total,
        free_memory_bytes=free,
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
        cpu_threads=torch.get_num_threads(),
        cpu_count=os.cpu_count() or 1,
    )


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "CPU"
