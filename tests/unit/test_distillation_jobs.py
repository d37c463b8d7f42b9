"""JobManager and RunStore: FIFO queue with positions, cancellation, failures, interrupted-run recovery."""

from __future__ import annotations

import collections
import threading
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from compression.distillation.jobs import JobManager, QueueFullError
from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = TrainConfig(teacher="article-teacher", teacher_epochs=3, epochs=2, device="cpu")


class GatedTrainer:
    """The real trainer, held at the door until the test opens the gate (to observe a queue deterministically)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started: list[int] = []

    def __call__(self, config, **kwargs):
        self.started.append(config.seed)
        assert self.gate.wait(60), "the test never opened the gate"
        return train(config, **kwargs)


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path / "runs")
    yield store
    store.close()


def wait_until_running(manager: JobManager, job_id: str) -> None:
    for _ in range(600):
        if manager.snapshot(job_id).status == "running":
            return
        threading.Event().wait(0.05)
    raise AssertionError("the job never started")


def wait_until_training(manager: JobManager, job_id: str) -> None:
    """Until the job has finished at least one epoch."""
    for _ in range(600):
        if manager.snapshot(job_id).history:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the job never finished an epoch")


def make_manager(store: RunStore, **kwargs) -> JobManager:
    kwargs.setdefault("train_threads", 1)
    kwargs.setdefault("data_dir", store.runs_dir.parent / "data")
    return JobManager(store, **kwargs)


def test_two_jobs_one_runs_one_waits_both_visible_then_both_finish_in_order(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        first = manager.submit(replace(TINY, seed=1), owner="alice")
        wait_until_running(manager, first.id)
        second = manager.submit(replace(TINY, seed=2), owner="bob")
        assert second.status == "queued" and second.position is not None
        deadline = manager.wait(first.id, timeout=0.5)  # still gated: stays running
        assert deadline.status == "running"
        jobs = manager.jobs()
        assert [(j.id, j.status, j.position) for j in jobs] == [(first.id, "running", None), (second.id, "queued", 1)]
        assert {j.owner for j in jobs} == {"alice", "bob"}  # everyone sees everyone's jobs
        assert store.get_run(second.id).status == "queued"
        gated.gate.set()
        done_first, done_second = manager.wait(first.id, 120), manager.wait(second.id, 120)
        assert (done_first.status, done_second.status) == ("done", "done")
        assert gated.started == [1, 2]  # FIFO
        assert done_first.finished_at <= done_second.started_at  # one at a time on the device
        record = store.get_run(first.id)
        assert record.status == "done" and record.results["student"]["params"] > 0
        assert len(record.history) == 3 + 3 * 2  # teacher epochs + three students' epochs
        weights = load_file(str(store.weights_path(first.id, "student")))
        assert weights["1.weight"].shape == (128, 64)
        assert len(done_first.history) == 9
    finally:
        gated.gate.set()
        manager.shutdown()


def test_cancel_a_queued_job_and_a_running_one(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        running = manager.submit(replace(TINY, epochs=2000), owner="alice")
        wait_until_running(manager, running.id)
        queued = manager.submit(TINY, owner="bob")
        assert not manager.cancel(queued.id, requester="alice")  # not hers
        assert manager.snapshot(queued.id).status == "queued"
        assert manager.cancel(queued.id, requester="bob")
        assert manager.snapshot(queued.id).status == "cancelled"
        assert store.get_run(queued.id).status == "cancelled"
        gated.gate.set()
        # wait until the long job is really training, then cancel it between steps
        wait_until_training(manager, running.id)
        assert manager.cancel(running.id, requester="alice")
        final = manager.wait(running.id, 60)
        assert final.status == "cancelled" and final.epoch < 2000
        assert store.get_run(running.id).status == "cancelled"
        assert gated.started == [TINY.seed]  # the cancelled queued job never started
    finally:
        gated.gate.set()
        manager.shutdown()


def test_a_failing_job_reports_its_message_and_the_next_job_still_runs(store, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"  # every file present, but not IDX files: fails while loading
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (raw / name).write_bytes(b"not an idx file")
    manager = make_manager(store, data_dir=tmp_path / "data")
    try:
        bad = manager.submit(replace(TINY, dataset="mnist"))
        good = manager.submit(TINY)
        failed = manager.wait(bad.id, 60)
        assert failed.status == "failed"
        assert "MNIST" in failed.error and "could not be read" in failed.error
        assert store.get_run(bad.id).status == "failed" and "MNIST" in store.get_run(bad.id).error
        assert manager.wait(good.id, 120).status == "done"
    finally:
        manager.shutdown()


def test_a_dataset_whose_files_are_missing_is_refused_before_it_is_queued(store, tmp_path):
    """Issue 10 item 8: never queued, and the message names the folder and the files (no 'MNIST-style')."""
    manager = make_manager(store, data_dir=tmp_path / "data")
    try:
        with pytest.raises(ValueError) as info:
            manager.submit(replace(TINY, dataset="cifar10"), owner="alice")
        message = str(info.value)
        assert "cifar-10-batches-py" in message and "data_batch_1" in message and "test_batch" in message
        assert "MNIST" not in message and "gzipped" not in message
        assert manager.jobs() == [] and store.list_runs().empty
    finally:
        manager.shutdown()


def test_bad_config_and_full_queue_are_refused_before_a_job_exists(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated, max_queue=1, max_epochs=50)
    try:
        with pytest.raises(ValueError, match="at most 50"):
            manager.submit(replace(TINY, epochs=51))
        with pytest.raises(ValueError, match="temperature"):
            manager.submit(replace(TINY, temperature=0.0))
        assert store.list_runs().empty
        wait_until_running(manager, manager.submit(TINY).id)  # runs (held at the gate)
        manager.submit(TINY)  # waits
        with pytest.raises(QueueFullError, match="queue is full"):
            manager.submit(TINY)
        assert len(store.list_runs()) == 2
    finally:
        gated.gate.set()
        manager.shutdown()


def test_runs_left_running_by_a_dead_server_are_marked_interrupted(tmp_path):
    runs = tmp_path / "runs"
    old = RunStore(runs)
    old.create_run("was_running", TINY.to_dict())
    old.set_status("was_running", "running")
    old.add_metrics(
        "was_running",
        [
            {
                "model": "teacher",
                "epoch": 1,
                "train_loss": 1.0,
                "test_loss": 1.1,
                "test_accuracy": 0.5,
                "agreement": None,
            }
        ],
    )
    old.create_run("was_queued", TINY.to_dict())
    old.create_run("finished", TINY.to_dict())
    old.finish("finished", {"teacher": {"test_accuracy": 0.9}})
    old.close()  # the server dies here

    manager = JobManager(RunStore(runs), data_dir=tmp_path)  # the restarted server
    try:
        assert manager.recovered == 2
        statuses = dict(zip(manager.store.list_runs()["id"], manager.store.list_runs()["status"], strict=True))
        assert statuses == {"was_running": "interrupted", "was_queued": "interrupted", "finished": "done"}
        record = manager.store.get_run("was_running")
        assert "server stopped" in record.error and len(record.history) == 1  # kept, not lost
        assert manager.store.get_run("finished").results == {"teacher": {"test_accuracy": 0.9}}
    finally:
        manager.shutdown()


def test_store_refuses_path_like_run_ids(store):
    with pytest.raises(ValueError, match="Not a run id"):
        store.get_run("../../etc/passwd")
    assert store.get_run("unknown") is None


def test_process_executor_runs_cancels_and_survives_a_killed_worker(store):
    """The server's mode: jobs run in a spawned worker process, reused across jobs."""
    import os
    import signal

    manager = make_manager(store, executor="process")
    try:
        first = manager.submit(TINY, owner="alice")
        done = manager.wait(first.id, 180)
        assert done.status == "done", done.error
        assert len(done.history) == 3 + 3 * 2 and store.get_run(first.id).results["student"]["params"] == 9610
        assert store.weights_path(first.id, "student") is not None
        worker = manager._runners["cpu"].process
        # Cancel a long job while it trains: the worker stops between steps and stays alive.
        long = manager.submit(replace(TINY, epochs=2000), owner="alice")
        wait_until_training(manager, long.id)
        assert manager.cancel(long.id, requester="alice")
        assert manager.wait(long.id, 60).status == "cancelled"
        assert manager._runners["cpu"].process is worker and worker.is_alive()
        # A worker killed mid-run (the OOM killer, a segfault) fails that job only; the next job gets a new worker.
        doomed = manager.submit(replace(TINY, epochs=2000))
        wait_until_training(manager, doomed.id)
        os.kill(worker.pid, signal.SIGKILL)
        failed = manager.wait(doomed.id, 60)
        assert failed.status == "failed" and "training process stopped unexpectedly" in failed.error
        assert store.get_run(doomed.id).status == "failed"
        again = manager.submit(replace(TINY, seed=3))
        assert manager.wait(again.id, 180).status == "done"
    finally:
        manager.shutdown()
    assert manager._runners["cpu"].process is None


