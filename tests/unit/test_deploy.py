"""Deploying a stored run: ONNX export (float32, one self-contained file, dynamic batch, [0, 1] inputs), real
int8 in ONNX Runtime (static QDQ per-channel and dynamic), the benchmark job's seam (events, cancel, result),
verdicts as data, bad input, and the CLI's --export. Every check runs real ONNX Runtime sessions; no timing
is asserted (speed is benchmarks/deploy.py's job)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from compression import ptq
from compression.deploy import DeployError, runtime_problem
from compression.deploy.bench import BenchmarkCancelled, BenchmarkRequest, run_benchmark_request
from compression.deploy.export import RunInputs, export_float32, run_inputs
from compression.deploy.job import estimate_benchmark, export_bytes, export_dir, request_from_payload, run_benchmark
from compression.deploy.measure import ort_logits, ort_session
from compression.deploy.report import deploy_json_rows, onnx_snippet, result_frame
from compression.deploy.verdict import event_text, verdict_text, verdicts
from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig, TrainingCancelled, train
from compression.i18n import LANGUAGES, catalogue
from tests.conftest import ROOT

# The default digits teacher (cnn-small) and student, trained briefly: a real run in a few seconds on one core.
RUN_CONFIG = TrainConfig(
    dataset="digits", teacher="cnn-small", student="article-student", epochs=60, teacher_epochs=30, device="cpu"
)
FAST = {"rounds": 2, "batch_sizes": [1, 256]}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    result = train(RUN_CONFIG)
    runs = tmp_path_factory.mktemp("deploy_runs")
    store = RunStore(runs)
    store.create_run("run1", result.config)
    summary = result.to_json()
    summary.pop("history")
    store.finish("run1", summary, result.weights)
    return store, "run1"


@pytest.fixture(scope="module")
def loaded(stored_run):
    store, run_id = stored_run
    return ptq.load_run_models(store, run_id)


@pytest.fixture(scope="module")
def inputs(loaded) -> RunInputs:
    return run_inputs(loaded)


@pytest.fixture(scope="module")
def static_result(stored_run):
    store, run_id = stored_run
    events: list[dict] = []
    payload = {"run_id": run_id, "runs_dir": str(store.runs_dir), "modes": ["float32", "int8", "int4"], **FAST}
    result = run_benchmark(payload, events.append, lambda: False)
    return result, events, payload


def _row(result, model, fmt):
    return next(r for r in result["rows"] if r["model"] == model and r["format"] == fmt)


# --- export --------------------------------------------------------------------------------------------------
def test_the_runtime_is_installed_and_a_missing_one_is_a_sentence():
    assert runtime_problem() is None

    def missing():
        raise ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime")

    problem = runtime_problem(missing)
    assert isinstance(problem, DeployError) and "onnxruntime is not installed" in str(problem)
    assert "onnxruntime" in problem.message("zh") and "requirements.txt" in problem.message("zh")


def test_inputs_are_the_runs_own_split_in_0_1(loaded, inputs):
    assert inputs.x_test.shape == loaded.x_test.shape and inputs.input_shape == (1, 8, 8)
    assert float(inputs.x_train.min()) >= 0.0 and float(inputs.x_train.max()) <= 1.0
    standardised = (inputs.x_test - inputs.mean) / inputs.std
    assert torch.allclose(standardised, loaded.x_test, atol=1e-6)


def test_float32_export_equals_torch_within_1e_5_on_the_test_set(loaded, inputs, tmp_path):
    for role, model in loaded.models.items():
        path = export_float32(model, inputs, tmp_path / f"{role}-float32.onnx")
        logits = ort_logits(ort_session(path, threads=1), inputs.x_test.numpy())
        with torch.no_grad():
            expected = model(loaded.x_test).numpy()
        np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5, err_msg=role)


def test_the_file_is_self_contained_float32_in_the_datasets_shape_with_a_dynamic_batch(loaded, inputs, tmp_path):
    path = export_float32(loaded.models["teacher"], inputs, tmp_path / "teacher-float32.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher-float32.onnx"]  # no .onnx.data, no partial file
    model = onnx.load(str(path), load_external_data=False)
    assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer)
    (graph_input,) = model.graph.input
    assert graph_input.name == "input" and graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [1, 8, 8]
    assert [o.name for o in model.graph.output] == ["logits"]
    # the file's bytes alone make a session (nothing else is read), at batch 1 and 256
    session = ort_session_from_bytes(path.read_bytes())
    for batch in (1, 256):
        x = np.random.default_rng(batch).random((batch, 1, 8, 8), dtype=np.float32)
        (out,) = session.run(None, {"input": x})
        assert out.shape == (batch, 10)
        with torch.no_grad():
            expected = loaded.models["teacher"]((torch.from_numpy(x) - inputs.mean) / inputs.std).numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def ort_session_from_bytes(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


class DataDependent(nn.Module):
    """A layer torch.export cannot trace: its branch depends on the values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.sum()) > 0:
            return x * 2
        return x


