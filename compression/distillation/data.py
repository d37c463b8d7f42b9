"""Datasets for the distillation trainer, held whole as tensors on the training device.

"digits" (scikit-learn's bundled 8x8 digits) always works offline and is the default. "mnist",
"fashion-mnist" and "cifar10" load through torchvision from a data folder; a download is tried only
when the server allows it, and fails fast when it cannot reach the internet.

Batches are index slices of these tensors (`x[idx]`), never a per-sample DataLoader.
"""

from __future__ import annotations

import gzip
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch


@dataclass(frozen=True)
class DatasetInfo:
    """What the form shows about a dataset, and the files it needs on disk (none for "digits")."""

    name: str
    title: str
    input_shape: tuple[int, int, int]
    """(channels, height, width)."""
    num_classes: int
    description: str
    folder: str | None = None
    """Sub-folder of the data folder torchvision reads; None for embedded data."""
    files: tuple[str, ...] = ()
    """Files torchvision expects inside `folder`."""


_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits",
        "Digits (8×8, scikit-learn, offline)",
        (1, 8, 8),
        10,
        "1,797 handwritten digits of 8×8 pixels, bundled with scikit-learn: always available, trains in seconds.",
    ),
    "mnist": DatasetInfo(
        "mnist",
        "MNIST (28×28)",
        (1, 28, 28),
        10,
        "70,000 handwritten digits (60,000 train, 10,000 test), the paper's dataset.",
        "MNIST/raw",
        _IDX_FILES,
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST (28×28)",
        (1, 28, 28),
        10,
        "70,000 grey images of clothes in 10 classes; harder than MNIST.",
        "FashionMNIST/raw",
        _IDX_FILES,
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        "CIFAR-10 (32×32 colour)",
        (3, 32, 32),
        10,
        "60,000 small colour photos in 10 classes; MLPs do poorly here, CNNs better.",
        "cifar-10-batches-py",
        ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta"),
    ),
}


class DatasetUnavailableError(ValueError):
    """A dataset's files are missing (and could not be downloaded). The message says where to put what."""