def test_worker_process_does_not_rerun_the_parents_script(store, tmp_path, monkeypatch):
    """Under Streamlit, `__main__` is the app script: the spawned worker must not execute it again."""
    import sys
    import types

    marker = tmp_path / "script-ran"
    script = tmp_path / "fake_app.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    manager = make_manager(store, executor="process")
    try:
        job = manager.submit(TINY, owner="alice")
        assert manager.wait(job.id, 180).status == "done"
    finally:
        manager.shutdown()
    assert sys.modules["__main__"] is fake_main
    assert not marker.exists(), "the worker process re-ran the parent's __main__ script"


def test_a_job_too_long_for_a_shared_server_is_refused_before_it_exists(store):
    from compression.distillation.trainer import sample_passes

    default = replace(TINY, dataset="digits", epochs=1000, teacher_epochs=150, train_fraction=None)
    assert sample_passes(default) == 359 * (150 + 3 * 1000)
    mnist = replace(default, dataset="mnist", epochs=1000)
    assert sample_passes(mnist) == 60_000 * (150 + 3 * 1000)
    assert sample_passes(replace(mnist, label_smoothing=0.0)) == 60_000 * (150 + 2 * 1000)
    manager = make_manager(store, max_sample_passes=1_000_000)  # an owner who also caps sample passes
    try:
        with pytest.raises(ValueError, match="too long for a shared server.*COMPRESSION_LAB_MAX_SAMPLE_PASSES"):
            manager.submit(default, owner="alice")  # 1.13 million
        assert manager.jobs() == [] and store.list_runs().empty
        ok = manager.submit(replace(default, epochs=100), owner="alice")  # 0.16 million: accepted
        manager.cancel(ok.id, requester="alice")
    finally:
        manager.shutdown()


