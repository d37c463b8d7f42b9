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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from compression.i18n import t

RawSplits = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]
"""What a loader returns: x_train (N, C, H, W) float32 in [0, 1], y_train (N,) int64, and the official test
split the same way, or (None, None) when the dataset has none (it is then cut by `train_fraction`)."""

Loader = Callable[["DatasetInfo", Path, bool], RawSplits]
"""loader(info, data_dir, allow_download) -> RawSplits; raises DatasetUnavailableError when files are missing."""


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset: what the form shows, how to load it, its sizes, its default run and the files it needs.

    Adding a dataset is one entry of `DATASETS` (see the README's "Extending"); the trainer, the work
    estimate, the page, the CLI and the store read everything from here.
    """

    name: str
    title: str
    input_shape: tuple[int, int, int]
    """(channels, height, width)."""
    num_classes: int
    description: str
    loader: Loader
    train_pool: int
    """Training examples before any fraction is taken (all of digits; the official training split otherwise)."""
    test_size: int
    """Test examples (for digits: what the default 20 % training split leaves)."""
    default_epochs: int
    """Student epochs of the default run (fits the default work budget on one CPU thread)."""
    default_batch_size: int
    test_from_pool: bool = False
    """True when there is no official test split: the loader returns (x, y, None, None) and what the training
    fraction leaves is the test set."""
    default_teacher: str = "cnn-small"
    default_teacher_epochs: int | None = None
    """Teacher epochs of the default run; None: the teacher preset's."""
    default_train_fraction: float = 1.0
    """Share of `train_pool` used for training by default; without an official test split the rest tests."""
    max_train_fraction: float = 1.0
    background: float = 0.0
    """Value of a blank pixel before standardisation (pads shifted images)."""
    folder: str | None = None
    """Sub-folder of the data folder holding the files; None for embedded data."""
    files: tuple[str, ...] = ()
    """Files expected inside `folder`."""
    gzip_ok: bool = False
    """Whether each file may also be present gzipped (name + .gz), as MNIST's are distributed."""


def _load_digits(info: DatasetInfo, data_dir: Path, allow_download: bool) -> RawSplits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x_all = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    y_all = torch.from_numpy(bunch.target.astype(np.int64))
    return x_all, y_all, None, None


def _load_torchvision_dataset(info: DatasetInfo, data_dir: Path, allow_download: bool) -> RawSplits:
    return _load_torchvision(info, data_dir, allow_download)


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
        loader=_load_digits,
        train_pool=1797,
        test_size=1797 - 359,
        test_from_pool=True,
        default_epochs=1000,
        default_batch_size=64,
        default_train_fraction=0.2,
        max_train_fraction=0.95,
    ),
    "mnist": DatasetInfo(
        "mnist",
        "MNIST (28×28)",
        (1, 28, 28),
        10,
        "70,000 handwritten digits (60,000 train, 10,000 test), the paper's dataset.",
        loader=_load_torchvision_dataset,
        train_pool=60_000,
        test_size=10_000,
        default_epochs=20,
        default_batch_size=128,
        default_teacher="mlp-1200x2",
        default_teacher_epochs=5,
        folder="MNIST/raw",
        files=_IDX_FILES,
        gzip_ok=True,
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST (28×28)",
        (1, 28, 28),
        10,
        "70,000 grey images of clothes in 10 classes; harder than MNIST.",
        loader=_load_torchvision_dataset,
        train_pool=60_000,
        test_size=10_000,
        default_epochs=20,
        default_batch_size=128,
        default_teacher="mlp-1200x2",
        default_teacher_epochs=5,
        folder="FashionMNIST/raw",
        files=_IDX_FILES,
        gzip_ok=True,
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        "CIFAR-10 (32×32 colour)",
        (3, 32, 32),
        10,
        "60,000 small colour photos in 10 classes; MLPs do poorly here, CNNs better.",
        loader=_load_torchvision_dataset,
        train_pool=50_000,
        test_size=10_000,
        default_epochs=10,
        default_batch_size=128,
        default_teacher="mlp-1200x2",
        default_teacher_epochs=4,
        folder="cifar-10-batches-py",
        files=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
               "batches.meta"),
    ),
}  # fmt: skip


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


def missing_files(name: str, data_dir: Path | str) -> list[Path]:
    """The expected files that are not under `data_dir` (a gzipped copy counts where the format allows it)."""
    info = _info(name)
    return [
        p
        for p in expected_files(name, Path(data_dir))
        if not p.is_file() and not (info.gzip_ok and p.with_name(p.name + ".gz").is_file())
    ]


def dataset_available(name: str, data_dir: Path | str) -> bool:
    """Whether the dataset can be loaded on this server without a download."""
    return not missing_files(name, data_dir)


def missing_message(name: str, data_dir: Path | str, extra: str = "", lang: str = "en") -> str:
    """What a dataset needs on this server: its folder and each missing file (in `lang`, a catalogue's code)."""
    info = _info(name)
    return _missing_message(info, Path(data_dir), missing_files(name, data_dir), extra, lang)


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
    x_train, y_train, x_test, y_test = info.loader(info, Path(data_dir), allow_download)
    if x_test is None or y_test is None:
        train_idx, test_idx = split_indices(len(y_train), train_fraction, seed)
        x_train, y_train, x_test, y_test = x_train[train_idx], y_train[train_idx], x_train[test_idx], y_train[test_idx]
    else:
        if not 0.0 < train_fraction <= 1.0:
            raise ValueError(f"The training fraction must be in (0, 1], got {train_fraction}.")
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
        background=float((info.background - mean) / std),
    ).to(device)


def _missing_message(info: DatasetInfo, data_dir: Path, missing: list[Path], extra: str = "", lang: str = "en") -> str:
    folder = data_dir / (info.folder or "")
    names = ", ".join(p.name for p in missing)
    gz = t("errors.data.gz", lang) if info.gzip_ok else ""
    return t("errors.data.missing", lang, title=info.title, folder=folder, names=names, gz=gz, extra=extra)


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
    if info.gzip_ok:
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
