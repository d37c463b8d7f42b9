"""The Ray backend: every job of the lab's queue runs as a Ray task on a cluster (COMPRESSION_LAB_RAY_ADDRESS).

The lab keeps its own queue (positions, per-visitor limits); it hands a job to Ray only when the cluster has a
free slot (`RayCluster.capacity`: CPUs // train_threads, plus GPUs), so jobs beyond wait in the lab's queue, where
visitors see their position. Each job is one task:

- it asks for one GPU (a job on a CUDA device, or on "auto" when the cluster has GPUs), else for
  `train_threads` CPUs; no retries (`max_retries=0`): a training is not safe to run twice behind the learner's back;
- its argument is the job contract's plain payload (`job_kinds.payload_of`): kind name and JSON;
- it reports progress, reads its stop flag and reaches the teacher cache through the server's mailbox actor
  (compression/ray_mailbox.py), which lives on the server's node; the manager's worker thread drains it;
- its return value carries the summary and the weights back to the server, which stores them as always.

The teacher cache: a task on the server's node uses the server's teacher folder directly (same filesystem); on
another node it reads and writes the same folder through the mailbox (safetensors bytes), so the same teacher is
never trained twice. A kind that reads the server's own files (the deploy benchmark reads a stored run) is pinned
to the server's node.

Faults, as the lab says them: cancel asks the task to stop between steps, then `ray.cancel` after
`CANCEL_GRACE_S`, then `ray.cancel(force=True)`; a worker that dies (WorkerCrashedError) or a node that dies fails
the job with a message naming it, and the next job runs; a cluster that cannot be reached at start refuses new
jobs with a message (`RayCluster.refusal`) and the pages keep serving; without Ray installed, the message says
how to install it.

`ray.init` runs once per server process, on the cluster's own connecting thread (never a page's script run).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue as queue_module
import socket
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from compression.distillation.job_kinds import JobContext, config_from_payload, kind_of, payload_of
from compression.distillation.trainer import ProgressEvent, TeacherCache, TrainingCancelled, TrainingError
from compression.i18n import LabError
from compression.i18n import t as _t

LOGGER = logging.getLogger("compression_lab.ray")

RAY_REQUIREMENT = "ray==2.60.0"
CANCEL_GRACE_S = 15.0
"""Seconds a running task has to stop between steps after a cancel, before `ray.cancel` interrupts it."""
FORCE_AFTER_S = 10.0
"""Seconds after `ray.cancel` before `ray.cancel(force=True)` kills its worker."""
CONNECT_TIMEOUT_S = 5.0
SERVER_NODE_KINDS = frozenset({"benchmark"})
"""Kinds that read the server's files (a stored run): they run on the server's node."""
POLL_S = 0.25
HEALTH_S = 5.0
"""Seconds between the cluster thread's readings of the cluster (resources, nodes, still reachable)."""

_INIT_LOCK = threading.Lock()


def _en(key: str, **figures: Any) -> str:
    return _t(key, "en", **figures)