HUGE = "mlp:4096,4096,4096,4096,4096,4096"


def test_the_huge_mlp_link_is_refused_with_its_estimate_before_it_is_queued(store):
    """Issue 12 item 2: /distillation?teacher=mlp:4096×6&student=mlp:4096×6&epochs=2000 was accepted
    (about 10.7 h measured). Now the estimate is in the message, and nothing is queued."""
    from compression.distillation.budget import estimate_work

    link = replace(TINY, teacher=HUGE, student=HUGE, epochs=2000, teacher_epochs=None)
    work = estimate_work(link, gflops=50.0)
    assert 5 * 3600 < work.seconds < 20 * 3600  # measured: 6.3 s per teacher epoch × 6,100 epochs ≈ 10.7 h
    manager = make_manager(store, max_job_seconds=600, train_gflops=50.0)
    try:
        with pytest.raises(ValueError, match=r"about \d+\.\d h on this server; the limit is 10 min"):
            manager.submit(link, owner="alice")
        assert manager.jobs() == [] and store.list_runs().empty
        # The default run fits easily; its estimate is in the tens of seconds.
        assert estimate_work(replace(TINY, teacher="cnn-small", teacher_epochs=None, epochs=1000)).seconds < 120
    finally:
        manager.shutdown()


def test_model_size_and_memory_are_bounded(store):
    big = replace(TINY, teacher=HUGE, epochs=1, teacher_epochs=1)
    manager = make_manager(store, max_params=20_000_000)
    try:
        with pytest.raises(
            ValueError, match=r"teacher is too large.*84,\d{3},\d{3} parameters; the limit is 20,000,000"
        ):
            manager.submit(big)
        manager.max_params, manager.max_job_memory_mb = None, 256
        with pytest.raises(ValueError, match=r"needs about [\d,]+ MiB of memory; this server allows 256 MiB"):
            manager.submit(big)
        assert store.list_runs().empty
    finally:
        manager.shutdown()