@dataclass
class TensorData:
    """A dataset as tensors: inputs standardised with the training split's mean and std.

    x_train: (N, C, H, W) float32; y_train: (N,) int64; the same for the test split.
    `background` is the standardised value of a blank (zero) pixel, used to pad shifted images.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    background: float

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def to(self, device: torch.device | str) -> TensorData:
        return TensorData(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.num_classes,
            self.background,
        )


def dataset_names() -> list[str]:
    return list(DATASETS)


def expected_files(name: str, data_dir: Path) -> list[Path]:
    """The files a dataset needs under `data_dir` (empty for "digits")."""
    info = _info(name)
    if info.folder is None:
        return []
    return [Path(data_dir) / info.folder / f for f in info.files]


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASETS)}.")
    return DATASETS[name]


def split_indices(n: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic shuffle of range(n) by `seed`, cut into train (round(train_fraction * n)) and test."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"The training fraction must be between 0 and 1 (exclusive), got {train_fraction}.")
    order = np.random.default_rng(seed).permutation(n)
    n_train = max(1, min(n - 1, round(train_fraction * n)))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    train_fraction: float = 0.2,
    data_dir: Path | str = "data",
    allow_download: bool = False,
    device: torch.device | str = "cpu",
) -> TensorData:
    """Load a dataset as standardised tensors on `device`.

    digits: the 1,797 images are split by `seed`: `train_fraction` of them train, the rest test.
    torchvision datasets: the official test set; `train_fraction` of the official training set, chosen by
    `seed` (1.0 keeps all of it). Inputs are scaled to [0, 1], then standardised with the training mean/std.
    """
    info = _info(name)
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        x_all = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
        y_all = torch.from_numpy(bunch.target.astype(np.int64))
        train_idx, test_idx = split_indices(len(y_all), train_fraction, seed)
        x_train, y_train = x_all[train_idx], y_all[train_idx]
        x_test, y_test = x_all[test_idx], y_all[test_idx]
    else:
        if not 0.0 < train_fraction <= 1.0:
            raise ValueError(f"The training fraction must be in (0, 1], got {train_fraction}.")
        x_train, y_train, x_test, y_test = _load_torchvision(info, Path(data_dir), allow_download)
        if train_fraction < 1.0:
            keep, _ = split_indices(len(y_train), train_fraction, seed)
            x_train, y_train = x_train[keep], y_train[keep]
    mean = x_train.mean()
    std = x_train.std().clamp_min(1e-6)
    return TensorData(
        name=name,
        x_train=((x_train - mean) / std).contiguous(),
        y_train=y_train.contiguous(),
        x_test=((x_test - mean) / std).contiguous(),
        y_test=y_test.contiguous(),
        num_classes=info.num_classes,
        background=float(-mean / std),
    ).to(device)


def _missing_message(info: DatasetInfo, data_dir: Path, missing: list[Path], extra: str = "") -> str:
    folder = data_dir / (info.folder or "")
    names = ", ".join(p.name for p in missing)
    return (
        f"The {info.title} files are not on this server. Expected in the folder {folder}: {names} "
        f"(MNIST-style files may also be gzipped, with .gz added). Put them there, or set "
        f"COMPRESSION_LAB_DATA_DIR to the folder holding them{extra}. The 'digits' dataset always works offline."
    )


def _ungzip_missing(folder: Path, files: tuple[str, ...]) -> None:
    """torchvision reads raw IDX files; unpack `name.gz` beside `name` when only the gzip is present."""
    for file in files:
        raw, packed = folder / file, folder / (file + ".gz")
        if not raw.exists() and packed.is_file():
            with gzip.open(packed, "rb") as src, open(raw, "wb") as dst:
                shutil.copyfileobj(src, dst)


def _can_reach(urls: list[str], timeout: float = 3.0) -> bool:
    for url in urls:
        parsed = urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            with socket.create_connection((parsed.hostname, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _load_torchvision(
    info: DatasetInfo, data_dir: Path, allow_download: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from torchvision import datasets as tv

    cls = {"mnist": tv.MNIST, "fashion-mnist": tv.FashionMNIST, "cifar10": tv.CIFAR10}[info.name]
    folder = data_dir / (info.folder or "")
    if info.name != "cifar10":
        try:
            _ungzip_missing(folder, info.files)
        except (OSError, EOFError) as exc:  # a read-only folder, a truncated .gz
            raise DatasetUnavailableError(
                f"The gzipped {info.title} files in {folder} could not be unpacked beside themselves ({exc}). "
                f"Unpack them there yourself ({', '.join(info.files)}), or make the folder writable."
            ) from exc
    missing = [p for p in expected_files(info.name, data_dir) if not p.is_file()]
    download = False
    if missing:
        if not allow_download:
            raise DatasetUnavailableError(
                _missing_message(
                    info, data_dir, missing, ", or let the server download them (COMPRESSION_LAB_ALLOW_DOWNLOAD=1)"
                )
            )
        mirrors = list(getattr(cls, "mirrors", [])) or [getattr(cls, "url", "https://www.cs.toronto.edu/")]
        if not _can_reach(mirrors):
            raise DatasetUnavailableError(
                _missing_message(
                    info, data_dir, missing, "; a download was tried but this server cannot reach the internet"
                )
            )
        download = True
    try:
        train = cls(root=str(data_dir), train=True, download=download)
        test = cls(root=str(data_dir), train=False, download=False)
    except (RuntimeError, OSError, ValueError, TypeError, AssertionError, IndexError, EOFError) as exc:
        raise DatasetUnavailableError(
            f"{info.title} could not be read from {folder}: {exc}. Check that the files are complete "
            f"and uncorrupted ({', '.join(info.files)})."
        ) from exc
    return (*_as_tensors(train), *_as_tensors(test))


def _as_tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001 - a torchvision dataset
    data = ds.data
    if isinstance(data, np.ndarray):  # CIFAR: (N, H, W, C) uint8
        x = torch.from_numpy(data).permute(0, 3, 1, 2).float() / 255.0
    else:  # MNIST family: (N, H, W) uint8 tensor
        x = data.float().unsqueeze(1) / 255.0
    y = torch.as_tensor(ds.targets, dtype=torch.int64)
    return x.contiguous(), y