class RayCluster:
    """The server's connection to a Ray cluster, made once, on its own thread, when the manager starts.

    `state`: "connecting", "connected", "unreachable" (at start, or lost later) or "missing" (Ray not installed).
    """

    def __init__(
        self,
        address: str,
        *,
        train_threads: int,
        local_cpus: int,
        teacher_folder: Path | None,
        ship_code: bool = True,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.address = address.strip()
        self.train_threads = max(1, train_threads)
        self.local_cpus = max(1, local_cpus)
        self.teacher_folder = teacher_folder
        self.ship_code = ship_code
        self.on_connected = on_connected
        self.state = "connecting"
        self.error: LabError | None = None
        self.resources: dict[str, float] = {}
        self.nodes = 0
        self.mailbox: Any = None
        self.node_id: str | None = None
        self.started_ray = False
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._own, name="ray-connect", daemon=True)
        self._thread.start()

    def _own(self) -> None:
        """The cluster's own thread, for the server's lifetime: it connects, re-reads the cluster every
        `HEALTH_S`, and shuts Ray down at the end. It must outlive the connection: Ray starts a local cluster's
        processes (GCS, raylet) with PR_SET_PDEATHSIG, which the kernel fires when the *thread* that called
        `ray.init` ends, so a short-lived connecting thread would take the whole cluster down with it."""
        if not self._connect():
            return
        import ray

        while not self._stop.wait(HEALTH_S):
            if self.state != "connected":
                continue
            try:
                self._refresh(ray)
            except Exception as exc:  # noqa: BLE001 - the cluster went away
                self.lost(exc)
        if self.started_ray:
            ray.shutdown()
            self.started_ray = False

    # --- connecting ----------------------------------------------------------------------------------------
    def _connect(self) -> bool:
        try:
            try:
                import ray
            except ImportError:
                self._fail("missing", LabError("jobs.ray_missing", address=self.address, pin=RAY_REQUIREMENT))
                return False
            with _INIT_LOCK:
                if not ray.is_initialized():  # once per process: a test (or a notebook) may have started it
                    self._preflight()
                    ray.init(**self._init_kwargs())
                    self.started_ray = True
            self.node_id = ray.get_runtime_context().get_node_id()
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            from compression.ray_mailbox import Mailbox

            here = NodeAffinitySchedulingStrategy(node_id=self.node_id, soft=False)
            actor = ray.remote(Mailbox).options(num_cpus=0, max_concurrency=1, scheduling_strategy=here)
            self.mailbox = actor.remote(str(self.teacher_folder) if self.teacher_folder else None)
            ray.get(self.mailbox.ping.remote(), timeout=120)
            self._refresh(ray)
            self.state = "connected"
            LOGGER.info("Joined the Ray cluster at %s: %s", self.address, self.resources)
        except LabError as exc:
            self._fail("unreachable", exc)
            return False
        except Exception as exc:  # noqa: BLE001 - ConnectionError, RaySystemError, a timeout: say so, serve on
            LOGGER.warning("Could not reach the Ray cluster at %s: %s", self.address, exc)
            self._fail("unreachable", LabError("jobs.ray_unreachable", address=self.address, error=_short(exc)))
            return False
        self._ready.set()
        if self.on_connected is not None:
            self.on_connected()
        return True

    def _fail(self, state: str, error: LabError) -> None:
        self.state, self.error = state, error
        self._ready.set()

    def _preflight(self) -> None:
        """A host:port address that nothing answers fails in seconds (ray.init would retry for a minute)."""
        address = self.address
        if address.lower() in ("local", "auto") or address.startswith("ray://") or ":" not in address:
            return
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
                pass
        except (OSError, ValueError) as exc:
            raise LabError("jobs.ray_unreachable", address=address, error=_short(exc)) from exc

    def _init_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"address": self.address, "logging_level": logging.WARNING}
        if self.address.lower() == "local":  # a cluster of this machine alone, started by the server
            kwargs.update(num_cpus=self.local_cpus, include_dashboard=False)
        if self.ship_code:  # the workers import the lab from the shipped package: nodes need only the requirements
            import compression

            package = str(Path(compression.__file__).parent)
            kwargs["runtime_env"] = {"py_modules": [package], "excludes": ["__pycache__", "*.pyc"]}
        return kwargs

    def _refresh(self, ray: Any) -> None:
        self.resources = {k: float(v) for k, v in ray.cluster_resources().items()}
        self.nodes = sum(1 for node in ray.nodes() if node.get("Alive"))

    # --- what the manager and the panel ask ------------------------------------------------------------------
    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def refusal(self) -> LabError | None:
        """Why new jobs are refused now (unreachable, Ray missing), or None (connected, or still connecting:
        the job waits in the lab's queue)."""
        return self.error if self.state in ("unreachable", "missing") else None

    @property
    def cpus(self) -> int:
        return int(self.resources.get("CPU", 0))

    @property
    def gpus(self) -> int:
        return int(self.resources.get("GPU", 0))

    def capacity(self) -> int:
        """Jobs the cluster holds at once: one per `train_threads` CPUs, one per GPU (1 until connected)."""
        if self.state != "connected":
            return 1
        return max(1, self.cpus // self.train_threads + self.gpus)

    def info(self) -> dict[str, Any]:
        """Address, state, CPUs, GPUs and nodes for the device panel, as the cluster's thread last read them
        (a page never calls Ray)."""
        return {
            "address": self.address,
            "state": self.state,
            "cpus": self.cpus,
            "gpus": self.gpus,
            "nodes": self.nodes,
            "capacity": self.capacity(),
            "error": self.error,
        }

    def lost(self, exc: BaseException) -> None:
        """The cluster dropped after we joined it: new jobs are refused with a message until the server restarts."""
        LOGGER.warning("Lost the Ray cluster at %s: %s", self.address, exc)
        self.state = "unreachable"
        self.error = LabError("jobs.ray_lost", address=self.address, error=_short(exc))

    def shutdown(self, timeout: float = 10.0) -> None:
        """End the cluster's thread (which shuts Ray down when this server started it)."""
        self._stop.set()
        self._thread.join(timeout)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


class RayRunner:
    """Runs one job at a time as a Ray task: the same interface as jobs._ProcessRunner (`run`, `stop`)."""

    def __init__(self, manager: Any, cluster: RayCluster) -> None:
        self.manager = manager
        self.cluster = cluster
        self.ref: Any = None
        self.worker: dict[str, Any] | None = None
        """{"pid", "node"} of the Ray worker running the current job, once it has started."""

    def options(self, job: Any) -> tuple[dict[str, Any], str]:
        """The task's resources (one GPU, or train_threads CPUs) and the device it trains on there."""
        cluster = self.cluster
        requested = str(job.state.label.get("device", "auto") or "auto").strip().lower()
        gpu = requested.startswith("cuda") or (requested == "auto" and cluster.gpus > 0)
        if job.state.kind in SERVER_NODE_KINDS:
            gpu = False
        options: dict[str, Any] = {"max_retries": 0, "retry_exceptions": False}
        if gpu:
            options.update(num_gpus=1, num_cpus=1)
        else:
            options.update(num_cpus=min(cluster.train_threads, max(1, cluster.cpus)))
        if job.state.kind in SERVER_NODE_KINDS:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=cluster.node_id, soft=False)
        return options, ("cuda" if gpu else "cpu")

    def run(self, job: Any, on_event: Callable[[ProgressEvent], None]) -> tuple[dict[str, Any], dict]:
        cluster = self.cluster
        cluster.wait_ready()
        if cluster.state != "connected":
            raise cluster.error or LabError("jobs.ray_unreachable", address=cluster.address, error="?")
        import ray
        from ray import exceptions as rex

        m = self.manager
        name, payload = payload_of(job.state.config)
        options, device = self.options(job)
        if "device" in payload and job.state.kind not in SERVER_NODE_KINDS:
            payload = {**payload, "device": device}  # Ray gives the task its GPU as cuda:0
        settings = {
            "threads": cluster.train_threads,
            "data_dir": str(m.data_dir),
            "allow_download": m.allow_download,
            "max_epochs": m.max_epochs,
            "teacher_folder": str(cluster.teacher_folder) if cluster.teacher_folder else None,
            "server_node": cluster.node_id,
        }
        job_id = job.state.id
        mailbox = cluster.mailbox
        self.worker = None
        received = 0
        try:
            self.ref = _remote_task().options(**options).remote(job_id, name, payload, settings, mailbox)
            stop_sent = cancel_at = force_at = None
            while True:
                ready, _ = ray.wait([self.ref], timeout=POLL_S)
                received += self._drain(job_id, on_event)
                now = time.monotonic()
                if job.cancel.is_set():
                    if stop_sent is None:
                        mailbox.stop.remote(job_id)
                        stop_sent = now
                    elif cancel_at is None and now - stop_sent > CANCEL_GRACE_S:
                        ray.cancel(self.ref)
                        cancel_at = now
                    elif cancel_at is not None and force_at is None and now - cancel_at > FORCE_AFTER_S:
                        ray.cancel(self.ref, force=True)
                        force_at = now
                if ready:
                    break
            try:
                outcome = ray.get(self.ref)
            except rex.TaskCancelledError:
                raise TrainingCancelled from None
            except (rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError, rex.OutOfMemoryError) as exc:
                if job.cancel.is_set():
                    raise TrainingCancelled from None
                died = _en("errors.jobs.ray_worker_died", error=type(exc).__name__, worker=self._where())
                raise TrainingError(died) from None
            except rex.RayTaskError as exc:  # the task itself catches the lab's errors: this is Ray's own
                raise TrainingError(_en("errors.jobs.ray_task_failed", error=_short(exc))) from None
            sent = outcome[1]
            deadline = time.monotonic() + 10.0
            while received < sent and time.monotonic() < deadline:  # the last events may trail the result
                received += self._drain(job_id, on_event)
                if received < sent:
                    time.sleep(0.05)
        except (rex.RaySystemError, ConnectionError, rex.GetTimeoutError) as exc:
            cluster.lost(exc)
            raise TrainingError(_en("errors.jobs.ray_lost", address=cluster.address, error=_short(exc))) from None
        finally:
            self.ref = None
            try:
                mailbox.forget.remote(job_id)
            except Exception:  # noqa: BLE001 - the cluster is gone; nothing to forget
                pass
        status = outcome[0]
        if status == "done":
            return outcome[2], outcome[3]
        if status == "cancelled":
            raise TrainingCancelled
        if status == "failed":
            raise TrainingError(outcome[2])
        raise RuntimeError(outcome[2])

    def _drain(self, job_id: str, on_event: Callable[[ProgressEvent], None]) -> int:
        import ray

        blobs, worker = ray.get(self.cluster.mailbox.drain.remote(job_id), timeout=60)
        if worker is not None:
            self.worker = worker
        for blob in blobs:
            on_event(pickle.loads(blob))  # noqa: S301 - pickled by our own task on our own cluster
        return len(blobs)

    def _where(self) -> str:
        worker = self.worker
        return f"pid {worker['pid']} on {worker['node']}" if worker else "not started yet"

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the task in flight, if any (the server is shutting down)."""
        ref = self.ref
        if ref is None:
            return
        try:
            import ray

            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001
            LOGGER.exception("Could not cancel a Ray task")


class MailboxTeacherCache(TeacherCache):
    """The server's teacher cache seen from another node: entries travel as safetensors bytes via the mailbox."""

    def __init__(self, mailbox: Any) -> None:
        super().__init__(None)
        self.mailbox = mailbox

    def get(self, key: str) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]] | None:
        entry = super().get(key)
        if entry is not None:
            return entry
        import json

        import ray
        from safetensors.torch import load

        found = ray.get(self.mailbox.teacher_get.remote(key))
        if found is None:
            return None
        entry = (load(found[0]), json.loads(found[1]))
        self._remember(key, entry)
        return entry

    def put(self, key: str, state: dict[str, torch.Tensor], history: list[dict[str, Any]]) -> str | None:
        import json

        import ray
        from safetensors.torch import save

        super().put(key, state, history)
        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        if not ray.get(self.mailbox.teacher_put.remote(key, save(tensors), json.dumps(history))):
            return "the teacher could not be cached on the server; the run goes on without the cache"
        return None


