"""Export a stored run's models to ONNX (float32 and int8), then measure them in ONNX Runtime on this CPU.

For each model × format it reports

    file_bytes          the .onnx file's size on disk
    test_accuracy       on the run's own test set, inputs in [0, 1] as the file receives them
    agreement_float32   share of test inputs whose top-1 class equals the float32 torch model's
    agreement_fakequant int8 only: the same against the lab's own simulation at 8 bits (per-channel symmetric
                        weights, plus 8-bit activations calibrated on the same training batches in static mode)
    latency_ms          per batch size: ms per call, median of interleaved rounds after a warm-up
    throughput          examples per second at the largest batch size

int8 is compared with the same runtime's float32 only. Bitwidths below 8 get a row from the lab's simulation
(accuracy and agreement) with no file and no latency: ONNX Runtime has no CPU kernel for them here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from compression.deploy import measure
from compression.deploy.export import RunInputs, export_float32, prepare_folder, run_inputs
from compression.deploy.quantize import NO_KERNEL_BITS, check_mode, quantize_int8
from compression.deploy.runtime import DeployError, environment, runtime_problem
from compression.distillation.trainer import TrainingCancelled

FLOAT32, INT8 = "float32", "int8"
DEFAULT_MODELS: tuple[str, ...] = ("teacher", "student", "baseline")
DEFAULT_FORMATS: tuple[str, ...] = (FLOAT32, INT8)
DEFAULT_BATCH_SIZES: tuple[int, ...] = (1, 256)
DEFAULT_ROUNDS = 7
MAX_ROUNDS = 50
MAX_BATCH = 4096
MAX_BATCH_SIZES = 4
EVAL_CHUNK = 256


class BenchmarkCancelled(TrainingCancelled):
    """should_stop() turned true: the benchmark stopped between two steps (no partial result is returned).

    A TrainingCancelled, so the job queue's existing cancel handling stops it like a cancelled training."""


def file_name(role: str, fmt: str) -> str:
    """DIR/<model>-float32.onnx, DIR/<model>-int8.onnx."""
    return f"{role}-{fmt}.onnx"


def parse_format(fmt: str) -> str:
    """ "float32", "int8", or "int2".."int7" (those get a simulated row and no file: no CPU kernel)."""
    value = str(fmt).strip().lower()
    if value in (FLOAT32, INT8):
        return value
    if value.startswith("int") and value[3:].isdigit() and int(value[3:]) in NO_KERNEL_BITS:
        return value
    raise DeployError("bad_format", format=str(fmt)[:40])


@dataclass(frozen=True)
class BenchmarkRequest:
    """What to export and measure; every field is plain data (a job payload holds the same)."""

    run_id: str
    models: tuple[str, ...] = DEFAULT_MODELS
    formats: tuple[str, ...] = DEFAULT_FORMATS
    quant_mode: str = "static"
    threads: int = 1
    rounds: int = DEFAULT_ROUNDS
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    measure_speed: bool = True

    def __post_init__(self) -> None:
        from compression import ptq

        if not self.models:
            raise DeployError("no_models")
        for role in self.models:
            if role not in ptq.ROLES:
                raise DeployError("bad_model", model=str(role)[:40], models=", ".join(ptq.ROLES))
        formats = tuple(dict.fromkeys(parse_format(f) for f in self.formats))
        if FLOAT32 not in formats:  # int8 is only ever compared with the same runtime's float32
            formats = (FLOAT32, *formats)
        object.__setattr__(self, "formats", formats)
        object.__setattr__(self, "quant_mode", check_mode(self.quant_mode))
        object.__setattr__(self, "models", tuple(dict.fromkeys(self.models)))
        threads, rounds = _whole(self.threads, "threads"), _whole(self.rounds, "rounds")
        if not 1 <= threads <= 64:
            raise DeployError("bad_number", name="threads", value=threads, low=1, high=64)
        if not 1 <= rounds <= MAX_ROUNDS:
            raise DeployError("bad_number", name="rounds", value=rounds, low=1, high=MAX_ROUNDS)
        sizes = tuple(sorted(dict.fromkeys(_whole(b, "batch size") for b in self.batch_sizes)))
        if not sizes or len(sizes) > MAX_BATCH_SIZES or sizes[0] < 1 or sizes[-1] > MAX_BATCH:
            raise DeployError("bad_batches", most=MAX_BATCH_SIZES, high=MAX_BATCH)
        object.__setattr__(self, "threads", threads)
        object.__setattr__(self, "rounds", rounds)
        object.__setattr__(self, "batch_sizes", sizes)

    @property
    def exported_formats(self) -> tuple[str, ...]:
        return tuple(f for f in self.formats if f in (FLOAT32, INT8))

    @property
    def simulated_bits(self) -> tuple[int, ...]:
        return tuple(int(f[3:]) for f in self.formats if f not in (FLOAT32, INT8))


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | str):
        raise DeployError("bad_number", name=name, value=str(value)[:20], low=1, high=MAX_BATCH)
    try:
        return int(value)
    except ValueError:
        raise DeployError("bad_number", name=name, value=str(value)[:20], low=1, high=MAX_BATCH) from None