def test_an_export_that_fails_names_the_layer_and_the_reason(inputs, tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), DataDependent(), nn.Linear(16, 10)).eval()
    with pytest.raises(DeployError) as info:
        export_float32(model, inputs, tmp_path / "bad.onnx")
    text = str(info.value)
    assert "layer 2 (DataDependent)" in text and len(text) < 500
    assert "第 2 层（DataDependent）" in info.value.message("zh")
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left


def test_a_full_disk_is_a_message_naming_the_folder(loaded, inputs, tmp_path, monkeypatch):
    import compression.deploy.export as export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export.os, "replace", full)
    with pytest.raises(DeployError) as info:
        export_float32(loaded.models["student"], inputs, tmp_path / "student-float32.onnx")
    assert str(tmp_path) in str(info.value) and "no space left" in str(info.value) and "MB free" in str(info.value)
    assert list(tmp_path.iterdir()) == []


# --- int8 in ONNX Runtime ------------------------------------------------------------------------------------
def test_static_int8_is_qdq_per_channel_smaller_and_agrees(static_result, loaded):
    result, _, _ = static_result
    folder = Path(result["export_dir"])
    for role in ("teacher", "student", "baseline"):
        f32, i8 = _row(result, role, "float32"), _row(result, role, "int8")
        assert f32["agreement_float32"] == 1.0 and f32["max_abs_logit_diff"] < 1e-4
        assert i8["agreement_float32"] >= 0.97, role
        assert abs(i8["test_accuracy"] - f32["test_accuracy"]) <= 0.02, role
        assert 0.9 <= i8["agreement_fakequant"] <= 1.0
        assert i8["file_bytes"] < f32["file_bytes"] and i8["float_ops"] == []
        model = onnx.load(str(folder / i8["file"]))
        ops = {node.op_type for node in model.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # QDQ format
        int8 = {init.name: init for init in model.graph.initializer if init.data_type == onnx.TensorProto.INT8}
        weights = [name for name in int8 if name.endswith("weight_quantized")]
        assert len(weights) == len(ptq.quantizable_layers(loaded.models[role]))
        # per channel: each weight has one scale per output channel
        scales = {init.name: init for init in model.graph.initializer}
        for name in weights:
            scale = scales[name.replace("_quantized", "_scale")]
            assert list(scale.dims) == [int8[name].dims[0]]
    teacher_f32, teacher_i8 = _row(result, "teacher", "float32"), _row(result, "teacher", "int8")
    assert teacher_i8["file_bytes"] <= 0.4 * teacher_f32["file_bytes"]  # the default digits teacher


def test_dynamic_int8_quantizes_weights_and_agrees(stored_run, tmp_path):
    store, run_id = stored_run
    request = BenchmarkRequest(run_id=run_id, models=("teacher", "student"), quant_mode="dynamic", measure_speed=False)
    result = run_benchmark_request(store, request, tmp_path)
    for role in ("teacher", "student"):
        i8 = _row(result, role, "int8")
        assert i8["quant_mode"] == "dynamic" and i8["int8_weights"] > 0
        assert i8["agreement_float32"] >= 0.97 and "latency_ms" not in i8
        ops = {node.op_type for node in onnx.load(str(tmp_path / i8["file"])).graph.node}
        assert "DynamicQuantizeLinear" in ops and "QuantizeLinear" not in ops
    assert {v["key"] for v in result["verdicts"]} >= {"deploy.verdict.not_measured"}
    json.dumps(result)


# --- the job seam --------------------------------------------------------------------------------------------
def test_the_benchmark_job_reports_events_rows_env_and_a_verdict(static_result):
    result, events, payload = static_result
    json.dumps(result)  # plain JSON
    assert result["job_kind"] == "benchmark" and result["run_id"] == payload["run_id"]
    assert result["input_shape"] == [-1, 1, 8, 8] and result["quant_mode"] == "static"
    env = result["env"]
    assert {"cpu", "has_vnni", "threads", "onnxruntime"} <= set(env) and env["threads"] == 1
    for row in result["rows"]:
        if row["runtime"] != "onnxruntime":
            continue
        for key in ("latency_ms_b1", "latency_ms_b256", "throughput", "file_bytes", "test_accuracy",
                    "agreement_float32", "agreement_fakequant"):  # fmt: skip
            assert key in row, key
        assert row["latency_ms"]["1"] > 0 and row["latency_ms"]["256"] > 0
        assert len(row["latency_rounds_ms"]["256"]) == payload["rounds"]
        assert row["throughput"] == pytest.approx(256_000 / row["latency_ms"]["256"])
    phases = [e["phase"] for e in events]
    assert phases[0] == "load" and phases[-1] == "done" and {"export", "quantize", "evaluate", "measure"} <= set(phases)
    assert [e["done"] for e in events] == sorted(e["done"] for e in events)
    assert events[-1]["done"] == events[-1]["total"]
    for lang in LANGUAGES:
        for event in events:
            assert event["message_key"].removeprefix("deploy.") and event_text(event, lang)
        for item in result["verdicts"]:
            assert item["tone"] in ("good", "warn", "info") and item["key"] in catalogue(lang)
            assert verdict_text(item, lang)
    assert Path(result["export_dir"]) == export_dir(payload["runs_dir"], payload["run_id"], "static")
    assert export_bytes(result, "teacher-int8.onnx")[:2]  # the page's download reads the named file only
    for bad in ("../distillation.sqlite", "/etc/passwd", "teacher-int8.onnx/.."):
        with pytest.raises(DeployError):
            export_bytes(result, bad)


def test_an_estimate_is_seconds_of_work_and_bad_payloads_are_refused(static_result, stored_run):
    result, _, payload = static_result
    estimate = estimate_benchmark(payload)
    assert 5 < estimate < 120
    assert estimate_benchmark({**payload, "rounds": 20}) > estimate
    assert estimate_benchmark({**payload, "models": ["student"]}) < estimate
    for bad, message in (
        ({"run_id": ""}, "needs a run id"),
        ({"quant_mode": "fast"}, "Unknown int8 mode"),
        ({"modes": ["int9"]}, "Unknown format"),
        ({"models": ["critic"]}, "Unknown model"),
        ({"threads": 0}, "threads"),
        ({"rounds": "many"}, "rounds"),
        ({"batch_sizes": [1, 10**6]}, "batch sizes"),
        ({"run_id": "nope"}, "no run nope"),
    ):
        with pytest.raises(ValueError, match=message):
            estimate_benchmark({**payload, **bad})
    with pytest.raises(DeployError, match="not a run id"):
        export_dir("runs", "../etc", "static")
    assert request_from_payload({"run_id": "r"}).formats == ("float32", "int8")


def test_should_stop_cancels_the_benchmark(stored_run, tmp_path):
    store, run_id = stored_run
    seen: list[dict] = []
    payload = {"run_id": run_id, "runs_dir": str(store.runs_dir), "models": ["student"], **FAST}
    with pytest.raises(BenchmarkCancelled) as info:
        run_benchmark(payload, seen.append, lambda: len(seen) >= 2)
    assert isinstance(info.value, TrainingCancelled)  # the queue's cancel handling catches it
    assert 1 <= len(seen) <= 2


def test_bits_below_8_have_no_kernel_and_no_speed_claim(static_result):
    result, _, _ = static_result
    rows = [r for r in result["rows"] if r["format"] == "int4"]
    assert rows and all(r["no_kernel"] and r["file"] is None and not r["latency_ms"] for r in rows)
    assert all(r["throughput"] is None for r in rows)
    keys = [v["key"] for v in result["verdicts"]]
    assert "deploy.verdict.no_kernel" in keys
    speed_claims = [v for v in result["verdicts"] if "faster" in v["key"] or "mixed" in v["key"]]
    assert all(v["params"].get("bits") is None for v in speed_claims)
    assert "int4" not in {r["precision"] for r in deploy_json_rows(result)}
    frame = result_frame(result)
    assert frame[frame["format"] == "int4"]["latency_ms_small"].isna().all()


def test_gone_weights_are_a_message(stored_run, tmp_path):
    store, run_id = stored_run
    copy = RunStore(tmp_path / "runs")
    record = store.get_run(run_id)
    copy.create_run("gone", record.config)
    copy.finish("gone", record.results, {})
    with pytest.raises(ValueError, match="gone from the store"):
        run_benchmark({"run_id": "gone", "runs_dir": str(copy.runs_dir), **FAST}, lambda e: None, lambda: False)


# --- verdicts as data ----------------------------------------------------------------------------------------
def _fake(latency: dict[str, dict[str, float]], *, vnni: bool = True, macs: int = 1_000_000) -> dict:
    rows = []
    for key, ms in latency.items():
        role, fmt = key.split("/")
        rows.append({"model": role, "format": fmt, "file_bytes": 4000 if fmt == "float32" else 1000,
                     "test_accuracy": 0.95, "agreement_float32": 0.99, "latency_ms": ms, "macs_per_example": macs,
                     "quant_mode": "static" if fmt == "int8" else None})  # fmt: skip
    return {"batch_sizes": [1, 256], "rows": rows, "env": {"has_vnni": vnni, "cpu": "Test CPU", "threads": 1}}


def test_verdicts_say_when_int8_pays_and_why_it_does_not():
    faster = _fake({"teacher/float32": {"1": 0.3, "256": 12.0}, "teacher/int8": {"1": 0.1, "256": 3.0}})
    keys = [v["key"] for v in verdicts(faster)]
    assert "deploy.verdict.int8_faster" in keys and not any("why" in k for k in keys)
    slow = _fake({"teacher/float32": {"1": 0.1, "256": 3.0}, "teacher/int8": {"1": 0.2, "256": 6.0}}, vnni=False)
    found = {v["key"]: v for v in verdicts(slow)}
    assert found["deploy.verdict.int8_not_faster"]["tone"] == "warn"
    assert found["deploy.verdict.why_no_vnni"]["params"]["cpu"] == "Test CPU"
    small = _fake({"student/float32": {"1": 0.01, "256": 0.2}, "student/int8": {"1": 0.02, "256": 0.15}}, macs=9472)
    found = {v["key"]: v for v in verdicts(small)}
    assert "deploy.verdict.int8_mixed" in found and found["deploy.verdict.why_small"]["params"]["macs"] == 9472
    assert "9,472" in verdict_text(found["deploy.verdict.why_small"], "en")
    assert "蒸馏学生" in verdict_text(found["deploy.verdict.why_small"], "zh")
    head = _fake({"teacher/float32": {"1": 0.3, "256": 12.0}, "student/int8": {"1": 0.01, "256": 0.1}})
    first = verdicts(head)[0]
    assert first["key"] == "deploy.verdict.headline_faster_less" and first["params"]["ratio"] == pytest.approx(120)
    assert "120.0× faster than the float32 teacher at batch 256" in verdict_text(first, "en")


# --- the CLI -------------------------------------------------------------------------------------------------
def test_cli_export_writes_every_models_files_and_deploy_json(stored_run, tmp_path):
    store, run_id = stored_run
    out = tmp_path / "onnx"
    env = {"COMPRESSION_LAB_RUNS_DIR": str(store.runs_dir), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "compression.ptq", "--run", run_id, "--export", str(out), "--models", "teacher,student"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["deploy.json", "student-float32.onnx", "student-int8.onnx", "teacher-float32.onnx",
                     "teacher-int8.onnx"]  # fmt: skip
    rows = json.loads((out / "deploy.json").read_text())
    assert {(r["model"], r["precision"]) for r in rows} == {
        (m, p) for m in ("teacher", "student") for p in ("float32", "int8")
    }
    for row in rows:
        assert set(row) >= {"model", "precision", "file", "bytes", "test_accuracy", "agreement", "latency_ms",
                            "throughput", "runtime", "cpu"}  # fmt: skip
        assert set(row["latency_ms"]) == {"1", "256"} and row["runtime"].startswith("onnxruntime ")
        assert row["bytes"] == (out / row["file"]).stat().st_size
    assert "VNNI" in done.stdout and "int8" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "compression.ptq", "--run", run_id, "--export", str(out), "--mode", "fast"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_the_snippet_runs_a_downloaded_file(static_result, tmp_path):
    result, _, _ = static_result
    name = "student-int8.onnx"
    (tmp_path / name).write_bytes(export_bytes(result, name))
    code = onnx_snippet(name, result["input_shape"])
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.strip().strip("[]").split()) == 4


def test_the_benchmark_is_a_job_of_the_queue_run_in_the_worker_process_and_stored(stored_run, tmp_path):
    """The job contract end to end: a "benchmark" job crosses into the spawned worker as plain JSON, reports
    progress in catalogue keys, is budgeted, and its result lands in the run store's jobs table."""
    from compression.deploy.kind import BenchmarkConfig
    from compression.distillation.jobs import JobManager
    from compression.distillation.store import JobStore
    from compression.i18n import LabError

    store, run_id = stored_run
    config = BenchmarkConfig.from_payload({"run_id": run_id, "runs_dir": str(store.runs_dir), **FAST})
    tight = JobManager(RunStore(store.runs_dir), executor="thread", max_job_seconds=0.5, data_dir=tmp_path)
    try:
        with pytest.raises(LabError) as refused:
            tight.submit(config, owner="a")
        assert refused.value.key == "budget.too_long"
    finally:
        tight.shutdown()
    with pytest.raises(ValueError):
        BenchmarkConfig.from_payload({"runs_dir": str(store.runs_dir)})  # no run: a message, no job

    manager = JobManager(RunStore(store.runs_dir), executor="process", train_threads=1, data_dir=tmp_path)
    try:
        job = manager.submit(config, owner="a")
        assert job.kind == "benchmark"
        seen: set[str] = set()
        for _ in range(2400):
            snap = manager.snapshot(job.id)
            seen.add(snap.message_key)
            if not snap.active:
                break
            threading_wait(0.1)
        assert snap.status == "done", snap.error
        assert any(key.startswith("deploy.progress.") for key in seen), seen
        stored = JobStore(manager.store, "benchmark").latest(run_id=run_id)
        assert stored is not None and stored["run_id"] == run_id
        fmts = {(row["model"], row["format"]) for row in stored["rows"]}
        assert {("student", "float32"), ("student", "int8"), ("teacher", "int8")} <= fmts
        assert JobStore(manager.store, "benchmark").get(job.id)["status"] == "done"
    finally:
        manager.shutdown()


def threading_wait(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)