def test_one_visitor_may_hold_two_jobs_and_the_presenter_is_exempt(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated, max_jobs_per_visitor=2, max_queue=8)
    try:
        manager.submit(TINY, owner="greedy")
        second = manager.submit(TINY, owner="greedy")
        with pytest.raises(ValueError, match="You already have 2 jobs queued or running.*2 per visitor"):
            manager.submit(TINY, owner="greedy")
        manager.submit(TINY, owner="someone-else")  # others still get a turn
        for _ in range(3):
            manager.submit(TINY, owner="presenter", privileged=True)  # the presenter is exempt
        assert len([j for j in manager.jobs() if j.owner == "greedy"]) == 2
        manager.cancel(second.id, requester="greedy")  # a finished (here: cancelled) job frees a slot
        manager.submit(TINY, owner="greedy")
    finally:
        gated.gate.set()
        manager.shutdown()


def test_a_job_on_an_idle_device_starts_at_once_and_the_next_one_waits(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        first = manager.submit(TINY, owner="alice")
        assert manager.starts_at_once(first.id)  # queued for an instant, but nothing is ahead of it
        wait_until_running(manager, first.id)
        second = manager.submit(TINY, owner="bob")
        assert not manager.starts_at_once(second.id)
    finally:
        gated.gate.set()
        manager.shutdown()


def test_a_job_trains_with_the_servers_thread_count_in_both_executors(store):
    """Issue 8 item 9: the thread count is checked during training, not only after it."""
    seen = []

    def recording(config, **kwargs):
        on_event = kwargs["on_event"]
        kwargs["on_event"] = lambda event: (seen.append(torch.get_num_threads()), on_event(event))
        return train(config, **kwargs)

    manager = make_manager(store, trainer=recording, train_threads=2)
    try:
        assert manager.wait(manager.submit(TINY).id, 120).status == "done"
    finally:
        manager.shutdown()
    assert seen and set(seen) == {2}
    process_manager = make_manager(store, executor="process", train_threads=1)
    try:
        done = process_manager.wait(process_manager.submit(TINY).id, 180)
        assert done.status == "done", done.error
        assert done.results["threads"] == 1  # measured inside the worker, while it trained
    finally:
        process_manager.shutdown()


def test_snapshots_are_copies_with_one_list_of_fields(store):
    """Issue 8 item 5: JobSnapshot lists the fields once; the manager's copies do not alias its state."""
    import dataclasses

    from compression.distillation.jobs import JobSnapshot, _Job

    private = [f.name for f in dataclasses.fields(_Job)]
    assert private[0] == "state" and "cancel" in private
    # The manager's own bookkeeping (cancel event, estimate, deadline flag) never repeats a snapshot's field.
    assert not set(private) & {f.name for f in dataclasses.fields(JobSnapshot)}
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        job = manager.submit(TINY, owner="alice")
        snap = manager.snapshot(job.id)
        assert isinstance(snap, JobSnapshot) and snap.owner == "alice" and snap.config == TINY
        snap.history.append({"model": "fake"})
        snap.status = "done"
        assert manager.snapshot(job.id).history == [] and manager.snapshot(job.id).status != "done"
        before = manager.version
        manager.cancel(job.id)
        assert manager.version > before
    finally:
        gated.gate.set()
        manager.shutdown()


def test_the_presenter_may_cancel_anyone_s_job(store):
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        running = manager.submit(replace(TINY, epochs=2000), owner="alice")
        wait_until_running(manager, running.id)
        queued = manager.submit(TINY, owner="bob")
        assert not manager.cancel(queued.id, requester="carol", privileged=False)
        assert manager.cancel(queued.id, requester="carol", privileged=True)
        assert manager.snapshot(queued.id).status == "cancelled"
        gated.gate.set()
        wait_until_training(manager, running.id)
        assert manager.cancel(running.id, requester="carol", privileged=True)
        assert manager.wait(running.id, 60).status == "cancelled"
    finally:
        gated.gate.set()
        manager.shutdown()


def test_an_identical_finished_run_is_found_and_a_different_seed_or_an_unfinished_one_is_not(store):
    config = TINY.to_dict()
    store.create_run("done1", config)
    assert store.find_done_run(config) is None  # queued, not finished
    store.finish("done1", {"teacher": {"test_accuracy": 0.5}}, {})
    store.create_run("failed1", config)
    store.set_status("failed1", "failed", "boom")
    assert store.find_done_run(config) == "done1"
    assert store.find_done_run({**config, "seed": config["seed"] + 1}) is None
    assert store.find_done_run({**config, "device": "auto"}) is None
    manager = make_manager(store)
    try:
        assert manager.identical(TINY) == "done1"
        assert manager.identical(replace(TINY, alpha=0.5)) is None
    finally:
        manager.shutdown()


def test_a_job_running_far_past_its_estimate_is_stopped_with_a_message(store):
    """The deadline: 3× the estimate or the server's job limit, plus a grace. A trainer that never finishes (a
    wrong estimate, a stuck device) is stopped and fails with a message naming both figures."""

    def never_finishes(config, *, should_stop, **kwargs):
        while not should_stop():
            threading.Event().wait(0.02)
        from compression.distillation.trainer import TrainingCancelled

        raise TrainingCancelled

    manager = make_manager(store, trainer=never_finishes, executor="thread", max_job_seconds=600.0,
                           deadline_grace_s=30.0)  # fmt: skip
    assert manager.deadline_s(type("J", (), {"estimate_s": 400.0})()) == 1230.0  # 3 × 400 + 30
    assert manager.deadline_s(type("J", (), {"estimate_s": 10.0})()) == 630.0  # the limit + 30
    manager.deadline_s = lambda job: 0.3  # a test-sized deadline
    try:
        job = manager.submit(TINY, owner="a")
        done = manager.wait(job.id, timeout=60)
        assert done.status == "failed", done.status
        assert "Stopped: this job ran" in done.error and "well past its estimate" in done.error
        assert store.run_status(job.id) == "failed"
    finally:
        manager.shutdown()


def test_cpu_workers_run_jobs_side_by_side_and_the_rest_wait_in_order(store):
    """COMPRESSION_LAB_CPU_WORKERS=2: two jobs train at once on the CPU, the third waits at position 1 and
    starts when one finishes. The default (1) keeps one job at a time."""
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated, cpu_workers=2)
    try:
        jobs = [manager.submit(replace(TINY, seed=s), owner=f"v{s}") for s in (1, 2, 3)]
        wait_until_running(manager, jobs[0].id)
        wait_until_running(manager, jobs[1].id)
        assert manager.snapshot(jobs[2].id).status == "queued" and manager.snapshot(jobs[2].id).position == 1
        assert manager.starts_at_once(jobs[1].id) and not manager.starts_at_once(jobs[2].id)
        for _ in range(600):  # "running" is set just before the worker calls the trainer
            if len(gated.started) == 2:
                break
            threading.Event().wait(0.05)
        assert sorted(gated.started) == [1, 2]
        gated.gate.set()
        for job in jobs:
            assert manager.wait(job.id, timeout=120).status == "done"
    finally:
        gated.gate.set()
        manager.shutdown()
    with pytest.raises(ValueError, match="cpu_workers"):
        make_manager(store, cpu_workers=0)