_REMOTE: Any = None


def _remote_task() -> Any:
    """`run_job_task` as a Ray remote function, made once per process (each new one is exported again)."""
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(run_job_task)
    return _REMOTE


def run_job_task(job_id: str, kind: str, payload: dict[str, Any], settings: dict[str, Any], mailbox: Any) -> tuple:
    """The Ray task: rebuild the job from its payload and run its kind, reporting through the mailbox.

    Returns ("done", events sent, summary, weights), ("cancelled", sent), ("failed", sent, message) or
    ("crashed", sent, message): the lab's own errors come back as values, so Ray's exceptions mean Ray's faults.
    """
    import ray

    torch.set_num_threads(int(settings["threads"]))
    mailbox.started.remote(job_id, os.getpid(), ray.util.get_node_ip_address())
    folder = settings.get("teacher_folder")
    same_node = ray.get_runtime_context().get_node_id() == settings.get("server_node")
    cache: TeacherCache = TeacherCache(Path(folder)) if folder and same_node else MailboxTeacherCache(mailbox)
    outbox: queue_module.SimpleQueue[bytes] = queue_module.SimpleQueue()
    sent = [0]
    last = [0.0]

    def flush() -> None:
        batch = []
        while not outbox.empty():
            batch.append(outbox.get())
        if batch:
            mailbox.push.remote(job_id, batch)
            sent[0] += len(batch)
        last[0] = time.monotonic()

    def on_event(event: ProgressEvent) -> None:
        outbox.put(pickle.dumps(event))
        if event.kind != "progress" or time.monotonic() - last[0] > 0.2:
            flush()

    stop = {"at": 0.0, "set": False}

    def should_stop() -> bool:
        if not stop["set"] and time.monotonic() - stop["at"] > 0.2:
            stop["set"] = bool(ray.get(mailbox.stopping.remote(job_id)))
            stop["at"] = time.monotonic()
        return stop["set"]

    try:
        config = config_from_payload(kind, payload)
        context = JobContext(
            data_dir=settings["data_dir"],
            allow_download=bool(settings["allow_download"]),
            max_epochs=int(settings["max_epochs"]),
            teacher_cache=cache,
            on_event=on_event,
            should_stop=should_stop,
        )
        result = kind_of(config).run(config, context)
        outcome: tuple = ("done", result.to_json(), result.weights)
    except TrainingCancelled:
        outcome = ("cancelled",)
    except (ValueError, TrainingError) as exc:
        outcome = ("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - reported as the local worker does
        traceback.print_exc()
        outcome = ("crashed", f"{type(exc).__name__}: {str(exc)[:300]}")
    flush()
    return (outcome[0], sent[0], *outcome[1:])
