"""A training queue shared by every visitor: FIFO, one job at a time per device.

Where a job runs (`executor`):
- "process" (the server's default): one long-lived worker process per device, started on the first job
  (about 3 s to import torch) and reused. `torch.set_num_threads` is process-wide, so in its own process
  the thread count applies to the training alone; a crash of the worker (a segfault, the kernel's OOM
  killer) fails one job, not the web server; the next job gets a fresh worker. Progress events come back
  through a queue, cancellation goes through a shared integer; the teacher cache lives on disk.
- "thread": the job runs on a thread of this process (tests with an injected trainer, notebooks); the
  worker thread sets torch.set_num_threads(train_threads) for the whole process.

Measured on this 2-core machine (home page load in Chromium, median of 6, the default job training,
no live page open): idle 1.1 s; job in the worker process 1.6 s; job on a server thread 1.5 s. So the
GIL is not what slows the server here (torch releases it inside kernels; CPython hands it over every
5 ms): sharing two cores is. The process is chosen for isolation, not speed. With a live page open on the
same machine, 2.5 s, mostly plotly figure building (now graph_objects, about 15× cheaper than plotly
express) and the browser drawing it: 2.1 s.

Either way one job runs at a time per device (two trainings at once with default threads slowed each other
about 100× on this machine), `train_threads` defaults to cores − 1 so one core stays with the web server,
and the worker never touches Streamlit: it updates a `Job` under a lock and writes the run store; pages
read `snapshot()` copies.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import queue as queue_module
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from compression.device import resolve_device
from compression.distillation.store import RunStore
from compression.distillation.trainer import (
    ProgressEvent,
    TeacherCache,
    TrainConfig,
    TrainingCancelled,
    TrainingError,
    TrainResult,
    sample_passes,
    train,
    validate_config,
)

LOGGER = logging.getLogger("compression_lab.jobs")
ACTIVE = ("queued", "running")
FINISHED_KEPT = 30


@dataclass
class JobSnapshot:
    """A copy of a job's state for display. `position` is 1 for the next job to run (queued jobs only)."""

    id: str
    owner: str
    config: TrainConfig
    device: str
    status: str
    """queued, running, done, failed or cancelled."""
    position: int | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    phase: str
    message: str
    fraction: float
    epoch: int
    total_epochs: int
    step: int
    steps_per_epoch: int
    history: list[dict[str, Any]]
    results: dict[str, Any] | None
    error: str | None
    cancel_requested: bool

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class _Job:
    id: str
    owner: str
    config: TrainConfig
    device: str
    created_at: float
    status: str = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    phase: str = "queued"
    message: str = "Waiting for the device"
    fraction: float = 0.0
    epoch: int = 0
    total_epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class QueueFullError(ValueError):
    """The queue already holds `max_queue` waiting jobs."""


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
        self.teacher_cache = teacher_cache if teacher_cache is not None else TeacherCache(store.runs_dir / "teachers")
        self._trainer = trainer
        self.executor = executor
        self._runners: dict[str, _ProcessRunner] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._queues: dict[str, collections.deque[str]] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._closed = False
        self.recovered = store.mark_interrupted()

    @classmethod
    def from_settings(cls, settings: Any, executor: str = "process") -> JobManager:
        """Build from `compression.config.Settings` (data and runs folders, queue and epoch limits, threads)."""
        return cls(
            RunStore(settings.runs_dir),
            data_dir=settings.data_dir,
            allow_download=settings.allow_download,
            max_queue=settings.max_queue,
            max_epochs=settings.max_epochs,
            max_sample_passes=settings.max_sample_passes,
            train_threads=settings.train_threads,
            executor=executor,
        )

    # --- visitors ------------------------------------------------------------------------------------------
    def submit(self, config: TrainConfig, owner: str = "") -> JobSnapshot:
        """Validate, store as "queued" and enqueue. ValueError (bad value, full queue) before any job exists."""
        validate_config(config, self.max_epochs)
        work = sample_passes(config)
        if self.max_sample_passes is not None and work > self.max_sample_passes:
            raise ValueError(
                f"This run is too long for a shared server: it would push {work / 1e6:,.1f} million training "
                f"samples through its models (training examples × (teacher epochs + students × epochs)); this "
                f"server allows {self.max_sample_passes / 1e6:,.1f} million per job "
                "(COMPRESSION_LAB_MAX_SAMPLE_PASSES). Use fewer student or teacher epochs, or the digits dataset; "
                "the command line (python -m compression.distill) has no such limit."
            )
        device = str(resolve_device(config.device))
        with self._lock:
            if self._closed:
                raise ValueError("The training service is shutting down; try again in a moment.")
            waiting = sum(len(q) for q in self._queues.values())
            if waiting >= self.max_queue:
                raise QueueFullError(
                    f"The training queue is full ({waiting} jobs waiting, the limit is {self.max_queue}). "
                    "Try again when a job has finished."
                )
            job = _Job(id=uuid.uuid4().hex[:12], owner=owner, config=config, device=device, created_at=time.time())
            self.store.create_run(job.id, config.to_dict(), owner=owner, device=device)
            self._jobs[job.id] = job
            self._queues.setdefault(device, collections.deque()).append(job.id)
            self._ensure_worker(device)
            self._wakeup.notify_all()
            return self._snapshot(job)

    def cancel(self, job_id: str, requester: str | None = None, privileged: bool = False) -> bool:
        """Cancel a queued job at once, or ask a running one to stop after its current step.

        With `requester` given, only the job's owner may cancel, unless `privileged` (the presenter).
        Returns whether a cancel was issued.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status not in ACTIVE:
                return False
            if requester is not None and not privileged and job.owner and requester != job.owner:
                return False
            job.cancel.set()
            if job.status == "queued":
                queue = self._queues.get(job.device)
                if queue and job_id in queue:
                    queue.remove(job_id)
                self._finish(job, "cancelled", "Cancelled before it started.")
            else:
                job.message = "Stopping after the current step"
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

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot | None:
        """Block until the job is no longer queued or running (for the CLI and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while (job := self._jobs.get(job_id)) is not None and job.status in ACTIVE:
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

    # --- internals -----------------------------------------------------------------------------------------
    def _position(self, job: _Job) -> int | None:
        if job.status != "queued":
            return None
        queue = self._queues.get(job.device, ())
        return list(queue).index(job.id) + 1 if job.id in queue else None

    def _snapshot(self, job: _Job, with_history: bool = True) -> JobSnapshot:
        return JobSnapshot(
            id=job.id,
            owner=job.owner,
            config=job.config,
            device=job.device,
            status=job.status,
            position=self._position(job),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            phase=job.phase,
            message=job.message,
            fraction=job.fraction,
            epoch=job.epoch,
            total_epochs=job.total_epochs,
            step=job.step,
            steps_per_epoch=job.steps_per_epoch,
            history=list(job.history) if with_history else [],
            results=job.results,
            error=job.error,
            cancel_requested=job.cancel.is_set(),
        )

    def _ensure_worker(self, device: str) -> None:
        worker = self._workers.get(device)
        if worker is None or not worker.is_alive():
            worker = threading.Thread(target=self._work, args=(device,), name=f"distill-worker-{device}", daemon=True)
            self._workers[device] = worker
            worker.start()

    def _finish(self, job: _Job, status: str, error: str | None = None) -> None:
        """Called with the lock held."""
        job.status = status
        job.error = error
        job.finished_at = time.time()
        job.phase = status
        if status == "done":
            job.fraction = 1.0
            job.message = "Finished"
        elif status == "cancelled":
            job.message = "Cancelled"
        else:
            job.message = "Failed"
        try:
            if status != "done":
                self.store.set_status(job.id, status, error)
        except Exception:  # noqa: BLE001 - the store failing must not kill the worker
            LOGGER.exception("Could not record the end of job %s", job.id)
        finished = [j for j in self._jobs.values() if j.status not in ACTIVE]
        for old in sorted(finished, key=lambda j: j.finished_at or 0)[:-FINISHED_KEPT]:
            self._jobs.pop(old.id, None)
        self._wakeup.notify_all()

    def _work(self, device: str) -> None:
        while True:
            with self._lock:
                queue = self._queues.setdefault(device, collections.deque())
                while not queue and not self._closed:
                    self._wakeup.wait(timeout=1.0)
                if self._closed and not queue:
                    return
                job = self._jobs[queue.popleft()]
                job.status = "running"
                job.phase = "starting"
                job.message = "Starting"
                job.started_at = time.time()
                self._wakeup.notify_all()
            self._run(job)

    def _run(self, job: _Job) -> None:
        pending: list[dict[str, Any]] = []
        last_flush = [time.monotonic()]

        def flush() -> None:
            if pending:
                self.store.add_metrics(job.id, pending)
                pending.clear()
            last_flush[0] = time.monotonic()

        def on_event(event: ProgressEvent) -> None:
            with self._lock:
                job.phase = event.phase
                if event.kind == "status":
                    job.message = event.message
                else:
                    job.fraction = max(job.fraction, event.fraction)
                    job.epoch, job.total_epochs = event.epoch, event.total_epochs
                    job.step, job.steps_per_epoch = event.step, event.steps_per_epoch
                if event.kind == "epoch":
                    job.history.extend(event.rows)
                    pending.extend(event.rows)
            if pending and time.monotonic() - last_flush[0] > 0.5:
                flush()

        try:
            self.store.set_status(job.id, "running")
            if self.executor == "process":
                runner = self._runners.get(job.device)
                if runner is None:
                    runner = self._runners[job.device] = _ProcessRunner(self)
                summary, weights = runner.run(job, on_event)
            else:
                if job.device.startswith("cpu"):
                    torch.set_num_threads(self.train_threads)
                result = self._trainer(
                    job.config,
                    data_dir=self.data_dir,
                    allow_download=self.allow_download,
                    max_epochs=self.max_epochs,
                    teacher_cache=self.teacher_cache,
                    on_event=on_event,
                    should_stop=job.cancel.is_set,
                )
                summary, weights = result.to_json(), result.weights
            flush()
            summary.pop("history", None)
            self.store.finish(job.id, summary, weights)
            with self._lock:
                job.results = summary
                self._finish(job, "done")
        except TrainingCancelled:
            flush()
            with self._lock:
                self._finish(job, "cancelled", "Cancelled while training.")
        except (ValueError, TrainingError) as exc:
            self._safe_flush(flush)
            with self._lock:
                self._finish(job, "failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a failing run must never take the worker down
            LOGGER.exception("Distillation job %s failed", job.id)
            self._safe_flush(flush)
            with self._lock:
                self._finish(job, "failed", f"The run failed unexpectedly ({type(exc).__name__}: {str(exc)[:300]}).")

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
        self.sequence = 0

    def _start(self) -> None:
        ctx = self.context
        self.tasks, self.events = ctx.Queue(), ctx.Queue()
        self.cancel_token = ctx.Value("q", 0)
        m = self.manager
        self.process = ctx.Process(
            target=_child_main,
            args=(self.tasks, self.events, self.cancel_token, m.train_threads, str(m.data_dir), m.allow_download,
                  m.max_epochs, str(m.teacher_cache.folder) if m.teacher_cache.folder else None),
            name="distill-worker",
            daemon=True,
        )  # fmt: skip
        with _without_script_main():
            self.process.start()

    def run(self, job: _Job, on_event: Callable[[ProgressEvent], None]) -> tuple[dict[str, Any], dict]:
        if self.process is None or not self.process.is_alive():
            self._start()
        self.sequence += 1
        seq = self.sequence
        self.tasks.put((seq, job.config))
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


def _child_main(
    tasks: Any,
    events: Any,
    cancel_token: Any,
    train_threads: int,
    data_dir: str,
    allow_download: bool,
    max_epochs: int,
    cache_dir: str | None,
) -> None:
    """The worker process: train each (sequence, TrainConfig) it receives, report through `events`."""
    torch.set_num_threads(train_threads)
    cache = TeacherCache(Path(cache_dir) if cache_dir else None)
    while True:
        task = tasks.get()
        if task is None:
            return
        seq, config = task
        try:
            result = train(
                config,
                data_dir=data_dir,
                allow_download=allow_download,
                max_epochs=max_epochs,
                teacher_cache=cache,
                on_event=lambda event, seq=seq: events.put(("event", seq, event)),
                should_stop=lambda seq=seq: cancel_token.value == seq,
            )
            events.put(("done", seq, result.to_json(), result.weights))
        except TrainingCancelled:
            events.put(("cancelled", seq))
        except (ValueError, TrainingError) as exc:
            events.put(("failed", seq, str(exc)))
        except Exception as exc:  # noqa: BLE001 - report, and stay alive for the next job
            traceback.print_exc()
            events.put(("crashed", seq, f"{type(exc).__name__}: {str(exc)[:300]}"))
