"""A PTQ sweep as a job of the queue (kind "ptq"): the same figures as quantizing on the spot, stored and found
again by its inputs, progress, cancel, an estimate that tracks the real time, and refusals with a message."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from compression import ptq
from compression.distillation.job_kinds import JobLimits, config_from_payload, payload_of
from compression.distillation.jobs import JobManager
from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig, train
from compression.ptq.kind import PTQSweepConfig, check_ptq, estimate_ptq_seconds, frame_of, stored_result

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RUN = TrainConfig(dataset="digits", teacher="article-teacher", student="article-student", epochs=8,
                  teacher_epochs=8, device="cpu")  # fmt: skip
CONFIGS = tuple(ptq.configs_for([8, 4, 2], ["per-channel", "per-tensor"]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ptq_job_runs")
    result = train(RUN)
    store = RunStore(folder)
    store.create_run("run1", result.config)
    summary = result.to_json()
    summary.pop("history")
    store.finish("run1", summary, result.weights)
    store.create_run("unfinished", result.config)
    return folder


def test_a_queued_sweep_gives_exactly_the_figures_of_quantizing_at_once_and_is_found_again(runs):
    store = RunStore(runs)
    job = PTQSweepConfig("run1", str(runs), ("student", "baseline"), CONFIGS)
    assert config_from_payload(*payload_of(job)) == job  # plain JSON in, the same job out
    manager = JobManager(store, data_dir=runs / "data", train_threads=1)
    try:
        assert stored_result(store, job) is None
        events = []
        snap = manager.submit(job, owner="alice")
        final = manager.wait(snap.id, timeout=300)
        assert final.status == "done", final.error
        events = manager.snapshot(snap.id)
        assert events.fraction == 1.0
    finally:
        manager.shutdown()
    loaded = ptq.load_run_models(store, "run1")
    at_once = ptq.sweep_models(
        {r: loaded.models[r] for r in ("student", "baseline")}, loaded.x_test, loaded.y_test, list(CONFIGS),
        calibration_inputs=loaded.calibration_inputs, reference_size=loaded.teacher_size,
    )  # fmt: skip
    queued = frame_of(stored_result(store, job))
    pd.testing.assert_frame_equal(queued, at_once, check_dtype=False)
    other = PTQSweepConfig("run1", str(runs), ("student",), CONFIGS)  # other inputs: not the same result
    assert stored_result(store, other) is None


def test_a_cancelled_ptq_job_stops_and_the_queue_runs_the_next(runs):
    store = RunStore(runs)
    slow = PTQSweepConfig("run1", str(runs), ("teacher", "student", "baseline"),
                          tuple(ptq.configs_for([8, 7, 6, 5, 4, 3, 2], ["per-channel", "per-tensor"],
                                                calibrations=["mse"])))  # fmt: skip
    manager = JobManager(store, data_dir=runs / "data", train_threads=1)
    try:
        job = manager.submit(slow)
        for _ in range(1200):
            snap = manager.snapshot(job.id)
            if snap.status == "running" and snap.fraction > 0:
                break
            time.sleep(0.05)
        assert manager.cancel(job.id)
        final = manager.wait(job.id, timeout=120)
        assert final.status == "cancelled" and final.fraction < 1.0
        assert stored_result(store, slow) is None
        quick = manager.submit(PTQSweepConfig("run1", str(runs), ("student",), CONFIGS[:1]))
        assert manager.wait(quick.id, timeout=120).status == "done"
    finally:
        manager.shutdown()


def test_the_estimate_tracks_the_measured_time(runs):
    store = RunStore(runs)
    loaded = ptq.load_run_models(store, "run1")
    for calibration in ("minmax", "mse"):
        configs = ptq.configs_for([8, 4, 2], ["per-channel"], calibrations=[calibration])
        start = time.perf_counter()
        ptq.sweep_models({"teacher": loaded.models["teacher"]}, loaded.x_test, loaded.y_test, configs,
                         calibration_inputs=loaded.calibration_inputs)  # fmt: skip
        measured = time.perf_counter() - start
        estimate = estimate_ptq_seconds(loaded.config, ["teacher"], configs, gflops=50.0)
        assert 0.02 < measured / estimate < 20, (calibration, measured, estimate)


def test_bad_ptq_jobs_are_refused_with_a_message(runs):
    limits = JobLimits(max_seconds=600.0)
    with pytest.raises(ValueError, match="no run nope"):
        check_ptq(PTQSweepConfig("nope", str(runs), ("student",), CONFIGS), limits)
    with pytest.raises(ValueError, match="not finished"):
        check_ptq(PTQSweepConfig("unfinished", str(runs), ("student",), CONFIGS), limits)
    with pytest.raises(ValueError, match="too long for a shared server"):
        check_ptq(PTQSweepConfig("run1", str(runs), ("teacher",), CONFIGS), JobLimits(max_seconds=1e-4))
    with pytest.raises(ValueError, match="at least one bitwidth"):
        PTQSweepConfig.from_payload({"run_id": "run1", "runs_dir": str(runs), "roles": ["student"], "configs": []})
    with pytest.raises(ValueError, match="Unknown calibration"):
        PTQSweepConfig.from_payload({"run_id": "run1", "roles": ["student"], "configs": [{"calibration": "x"}]})
    with pytest.raises(ValueError, match="Not a run id"):
        PTQSweepConfig.from_payload({"run_id": "../etc", "roles": ["student"], "configs": [{"bits": 8}]})
    manager = JobManager(RunStore(runs), data_dir=runs / "data", max_job_seconds=1e-4)
    try:
        with pytest.raises(ValueError, match="too long"):
            manager.submit(PTQSweepConfig("run1", str(runs), ("teacher",), CONFIGS))
    finally:
        manager.shutdown()
