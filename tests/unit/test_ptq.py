"""Post-training quantization of trained models: bit-exact to PyTorch's per-channel fake quantization, a
quantized Linear computed by hand, the storage count, the accuracy of 8-bit PTQ, the stored weights never
touched, PyTorch's own int8 path as a sanity check, every bad input's message, and the two CLIs."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from torch import nn

from compression import ptq
from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig, train
from tests.conftest import ROOT

torch.set_num_threads(1)

# A real digits run, small enough for a few seconds on one core: the article's MLP teacher and student.
RUN_CONFIG = TrainConfig(
    dataset="digits", teacher="article-teacher", student="article-student", epochs=60, teacher_epochs=60, device="cpu"
)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    result = train(RUN_CONFIG)
    store = RunStore(tmp_path_factory.mktemp("ptq_runs"))
    store.create_run("run1", result.config)
    summary = result.to_json()
    summary.pop("history")
    store.finish("run1", summary, result.weights)
    return store, "run1", result


@pytest.fixture(scope="module")
def loaded(stored_run):
    store, run_id, _ = stored_run
    return ptq.load_run_models(store, run_id)


# --- oracles: PyTorch's own fake quantization ---------------------------------------------------------------
@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("layer", [nn.Linear(64, 32), nn.Conv2d(3, 16, 3)], ids=["linear", "conv"])
def test_per_channel_weights_equal_torch_fake_quantize_per_channel(layer, bits):
    torch.manual_seed(bits)
    weight = layer.weight.detach().clone()
    for scheme, qscheme, dtype, (qmin, qmax) in (
        ("symmetric", torch.per_channel_symmetric, torch.qint8, (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)),
        ("affine", torch.per_channel_affine, torch.quint8, (0, 2**bits - 1)),
    ):
        observer = torch.ao.quantization.PerChannelMinMaxObserver(
            ch_axis=0, dtype=dtype, qscheme=qscheme, quant_min=qmin, quant_max=qmax
        )
        observer(weight)
        scale, zero_point = observer.calculate_qparams()
        expected = torch.fake_quantize_per_channel_affine(weight, scale, zero_point.to(torch.int32), 0, qmin, qmax)
        config = ptq.PTQConfig(bits=bits, granularity="per-channel", scheme=scheme)
        q = ptq.quantize_model(nn.Sequential(layer), config)
        got = q.model[0].weight.detach()
        assert torch.equal(got, expected), (scheme, bits)
        assert torch.equal(q.results["0"].scale, scale)


def test_per_tensor_weights_equal_torch_fake_quantize_per_tensor():
    torch.manual_seed(0)
    layer = nn.Linear(64, 128)
    observer = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    observer(layer.weight.detach())
    scale, zero_point = observer.calculate_qparams()
    expected = torch.fake_quantize_per_tensor_affine(layer.weight.detach(), float(scale), int(zero_point), -128, 127)
    q = ptq.quantize_model(nn.Sequential(layer), ptq.PTQConfig(bits=8, granularity="per-tensor"))
    assert torch.equal(q.model[0].weight.detach(), expected)


def test_quantized_linear_output_is_x_times_wq_transposed_plus_bias():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 7))
    q = ptq.quantize_model(model, ptq.PTQConfig(bits=4, granularity="per-channel", scheme="affine"))
    result = q.results["0"]
    # by hand, from the integer codes: W_q = (q - z) * s per output row
    w_q = (result.q.to(torch.float32) - result.zero_point.to(torch.float32)[:, None]) * result.scale[:, None]
    assert torch.equal(q.model[0].weight.detach(), w_q)
    assert len(torch.unique(result.q)) <= 16 and int(result.q.min()) >= 0 and int(result.q.max()) <= 15
    x = torch.randn(5, 20)
    expected = x @ w_q.T + model[0].bias.detach()
    with torch.no_grad():
        assert torch.allclose(q.model(x), expected, rtol=0, atol=1e-6)
        assert not torch.allclose(model(x), expected, rtol=0, atol=1e-6)  # 4 bits did change the layer


# --- storage ------------------------------------------------------------------------------------------------
def test_storage_matches_a_hand_count():
    layer = nn.Linear(64, 128)  # 8192 weights, 128 biases
    table = {
        # config: (code bytes, scale bytes, zero-point bytes, float bytes)
        ptq.PTQConfig(bits=4, granularity="per-channel"): (8192 * 4 // 8, 128 * 4, 0, 128 * 4),
        ptq.PTQConfig(bits=4, granularity="per-channel", scheme="affine"): (4096, 512, 128, 512),
        ptq.PTQConfig(bits=3, granularity="per-tensor"): (8192 * 3 // 8, 4, 0, 512),
        ptq.PTQConfig(bits=8, granularity="per-tensor", scheme="affine"): (8192, 4, 1, 512),
        ptq.PTQConfig(scheme="nf4"): (4096, (8192 // 64) * 4, 0, 512),
        ptq.PTQConfig(scheme="fp4_e2m1"): (4096, (8192 // 32) * 4, 0, 512),
        ptq.PTQConfig(scheme="fp8_e4m3", granularity="per-channel"): (8192, 128 * 4, 0, 512),
    }
    for config, (codes, scales, zero_points, floats) in table.items():
        s = ptq.layer_storage("fc", layer, config)
        assert (s.code_bytes, s.scale_bytes, s.zero_point_bytes, s.float_bytes) == (codes, scales, zero_points, floats)
        assert s.total_bytes == codes + scales + zero_points + floats
    # an odd count packs into whole bytes: 7 weights at 3 bits = 21 bits -> 3 bytes
    odd = ptq.layer_storage("odd", nn.Linear(7, 1, bias=False), ptq.PTQConfig(bits=3, granularity="per-tensor"))
    assert (odd.code_bytes, odd.float_bytes, odd.total_bytes) == (3, 0, 3 + 4)


def test_model_size_adds_every_layer_and_names_what_stays_float():
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 36, 10))
    q = ptq.quantize_model(model.eval(), ptq.PTQConfig(bits=8, granularity="per-channel"))
    conv = 72 + 8 * 4 + 8 * 4  # codes, scales, bias
    batchnorm = 4 * (8 + 8 + 8 + 8 + 1)  # weight, bias, running mean, running var, num_batches_tracked
    linear = 2880 + 10 * 4 + 10 * 4
    assert q.size_bytes == conv + batchnorm + linear
    assert q.float_layers == ["1 (BatchNorm2d)"]
    assert torch.equal(q.model[1].weight, model[1].weight)  # left in float, untouched
    assert "BatchNorm2d" in q.storage_table().query("not quantized")["kind"].iloc[0]


# --- trained models -----------------------------------------------------------------------------------------
def test_8_bit_per_channel_ptq_of_a_trained_digits_teacher_loses_under_one_point(loaded):
    teacher = loaded.models["teacher"]
    frame = ptq.sweep_models({"teacher": teacher}, loaded.x_test, loaded.y_test, [ptq.PTQConfig(8), ptq.PTQConfig(2)])
    float_row, int8, int2 = (frame.iloc[i] for i in range(3))
    assert float_row["test_accuracy"] > 0.9
    assert 100 * int8["accuracy_drop"] < 1.0
    assert int8["agreement"] > 0.98
    assert int2["agreement"] < int8["agreement"]  # 2 bits really quantizes
    assert float_row["compression_ratio"] == 1.0
    assert int8["compression_ratio"] == pytest.approx(float_row["size_bytes"] / int8["size_bytes"])
    assert 3.5 < int8["compression_ratio"] < 4.0  # int8 codes plus float32 scales and biases


def test_quantization_never_changes_the_stored_or_loaded_float_weights(stored_run, loaded):
    store, run_id, _ = stored_run
    paths = {role: store.weights_path(run_id, role) for role in ptq.ROLES}
    before = {role: ptq.file_sha256(path) for role, path in paths.items()}
    state_before = {role: {k: v.clone() for k, v in m.state_dict().items()} for role, m in loaded.models.items()}
    again = ptq.load_run_models(store, run_id)
    configs = ptq.configs_for([8, 2], ["per-channel", "per-tensor"], float_formats=["nf4"], activations=True)
    ptq.sweep_models(again.models, again.x_test, again.y_test, configs, calibration_inputs=again.calibration_inputs)
    ptq.sensitivity(again.models["student"], again.x_test, again.y_test, ptq.PTQConfig(2))
    ptq.sweep_models(loaded.models, loaded.x_test, loaded.y_test, configs, calibration_inputs=loaded.calibration_inputs)
    assert {role: ptq.file_sha256(path) for role, path in paths.items()} == before
    for role, model in loaded.models.items():
        for key, value in model.state_dict().items():
            assert torch.equal(value, state_before[role][key]), (role, key)


def test_our_int8_agrees_with_torch_quantize_dynamic_within_one_point(loaded):
    student = loaded.models["student"]
    x, y = loaded.x_test, loaded.y_test
    reference = ptq.torch_dynamic_int8(student)
    assert any(
        "DynamicQuantizedLinear" in type(m).__name__ or "quantized" in type(m).__module__ for m in reference.modules()
    )
    with torch.no_grad():
        torch_accuracy = float((reference(x).argmax(1) == y).float().mean())
    ours = ptq.sweep_models({"student": student}, x, y, [ptq.PTQConfig(8, granularity="per-tensor")]).iloc[1][
        "test_accuracy"
    ]
    assert abs(ours - torch_accuracy) < 0.01, (ours, torch_accuracy)


def test_sensitivity_reports_each_layer_drop_and_sqnr(loaded):
    teacher = loaded.models["teacher"]
    at8 = ptq.sensitivity(teacher, loaded.x_test, loaded.y_test, ptq.PTQConfig(8))
    at2 = ptq.sensitivity(teacher, loaded.x_test, loaded.y_test, ptq.PTQConfig(2))
    assert list(at8["layer"]) == ptq.quantizable_layers(teacher) == ["1", "3", "5"]
    assert list(at8["kind"]) == ["Linear 64→256", "Linear 256→128", "Linear 128→10"]
    # 8-bit weights: about 6 dB per bit above the 2-bit ones, and a finite SQNR
    assert (at8["weight_sqnr_db"] - at2["weight_sqnr_db"]).min() > 25
    assert at8["weight_sqnr_db"].lt(float("inf")).all()
    assert at2["accuracy_drop_points"].max() >= at8["accuracy_drop_points"].max()


def test_activation_quantization_calibrates_each_quantized_input(loaded):
    student = loaded.models["student"]
    config = ptq.PTQConfig(8, activations=True)
    q = ptq.quantize_model(student, config, calibration_inputs=loaded.calibration_inputs)
    assert set(q.activation_ranges) == {"1", "3"}
    low, high = q.activation_ranges["3"]
    assert low == 0.0 and high > 0  # after a ReLU
    seen = []
    q.model[3].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        q.model(loaded.x_test[:50])
    assert len(torch.unique(seen[0])) <= 256  # the second layer's input sits on 8-bit levels
    weight_only = ptq.quantize_model(student, ptq.PTQConfig(8))
    with torch.no_grad():
        assert not torch.equal(q.model(loaded.x_test[:50]), weight_only.model(loaded.x_test[:50]))
    frame = ptq.sweep_models(
        {"student": student}, loaded.x_test, loaded.y_test, [config], calibration_inputs=loaded.calibration_inputs
    )
    assert 100 * frame.iloc[1]["accuracy_drop"] < 2.0
    with pytest.raises(ValueError, match="calibration inputs"):
        ptq.quantize_model(student, config)


def test_verdict_and_staircase_read_the_sweep(loaded):
    configs = ptq.configs_for([8, 4, 2], ["per-channel"])
    frame = ptq.sweep_models(loaded.models, loaded.x_test, loaded.y_test, configs, reference_size=loaded.teacher_size)
    text = ptq.verdict(frame)
    assert text.startswith("Int8 c") or text.startswith("Int8 g")
    assert "int4" in text and "smaller than the float32 teacher" in text and "baseline" in text
    steps = ptq.staircase(frame)
    assert list(steps["step"]) == ["float32 teacher", "float32 student", "int8", "int4", "int2"]
    assert steps["size_bytes"].is_monotonic_decreasing
    within = ptq.smallest_within(frame)
    assert set(within) == {"teacher", "student", "baseline", "smoothing"}
    assert all(b is None or b in (2, 4, 8) for b in within.values())


def test_float_formats_and_calibrations_run_on_a_cnn():
    torch.manual_seed(0)
    from compression.distillation.models import build_model, parse_model

    model = build_model(parse_model("cnn-small"), (1, 8, 8), 10).eval()
    x = torch.randn(40, 1, 8, 8)
    y = torch.randint(0, 10, (40,))
    configs = ptq.configs_for([4], ["per-channel", "per-tensor"], calibrations=["minmax", "percentile", "mse"],
                              float_formats=list(ptq.FLOAT_SCHEMES))  # fmt: skip
    frame = ptq.sweep_models({"teacher": model}, x, y, configs)
    assert len(frame) == 1 + 6 + 2 + 2 + 1 + 1
    assert set(frame["granularity"]) == {"-", "per-channel", "per-tensor", "block 32", "block 64"}
    assert (frame["size_bytes"].iloc[1:] < frame["size_bytes"].iloc[0]).all()


# --- bad input ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [1, 9, 0, -3, True, "8", 2.5])
def test_bits_out_of_range_are_refused_with_a_message(bits):
    with pytest.raises(ValueError, match="Bits must be"):
        ptq.PTQConfig(bits=bits)


@pytest.mark.parametrize(
    ("text", "message"), [("8,x", "not a whole number"), ("12", "from 2 to 8"), ("", "at least one")]
)
def test_bit_lists_name_the_bad_item(text, message):
    with pytest.raises(ValueError, match=message):
        ptq.parse_bits_list(text)


def test_unknown_choices_are_refused():
    with pytest.raises(ValueError, match="granularity"):
        ptq.PTQConfig(granularity="per-row")
    with pytest.raises(ValueError, match="scheme"):
        ptq.PTQConfig(scheme="seed")
    with pytest.raises(ValueError, match="calibration"):
        ptq.PTQConfig(calibration="range")
    with pytest.raises(ValueError, match="No quantizable layer"):
        ptq.quantize_model(nn.Sequential(nn.Linear(2, 2)), ptq.PTQConfig(), only=["7"])


def test_missing_corrupt_and_unknown_runs_give_clear_errors(stored_run, tmp_path):
    store, run_id, result = stored_run
    copy_store = RunStore(tmp_path)
    for rid in ("gone", "corrupt", "wrong"):
        copy_store.create_run(rid, result.config)
        copy_store.finish(rid, {"teacher": {}, "student": {}}, result.weights)
    (copy_store.weights_dir / "gone" / "student.safetensors").unlink()
    (copy_store.weights_dir / "corrupt" / "teacher.safetensors").write_bytes(b"not a safetensors file")
    wrong = dict(result.weights["student"])
    wrong.pop(next(iter(wrong)))
    copy_store.save_weights("wrong", {"student": wrong})
    with pytest.raises(ptq.PTQError, match="student weights of run gone are gone"):
        ptq.load_run_models(copy_store, "gone")
    with pytest.raises(ptq.PTQError, match="teacher weights of run corrupt cannot be read"):
        ptq.load_run_models(copy_store, "corrupt")
    with pytest.raises(ptq.PTQError, match="do not fit"):
        ptq.load_run_models(copy_store, "wrong")
    with pytest.raises(ptq.PTQError, match="no run nope"):
        ptq.load_run_models(copy_store, "nope")
    with pytest.raises(ValueError, match="Not a run id"):
        ptq.load_run_models(copy_store, "../../etc/passwd")
    copy_store.create_run("running", result.config)
    with pytest.raises(ptq.PTQError, match="not finished"):
        ptq.load_run_models(copy_store, "running")


# --- command lines ------------------------------------------------------------------------------------------
def _run(args: list[str], env_runs: str) -> subprocess.CompletedProcess:
    env = {"COMPRESSION_LAB_RUNS_DIR": env_runs, "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_ptq_cli_quantizes_a_stored_run(stored_run, tmp_path):
    store, run_id, _ = stored_run
    out = tmp_path / "ptq.json"
    done = _run(
        ["-m", "compression.ptq", "--run", run_id, "--bits", "8,4", "--granularity", "per-channel,per-tensor",
         "--formats", "nf4", "--sensitivity", "--json", str(out)],
        str(store.runs_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(out.read_text())
    assert payload["run"] == run_id
    rows = payload["ptq"]
    assert {r["model"] for r in rows} == {"teacher", "student", "baseline"}
    assert {(r["bits"], r["granularity"]) for r in rows if r["model"] == "student"} == {
        (32, "-"),
        (8, "per-channel"),
        (8, "per-tensor"),
        (4, "per-channel"),
        (4, "per-tensor"),
        (4, "block 64"),
    }
    assert [r["layer"] for r in payload["sensitivity"]] == ["1", "3"]
    assert "int8 per-channel" in done.stdout and "smaller than the float32 teacher" in done.stdout
    # bad input: a clear message and exit code 2, no traceback
    for bad in (["--bits", "9"], ["--run", "nope"], ["--granularity", "per-row"]):
        failed = _run(["-m", "compression.ptq", *bad], str(store.runs_dir))
        assert failed.returncode == 2 and "error:" in failed.stderr and "Traceback" not in failed.stderr
    empty = _run(["-m", "compression.ptq"], str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no finished run" in empty.stderr


def test_distill_cli_adds_a_ptq_list(tmp_path):
    out = tmp_path / "results.json"
    config = replace(RUN_CONFIG, epochs=3, teacher_epochs=3)
    done = _run(
        ["-m", "compression.distill", "--teacher", config.teacher, "--teacher-epochs", "3", "--epochs", "3",
         "--threads", "1", "--quiet", "--no-cache", "--ptq-bits", "8,2", "--json", str(out)],
        str(tmp_path / "runs"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["ptq"]
    assert len(rows) == 4 * 2  # teacher, student, baseline, smoothing × 2 bitwidths, per-channel by default
    assert set(rows[0]) == {"model", "bits", "granularity", "scheme", "calibration", "test_accuracy", "agreement",
                            "size_bytes", "compression_ratio"}  # fmt: skip
    assert {r["granularity"] for r in rows} == {"per-channel"}
    teacher8 = next(r for r in rows if r["model"] == "teacher" and r["bits"] == 8)
    assert 3.5 < teacher8["compression_ratio"] < 4.0
    bad = _run(["-m", "compression.distill", "--ptq-bits", "1"], str(tmp_path / "runs"))
    assert bad.returncode == 2 and "Bits must be" in bad.stderr


def test_a_verdict_is_data_rendered_in_each_language_and_its_tone_follows_it():
    import pandas as pd

    """Issue 16/20: the verdict is a kind, catalogue keys and figures; a loss is never shown as a success."""
    bad = ptq.Verdict("bad", (("costs", {"config": "int8", "points": 0.04}),
                              ("lost", {"config": "int2", "points": 3.1})))  # fmt: skip
    assert bad.text("en") == "Int8 costs 0.0 points; at int2 the baseline is ahead by 3.1 points: distillation's gain does not survive."
    assert bad.text("zh") == "int8 损失 0.0 个百分点；在 int2 下基线领先 3.1 个百分点：蒸馏的收益没有保留下来。"
    frame = pd.DataFrame([
        {"model": "teacher", "bits": 32, "config": "float32", "scheme": "float32", "activations": False,
         "granularity": "per-channel", "calibration": "minmax", "accuracy_drop": 0.0, "test_accuracy": 0.97, "size_bytes": 1000},
        {"model": "student", "bits": 2, "config": "int2 per-channel", "scheme": "symmetric", "activations": False,
         "granularity": "per-channel", "calibration": "minmax", "accuracy_drop": 0.30, "test_accuracy": 0.6, "size_bytes": 10},
        {"model": "baseline", "bits": 2, "config": "int2 per-channel", "scheme": "symmetric", "activations": False,
         "granularity": "per-channel", "calibration": "minmax", "accuracy_drop": 0.10, "test_accuracy": 0.8, "size_bytes": 10},
    ])  # fmt: skip
    v = ptq.structured_verdict(frame)
    assert v.tone == "bad" and [k for k, _ in v.parts] == ["costs", "size_less", "lost"]
    assert ptq.verdict(frame) == v.text("en")
    good = ptq.structured_verdict(frame.assign(accuracy_drop=[0.0, 0.01, 0.02], test_accuracy=[0.97, 0.96, 0.95]))
    assert good.tone == "good" and good.parts[-1][0] == "survives"
