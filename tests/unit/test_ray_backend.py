"""The Ray backend against a real local Ray cluster (2 CPUs, started once for this module): jobs run side by side
and give the local backend's numbers, the teacher cache holds, cancel and a killed worker end jobs with a message,
and an unreachable cluster or a missing Ray refuse jobs with one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")

from compression.distillation.jobs import JobManager  # noqa: E402
from compression.distillation.store import RunStore  # noqa: E402
from compression.distillation.trainer import TeacherCache, TrainConfig  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.timeout(600)]

TINY = TrainConfig(teacher="article-teacher", teacher_epochs=3, epochs=2, device="cpu")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module, with fixed resources (never a cluster left running on the machine)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray.cluster_resources()
    ray.shutdown()


@pytest.fixture
def manager(cluster, tmp_path):
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, data_dir=tmp_path / "data", train_threads=1, ray_address="local")
    assert manager.ray.wait_ready(120) and manager.ray.state == "connected", manager.ray.error
    yield manager
    manager.shutdown()
    store.close()


def wait_for(predicate, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def comparable(results: dict) -> dict:
    """Everything a run reports except its latencies (timings, not numbers of the model)."""
    return {
        role: {k: v for k, v in entry.items() if k != "latency_ms"}
        for role, entry in results.items()
        if isinstance(entry, dict) and "test_accuracy" in entry
    }


def test_two_visitors_run_side_by_side_with_the_local_backend_s_numbers(manager, tmp_path):
    assert manager.slots("ray") == 2  # 2 CPUs // 1 thread per job
    first = manager.submit(replace(TINY, seed=1), owner="alice")
    second = manager.submit(replace(TINY, seed=2), owner="bob")
    overlap, slots = False, []
    while not overlap and manager.snapshot(first.id).active and manager.snapshot(second.id).active:
        slots = manager.device_slots()  # each job's Ray worker, once its task has started
        workers = {line["job"]: line["worker"] for line in slots if line["job"] and line["worker"]}
        overlap = len(workers) == 2 and len({w["pid"] for w in workers.values()}) == 2
        threading.Event().wait(0.05)
    done = [manager.wait(job.id, 240) for job in (first, second)]
    assert [d.status for d in done] == ["done", "done"], [d.error for d in done]
    assert overlap, "the two jobs never trained at the same time"
    assert {line["slot"] for line in slots} == {"ray", "ray#1"}
    assert {line["owner"] for line in slots} == {"alice", "bob"}
    info = manager.backend_info()
    assert (info["state"], info["cpus"], info["capacity"]) == ("connected", 2, 2)
    # Same seeds on the local backend (this process, one thread): the same numbers, and the same epochs.
    local_store = RunStore(tmp_path / "local")
    local = JobManager(local_store, data_dir=tmp_path / "data", train_threads=1)
    try:
        for ray_job, seed in zip(done, (1, 2), strict=True):
            reference = local.wait(local.submit(replace(TINY, seed=seed)).id, 240)
            assert reference.status == "done", reference.error
            assert comparable(ray_job.results) == comparable(reference.results)
            assert ray_job.history == reference.history
            stored = manager.store.get_run(ray_job.id)
            assert stored.status == "done" and manager.store.weights_path(ray_job.id, "student") is not None
    finally:
        local.shutdown()
        local_store.close()


def test_the_same_teacher_asked_again_comes_from_the_server_s_cache(manager):
    """The worker (on the server's node) wrote the teacher into the server's folder; the next run reads it back:
    replaced there by an all-zero teacher, the second run distils from that one (it did not retrain)."""
    first = manager.wait(manager.submit(TINY, owner="alice").id, 240)
    assert first.status == "done", first.error
    key = TeacherCache.key(TINY, torch.device("cpu"))
    folder = manager.teacher_cache.folder
    assert (folder / f"{key}.safetensors").is_file()
    state, rows = TeacherCache(folder).get(key)
    TeacherCache(folder).put(key, {k: torch.zeros_like(v) for k, v in state.items()}, rows)
    again = manager.wait(manager.submit(TINY, owner="bob").id, 240)
    assert again.status == "done", again.error
    assert manager.store.get_run(again.id).status == "done"
    # The student without a teacher trains exactly as before, but agrees with the zero teacher (one class for
    # every image) only where that class is right; the distilled student learned from the zero teacher.
    assert again.results["baseline"]["test_accuracy"] == first.results["baseline"]["test_accuracy"]
    assert first.results["baseline"]["agreement"] > 0.5 > 0.2 > again.results["baseline"]["agreement"]
    assert again.results["student"]["test_accuracy"] != first.results["student"]["test_accuracy"]
    assert all(v.abs().sum() == 0 for v in TeacherCache(folder).get(key)[0].values())  # and it was not retrained


def test_the_mailbox_carries_the_teacher_cache_to_a_worker_on_another_node(cluster, tmp_path):
    """A worker off the server's node reads and writes the server's teacher folder through the mailbox."""
    from compression.distillation.ray_backend import MailboxTeacherCache
    from compression.ray_mailbox import Mailbox

    mailbox = ray.remote(Mailbox).options(num_cpus=0).remote(str(tmp_path / "teachers"))
    state = {"weight": torch.arange(6.0).reshape(2, 3), "bias": torch.ones(2)}
    assert MailboxTeacherCache(mailbox).put("abc123", state, [{"epoch": 1}]) is None
    entry = MailboxTeacherCache(mailbox).get("abc123")  # a fresh cache: from the server's folder
    assert entry is not None and entry[1] == [{"epoch": 1}]
    assert all(torch.equal(entry[0][k], state[k]) for k in state)
    assert torch.equal(TeacherCache(tmp_path / "teachers").get("abc123")[0]["weight"], state["weight"])
    assert MailboxTeacherCache(mailbox).get("../../etc") is None  # a key is a hex digest, never a path
    assert ray.get(mailbox.teacher_get.remote("0123")) is None


def test_cancel_stops_a_running_job_and_a_killed_worker_fails_its_job_and_the_next_runs(manager):
    long = manager.submit(replace(TINY, epochs=2000), owner="alice")
    wait_for(lambda: manager.snapshot(long.id).epoch > 0, "the long job to train")
    assert manager.cancel(long.id, requester="alice")
    cancelled = manager.wait(long.id, 90)
    assert cancelled.status == "cancelled", cancelled.error
    assert manager.store.get_run(long.id).status == "cancelled"

    doomed = manager.submit(replace(TINY, epochs=2000, seed=5), owner="bob")
    wait_for(lambda: manager.snapshot(doomed.id).epoch > 0, "the doomed job to train")
    wait_for(lambda: any(line["job"] == doomed.id and line["worker"] for line in manager.device_slots()), "a pid")
    worker = next(line["worker"] for line in manager.device_slots() if line["job"] == doomed.id)
    assert worker["pid"] != os.getpid()
    os.kill(worker["pid"], signal.SIGKILL)
    failed = manager.wait(doomed.id, 90)
    assert failed.status == "failed"
    assert "Ray worker running this job died" in failed.error and str(worker["pid"]) in failed.error
    assert manager.store.get_run(doomed.id).status == "failed"
    after = manager.wait(manager.submit(replace(TINY, seed=6), owner="bob").id, 240)
    assert after.status == "done", after.error


REFUSALS = r"""
import sys, time
from compression.distillation.jobs import JobManager
from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig
from compression.i18n import LabError

folder = sys.argv[1]
if sys.argv[2] == "missing":
    sys.modules["ray"] = None  # as if Ray were not installed
manager = JobManager(RunStore(folder), data_dir=folder, train_threads=1, ray_address=sys.argv[3])
assert manager.ray.wait_ready(120)
info = manager.backend_info()
try:
    manager.submit(TrainConfig(teacher="article-teacher", teacher_epochs=1, epochs=1, device="cpu"), owner="a")
    print("ACCEPTED")
except LabError as exc:
    print("STATE", info["state"])
    print("KEY", exc.key)
    print("EN", exc)
    print("ZH", exc.message("zh"))
manager.shutdown()
"""


@pytest.mark.parametrize(
    ("case", "address", "key", "says"),
    [
        ("unreachable", "127.0.0.1:9", "jobs.ray_unreachable", "cannot be reached"),
        ("missing", "auto", "jobs.ray_missing", "pip install ray==2.60.0"),
    ],
)
def test_an_unreachable_cluster_or_a_missing_ray_refuses_jobs_with_a_message(tmp_path, case, address, key, says):
    """In a fresh process (this one already has its Ray): the manager still builds, jobs are refused, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", REFUSALS, str(tmp_path), case, address], capture_output=True,
                         text=True, timeout=300, env=env, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ACCEPTED" not in out.stdout and f"KEY {key}" in out.stdout and says in out.stdout
    assert f"STATE {'missing' if case == 'missing' else 'unreachable'}" in out.stdout
    assert "Traceback" not in out.stdout
    zh = next(line for line in out.stdout.splitlines() if line.startswith("ZH"))
    assert "Ray" in zh and any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert time.monotonic() - started < 120  # refused in seconds, not after ray.init's minute of retries


def test_a_deploy_benchmark_runs_on_the_server_s_node_and_is_stored(manager):
    """Every job kind runs on Ray: the deploy benchmark reads a stored run from the server's folder, so it is
    pinned to the server's node; its result lands in the run store's jobs table."""
    from compression.deploy.kind import BenchmarkConfig
    from compression.distillation.store import JobStore

    run = manager.wait(manager.submit(TINY, owner="alice").id, 240)
    assert run.status == "done", run.error
    config = BenchmarkConfig.from_payload(
        {"run_id": run.id, "runs_dir": str(manager.store.runs_dir), "rounds": 2, "batch_sizes": [1, 256]}
    )
    job = manager.wait(manager.submit(config, owner="alice").id, 300)
    assert job.kind == "benchmark" and job.status == "done", job.error
    stored = JobStore(manager.store, "benchmark").get(job.id)
    assert stored["status"] == "done"
    latest = JobStore(manager.store, "benchmark").latest(run_id=run.id)
    assert {("student", "int8"), ("teacher", "int8")} <= {(row["model"], row["format"]) for row in latest["rows"]}
