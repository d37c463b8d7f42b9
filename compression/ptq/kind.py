"""A sweep of post-training quantization configurations as a job kind of the queue ("ptq").

The Compress page quantizes a small sweep at once on the server (each configuration once per input, cached);
a sweep whose estimate is larger than `Settings.ptq_inline_seconds` goes through the job queue like training:
budgeted by `estimate_ptq_seconds`, queued, with live progress, cancellable, run in the worker process from its
plain payload, and recorded in the run table (kind "ptq"), whose newest result for the same run, models and
configurations any later visitor reads instead of quantizing again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import pandas as pd

from compression.distillation.budget import human_duration, model_cost
from compression.distillation.job_kinds import (
    JobContext,
    JobKind,
    JobLimits,
    SimpleOutput,
    job_table,
    register_job_kind,
)
from compression.distillation.trainer import ProgressEvent, TrainingCancelled
from compression.i18n import LabError
from compression.ptq.core import (
    CALIBRATION_BATCH_SIZE,
    CALIBRATION_BATCHES,
    ROW_COLUMNS,
    PTQConfig,
    PTQError,
    load_run_models,
    sweep_models,
)

KIND = "ptq"

QUANTIZE_S_PER_PARAM = {"minmax": 2e-8, "percentile": 1e-7, "mse": 2e-6}
"""Seconds per weight to quantize (one thread; the MSE search tries many clipping ranges). Checked against the
measured time by tests/unit/test_ptq_kind.py (the estimate stays within a factor of the real time)."""
STEP_OVERHEAD_S = 0.01
"""Per configuration and model: copying the model, Python work per layer."""


@dataclass(frozen=True)
class PTQSweepConfig:
    """Which finished run, which of its models, which configurations (the payload is `to_dict()`)."""

    kind: ClassVar[str] = KIND
    run_id: str
    runs_dir: str
    roles: tuple[str, ...]
    configs: tuple[PTQConfig, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "runs_dir": self.runs_dir,
            "roles": list(self.roles),
            "configs": [asdict(c) for c in self.configs],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PTQSweepConfig:
        from compression.distillation.store import check_run_id

        try:
            configs = tuple(PTQConfig(**dict(c)) for c in payload.get("configs", []))
            roles = tuple(str(r) for r in payload.get("roles", []))
        except TypeError as exc:
            raise PTQError(f"Not a quantization sweep: {exc}.") from None
        if not configs:
            raise PTQError("Choose at least one bitwidth or format to quantize to.")
        if not roles:
            raise PTQError("No models to quantize.")
        return cls(check_run_id(str(payload.get("run_id", ""))), str(payload.get("runs_dir", "")), roles, configs)


def estimate_ptq_seconds(
    run_config: dict[str, Any], roles: tuple[str, ...] | list[str], configs, gflops: float
) -> float:
    """Seconds to quantize and evaluate `roles` of a run at `configs`: per model and configuration, the test
    set's forward pass (2 × MACs × test examples / throughput), the weights' quantization (per weight, by
    calibration), the activation calibration pass when asked, and a fixed overhead; plus each model's float pass."""
    from compression.distillation.data import DATASETS
    from compression.distillation.models import parse_model

    info = DATASETS[run_config["dataset"]]
    n_test = info.test_size
    flops_per_s = max(gflops, 1e-3) * 1e9
    seconds = 0.0
    for role in roles:
        architecture = run_config["teacher"] if role == "teacher" else run_config["student"]
        cost = model_cost(parse_model(architecture), info.input_shape, info.num_classes)
        forward = 2.0 * cost.macs * n_test / flops_per_s
        seconds += forward
        for config in configs:
            per_param = QUANTIZE_S_PER_PARAM.get(config.calibration, QUANTIZE_S_PER_PARAM["minmax"])
            seconds += forward + cost.params * per_param + STEP_OVERHEAD_S
            if config.activations:
                seconds += 2.0 * cost.macs * CALIBRATION_BATCHES * CALIBRATION_BATCH_SIZE / flops_per_s
    return seconds


def check_ptq(config: PTQSweepConfig, limits: JobLimits) -> float:
    from compression.distillation.store import RunStore

    record = RunStore(config.runs_dir).get_run(config.run_id)
    if record is None:
        raise PTQError(f"There is no run {config.run_id} in the store.")
    if record.status != "done":
        raise PTQError(f"Run {config.run_id} is {record.status}, not finished: only finished runs have weights.")
    seconds = estimate_ptq_seconds(record.config, config.roles, config.configs, limits.gflops)
    if limits.max_seconds is not None and seconds > limits.max_seconds:
        raise LabError("ptq_job.too_long", estimate=human_duration(seconds), limit=human_duration(limits.max_seconds))
    return seconds


def run_ptq_job(config: PTQSweepConfig, context: JobContext) -> SimpleOutput:
    from compression.distillation.store import RunStore

    def status(key: str, **params: Any) -> None:
        context.on_event(ProgressEvent("status", "quantize", message=key, key=key, params=params))

    status("compress.ptq_job.loading")
    loaded = load_run_models(
        RunStore(config.runs_dir), config.run_id, roles=config.roles, data_dir=context.data_dir,
        allow_download=context.allow_download,
    )  # fmt: skip

    def on_step(done: int, total: int) -> None:
        if context.should_stop():
            raise TrainingCancelled
        context.on_event(ProgressEvent("progress", "quantize", fraction=done / max(1, total)))
        status("compress.ptq_job.progress", done=done, total=total)

    frame = sweep_models(
        {role: loaded.models[role] for role in config.roles if role in loaded.models},
        loaded.x_test, loaded.y_test, list(config.configs), calibration_inputs=loaded.calibration_inputs,
        reference_size=loaded.teacher_size, on_step=on_step,
    )  # fmt: skip
    summary = {**config.to_dict(), "rows": frame.to_dict("records")}
    summary.pop("runs_dir")
    return SimpleOutput(summary, {})


def frame_of(result: dict[str, Any]) -> pd.DataFrame:
    """The sweep's rows as `sweep_models` returned them."""
    return pd.DataFrame(result.get("rows", []), columns=ROW_COLUMNS)


def stored_result(run_store: Any, config: PTQSweepConfig) -> dict[str, Any] | None:
    """The newest finished "ptq" job of the same run, models and configurations, or None."""
    payload = config.to_dict()
    return _store(run_store).latest(run_id=payload["run_id"], roles=payload["roles"], configs=payload["configs"])


def describe_ptq(config: PTQSweepConfig) -> dict[str, str]:
    return {"dataset": "ptq", "teacher": config.run_id, "student": f"{len(config.configs)} × PTQ", "device": "cpu"}


_store = job_table(KIND)


PTQ_SWEEP = register_job_kind(
    JobKind(
        name=KIND,
        from_payload=PTQSweepConfig.from_payload,
        check=check_ptq,
        run=run_ptq_job,
        store=_store,
        describe=describe_ptq,
    )
)

__all__ = ["KIND", "PTQSweepConfig", "estimate_ptq_seconds", "frame_of", "stored_result"]
