"""A training queue shared by every visitor: FIFO, one job at a time per device.

Where a job runs (`executor`):
- "process" (the server's default): one long-lived worker process per device, started on the first job
  (a few seconds to import torch) and reused. `torch.set_num_threads` is process-wide, so in its own process
  the thread count applies to the training alone; a crash of the worker (a segfault, the kernel's OOM
  killer) fails one job, not the web server; the next job gets a fresh worker. Progress events come back
  through a queue, cancellation goes through a shared integer; the teacher cache lives on disk. The worker
  exits within about a second when the server dies, even by SIGKILL: the kernel signals it
  (PR_SET_PDEATHSIG on Linux), and everywhere a thread watches a pipe whose other end only the server holds.
- Ray (`ray_address`, COMPRESSION_LAB_RAY_ADDRESS): every job is a Ray task on a cluster, through the same runner
  seam (`ray_backend.RayRunner`); the lab's one queue "ray" has as many slots as the cluster holds jobs.
- "thread": the job runs on a thread of this process (tests with an injected trainer, notebooks); the
  worker thread sets torch.set_num_threads(train_threads) for the whole process.

Before a job is queued, `submit` refuses (ValueError, with the reason and the numbers) a bad configuration,
a dataset whose files are missing, a run whose estimated time, model size or memory exceeds the server's
limits (compression/distillation/budget.py), a visitor who already has `max_jobs_per_visitor` jobs queued or
running (the presenter, `privileged=True`, is exempt), and a full queue.

One job runs at a time per device (two trainings at once with default threads slow each other down badly on
a small CPU), `train_threads` defaults to cores − 1 so one core stays with the web server, and the worker
never touches Streamlit: it updates a job under a lock and writes the run store; pages read `snapshot()`
copies. Timings of both executors are printed by benchmarks/distillation_speed.py.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from compression.device import resolve_device
from compression.distillation.budget import DEFAULT_GFLOPS_PER_THREAD, human_duration
from compression.distillation.job_kinds import JobContext, JobLimits, config_from_payload, kind_of, payload_of
from compression.distillation.store import RunStore
from compression.distillation.trainer import (
    ProgressEvent,
    TeacherCache,
    TrainingCancelled,
    TrainingError,
    TrainResult,
    train,
)
from compression.i18n import LabError
from compression.i18n import t as _t

LOGGER = logging.getLogger("compression_lab.jobs")


def t_en(key: str, **figures: Any) -> str:
    """A stored message (a job's error) in English, from the catalogue."""
    return _t(key, "en", **figures)


ACTIVE = ("queued", "running")
FINISHED_KEPT = 30


@dataclass
class JobSnapshot:
    """A job's state, listed once: the manager keeps one per job and hands out copies (`dataclasses.replace`).

    `position` is 1 for the next job to run (queued jobs only).
    """

    id: str
    owner: str
    config: Any
    """The job's configuration (a TrainConfig, a SweepConfig, ...): its kind is `kind`."""
    device: str
    created_at: float
    kind: str = "run"
    """The job kind (`job_kinds.JOB_KINDS`): "run", "sweep", ..."""
    label: dict[str, str] = field(default_factory=dict)
    """The queue's line: dataset, teacher, student (`JobKind.describe`)."""
    status: str = "queued"
    """queued, running, done, failed or cancelled."""
    position: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    phase: str = "queued"
    message: str = "Waiting for the device"
    """In English (logs); `message_key` and `message_params` say it in the visitor's language."""
    message_key: str = "progress.waiting"
    message_params: dict[str, Any] = field(default_factory=dict)
    fraction: float = 0.0
    epoch: int = 0
    total_epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] | None = None
    error: str | None = None
    cancel_requested: bool = False
    version: int = 0
    """Grows with every change of this job (pages redraw only when it moved)."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class _Job:
    """The manager's own record: the job's state plus the event that cancels it."""

    state: JobSnapshot
    cancel: threading.Event = field(default_factory=threading.Event)
    estimate_s: float = 0.0
    """The job's estimated seconds of work (its kind's check), for its deadline."""
    overran: bool = False
    """Stopped by its deadline (not by a visitor)."""
    store: Any = None
    """Where its record lives (its kind's `store`, resolved once at submit: a kind unregistered later, as a test
    does, must not keep the job's end from being recorded)."""


class QueueFullError(LabError):
    """The queue already holds `max_queue` waiting jobs."""


class VisitorLimitError(LabError):
    """This visitor already has `max_jobs_per_visitor` jobs queued or running."""


class JobManager:
    """Queue, run and report distillation jobs. Thread-safe; share one instance per server process."""

    def __init__(
        self,
        store: RunStore,
        *,
        data_dir: Path | str = "data",
        allow_download: bool = False,
        max_queue: int = 8,
        max_epochs: int = 2000,
        max_sample_passes: int | None = None,
        train_threads: int = 1,
        teacher_cache: TeacherCache | None = None,
        trainer: Callable[..., TrainResult] = train,
        executor: str = "thread",
        max_job_seconds: float | None = None,
        train_gflops: float | None = None,
        max_params: int | None = None,
        max_job_memory_mb: int | None = None,
        max_jobs_per_visitor: int | None = None,
        deadline_grace_s: float = 60.0,
        cpu_workers: int = 1,
        ray_address: str | None = None,
        ray_ship_code: bool = True,
    ) -> None:
        if executor not in ("thread", "process"):
            raise ValueError(f"executor must be 'thread' or 'process', got {executor!r}.")
        if executor == "process" and trainer is not train:
            raise ValueError("A custom trainer runs only with executor='thread'.")
        self.store = store
        self.data_dir = Path(data_dir)
        self.allow_download = allow_download
        self.max_queue = max_queue
        self.max_epochs = max_epochs
        self.max_sample_passes = max_sample_passes
        self.train_threads = train_threads
        self.max_job_seconds = max_job_seconds
        self.train_gflops = train_gflops or DEFAULT_GFLOPS_PER_THREAD * train_threads
        self.max_params = max_params
        self.max_job_memory_mb = max_job_memory_mb
        self.max_jobs_per_visitor = max_jobs_per_visitor
        self.deadline_grace_s = deadline_grace_s
        if cpu_workers < 1:
            raise ValueError(f"cpu_workers must be 1 or more, got {cpu_workers}.")
        self.cpu_workers = cpu_workers
        """Jobs that run side by side on the CPU, each in its own worker of `train_threads` threads
        (COMPRESSION_LAB_CPU_WORKERS); every other device runs one job at a time."""
        self.teacher_cache = teacher_cache if teacher_cache is not None else TeacherCache(store.runs_dir / "teachers")
        self._trainer = trainer
        self.executor = executor
        self._runners: dict[str, Any] = {}
        """Slot name -> its runner (`_ProcessRunner`, or `ray_backend.RayRunner`): `run(job, on_event)`, `stop()`."""
        self._slot_jobs: dict[str, str] = {}
        """Slot name -> the id of the job running there (the device panel)."""
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._queues: dict[str, collections.deque[str]] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._closed = False
        self._version = 0
        self.ray: Any = None
        """The Ray cluster (`ray_backend.RayCluster`) when `ray_address` is set: every job is a Ray task, on the
        lab's one queue "ray" with as many slots as the cluster holds jobs."""
        if ray_address:
            from compression.distillation.ray_backend import RayCluster

            self.ray = RayCluster(
                ray_address, train_threads=train_threads, local_cpus=cpu_workers * train_threads,
                teacher_folder=self.teacher_cache.folder, ship_code=ray_ship_code, on_connected=self._ray_connected,
            )  # fmt: skip
        try:
            self.recovered = store.mark_interrupted()
        except ValueError:  # StorageError: the page says so where it reads the store
            LOGGER.exception("Could not mark interrupted runs")
            self.recovered = 0

    @classmethod
    def from_settings(cls, settings: Any, executor: str = "process") -> JobManager:
        """Build from `compression.config.Settings` (folders, queue, epoch and work limits, threads)."""
        memory = getattr(settings, "max_job_memory_mb", None)
        return cls(
            RunStore(settings.runs_dir),
            data_dir=settings.data_dir,
            allow_download=settings.allow_download,
            max_queue=settings.max_queue,
            max_epochs=settings.max_epochs,
            max_sample_passes=settings.max_sample_passes,
            train_threads=settings.train_threads,
            executor=executor,
            max_job_seconds=getattr(settings, "max_job_seconds", None),
            train_gflops=getattr(settings, "train_gflops", None),
            max_params=getattr(settings, "max_params", None),
            max_job_memory_mb=memory,
            max_jobs_per_visitor=getattr(settings, "max_jobs_per_visitor", None),
            cpu_workers=getattr(settings, "cpu_workers", 1),
            ray_address=getattr(settings, "ray_address", None),
            ray_ship_code=getattr(settings, "ray_ship_code", True),
        )

    # --- visitors ------------------------------------------------------------------------------------------
    @property
    def limits(self) -> JobLimits:
        """The server's limits, as every job kind checks them."""
        return JobLimits(
            max_epochs=self.max_epochs,
            max_sample_passes=self.max_sample_passes,
            gflops=self.train_gflops,
            max_seconds=self.max_job_seconds,
            max_params=self.max_params,
            max_memory_bytes=None if self.max_job_memory_mb is None else self.max_job_memory_mb * 2**20,
            data_dir=self.data_dir,
            allow_download=self.allow_download,
        )

    def check(self, config: Any) -> float:
        """Everything `submit` checks about the job itself (not the queue), by its kind (`job_kinds`):
        ValueError says what is wrong. Returns the estimated seconds of work (every student it trains)."""
        return kind_of(config).check(config, self.limits)

    def submit(self, config: Any, owner: str = "", privileged: bool = False) -> JobSnapshot:
        """Validate, store as "queued" and enqueue. ValueError (bad value, too much work, missing dataset,
        this visitor's limit, full queue) before any job exists. `privileged` (the presenter) skips the
        per-visitor limit."""
        estimate = self.check(config)
        kind = kind_of(config)
        label = kind.describe(config)
        if self.ray is not None and (refusal := self.ray.refusal()) is not None:
            raise refusal
        device = self._place(label["device"])
        with self._lock:
            if self._closed:
                raise LabError("jobs.shutting_down")
            limit = self.max_jobs_per_visitor
            if owner and not privileged and limit is not None:
                mine = sum(1 for j in self._jobs.values() if j.state.owner == owner and j.state.active)
                if mine >= limit:
                    raise VisitorLimitError(
                        "jobs.visitor_limit_one" if mine == 1 else "jobs.visitor_limit", mine=mine, limit=limit
                    )
            waiting = sum(len(q) for q in self._queues.values())
            if waiting >= self.max_queue:
                raise QueueFullError("jobs.queue_full", waiting=waiting, limit=self.max_queue)
            state = JobSnapshot(
                id=uuid.uuid4().hex[:12], owner=owner, config=config, device=device, created_at=time.time(),
                kind=kind.name, label=label,
            )  # fmt: skip
            job = _Job(state, estimate_s=float(estimate or 0.0), store=kind.store(self.store))
            job.store.create_run(state.id, config.to_dict(), owner=owner, device=device)
            self._jobs[state.id] = job
            self._queues.setdefault(device, collections.deque()).append(state.id)
            self._touch(job)
            self._ensure_worker(device)
            self._wakeup.notify_all()
            return self._snapshot(job)

    def identical(self, config: Any) -> str | None:
        """The newest finished run stored with exactly this configuration (same seed, data, models and
        hyperparameters), or None. A page opens it instead of queueing the same work again; training again is
        the visitor's choice. Jobs still queued or running are not matched: each visitor owns their own."""
        if kind_of(config).name != "run":
            return None
        return self.store.find_done_run(config.to_dict())

    def slots(self, device: str) -> int:
        """How many jobs `device` runs at once: `cpu_workers` on the CPU, one on an accelerator, what the
        cluster holds on "ray"."""
        if device == "ray" and self.ray is not None:
            return self.ray.capacity()
        return self.cpu_workers if device.startswith("cpu") else 1

    def _place(self, requested: str) -> str:
        """The device a job waits for. "auto" on a server with several CUDA devices goes to the one with the
        fewest jobs queued or running (the first such one): every device busy; a named device is kept."""
        if self.ray is not None:
            return "ray"  # the cluster places it (ray_backend.RayRunner.options)
        device = str(resolve_device(requested))
        if (requested or "auto").strip().lower() != "auto" or not device.startswith("cuda"):
            return device
        count = torch.cuda.device_count()
        if count <= 1:
            return device
        with self._lock:
            load = collections.Counter(j.state.device for j in self._jobs.values() if j.state.active)
        return min((f"cuda:{i}" for i in range(count)), key=lambda d: (load[d], int(d.split(":")[1])))

    def starts_at_once(self, job_id: str) -> bool:
        """Whether a queued job is next on a device where nothing else runs (it is starting, not waiting)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            if job.state.status == "running":
                return True
            running = sum(
                1 for j in self._jobs.values() if j.state.status == "running" and j.state.device == job.state.device
            )
            free = self.slots(job.state.device) - running
            position = self._position(job)
            return job.state.status == "queued" and position is not None and position <= free

    def cancel(self, job_id: str, requester: str | None = None, privileged: bool = False) -> bool:
        """Cancel a queued job at once, or ask a running one to stop after its current step.

        With `requester` given, only the job's owner may cancel, unless `privileged` (the presenter).
        Returns whether a cancel was issued.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.status not in ACTIVE:
                return False
            if requester is not None and not privileged and job.state.owner and requester != job.state.owner:
                return False
            job.cancel.set()
            queued = job.state.status == "queued"
            if queued:
                queue = self._queues.get(job.state.device)
                if queue and job_id in queue:
                    queue.remove(job_id)  # no worker can take it now
            else:
                job.state.message = "Stopping after the current step"
                job.state.message_key, job.state.message_params = "progress.stopping", {}
                self._touch(job)
        if queued:
            self._transition(job, "cancelled", "Cancelled before it started.")
        return True

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._snapshot(job)

    def jobs(self, include_finished: bool = True) -> list[JobSnapshot]:
        """Running jobs, then queued in order, then (optionally) recently finished ones, newest first."""
        with self._lock:
            snaps = [self._snapshot(j, with_history=False) for j in self._jobs.values()]
        order = {"running": 0, "queued": 1}
        active = sorted((s for s in snaps if s.active), key=lambda s: (order[s.status], s.position or 0, s.created_at))
        done = sorted((s for s in snaps if not s.active), key=lambda s: -(s.finished_at or 0))
        return active + (done if include_finished else [])

    @property
    def version(self) -> int:
        """Grows with every change of any job (a poll that sees the same number has nothing new to draw)."""
        return self._version

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot | None:
        """Block until the job is no longer queued or running (for the CLI and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while (job := self._jobs.get(job_id)) is not None and job.state.status in ACTIVE:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._wakeup.wait(timeout=0.2 if remaining is None else min(0.2, remaining))
            return None if job is None else self._snapshot(job)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything and stop the workers (tests; the server process just exits)."""
        with self._lock:
            self._closed = True
            ids = list(self._jobs)
        for job_id in ids:
            self.cancel(job_id)
        with self._lock:
            self._wakeup.notify_all()
        for worker in list(self._workers.values()):
            worker.join(timeout)
        for runner in list(self._runners.values()):
            runner.stop(timeout)
        if self.ray is not None:
            self.ray.shutdown()

    def device_slots(self) -> list[dict[str, Any]]:
        """The device panel's lines: every slot that exists or will (each device's workers, or the cluster's
        slots), with the job running there (id, owner, kind; on Ray its worker's pid and node) or None when it is
        free, and the jobs waiting."""
        with self._lock:
            devices = dict.fromkeys(["ray"] if self.ray is not None else [])
            devices.update(dict.fromkeys(self._queues))
            devices.update(dict.fromkeys(j.state.device for j in self._jobs.values() if j.state.active))
            lines = []
            for device in devices:
                for slot in range(self.slots(device)):
                    name = device if slot == 0 else f"{device}#{slot}"
                    job = self._jobs.get(self._slot_jobs.get(name, ""))
                    running = job.state if job is not None and job.state.status == "running" else None
                    lines.append({
                        "slot": name, "device": device, "job": None if running is None else running.id,
                        "owner": None if running is None else running.owner,
                        "kind": None if running is None else running.kind,
                        "waiting": len(self._queues.get(device, ())),
                        "worker": None if running is None else getattr(self._runners.get(name), "worker", None),
                    })  # fmt: skip
            return lines

    def backend_info(self) -> dict[str, Any] | None:
        """The Ray cluster as the panel shows it (address, state, CPUs, GPUs, nodes, error), None when local."""
        return None if self.ray is None else self.ray.info()

    def _take_auto_job(self, device: str, queue: collections.deque[str]) -> bool:
        """A free CUDA device takes the oldest job waiting for another CUDA device that asked for "auto": such
        a job runs on the first device to be free, not only on the one `_place` guessed. A job pinned to a
        device keeps waiting for it. Called with the lock held."""
        if not device.startswith("cuda"):
            return False
        waiting = [
            self._jobs[job_id] for other, q in self._queues.items() if other != device and other.startswith("cuda")
            for job_id in q
        ]  # fmt: skip
        movable = [j for j in waiting if (j.state.label.get("device") or "auto").strip().lower() == "auto"]
        if not movable:
            return False
        job = min(movable, key=lambda j: j.state.created_at)
        self._queues[job.state.device].remove(job.state.id)
        job.state.device = device
        queue.append(job.state.id)
        self._touch(job)
        return True

    def _new_runner(self) -> Any:
        if self.ray is not None:
            from compression.distillation.ray_backend import RayRunner

            return RayRunner(self, self.ray)
        return _ProcessRunner(self)

    def _ray_connected(self) -> None:
        """The cluster is known: one worker thread per job it holds (started on the connecting thread)."""
        with self._lock:
            if self._closed:
                return
            if "ray" in self._queues:
                self._ensure_worker("ray")
            self._wakeup.notify_all()

    # --- internals -----------------------------------------------------------------------------------------
    def _touch(self, job: _Job) -> None:
        """Called with the lock held after any change of `job`."""
        self._version += 1
        job.state.version = self._version

    def _position(self, job: _Job) -> int | None:
        if job.state.status != "queued":
            return None
        queue = self._queues.get(job.state.device, ())
        return list(queue).index(job.state.id) + 1 if job.state.id in queue else None

    def _snapshot(self, job: _Job, with_history: bool = True) -> JobSnapshot:
        return replace(
            job.state,
            position=self._position(job),
            history=list(job.state.history) if with_history else [],
            cancel_requested=job.cancel.is_set(),
        )

    def _ensure_worker(self, device: str) -> None:
        """One worker thread per slot of `device` (`slots`), each with its own worker process."""
        for slot in range(self.slots(device)):
            name = device if slot == 0 else f"{device}#{slot}"
            worker = self._workers.get(name)
            if worker is None or not worker.is_alive():
                worker = threading.Thread(target=self._work, args=(device, name), name=f"distill-worker-{name}",
                                          daemon=True)  # fmt: skip
                self._workers[name] = worker
                worker.start()

    def _transition(
        self,
        job: _Job,
        status: str,
        error: str | None = None,
        results: dict[str, Any] | None = None,
        weights: dict[str, Any] | None = None,
    ) -> None:
        """The one place a job's status changes, in the store and in the snapshot pages poll, together: the
        store first, so whoever sees a job end in the snapshot finds it (and a finished job's weights and
        results) in the store. "running" is the one exception: the snapshot shows it when a worker takes the
        job from its queue, under the queue's lock (a job is never neither queued nor running), then it is stored. A failing "done" write raises (the caller fails the job); a failing write of any
        other status is logged, and the snapshot still changes: a job's end is never lost from the queue."""
        state = job.state
        store = job.store
        if status == "done":
            store.finish(state.id, results or {}, weights)
        else:
            try:
                store.set_status(state.id, status, error)
            except Exception:  # noqa: BLE001 - the store failing must not kill the worker
                LOGGER.exception("Could not record status %s of job %s", status, state.id)
        if status == "running":
            return  # shown already, when the worker took it (`_show_running`)
        with self._lock:
            if status == "done":
                state.results = results
            self._finish(job, status, error)

    def _show_running(self, job: _Job) -> None:
        """The snapshot of a job a worker just took from its queue (called with the lock held)."""
        state = job.state
        state.status, state.phase = "running", "starting"
        state.message, state.message_key, state.message_params = "Starting", "progress.starting", {}
        state.started_at = time.time()
        self._touch(job)
        self._wakeup.notify_all()

    def _finish(self, job: _Job, status: str, error: str | None = None) -> None:
        """The snapshot of a job that ended (called by `_transition`, with the lock held)."""
        state = job.state
        state.status = status
        state.error = error
        state.finished_at = time.time()
        state.phase = status
        if status == "done":
            state.fraction = 1.0
            state.message = "Finished"
        elif status == "cancelled":
            state.message = "Cancelled"
        else:
            state.message = "Failed"
        state.message_key, state.message_params = f"progress.{status}", {}
        self._touch(job)
        finished = [j for j in self._jobs.values() if j.state.status not in ACTIVE]
        for old in sorted(finished, key=lambda j: j.state.finished_at or 0)[:-FINISHED_KEPT]:
            self._jobs.pop(old.state.id, None)
        self._wakeup.notify_all()

    def _work(self, device: str, slot: str | None = None) -> None:
        while True:
            with self._lock:
                queue = self._queues.setdefault(device, collections.deque())
                while not queue and not self._closed and not self._take_auto_job(device, queue):
                    self._wakeup.wait(timeout=1.0)
                if self._closed and not queue:
                    return
                job = self._jobs[queue.popleft()]
                self._show_running(job)  # with the pop, under the lock: never neither queued nor running
            try:
                self._transition(job, "running")  # stored
                self._run(job, slot or device)
            except Exception:  # noqa: BLE001 - the worker serves the next job whatever happened to this one
                LOGGER.exception("The worker of %s could not run job %s", slot or device, job.state.id)
                with self._lock:
                    if job.state.status in ACTIVE:
                        self._finish(job, "failed", "The server could not run this job (see its log).")

    def deadline_s(self, job: _Job) -> float | None:
        """Seconds a job may run before it is stopped: well past its estimate (3×) and past the server's job
        limit, plus a grace; None when the server sets no limit. It catches a job whose estimate was wrong (a
        slow device, a loaded machine) before it holds the room's queue for good."""
        if self.max_job_seconds is None:
            return None
        return max(3.0 * job.estimate_s, self.max_job_seconds) + self.deadline_grace_s

    def _run(self, job: _Job, slot: str | None = None) -> None:
        """Run the job under its deadline (see `deadline_s`): past it, the job is stopped and fails with a message."""
        deadline = self.deadline_s(job)
        timer = None
        if deadline is not None:

            def overrun() -> None:
                job.overran = True
                job.cancel.set()

            timer = threading.Timer(deadline, overrun)
            timer.daemon = True
            timer.start()
        slot = slot or job.state.device
        with self._lock:
            self._slot_jobs[slot] = job.state.id
        try:
            self._run_job(job, slot)
        finally:
            with self._lock:
                self._slot_jobs.pop(slot, None)
            if timer is not None:
                timer.cancel()

    def _run_job(self, job: _Job, slot: str) -> None:
        store = job.store
        pending: list[dict[str, Any]] = []
        last_flush = [time.monotonic()]
        state = job.state

        def flush() -> None:
            if pending:
                store.add_metrics(state.id, pending)
                pending.clear()
            last_flush[0] = time.monotonic()

        def on_event(event: ProgressEvent) -> None:
            with self._lock:
                state.phase = event.phase
                if event.kind == "status":
                    state.message = event.message
                    state.message_key, state.message_params = event.key, dict(event.params)
                else:
                    state.fraction = max(state.fraction, event.fraction)
                    state.epoch, state.total_epochs = event.epoch, event.total_epochs
                    state.step, state.steps_per_epoch = event.step, event.steps_per_epoch
                if event.kind == "epoch":
                    state.history.extend(event.rows)
                    pending.extend(event.rows)
                self._touch(job)
            if pending and time.monotonic() - last_flush[0] > 0.5:
                flush()

        try:
            if self.executor == "process" or self.ray is not None:
                runner = self._runners.get(slot)  # one worker process (or Ray task at a time) per slot
                if runner is None:
                    runner = self._runners[slot] = self._new_runner()
                summary, weights = runner.run(job, on_event)
            else:
                if state.device.startswith("cpu"):
                    torch.set_num_threads(self.train_threads)
                context = JobContext(
                    data_dir=self.data_dir,
                    allow_download=self.allow_download,
                    max_epochs=self.max_epochs,
                    teacher_cache=self.teacher_cache,
                    on_event=on_event,
                    should_stop=job.cancel.is_set,
                )
                if state.kind == "run" and self._trainer is not train:  # an injected trainer (tests)
                    result = self._trainer(state.config, **context.as_kwargs())
                else:
                    result = kind_of(state.config).run(state.config, context)
                summary, weights = result.to_json(), result.weights
            flush()
            summary.pop("history", None)
            self._transition(job, "done", results=summary, weights=weights)
        except TrainingCancelled:
            self._safe_flush(flush)
            if job.overran:
                self._transition(job, "failed", t_en("errors.jobs.deadline", estimate=human_duration(job.estimate_s),
                                                     ran=human_duration(self.deadline_s(job))))  # fmt: skip
            else:
                self._transition(job, "cancelled", "Cancelled while training.")
        except (ValueError, TrainingError) as exc:
            self._safe_flush(flush)
            self._transition(job, "failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a failing run must never take the worker down
            LOGGER.exception("Distillation job %s failed", state.id)
            self._safe_flush(flush)
            self._transition(job, "failed", f"The run failed unexpectedly ({type(exc).__name__}: {str(exc)[:300]}).")

    @staticmethod
    def _safe_flush(flush: Callable[[], None]) -> None:
        try:
            flush()
        except Exception:  # noqa: BLE001
            LOGGER.exception("Could not save the last metrics")


_SPAWN_LOCK = threading.Lock()


@contextmanager
def _without_script_main() -> Iterator[None]:
    """Start spawned children without re-running the parent's `__main__` script.

    Spawn makes the child import the parent's `__main__` by its file path. Under Streamlit that module is the
    last script run (app.py or a page), so every worker would re-run the app's script in bare mode. A plain,
    file-less `__main__` while the child starts leaves it to import only what its target needs.
    """
    with _SPAWN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


class _ProcessRunner:
    """One long-lived worker process for one device: jobs in through a queue, events and results out.

    Cancellation: the parent writes the job's sequence number into a shared integer; the child's
    `should_stop` compares it with the job it is running, so a late cancel never hits the next job.
    """

    def __init__(self, manager: JobManager) -> None:
        self.manager = manager
        self.context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self.process: Any = None
        self.tasks: Any = None
        self.events: Any = None
        self.cancel_token: Any = None
        self.lifeline: Any = None
        self.sequence = 0

    def _start(self) -> None:
        ctx = self.context
        self.tasks, self.events = ctx.Queue(), ctx.Queue()
        self.cancel_token = ctx.Value("q", 0)
        # The lifeline: the child gets the read end; only this process holds the write end. When this process
        # dies (even by SIGKILL) the pipe closes and the child's watcher sees EOF.
        lifeline_read, self.lifeline = ctx.Pipe(duplex=False)
        m = self.manager
        self.process = ctx.Process(
            target=_child_main,
            args=(self.tasks, self.events, self.cancel_token, m.train_threads, str(m.data_dir), m.allow_download,
                  m.max_epochs, str(m.teacher_cache.folder) if m.teacher_cache.folder else None,
                  lifeline_read, os.getpid()),
            name="distill-worker",
            daemon=True,
        )  # fmt: skip
        with _without_script_main():
            self.process.start()
        lifeline_read.close()  # the child has its copy; ours would keep the pipe open after we die

    def run(self, job: _Job, on_event: Callable[[ProgressEvent], None]) -> tuple[dict[str, Any], dict]:
        if self.process is None or not self.process.is_alive():
            self._start()
        self.sequence += 1
        seq = self.sequence
        self.tasks.put((seq, *payload_of(job.state.config)))  # plain data: kind name and payload
        while True:
            if job.cancel.is_set():
                self.cancel_token.value = seq
            try:
                message = self.events.get(timeout=0.25)
            except queue_module.Empty:
                if not self.process.is_alive():
                    code = self.process.exitcode
                    self.process = None
                    raise RuntimeError(f"the training process stopped unexpectedly (exit code {code})") from None
                continue
            kind, message_seq, *payload = message
            if message_seq != seq:
                continue  # from an earlier job
            if kind == "event":
                on_event(payload[0])
            elif kind == "done":
                return payload[0], payload[1]
            elif kind == "cancelled":
                raise TrainingCancelled
            elif kind == "failed":
                raise TrainingError(payload[0])
            elif kind == "crashed":
                raise RuntimeError(payload[0])

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        try:
            self.cancel_token.value = self.sequence
            self.tasks.put(None)
            self.process.join(timeout)
        finally:
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(2)
            self.process = None
            if self.lifeline is not None:
                self.lifeline.close()
                self.lifeline = None


def _child_main(
    tasks: Any,
    events: Any,
    cancel_token: Any,
    train_threads: int,
    data_dir: str,
    allow_download: bool,
    max_epochs: int,
    cache_dir: str | None,
    lifeline: Any = None,
    parent_pid: int | None = None,
) -> None:
    """The worker process: run each (sequence, kind, payload) it receives, report through `events`.

    It never outlives the server: see `_die_with_parent`.
    """
    _die_with_parent(lifeline, parent_pid)
    torch.set_num_threads(train_threads)
    cache = TeacherCache(Path(cache_dir) if cache_dir else None)
    while True:
        task = tasks.get()
        if task is None:
            return
        seq, kind, payload = task
        try:
            config = config_from_payload(kind, payload)
            context = JobContext(
                data_dir=data_dir,
                allow_download=allow_download,
                max_epochs=max_epochs,
                teacher_cache=cache,
                on_event=lambda event, seq=seq: events.put(("event", seq, event)),
                should_stop=lambda seq=seq: cancel_token.value == seq,
            )
            result = kind_of(config).run(config, context)
            events.put(("done", seq, result.to_json(), result.weights))
        except TrainingCancelled:
            events.put(("cancelled", seq))
        except (ValueError, TrainingError) as exc:
            events.put(("failed", seq, str(exc)))
        except Exception as exc:  # noqa: BLE001 - report, and stay alive for the next job
            traceback.print_exc()
            events.put(("crashed", seq, f"{type(exc).__name__}: {str(exc)[:300]}"))


def _die_with_parent(lifeline: Any, parent_pid: int | None) -> None:
    """Make this worker exit when the process that started it dies, however it dies.

    1. Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) asks the kernel to kill us when our parent ends. (It fires when
       the parent *thread* that started us ends; the manager starts workers from its long-lived worker thread,
       and the pipe below covers every other case.) If the parent died before the call, exit now.
    2. Everywhere: a daemon thread blocks on `lifeline`, a pipe whose write end only the parent holds. When
       the parent dies the pipe reaches EOF, and the thread ends this process with os._exit (a training loop
       in a native kernel never has to cooperate).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl (e.g. musl without it): the pipe still works
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    if lifeline is None:
        return

    def watch() -> None:
        try:
            while True:
                lifeline.recv()  # the parent never sends; returns only on EOF (raises) or a stray message
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="distill-lifeline", daemon=True).start()
