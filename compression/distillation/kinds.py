"""The two distillation job kinds, "run" (teacher + the variants' students) and "sweep" (a T × alpha grid),
registered in the job contract (`job_kinds`). Each checks a job against the server's limits and budgets every
student it trains, then trains through its entry point (`trainer.train`, `sweep.train_sweep`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from compression.distillation.budget import check_budget
from compression.distillation.data import DatasetUnavailableError, dataset_available, missing_message
from compression.distillation.job_kinds import JobContext, JobKind, JobLimits, register_job_kind
from compression.distillation.sweep import SweepConfig, sweep_sample_passes, train_sweep, validate_sweep
from compression.distillation.trainer import TrainConfig, sample_passes, train, validate_config
from compression.i18n import LabError

_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


def train_config_from_payload(payload: dict[str, Any]) -> TrainConfig:
    """A run's configuration from its `to_dict()` (unknown keys, such as a sweep's, are ignored)."""
    return TrainConfig(**{k: v for k, v in payload.items() if k in _TRAIN_FIELDS})


def sweep_config_from_payload(payload: dict[str, Any]) -> SweepConfig:
    base = train_config_from_payload(payload)
    cells = tuple((float(t), float(a)) for t, a in payload["cells"])
    return SweepConfig(base, cells, int(payload.get("seeds", 1)), bool(payload.get("controls", True)))


def _check_data_and_work(dataset: str, passes: int, limits: JobLimits) -> None:
    if not limits.allow_download and not dataset_available(dataset, limits.data_dir):
        raise DatasetUnavailableError(missing_message(dataset, limits.data_dir))
    if limits.max_sample_passes is not None and passes > limits.max_sample_passes:
        raise LabError("jobs.too_many_samples", work=passes / 1e6, limit=limits.max_sample_passes / 1e6)


def _budget(config: TrainConfig, limits: JobLimits, students: int | None, stacked: bool) -> float:
    work = check_budget(
        config,
        students=students,
        stacked=stacked,
        gflops=limits.gflops,
        max_seconds=limits.max_seconds,
        max_params=limits.max_params,
        max_memory_bytes=limits.max_memory_bytes,
    )
    return work.seconds


def check_run(config: TrainConfig, limits: JobLimits) -> float:
    validate_config(config, limits.max_epochs)
    _check_data_and_work(config.dataset, sample_passes(config), limits)
    return _budget(config, limits, None, False)


def check_sweep(config: SweepConfig, limits: JobLimits) -> float:
    validate_sweep(config, limits.max_epochs)
    _check_data_and_work(config.base.dataset, sweep_sample_passes(config), limits)
    # Every cell, control and seed is a student of the group, batched (stacked) or side by side (looped).
    return _budget(config.base, limits, len(config.students()), config.mode() == "stacked")


def run_run(config: TrainConfig, context: JobContext):  # noqa: ANN201 - a TrainResult
    return train(config, **context.as_kwargs())


def run_sweep(config: SweepConfig, context: JobContext):  # noqa: ANN201 - a SweepResult
    return train_sweep(config, **context.as_kwargs())


def describe_run(config: TrainConfig) -> dict[str, str]:
    return {"dataset": config.dataset, "teacher": config.teacher, "student": config.student, "device": config.device}


def describe_sweep(config: SweepConfig) -> dict[str, str]:
    return describe_run(config.base)


RUN = register_job_kind(
    JobKind(
        name="run",
        from_payload=train_config_from_payload,
        check=check_run,
        run=run_run,
        store=lambda store: store,
        describe=describe_run,
    )
)
SWEEP = register_job_kind(
    JobKind(
        name="sweep",
        from_payload=sweep_config_from_payload,
        check=check_sweep,
        run=run_sweep,
        store=lambda store: store.sweeps,
        describe=describe_sweep,
    )
)
