"""The deploy benchmark as a job kind ("benchmark"): plain JSON in, plain JSON out.

    payload = {"run_id": "...", "runs_dir": "runs", "models": ["teacher", "student", "baseline"],
               "modes": ["float32", "int8"], "quant_mode": "static", "threads": 1, "rounds": 7,
               "batch_sizes": [1, 256]}            # every key but run_id and runs_dir has this default
    estimate_benchmark(payload) -> seconds of work (for the queue's budget); raises DeployError for a bad payload
    run_benchmark(payload, on_event, should_stop) -> the result dict of `bench.run_benchmark_request`

`on_event` gets {"phase", "done", "total", "message_key", "params"} after each step; `should_stop()` true
raises BenchmarkCancelled (a TrainingCancelled) at the next step or sample. The files are written to
<runs_dir>/deploy/<run_id>/<quant_mode>/ (the run id is checked by the store: letters, digits, _ and -),
and `export_bytes(result, name)` reads one back for a download.

Latency must not share the cores with a training run: the job queue runs this like any job, one at a time
per device, and the benchmark pins its own threads (torch and ONNX Runtime) to `threads`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from compression.deploy.bench import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_FORMATS,
    DEFAULT_MODELS,
    DEFAULT_ROUNDS,
    INT8,
    BenchmarkRequest,
    run_benchmark_request,
)
from compression.deploy.measure import SAMPLE_S, WARMUP_S
from compression.deploy.runtime import DeployError

KIND = "benchmark"
LOAD_S = 6.0
"""Imports (torch.onnx, onnxscript, onnxruntime) and the run's dataset, measured about 5 s on a shared 2-core CPU."""
EXPORT_S = 2.5
QUANTIZE_S = 2.0
ORT_GFLOPS_PER_THREAD = 20.0
CALL_OVERHEAD_S = 30e-6


def request_from_payload(payload: dict[str, Any]) -> BenchmarkRequest:
    """The payload as a checked BenchmarkRequest; DeployError (a ValueError) names what is wrong."""
    if not isinstance(payload, dict) or not payload.get("run_id"):
        raise DeployError("no_run")
    return BenchmarkRequest(
        run_id=str(payload["run_id"]),
        models=tuple(payload.get("models") or DEFAULT_MODELS),
        formats=tuple(payload.get("modes") or DEFAULT_FORMATS),
        quant_mode=str(payload.get("quant_mode", payload.get("mode", "static"))),
        threads=payload.get("threads", 1),
        rounds=payload.get("rounds", DEFAULT_ROUNDS),
        batch_sizes=tuple(payload.get("batch_sizes") or DEFAULT_BATCH_SIZES),
    )


def export_dir(runs_dir: Path | str, run_id: str, quant_mode: str) -> Path:
    """<runs_dir>/deploy/<run_id>/<quant_mode>: the run id must be a store id (no path can come through it)."""
    from compression.distillation.store import check_run_id

    try:
        run_id = check_run_id(str(run_id))
    except ValueError:
        raise DeployError("bad_run_id") from None
    return Path(runs_dir) / "deploy" / run_id / quant_mode


def _store(payload: dict[str, Any]) -> Any:
    from compression.distillation.store import RunStore

    if not payload.get("runs_dir"):
        raise DeployError("no_runs_dir")
    return RunStore(Path(str(payload["runs_dir"])))


def estimate_benchmark(payload: dict[str, Any]) -> float:
    """Seconds of work: loading, one export per model (and one quantization for int8), evaluation on the test
    set, and per model × format × batch size the warm-up and `rounds` samples of at least SAMPLE_S each."""
    from compression.distillation.budget import model_cost
    from compression.distillation.data import DATASETS
    from compression.distillation.models import parse_model

    request = request_from_payload(payload)
    record = _store(payload).get_run(request.run_id)
    if record is None:
        raise DeployError("no_such_run", run=request.run_id)
    info = DATASETS.get(record.config.get("dataset", ""))
    if info is None:
        raise DeployError("unknown_dataset", dataset=record.config.get("dataset", ""))
    gflops = ORT_GFLOPS_PER_THREAD * request.threads * 1e9
    formats = request.exported_formats
    seconds = LOAD_S
    for role in request.models:
        spec = parse_model(record.config["teacher"] if role == "teacher" else record.config["student"])
        macs = model_cost(spec, info.input_shape, info.num_classes).macs
        seconds += EXPORT_S + (QUANTIZE_S if INT8 in formats else 0.0)
        seconds += len(formats) * 2 * macs * info.test_size / gflops
        for batch in request.batch_sizes:
            call = CALL_OVERHEAD_S + 2 * macs * batch / gflops
            per_format = max(WARMUP_S, 3 * call) + request.rounds * max(SAMPLE_S, call)
            seconds += len(formats) * per_format
    return float(seconds)


def run_benchmark(
    payload: dict[str, Any],
    on_event: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool],
) -> dict[str, Any]:
    """Run the benchmark the payload asks for (see the module doc); a plain JSON-serializable result."""
    from compression.config import Settings

    request = request_from_payload(payload)
    settings = Settings.from_env()
    runs_dir = Path(str(payload.get("runs_dir") or settings.runs_dir))
    result = run_benchmark_request(
        _store({**payload, "runs_dir": str(runs_dir)}),
        request,
        export_dir(runs_dir, request.run_id, request.quant_mode),
        data_dir=settings.data_dir,
        allow_download=settings.allow_download,
        on_event=on_event,
        should_stop=should_stop,
    )
    result["job_kind"] = KIND
    return result


def export_bytes(result: dict[str, Any], name: str) -> bytes:
    """The bytes of one exported file named in `result`'s rows (only those names: no path comes from outside)."""
    names = {row["file"] for row in result.get("rows", []) if row.get("file")}
    if name not in names:
        raise DeployError("no_file", file=str(name)[:80])
    path = Path(result["export_dir"]) / name
    try:
        return path.read_bytes()
    except OSError:
        raise DeployError("file_gone", file=name) from None
