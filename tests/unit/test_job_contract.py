"""The job contract (compression/distillation/job_kinds.py): a kind is registered once, its payload is plain
data that rebuilds the same job, and the queue runs a new kind with no change to the queue itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from compression.distillation.job_kinds import (
    JOB_KINDS,
    JobKind,
    JobLimits,
    SimpleOutput,
    config_from_payload,
    kind_of,
    payload_of,
    register_job_kind,
)
from compression.distillation.jobs import JobManager
from compression.distillation.kinds import RUN, SWEEP
from compression.distillation.store import RunStore
from compression.distillation.sweep import SweepConfig
from compression.distillation.trainer import TrainConfig, TrainingCancelled
from compression.i18n import LabError


def test_a_run_and_a_sweep_cross_a_process_as_plain_json_and_come_back_the_same():
    run = TrainConfig(dataset="digits", teacher="article-teacher", epochs=7, seed=3, temperature=2.0, alpha=0.5)
    sweep = SweepConfig.grid(run, temperatures=(1.0, 4.0), alphas=(0.5, 0.9), seeds=2)
    for config, kind in ((run, RUN), (sweep, SWEEP)):
        name, payload = payload_of(config)
        assert name == kind.name and kind_of(config) is kind
        rebuilt = config_from_payload(name, json.loads(json.dumps(payload)))  # through JSON: nothing but data
        assert type(rebuilt) is type(config)
        assert rebuilt.to_dict() == config.to_dict()
    assert config_from_payload("sweep", payload_of(sweep)[1]).students() == sweep.students()


def test_an_unknown_kind_is_refused_with_its_name():
    with pytest.raises(ValueError, match="kind 'nope'"):
        config_from_payload("nope", {})

    class Stranger:
        kind = "stranger"

    with pytest.raises(ValueError, match="Stranger"):
        kind_of(Stranger())


def test_a_sweep_is_budgeted_for_every_student_not_for_its_base_run(tmp_path):
    base = TrainConfig(dataset="digits", teacher="article-teacher", epochs=2000, teacher_epochs=10, device="cpu")
    alone = RUN.check(base, JobLimits(data_dir=tmp_path))
    limits = JobLimits(max_seconds=2 * alone, data_dir=tmp_path)  # room for two runs like the base
    assert RUN.check(base, limits) == alone
    grid = SweepConfig.grid(base, temperatures=(1, 2, 4, 8, 16), alphas=(0.1, 0.5, 0.9, 1.0), seeds=3)
    with pytest.raises(LabError) as refused:
        SWEEP.check(grid, limits)
    assert refused.value.key == "budget.too_long"
    assert SWEEP.check(grid, JobLimits(data_dir=tmp_path)) > 10 * alone  # 66 students, even stacked


@dataclass(frozen=True)
class EchoConfig:
    """A job kind the queue has never seen: it counts to `n`, reporting each step."""

    kind: ClassVar[str] = "echo"
    n: int = 3
    dataset: str = "digits"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "dataset": self.dataset}


def _check_echo(config: EchoConfig, limits: JobLimits) -> float:
    if config.n < 0:
        raise ValueError("n must be 0 or more")
    return float(config.n)


def _run_echo(config: EchoConfig, context) -> SimpleOutput:
    for _ in range(config.n):
        if context.should_stop():
            raise TrainingCancelled
    return SimpleOutput({"counted": config.n, "teacher": {"test_accuracy": 1.0}}, {})


@pytest.fixture
def echo_kind():
    kind = register_job_kind(
        JobKind(
            name="echo",
            from_payload=lambda payload: EchoConfig(**payload),
            check=_check_echo,
            run=_run_echo,
            store=lambda store: store,
            describe=lambda c: {"dataset": c.dataset, "teacher": "-", "student": f"echo {c.n}", "device": "cpu"},
        )
    )
    yield kind
    JOB_KINDS.pop("echo", None)


def test_the_queue_runs_a_newly_registered_kind_unchanged(tmp_path, echo_kind):
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, executor="thread", train_threads=1, data_dir=tmp_path)
    try:
        with pytest.raises(ValueError, match="n must be 0 or more"):
            manager.submit(EchoConfig(n=-1), owner="a")
        job = manager.submit(EchoConfig(n=4), owner="a")
        assert job.kind == "echo" and job.label["student"] == "echo 4"
        done = manager.wait(job.id, timeout=60)
        assert done.status == "done", done.error
        assert done.results["counted"] == 4
        assert store.run_status(job.id) == "done"
    finally:
        manager.shutdown()
        store.close()
