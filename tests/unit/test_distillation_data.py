"""Datasets: digits offline, deterministic splits, the MNIST path on tiny IDX files, missing-file messages."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from compression.distillation import data as data_module
from compression.distillation.data import DatasetUnavailableError, expected_files, load_dataset, split_indices
from compression.distillation.models import shift_batch


def test_digits_loads_offline_standardised_with_a_20_percent_training_split():
    d = load_dataset("digits", seed=0, train_fraction=0.2)
    assert d.x_train.shape == (359, 1, 8, 8) and d.x_test.shape == (1797 - 359, 1, 8, 8)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert abs(d.x_train.mean().item()) < 1e-4 and d.x_train.std().item() == pytest.approx(1.0, abs=1e-3)
    assert set(d.y_train.tolist()) == set(range(10))
    # a blank pixel standardised is the minimum value
    assert d.background == pytest.approx(d.x_train.min().item(), abs=1e-5)


def test_split_is_deterministic_by_seed_and_disjoint():
    a_train, a_test = split_indices(1797, 0.2, seed=3)
    b_train, b_test = split_indices(1797, 0.2, seed=3)
    c_train, _ = split_indices(1797, 0.2, seed=4)
    np.testing.assert_array_equal(a_train, b_train)
    assert not np.array_equal(a_train, c_train)
    assert set(a_train).isdisjoint(a_test) and len(a_train) + len(a_test) == 1797


def _write_idx(path: Path, array: np.ndarray, packed: bool) -> None:
    """IDX (the MNIST file format): magic 0x0000 0x08 ndim, big-endian sizes, then uint8 data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if packed:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A 30-train / 12-test MNIST in torchvision's layout: training files gzipped, test files raw."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(30) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "t10k-labels-idx1-ubyte": (np.arange(12) * 7) % 10,
    }
    for name, array in arrays.items():
        _write_idx(raw / name, array, packed=name.startswith("train"))
    return tmp_path, arrays


def test_mnist_path_reads_tiny_idx_files_through_torchvision(tiny_mnist):
    root, arrays = tiny_mnist
    d = load_dataset("mnist", data_dir=root, train_fraction=1.0)
    assert d.x_train.shape == (30, 1, 28, 28) and d.x_test.shape == (12, 1, 28, 28)
    assert d.y_train.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert d.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # standardised with the training mean/std of pixels scaled to [0, 1]
    pixels = arrays["train-images-idx3-ubyte"] / 255.0
    expected_first = (pixels[0] - pixels.mean()) / pixels.std(ddof=1)
    np.testing.assert_allclose(d.x_train[0, 0].numpy(), expected_first, rtol=1e-4, atol=1e-4)
    # a fraction of the official training set, chosen by seed
    assert len(load_dataset("mnist", data_dir=root, train_fraction=0.5, seed=1).y_train) == 15


def test_missing_files_name_the_folder_and_the_files(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        assert name in message
    assert "COMPRESSION_LAB_ALLOW_DOWNLOAD" in message and "digits" in message
    assert [p.name for p in expected_files("cifar10", tmp_path)][:2] == ["data_batch_1", "data_batch_2"]


def test_download_fails_fast_when_the_internet_is_unreachable(tmp_path, monkeypatch):
    # The network is the one part that cannot be exercised here: pretend every mirror is unreachable.
    monkeypatch.setattr(data_module, "_can_reach", lambda urls, timeout=3.0: False)
    with pytest.raises(DatasetUnavailableError, match="cannot reach the internet"):
        load_dataset("mnist", data_dir=tmp_path, allow_download=True)


def test_corrupt_files_are_a_message_not_a_crash(tiny_mnist):
    root, _ = tiny_mnist
    (root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(DatasetUnavailableError, match="could not be read"):
        load_dataset("mnist", data_dir=root)


def test_unknown_dataset_and_bad_fraction_are_refused():
    with pytest.raises(ValueError, match="Unknown dataset 'imagenet'"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="training fraction"):
        load_dataset("digits", train_fraction=1.0)


def test_shift_batch_moves_each_image_by_at_most_one_pixel():
    x = torch.zeros(64, 1, 8, 8)
    x[:, 0, 4, 4] = 1.0
    shifted = shift_batch(x, torch.Generator().manual_seed(0), background=0.0)
    assert shifted.shape == x.shape
    positions = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = positions // 8, positions % 8
    assert set(rows.tolist()) == {3, 4, 5} and set(cols.tolist()) == {3, 4, 5}
    again = shift_batch(x, torch.Generator().manual_seed(0), background=0.0)
    torch.testing.assert_close(shifted, again)


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    rng = np.random.default_rng(1)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    labels = np.arange(20) % 10
    for name, array in {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte": labels,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte": labels[:10],
    }.items():
        _write_idx(raw / name, array, packed=True)
    d = load_dataset("fashion-mnist", data_dir=tmp_path, train_fraction=1.0)
    assert d.x_train.shape == (20, 1, 28, 28) and d.y_test.tolist() == labels[:10].tolist()
    with pytest.raises(DatasetUnavailableError, match="MNIST"):  # MNIST's folder is not Fashion-MNIST's
        load_dataset("mnist", data_dir=tmp_path)


def test_a_truncated_gzip_is_a_message_not_a_crash(tiny_mnist):
    root, _ = tiny_mnist
    raw = root / "MNIST" / "raw"
    (raw / "train-images-idx3-ubyte").unlink(missing_ok=True)
    packed = raw / "train-images-idx3-ubyte.gz"
    packed.write_bytes(packed.read_bytes()[:100])
    with pytest.raises(DatasetUnavailableError, match="could not be"):
        load_dataset("mnist", data_dir=root)


def test_cifar10_batches_become_channels_first_tensors(tmp_path, monkeypatch):
    """CIFAR-10's python pickles in torchvision's layout. torchvision checks each file's md5 against the real
    dataset, which tiny files cannot match: only that check is bypassed; the files are read for real."""
    import pickle

    from torchvision.datasets import cifar

    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    images = {}
    for name, n in [*((f"data_batch_{i}", 4) for i in range(1, 6)), ("test_batch", 6)]:
        hwc = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        images[name] = hwc
        flat = hwc.transpose(0, 3, 1, 2).reshape(n, 3072)  # CIFAR stores each image as R plane, G, B
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": flat, "labels": list(rng.integers(0, 10, n))}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, fh)
    d = load_dataset("cifar10", data_dir=tmp_path, train_fraction=1.0)
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (6, 3, 32, 32)
    # channels first and standardised: undo the standardisation and compare with the first image's planes
    first = images["data_batch_1"][0].transpose(2, 0, 1) / 255.0  # CHW
    restored = d.x_train[0].numpy()
    corr = np.corrcoef(restored.ravel(), first.ravel())[0, 1]
    assert corr > 0.999
