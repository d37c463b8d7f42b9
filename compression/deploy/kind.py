"""The deploy benchmark as a job kind of the queue ("benchmark", compression/distillation/job_kinds.py).

Latency must not share the cores with a training run, so the benchmark waits in the same queue as training
(one job at a time per device: it asks for the CPU), is budgeted by its own estimate, reports live progress,
can be cancelled, and is recorded in the run store's jobs table (`JobStore`, kind "benchmark") with its result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from compression.distillation.budget import human_duration
from compression.distillation.job_kinds import (
    JobContext,
    JobKind,
    JobLimits,
    SimpleOutput,
    job_table,
    register_job_kind,
)
from compression.distillation.trainer import ProgressEvent
from compression.i18n import LabError

KIND = "benchmark"


@dataclass(frozen=True)
class BenchmarkConfig:
    """What `compression.deploy.job.run_benchmark` takes, as a job configuration (its payload is `to_dict()`)."""

    kind: ClassVar[str] = KIND
    run_id: str
    runs_dir: str
    models: tuple[str, ...] = ("teacher", "student", "baseline")
    modes: tuple[str, ...] = ("float32", "int8")
    quant_mode: str = "static"
    threads: int = 1
    rounds: int = 7
    batch_sizes: tuple[int, ...] = (1, 256)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BenchmarkConfig:
        from compression.deploy.job import request_from_payload

        request = request_from_payload(payload)  # DeployError (a ValueError) names what is wrong
        return cls(
            run_id=request.run_id,
            runs_dir=str(payload.get("runs_dir") or ""),
            models=tuple(request.models),
            modes=tuple(request.formats),
            quant_mode=request.quant_mode,
            threads=int(request.threads),
            rounds=int(request.rounds),
            batch_sizes=tuple(int(b) for b in request.batch_sizes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "runs_dir": self.runs_dir,
            "models": list(self.models),
            "modes": list(self.modes),
            "quant_mode": self.quant_mode,
            "threads": self.threads,
            "rounds": self.rounds,
            "batch_sizes": list(self.batch_sizes),
        }


def check_benchmark(config: BenchmarkConfig, limits: JobLimits) -> float:
    from compression.deploy.job import estimate_benchmark

    seconds = estimate_benchmark(config.to_dict())
    if limits.max_seconds is not None and seconds > limits.max_seconds:
        raise LabError("budget.too_long", estimate=human_duration(seconds), limit=human_duration(limits.max_seconds))
    return seconds


def run_benchmark_job(config: BenchmarkConfig, context: JobContext) -> SimpleOutput:
    from compression.deploy.job import run_benchmark

    def on_event(event: dict[str, Any]) -> None:
        fraction = min(1.0, event.get("done", 0) / max(1, event.get("total", 1)))
        key, params = str(event.get("message_key", "")), dict(event.get("params", {}))
        phase = str(event.get("phase", "benchmark"))
        context.on_event(ProgressEvent("status", phase, message=key, key=key, params=params))
        context.on_event(ProgressEvent("progress", phase, fraction=fraction))

    result = run_benchmark(config.to_dict(), on_event, context.should_stop)
    return SimpleOutput(result, {})


def describe_benchmark(config: BenchmarkConfig) -> dict[str, str]:
    return {"dataset": "onnx", "teacher": config.run_id, "student": f"{config.quant_mode} int8", "device": "cpu"}


_store = job_table(KIND)


BENCHMARK = register_job_kind(
    JobKind(
        name=KIND,
        from_payload=BenchmarkConfig.from_payload,
        check=check_benchmark,
        run=run_benchmark_job,
        store=_store,
        describe=describe_benchmark,
    )
)
