"""Quantization-aware training as a job kind of the queue ("qat", compression/distillation/job_kinds.py).

A QAT job fine-tunes a finished run's models (default: the distilled student and the baseline) at the chosen
bitwidths, with and without the teacher, as one group on the training engine (`compression.ptq.qat`). It is
training: budgeted like a run's students (`budget.estimate_work` for the group's members, no teacher epochs),
cancellable, with live per-epoch progress, and recorded in the run store's jobs table (`JobStore`, kind "qat")
with its result and its models' weights (codes and scales, runs_dir/jobs/<job id>/<name>.safetensors).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from compression.distillation.budget import estimate_work, human_duration
from compression.distillation.job_kinds import JobContext, JobKind, JobLimits, job_table, register_job_kind
from compression.i18n import LabError
from compression.ptq.qat import QATPlan, QATResult

KIND = "qat"


@dataclass(frozen=True)
class QATConfig:
    """A QAT job: which stored run, and its plan (`QATPlan`). Its payload is `to_dict()`."""

    kind: ClassVar[str] = KIND
    run_id: str
    runs_dir: str
    plan: QATPlan = QATPlan(seeds=3)
    device: str = "auto"

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> QATConfig:
        from compression.distillation.store import check_run_id

        return cls(
            run_id=check_run_id(str(payload.get("run_id", ""))),
            runs_dir=str(payload.get("runs_dir") or ""),
            plan=QATPlan.from_dict(payload),
            device=str(payload.get("device", "auto")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "runs_dir": self.runs_dir, "device": self.device, **self.plan.to_dict()}

    def roles(self) -> list[str]:
        """The stored weights this job reads: its models, and the teacher when a loss uses it."""
        return [*self.plan.models, *(["teacher"] if any(self.plan.teacher) else [])]


def _run_config(config: QATConfig) -> dict[str, Any]:
    from compression.distillation.store import RunStore
    from compression.ptq.core import PTQError

    record = RunStore(config.runs_dir).get_run(config.run_id)
    if record is None:
        raise PTQError(f"There is no run {config.run_id} in the store.")
    if record.status != "done":
        raise PTQError(f"Run {config.run_id} is {record.status}, not finished: only finished runs have weights.")
    return record.config


FAKE_QUANT_STEP_S = 2.5e-3
"""Seconds per quantized layer per member per step that fake quantization adds (the observer's min-max, the
parametrization, the fake-quant kernels forward and backward) beyond the layer's arithmetic: measured on the
default digits run (24 members, article-student, 10 epochs: 7.5 s on one thread of a busy 2-core CPU, against
0.7 s of `estimate_work` for plain students), rounded up."""


def estimate_qat(config: QATConfig, gflops: float) -> float:
    """Seconds: the group's members trained for the plan's epochs, as `estimate_work` counts students (no teacher
    epochs; the teacher's logits once), plus FAKE_QUANT_STEP_S per quantized layer, member and step."""
    import torch

    from compression.distillation.data import DATASETS
    from compression.distillation.kinds import train_config_from_payload
    from compression.distillation.models import build_model, parse_model
    from compression.ptq.core import quantizable_layers

    base = train_config_from_payload(_run_config(config))
    train_config = replace(base, epochs=config.plan.epochs, teacher_epochs=0)
    work = estimate_work(train_config, gflops, students=config.plan.members)
    info = DATASETS[base.dataset]
    with torch.device("meta"):
        layers = len(quantizable_layers(build_model(parse_model(base.student), info.input_shape, info.num_classes)))
    return work.seconds + FAKE_QUANT_STEP_S * layers * work.steps  # work.steps: every member's steps (looped)


def check_qat(config: QATConfig, limits: JobLimits) -> float:
    config.plan.check()
    from compression.distillation.store import RunStore
    from compression.ptq.qat import stored_states

    stored_states(RunStore(config.runs_dir), config.run_id, config.roles())  # the weights are there and readable
    seconds = estimate_qat(config, limits.gflops)
    if limits.max_seconds is not None and seconds > limits.max_seconds:
        raise LabError("qat.too_long", estimate=human_duration(seconds), limit=human_duration(limits.max_seconds))
    return seconds


def run_qat_job(config: QATConfig, context: JobContext) -> QATResult:
    from compression.distillation.store import RunStore
    from compression.ptq.qat import qat_from_weights, stored_states

    run_config, states = stored_states(RunStore(config.runs_dir), config.run_id, config.roles())
    result = qat_from_weights(
        run_config,
        states,
        config.plan,
        data_dir=context.data_dir,
        allow_download=context.allow_download,
        device=config.device,
        emit=context.on_event,
        should_stop=context.should_stop,
    )
    result.plan = {**result.plan, "run_id": config.run_id, "student": run_config.get("student", "")}
    return result


def describe_qat(config: QATConfig) -> dict[str, str]:
    bits = ",".join(f"int{b}" for b in config.plan.bits)
    return {"dataset": "qat", "teacher": config.run_id, "student": f"QAT {bits}", "device": config.device}


_store = job_table(KIND)


QAT = register_job_kind(
    JobKind(
        name=KIND,
        from_payload=QATConfig.from_payload,
        check=check_qat,
        run=run_qat_job,
        store=_store,
        describe=describe_qat,
    )
)
