"""The job contract: every kind of job the queue runs (a run, a sweep, and the kinds later pages add).

A job kind is registered once with four things, and the queue (`jobs.JobManager`) knows nothing else about it:

- `from_payload(payload) -> config`: rebuild the job's configuration from its plain payload. The payload is
  `config.to_dict()`: JSON-serializable, so it crosses a process (the spawned worker) or a cluster unchanged.
- `check(config, limits) -> seconds`: validate against the server's limits (`JobLimits`) and return the
  estimated seconds of work; raise ValueError (a `LabError`) saying what is wrong or too large.
- `run(config, context) -> JobOutput`: do the work, reporting through `context.on_event` and stopping
  when `context.should_stop()` (raise `TrainingCancelled`).
- `store(run_store)`: where its record lives (the run store, or a view of it such as the sweeps' tables).
- `describe(config)`: its dataset, models and requested device, for the queue.

A configuration names its kind with a `kind` class attribute; `kind_of(config)` finds it. No `isinstance`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class JobOutput(Protocol):
    """What a kind's runner returns: a JSON summary (history included; the queue strips it) and named weights."""

    weights: dict[str, Any]

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SimpleOutput:
    """A `JobOutput` for kinds that have a summary and no class of their own (weights: name -> safetensors state)."""

    summary: dict[str, Any]
    weights: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.summary)


@dataclass(frozen=True)
class JobLimits:
    """The server's limits a kind checks a job against (`compression.config.Settings`, as the manager holds them)."""

    max_epochs: int = 2000
    max_sample_passes: int | None = None
    gflops: float = 1.0
    max_seconds: float | None = None
    max_params: int | None = None
    max_memory_bytes: int | None = None
    data_dir: Path = Path("data")
    allow_download: bool = False


@dataclass
class JobContext:
    """What a runner gets, in the server's thread or in a worker process."""

    data_dir: Path | str
    allow_download: bool
    max_epochs: int
    teacher_cache: Any
    on_event: Callable[[Any], None]
    should_stop: Callable[[], bool]

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "allow_download": self.allow_download,
            "max_epochs": self.max_epochs,
            "teacher_cache": self.teacher_cache,
            "on_event": self.on_event,
            "should_stop": self.should_stop,
        }


@dataclass(frozen=True)
class JobKind:
    name: str
    from_payload: Callable[[dict[str, Any]], Any]
    check: Callable[[Any, JobLimits], float]
    run: Callable[[Any, JobContext], JobOutput]
    store: Callable[[Any], Any]
    """run store -> the object the queue records this kind's jobs in (create_run, set_status, add_metrics, finish)."""
    describe: Callable[[Any], dict[str, str]]
    """config -> {"dataset", "teacher", "student", "device"}: the queue's line for the job, and its device request."""


JOB_KINDS: dict[str, JobKind] = {}


def job_table(kind: str) -> Callable[[Any], Any]:
    """`JobKind.store` for a kind with no table view of its own: its jobs in the run table (`store.JobStore`)."""

    def view(run_store: Any) -> Any:
        from compression.distillation.store import JobStore

        return JobStore(run_store, kind)

    return view


def register_job_kind(kind: JobKind) -> JobKind:
    """Add (or replace, for tests) a kind. Its configuration class must say `kind = "<name>"`."""
    JOB_KINDS[kind.name] = kind
    return kind


def kind_of(config: Any) -> JobKind:
    """The registered kind of a job configuration (its `kind` attribute)."""
    _ensure_builtin_kinds()
    name = getattr(config, "kind", None)
    if name not in JOB_KINDS:
        raise ValueError(f"Not a job this server runs: {type(config).__name__} (kind {name!r}).")
    return JOB_KINDS[name]


def payload_of(config: Any) -> tuple[str, dict[str, Any]]:
    """(kind name, plain payload): what crosses into a worker process or onto a cluster."""
    return kind_of(config).name, config.to_dict()


def config_from_payload(name: str, payload: dict[str, Any]) -> Any:
    _ensure_builtin_kinds()
    if name not in JOB_KINDS:
        raise ValueError(f"Not a job this server runs: kind {name!r}.")
    return JOB_KINDS[name].from_payload(payload)


BUILTIN_KIND_MODULES = (
    "compression.distillation.kinds",
    "compression.deploy.kind",
    "compression.ptq.kind",
    "compression.ptq.qat_kind",
)
"""Modules that register the server's job kinds when imported: run and sweep; the deploy benchmark; a PTQ sweep; QAT."""


def _ensure_builtin_kinds() -> None:
    """Kinds register when their modules load; make sure they have (a spawned worker process, a test)."""
    if all(name in JOB_KINDS for name in ("run", "sweep", "benchmark", "ptq", "qat")):
        return
    import importlib

    for module in BUILTIN_KIND_MODULES:
        importlib.import_module(module)