def test_auto_goes_to_the_least_busy_cuda_device_and_a_named_one_is_kept(store, monkeypatch):
    """Every device of a server busy: with 3 CUDA devices (mocked: none here), "auto" jobs spread over them;
    a job pinned to cuda:2 waits for cuda:2."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        placed = [manager.submit(replace(TINY, seed=s, device="auto"), owner=f"v{s}").device for s in (1, 2, 3, 4)]
        assert placed == ["cuda:0", "cuda:1", "cuda:2", "cuda:0"]
        pinned = manager.submit(replace(TINY, seed=9, device="cuda:2"), owner="v9")
        assert pinned.device == "cuda:2"
    finally:
        for job in manager.jobs():
            manager.cancel(job.id)
        gated.gate.set()
        manager.shutdown()


def test_every_status_the_queue_shows_is_already_in_the_store_and_a_failed_save_fails_the_job(store, monkeypatch):
    """One transition writes the store, then the snapshot: whatever status a page sees, the store has."""
    from compression.distillation.store import StorageError

    seen: list[tuple[str, str | None]] = []
    original = JobManager._finish

    def recording_finish(self, job, status, error=None):  # runs after the store write, with the lock held
        seen.append((status, store.run_status(job.state.id)))
        original(self, job, status, error)

    monkeypatch.setattr(JobManager, "_finish", recording_finish)
    gated = GatedTrainer()
    manager = make_manager(store, trainer=gated)
    try:
        first = manager.submit(TINY)
        wait_until_running(manager, first.id)  # shown when a worker takes it, then stored
        for _ in range(200):
            if store.run_status(first.id) == "running":
                break
            threading.Event().wait(0.05)
        assert store.run_status(first.id) == "running"
        queued = manager.submit(replace(TINY, seed=2))
        assert manager.cancel(queued.id)
        gated.gate.set()
        assert manager.wait(first.id, timeout=300).status == "done"
        assert ("cancelled", "cancelled") in seen and ("done", "done") in seen

        def full_disk(*args, **kwargs):
            raise StorageError("The run history cannot be saved or read right now: the disk is full.")

        monkeypatch.setattr(RunStore, "finish", full_disk)
        broken = manager.submit(replace(TINY, seed=3))
        final = manager.wait(broken.id, timeout=300)
        assert final.status == "failed" and "disk is full" in final.error
        assert store.run_status(broken.id) == "failed"  # never shown done, never left running
    finally:
        manager.shutdown()


class SeedGates:
    """Each seed held until the test opens its own gate; then a result without training (torch.cuda is mocked
    here, so no real training may run)."""

    def __init__(self) -> None:
        self.gates: dict[int, threading.Event] = collections.defaultdict(threading.Event)
        self.started: list[int] = []

    def __call__(self, config, **kwargs):
        self.started.append(config.seed)
        assert self.gates[config.seed].wait(60), "the test never opened the gate"
        from compression.distillation.job_kinds import SimpleOutput

        return SimpleOutput({"seed": config.seed}, {})


def test_an_auto_job_runs_on_the_first_cuda_device_to_be_free_and_a_pinned_one_keeps_waiting(store, monkeypatch):
    """Two CUDA devices (mocked): jobs 1 and 2 run on cuda:0 and cuda:1; "auto" job 3 was placed behind job 1 on
    cuda:0, and job 4 is pinned to cuda:0. When job 2 finishes first, job 3 moves to cuda:1 and runs there;
    job 4 still waits for cuda:0."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    gates = SeedGates()
    manager = make_manager(store, trainer=gates)
    try:
        one, two = (manager.submit(replace(TINY, seed=s, device="auto"), owner=f"v{s}") for s in (1, 2))
        wait_until_running(manager, one.id)
        wait_until_running(manager, two.id)
        three = manager.submit(replace(TINY, seed=3, device="auto"), owner="v3")
        four = manager.submit(replace(TINY, seed=4, device="cuda:0"), owner="v4")
        assert (one.device, two.device, three.device, four.device) == ("cuda:0", "cuda:1", "cuda:0", "cuda:0")
        gates.gates[2].set()
        assert manager.wait(two.id, 120).status == "done"
        wait_until_running(manager, three.id)
        assert manager.snapshot(three.id).device == "cuda:1"
        assert manager.snapshot(four.id).status == "queued" and manager.snapshot(four.id).device == "cuda:0"
        assert manager.snapshot(one.id).status == "running"
        gates.gates[3].set()
        gates.gates[1].set()
        gates.gates[4].set()
        assert [manager.wait(j.id, 120).status for j in (one, three, four)] == ["done"] * 3
        assert manager.snapshot(four.id).device == "cuda:0"
    finally:
        for gate in (1, 2, 3, 4):
            gates.gates[gate].set()
        manager.shutdown()


