from __future__ import annotations

import pytest
import torch

from compression import device as dev


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    assert dev.resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(dev, "mps_available", lambda: True)
    assert dev.resolve_device("auto") == torch.device("mps")
    # CUDA cannot run here: mock the query functions only.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert dev.resolve_device("auto") == torch.device("cuda", 0)


def test_cpu_info_is_real():
    info = dev.device_info("cpu")
    assert info.kind == "cpu" and info.device == "cpu"
    assert info.name
    assert info.torch_version == torch.__version__
    assert info.cpu_threads == torch.get_num_threads() >= 1
    assert info.total_memory_bytes is None
    assert info.summary.startswith("CPU: ")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tpu", "Unknown device 'tpu'"),
        ("cuda:x", "CUDA"),
    ],
)
def test_unknown_or_absent_device_is_a_clear_error(name, message, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=message):
        dev.resolve_device(name)


def test_absent_cuda_and_mps_name_the_fix(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU. Choose 'auto' or 'cpu'"):
        dev.resolve_device("cuda")
    with pytest.raises(ValueError, match="no Apple GPU"):
        dev.resolve_device("mps")
    assert dev.available_devices() == ["auto", "cpu"]


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert dev.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match="numbered 0 to 0"):
        dev.resolve_device("cuda:3")


def test_cuda_info_reports_memory(monkeypatch):
    """The GPU path, with torch's CUDA queries mocked (no GPU on CI)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d: (100 * 2**30, 140 * 2**30))
    info = dev.device_info("auto")
    assert info.kind == "cuda" and info.device == "cuda:0"
    assert info.summary == "CUDA: NVIDIA H200 (140.0 GiB, 100.0 GiB free)"


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1536, "1.5 KiB"), (3 * 2**30, "3.0 GiB")])
def test_format_bytes(n, text):
    assert dev.format_bytes(n) == text
