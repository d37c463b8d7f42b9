"""Export a trained model to ONNX as one self-contained file that takes the dataset's own inputs.

The lab's models see standardised inputs, z = (x - mean) / std, with the training split's mean and std
(`compression.distillation.data.load_dataset`). A deployed file should take what a user has: float32 images
in [0, 1], in the dataset's own shape ([N, 1, 8, 8] for digits). So the exported graph is

    logits = model((x - mean) / std)          x: float32 [N, C, H, W] in [0, 1], N dynamic

with mean and std stored in the file (a Sub and a Div before the first layer). The exporter is torch's
default (dynamo, `torch.onnx.export(..., dynamo=True)`, which needs `onnxscript`), asked for a dynamic batch
dimension and for no external-data side file (`external_data=False`), so one `.onnx` file carries every
weight. Files are written beside their final name and renamed into place: a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compression.deploy.runtime import DeployError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
EXAMPLE_BATCH = 2
"""The export traces a batch of 2: a batch of 1 could be specialised into the graph."""


class Standardize(nn.Module):
    """z = (x - mean) / std with the training split's scalar mean and std (as `load_dataset` computes them)."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(float(std), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


@dataclass(frozen=True)
class RunInputs:
    """A run's inputs as a deployed model receives them: [0, 1] scale, the dataset's own shape."""

    mean: float
    std: float
    x_train: torch.Tensor
    x_test: torch.Tensor

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_test.shape[1:])


def run_inputs(loaded: Any, *, data_dir: Path | str = "data", allow_download: bool = False) -> RunInputs:
    """The run's training and test inputs in [0, 1] and the mean/std the trainer standardised them with.

    `loaded` is a `compression.ptq.StoredRunModels`. The raw split is rebuilt exactly as `load_dataset` does
    (same loader, seed and training fraction) and checked against the loaded standardised tensors, so the
    exported files see the very inputs the models were trained on.
    """
    from compression.distillation.data import DATASETS, split_indices

    config = loaded.config
    name = config["dataset"]
    if name not in DATASETS:
        raise DeployError("unknown_dataset", dataset=name)
    info = DATASETS[name]
    seed = int(config.get("seed", 0))
    fraction = float(config.get("train_fraction", 0.2))
    x_train, y_train, x_test, _ = info.loader(info, Path(data_dir), allow_download)
    if x_test is None:
        train_idx, test_idx = split_indices(len(y_train), fraction, seed)
        x_train, x_test = x_train[train_idx], x_train[test_idx]
    elif fraction < 1.0:
        keep, _ = split_indices(len(y_train), fraction, seed)
        x_train = x_train[keep]
    x_train, x_test = x_train.float().contiguous(), x_test.float().contiguous()
    mean = x_train.mean()
    std = x_train.std().clamp_min(1e-6)
    standardised = (x_test - mean) / std
    if standardised.shape != loaded.x_test.shape or not torch.allclose(standardised, loaded.x_test.cpu(), atol=1e-5):
        raise DeployError("inputs_mismatch", dataset=name)
    return RunInputs(float(mean), float(std), x_train, x_test)


def deployable(model: nn.Module, inputs: RunInputs) -> nn.Sequential:
    """The graph a deployed file holds: standardisation, then a copy of `model` in eval mode."""
    import copy

    return nn.Sequential(
        OrderedDict(
            [("standardize", Standardize(inputs.mean, inputs.std)), ("model", copy.deepcopy(model).cpu().eval())]
        )
    ).eval()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter reports its steps and deprecations on stdout and as warnings; a job or page wants neither."""
    import io
    from contextlib import redirect_stdout

    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _first_line(exc: BaseException, limit: int = 240) -> str:
    """The gist of an exporter's error: its first meaningful line (the exporter wraps the cause in a report)."""
    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and type(exc).__name__ in ("TorchExportError", "ConversionError"):
        text = str(cause) or text
        exc = cause
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    gist = lines[0] if lines else type(exc).__name__
    return f"{type(exc).__name__}: {gist}"[:limit]


def _export(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            external_data=False,
            dynamo=True,
        )


def failing_layer(model: nn.Module, example: torch.Tensor) -> tuple[str, str, str] | None:
    """(name, kind, reason) of the first layer of a Sequential that does not export on its own, or None."""
    modules: list[tuple[str, nn.Module]] = []

    def flatten(prefix: str, module: nn.Module) -> None:
        if isinstance(module, nn.Sequential):
            for name, child in module.named_children():
                flatten(f"{prefix}.{name}" if prefix else name, child)
        else:
            modules.append((prefix, module))

    flatten("", model)
    x = example
    with tempfile.TemporaryDirectory(prefix="lab-export-probe-") as folder:
        for name, module in modules:
            try:
                _export(module, x, Path(folder) / "layer.onnx")
            except Exception as exc:  # noqa: BLE001 - any exporter failure is the answer we look for
                return name, type(module).__name__, _first_line(exc)
            with torch.no_grad():
                x = module(x)
    return None


def _layer_name(name: str) -> str:
    """'model.3' -> '3' (the layer's name in the lab's model, as the Compress page's tables name it)."""
    return name.removeprefix("model.") if name.startswith("model.") else name


def write_error(folder: Path, exc: OSError) -> DeployError:
    """A full or read-only disk as a message naming the folder and its free space."""
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    except OSError:
        free = 0
    problem = "no space left" if exc.errno == errno.ENOSPC else (exc.strerror or type(exc).__name__)
    return DeployError("write_failed", folder=str(folder), problem=problem, free_mb=free / 1e6)


def prepare_folder(folder: Path) -> Path:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    return folder


def export_float32(model: nn.Module, inputs: RunInputs, path: Path | str) -> Path:
    """Write `model` (standardisation included) to `path` as one ONNX file with a dynamic batch dimension.

    DeployError naming the layer and the reason when the exporter refuses the model, or naming the folder when
    the file cannot be written.
    """
    path = Path(path)
    prepare_folder(path.parent)
    graph = deployable(model, inputs)
    example = inputs.x_train[:EXAMPLE_BATCH].contiguous()
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        _export(graph, example, partial)
        if partial.with_name(partial.name + ".data").exists():  # never expected with external_data=False
            raise DeployError("side_file", file=path.name)
        os.replace(partial, path)
    except OSError as exc:
        raise write_error(path.parent, exc) from None
    except DeployError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; name the layer that caused it
        found = failing_layer(graph, example)
        if found is None:
            raise DeployError("export_failed", layer="-", kind=type(model).__name__, reason=_first_line(exc)) from None
        name, kind, reason = found
        raise DeployError("export_failed", layer=_layer_name(name), kind=kind, reason=reason) from None
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".data")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return path
