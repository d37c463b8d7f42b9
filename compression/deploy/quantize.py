"""Real int8 in ONNX Runtime: quantize an exported float32 file with ONNX Runtime's own tools.

    static  (default): quant_pre_process (shape inference, graph clean-up), then quantize_static in QDQ
                       format: signed int8 activations and weights (S8S8), weights per output channel,
                       activation ranges by min-max over training batches of the run's own data. Each layer
                       becomes DequantizeLinear -> op -> QuantizeLinear, which ONNX Runtime fuses into
                       integer kernels (its first choice on x86; VNNI does the int8 dot products).
    dynamic:           quantize_dynamic: int8 weights per channel; each layer's input is quantized at run time
                       from the batch's own range (DynamicQuantizeLinear -> MatMulInteger / ConvInteger).

Bitwidths below 8 have no ONNX Runtime CPU kernel here: they are not exported (`NO_KERNEL_BITS`), and no
speed is ever claimed for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compression.deploy.export import INPUT_NAME, write_error
from compression.deploy.runtime import DeployError

QUANT_MODES: tuple[str, ...] = ("static", "dynamic")
CALIBRATION_BATCH_SIZE = 64
NO_KERNEL_BITS: tuple[int, ...] = (2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class Int8File:
    path: Path
    mode: str
    int8_weights: list[str]
    """Initializers stored as int8 (the quantized weights and zero points)."""
    float_ops: list[str]
    """Compute ops left in float32 (op types that ONNX Runtime's quantizer did not convert)."""


def check_mode(mode: str) -> str:
    value = str(mode).strip().lower()
    if value not in QUANT_MODES:
        raise DeployError("bad_mode", mode=str(mode)[:40], modes=", ".join(QUANT_MODES))
    return value


class _Batches:
    """ONNX Runtime's CalibrationDataReader over fixed training inputs, CALIBRATION_BATCH_SIZE at a time."""

    def __init__(self, inputs: np.ndarray, batch_size: int = CALIBRATION_BATCH_SIZE) -> None:
        self._batches = iter([inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """ORT's quantizer logs advice at WARNING through the root logger; keep a job's log to what matters."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def int8_initializers(path: Path | str) -> list[str]:
    """Names of the file's int8 initializers (ONNX TensorProto.INT8)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return [init.name for init in model.graph.initializer if init.data_type == onnx.TensorProto.INT8]


COMPUTE_OPS = ("Conv", "Gemm", "MatMul")


def float_compute_ops(path: Path | str) -> list[str]:
    """Conv/Gemm/MatMul nodes whose weight input is not produced by a DequantizeLinear (so they run in float)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    from_dequant = {out for node in model.graph.node if node.op_type == "DequantizeLinear" for out in node.output}
    return [
        node.name or node.op_type
        for node in model.graph.node
        if node.op_type in COMPUTE_OPS and len(node.input) > 1 and node.input[1] not in from_dequant
    ]


def quantize_int8(float_path: Path | str, out_path: Path | str, mode: str, calibration: np.ndarray | None) -> Int8File:
    """Write the int8 version of `float_path` to `out_path` (one self-contained file); see the module doc.

    `calibration`: training inputs in the graph's own scale ([0, 1], float32), needed for static mode.
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    mode = check_mode(mode)
    float_path, out_path = Path(float_path), Path(out_path)
    if mode == "static" and (calibration is None or len(calibration) == 0):
        raise DeployError("no_calibration")
    pre = out_path.with_name(f".{out_path.name}.{os.getpid()}.pre.onnx")
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
    try:
        with _quiet_quantizer():
            quant_pre_process(str(float_path), str(pre))
            if mode == "static":
                quantize_static(
                    str(pre),
                    str(partial),
                    _Batches(np.asarray(calibration, dtype=np.float32)),
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    calibrate_method=CalibrationMethod.MinMax,
                )
            else:
                quantize_dynamic(str(pre), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(partial, out_path)
    except OSError as exc:
        raise write_error(out_path.parent, exc) from None
    except DeployError:
        raise
    except Exception as exc:  # noqa: BLE001 - ORT's quantizer raises many types; say which step and why
        raise DeployError("quantize_failed", mode=mode, reason=f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        for leftover in (pre, partial, pre.with_name(pre.name + ".data"), partial.with_name(partial.name + ".data")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Int8File(out_path, mode, int8_initializers(out_path), float_compute_ops(out_path))