@dataclass
class _Progress:
    on_event: Callable[[dict[str, Any]], None]
    should_stop: Callable[[], bool]
    total: int
    done: int = 0

    def step(self, phase: str, key: str, advance: int = 1, **params: Any) -> None:
        if self.should_stop():
            raise BenchmarkCancelled("The benchmark was cancelled.")
        self.done = self.total if phase == "done" else min(self.total - 1, self.done + advance)
        self.on_event(
            {
                "phase": phase,
                "done": self.done,
                "total": self.total,
                "message_key": f"deploy.progress.{key}",
                "params": params,
            }
        )

    def check(self) -> None:
        if self.should_stop():
            raise BenchmarkCancelled("The benchmark was cancelled.")


@dataclass
class _Contender:
    role: str
    fmt: str
    path: Path
    session: Any = None
    row: dict[str, Any] = field(default_factory=dict)


def _macs(loaded: Any, role: str) -> int:
    from compression.distillation.budget import model_cost
    from compression.distillation.data import DATASETS
    from compression.distillation.models import parse_model

    architecture = loaded.config["teacher"] if role == "teacher" else loaded.config["student"]
    classes = DATASETS[loaded.config["dataset"]].num_classes
    return model_cost(parse_model(architecture), tuple(loaded.x_test.shape[1:]), classes).macs


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