def test_a_kind_unregistered_while_its_job_runs_still_ends_and_the_worker_serves_the_next_job(store):
    """The job's record is resolved at submit; its end is stored, and the worker thread lives on."""
    from dataclasses import dataclass
    from typing import ClassVar

    from compression.distillation.job_kinds import JOB_KINDS, JobKind, register_job_kind

    @dataclass(frozen=True)
    class Vanishing:
        kind: ClassVar[str] = "vanishing-test"

        def to_dict(self):
            return {}

    gate = threading.Event()

    def run(config, context):
        assert gate.wait(60)
        raise ValueError("this kind fails on purpose")

    register_job_kind(JobKind(name=Vanishing.kind, from_payload=lambda p: Vanishing(), check=lambda c, limits: 1.0,
                              run=run, store=lambda runs: runs, describe=lambda c: {"device": "cpu"}))  # fmt: skip
    manager = make_manager(store, executor="thread")
    try:
        job = manager.submit(Vanishing())
        wait_until_running(manager, job.id)
        JOB_KINDS.pop(Vanishing.kind)
        gate.set()
        final = manager.wait(job.id, timeout=60)
        assert final.status == "failed" and "on purpose" in final.error
        assert store.run_status(job.id) == "failed"
        after = manager.submit(TINY)
        assert manager.wait(after.id, timeout=300).status == "done"
    finally:
        JOB_KINDS.pop(Vanishing.kind, None)
        manager.shutdown()