def run_benchmark_request(
    store: Any,
    request: BenchmarkRequest,
    out_dir: Path | str,
    *,
    data_dir: Path | str = "data",
    allow_download: bool = False,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Export, quantize, evaluate and (request.measure_speed) time every model × format; a plain JSON dict."""
    problem = runtime_problem()
    if problem is not None:
        raise problem
    from compression import ptq
    from compression.deploy.verdict import verdicts

    started = time.perf_counter()
    n_files = len(request.models) * len(request.exported_formats)
    n_measure = len(request.batch_sizes) * request.rounds if request.measure_speed else 0
    progress = _Progress(on_event, should_stop, total=1 + 2 * n_files + n_measure + 1)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(request.threads)
    try:
        progress.check()
        loaded = ptq.load_run_models(
            store, request.run_id, roles=request.models, data_dir=data_dir, allow_download=allow_download
        )
        inputs = run_inputs(loaded, data_dir=data_dir, allow_download=allow_download)
        roles = [r for r in request.models if r in loaded.models]
        if not roles:
            raise DeployError("no_weights", run=request.run_id, models=", ".join(request.models))
        out_dir = prepare_folder(Path(out_dir))
        progress.step("load", "loaded", run=request.run_id, dataset=loaded.config.get("dataset", ""))
        contenders = _export_all(loaded, inputs, roles, request, out_dir, progress)
        rows = _evaluate_all(loaded, inputs, contenders, request, progress)
        rows += _simulated_rows(loaded, roles, request)
        if request.measure_speed:
            _measure_all(contenders, inputs, request, progress)
        env = environment(request.threads)
        result: dict[str, Any] = {
            "run_id": request.run_id,
            "dataset": loaded.config.get("dataset", ""),
            "teacher": loaded.config.get("teacher", ""),
            "student": loaded.config.get("student", ""),
            "quant_mode": request.quant_mode,
            "batch_sizes": list(request.batch_sizes),
            "rounds": request.rounds,
            "input_shape": [-1, *inputs.input_shape],
            "input_scale": {"mean": inputs.mean, "std": inputs.std},
            "export_dir": str(out_dir),
            "missing": list(loaded.missing),
            "rows": rows,
            "env": env,
        }
        result["verdicts"] = verdicts(result)
        result["seconds"] = time.perf_counter() - started
        progress.step("done", "done", seconds=round(result["seconds"], 1))
        return result
    except measure.Cancelled:
        raise BenchmarkCancelled("The benchmark was cancelled.") from None
    finally:
        torch.set_num_threads(previous_threads)


def _export_all(
    loaded: Any, inputs: RunInputs, roles: Sequence[str], request: BenchmarkRequest, out_dir: Path, progress: _Progress
) -> list[_Contender]:
    contenders = []
    calibration = inputs.x_train[: 4 * 64].numpy()  # the same 4 batches the lab's act8 simulation calibrates on
    for role in roles:
        float_path = export_float32(loaded.models[role], inputs, out_dir / file_name(role, FLOAT32))
        contenders.append(_Contender(role, FLOAT32, float_path))
        progress.step("export", "exported", model=role, file=float_path.name)
        if INT8 in request.formats:
            int8 = quantize_int8(float_path, out_dir / file_name(role, INT8), request.quant_mode, calibration)
            contender = _Contender(role, INT8, int8.path)
            contender.row.update({"int8_weights": len(int8.int8_weights), "float_ops": int8.float_ops})
            contenders.append(contender)
            progress.step("quantize", "quantized", model=role, file=int8.path.name, mode=request.quant_mode)
    return contenders


def _evaluate_all(
    loaded: Any, inputs: RunInputs, contenders: list[_Contender], request: BenchmarkRequest, progress: _Progress
) -> list[dict[str, Any]]:
    from compression import ptq

    x_test = inputs.x_test.numpy()
    y_test = loaded.y_test.cpu().numpy()
    rows = []
    torch_logits: dict[str, np.ndarray] = {}
    fake_pred: dict[str, np.ndarray] = {}
    for contender in contenders:
        role = contender.role
        model = loaded.models[role].cpu().eval()
        if role not in torch_logits:
            with torch.no_grad():
                torch_logits[role] = torch.cat(
                    [model(loaded.x_test[i : i + 4096].cpu()) for i in range(0, len(loaded.x_test), 4096)]
                ).numpy()
        try:
            contender.session = measure.ort_session(contender.path, request.threads)
            logits = measure.ort_logits(contender.session, x_test, EVAL_CHUNK)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own error types for a file it cannot run
            raise DeployError(
                "runtime_failed", file=contender.path.name, reason=f"{type(exc).__name__}: {str(exc)[:200]}"
            ) from None
        pred = logits.argmax(1)
        float_pred = torch_logits[role].argmax(1)
        row: dict[str, Any] = {
            "model": role,
            "format": contender.fmt,
            "precision": contender.fmt,
            "runtime": "onnxruntime",
            "file": contender.path.name,
            "file_bytes": contender.path.stat().st_size,
            "test_accuracy": float((pred == y_test).mean()),
            "agreement_float32": _agreement(pred, float_pred),
            "agreement_fakequant": None,
            "torch_accuracy": float((float_pred == y_test).mean()),
            "macs_per_example": _macs(loaded, role),
            "has_conv": any(isinstance(m, torch.nn.Conv2d) for m in model.modules()),
            "quant_mode": request.quant_mode if contender.fmt == INT8 else None,
        }
        if contender.fmt == FLOAT32:
            row["max_abs_logit_diff"] = float(np.abs(logits - torch_logits[role]).max())
        else:
            if role not in fake_pred:
                config = ptq.PTQConfig(
                    bits=8, granularity="per-channel", scheme="symmetric", activations=request.quant_mode == "static"
                )
                q = ptq.quantize_model(model, config, calibration_inputs=loaded.calibration_inputs)
                fake_pred[role] = ptq.predictions(q.model, loaded.x_test.cpu()).numpy()
            row["agreement_fakequant"] = _agreement(pred, fake_pred[role])
        row.update(contender.row)
        contender.row = row
        rows.append(row)
        progress.step("evaluate", "evaluated", model=role, format=contender.fmt)
    return rows


def _simulated_rows(loaded: Any, roles: Sequence[str], request: BenchmarkRequest) -> list[dict[str, Any]]:
    """Bitwidths with no ONNX CPU kernel: the lab's fake-quant accuracy, no file, no latency, no speed claim."""
    from compression import ptq

    rows = []
    for bits in request.simulated_bits:
        for role in roles:
            model = loaded.models[role].cpu().eval()
            float_pred = ptq.predictions(model, loaded.x_test.cpu())
            q = ptq.quantize_model(model, ptq.PTQConfig(bits=bits, granularity="per-channel"))
            ev = ptq.evaluate(q.model, loaded.x_test.cpu(), loaded.y_test.cpu(), float_pred)
            rows.append(
                {
                    "model": role, "format": f"int{bits}", "precision": f"int{bits}", "runtime": "simulated",
                    "file": None, "file_bytes": None, "packed_bytes": q.size_bytes, "test_accuracy": ev.test_accuracy,
                    "agreement_float32": ev.agreement, "agreement_fakequant": 1.0, "no_kernel": True,
                    "latency_ms": {}, "throughput": None, "macs_per_example": _macs(loaded, role),
                }
            )  # fmt: skip
    return rows


def _measure_all(
    contenders: list[_Contender], inputs: RunInputs, request: BenchmarkRequest, progress: _Progress
) -> None:
    x_test = inputs.x_test.numpy()
    for contender in contenders:
        contender.row["latency_ms"] = {}
        contender.row["latency_rounds_ms"] = {}
    for batch in request.batch_sizes:
        xb = measure.batch_of(x_test, batch)
        feed = {"input": xb}
        runners = {
            f"{c.role}/{c.fmt}": (lambda session=c.session, feed=feed: session.run(None, feed)) for c in contenders
        }
        samples = measure.interleaved_latency(
            runners,
            request.rounds,
            should_stop=progress.should_stop,
            on_round=lambda r, batch=batch: progress.step(
                "measure", "measured", batch=batch, round=r, rounds=request.rounds
            ),
        )
        for contender in contenders:
            values = samples[f"{contender.role}/{contender.fmt}"]
            ms = measure.median(values)
            contender.row["latency_ms"][str(batch)] = ms
            contender.row["latency_rounds_ms"][str(batch)] = values
            contender.row[f"latency_ms_b{batch}"] = ms
            contender.row[f"throughput_b{batch}"] = 1000 * batch / ms
    largest = request.batch_sizes[-1]
    for contender in contenders:
        contender.row["throughput"] = contender.row[f"throughput_b{largest}"]
