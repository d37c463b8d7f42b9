"""compression.quantization against PyTorch itself: fake quantization bit for bit, MinMaxObserver's scale and
zero point, per-channel, the error bound, the 6 dB/bit slope, the article's formula, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

from compression import quantization as qz


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _draw(kind: str, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        return torch.rand(n, generator=g) * 2 - 1
    if kind == "normal":
        return torch.randn(n, generator=g)
    if kind == "heavy":  # Cauchy: a few huge outliers
        return torch.tan(math.pi * (torch.rand(n, generator=g) - 0.5))
    if kind == "constant":
        return torch.full((n,), 3.7)
    if kind == "zeros":
        return torch.zeros(n)
    if kind == "tiny":
        return torch.randn(n, generator=g) * 1e-20
    if kind == "huge":
        return torch.randn(n, generator=g) * 1e30
    if kind == "positive":
        return torch.rand(n, generator=g) * 5 + 2
    if kind == "negative":
        return -torch.rand(n, generator=g) * 0.01 - 0.5
    if kind == "grid":  # many values sitting exactly on, or half way between, levels
        return torch.randint(-300, 300, (n,), generator=g).float() / 64
    raise AssertionError(kind)


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The float32 bit patterns: equal patterns mean equal values and equal signs of zero."""
    return t.contiguous().view(torch.int32)


KINDS = ["uniform", "normal", "heavy", "constant", "zeros", "tiny", "huge", "positive", "negative", "grid"]
INTEGER_SCHEMES = ["symmetric", "affine", "symmetric_restricted"]


def _torch_mask(x: torch.Tensor, scale: float, zero_point: int, qmin: int, qmax: int) -> torch.Tensor:
    _, mask = torch._fake_quantize_per_tensor_affine_cachemask_tensor_qparams(
        x, torch.tensor([scale]), torch.tensor([zero_point], dtype=torch.int32), torch.tensor([1]), qmin, qmax
    )
    return mask


@pytest.mark.parametrize("kind", KINDS)
def test_nearest_equals_torch_fake_quantize_bit_for_bit(kind):
    for seed in range(4):
        x = _draw(kind, 1500, seed)
        for scheme in INTEGER_SCHEMES:
            for bits in range(1 if scheme != "symmetric_restricted" else 2, 17):
                r = qz.quantize(x, bits, scheme=scheme)
                expected = torch.fake_quantize_per_tensor_affine(x, r.scale, r.zero_point, r.qmin, r.qmax)
                assert torch.equal(_bits(r.dequantized), _bits(expected)), (kind, seed, scheme, bits)
                assert torch.equal(r.clipped, ~_torch_mask(x, r.scale, r.zero_point, r.qmin, r.qmax))
                # the codes are the integers the dequantized values come from
                assert torch.equal((r.q.float() - r.zero_point) * r.scale, r.dequantized)
                assert int(r.q.min()) >= r.qmin and int(r.q.max()) <= r.qmax


@pytest.mark.parametrize("kind", KINDS)
def test_minmax_scale_and_zero_point_equal_minmax_observer(kind):
    for seed in range(3):
        x = _draw(kind, 800, seed)
        for bits in range(2, 9):
            for scheme in INTEGER_SCHEMES:
                r = qz.quantize(x, bits, scheme=scheme)
                dtype = torch.quint8 if scheme == "affine" else torch.qint8
                qscheme = torch.per_tensor_affine if scheme == "affine" else torch.per_tensor_symmetric
                observer = MinMaxObserver(dtype=dtype, qscheme=qscheme, quant_min=r.qmin, quant_max=r.qmax)
                observer(x)
                scale, zero_point = observer.calculate_qparams()
                assert r.scale == float(scale), (kind, bits, scheme)
                assert r.zero_point == int(zero_point), (kind, bits, scheme)


def test_eight_bit_defaults_are_torch_defaults():
    x = _draw("normal", 1000, 0)
    sym = qz.quantize(x, 8, scheme="symmetric")
    assert (sym.qmin, sym.qmax, sym.zero_point) == (-128, 127, 0)
    observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    observer(x)
    assert sym.scale == float(observer.calculate_qparams()[0])
    assert math.isclose(sym.scale, float(x.abs().max()) / 127.5, rel_tol=1e-6)
    restricted = qz.quantize(x, 8, scheme="symmetric_restricted")
    assert (restricted.qmin, restricted.qmax) == (-127, 127)
    assert math.isclose(restricted.scale, float(x.abs().max()) / 127, rel_tol=1e-6)
    assert restricted.clipped_count == 0


def test_negative_zero_is_positive_zero_as_in_torch():
    x = torch.tensor([-0.001, -0.0, 0.001, -1.0])
    r = qz.quantize(x, 8, calibration="range", value_range=(-1.0, 1.0))
    expected = torch.fake_quantize_per_tensor_affine(x, r.scale, r.zero_point, r.qmin, r.qmax)
    assert _bits(expected)[:3].tolist() == [0, 0, 0]  # torch's integer arithmetic gives +0.0
    assert torch.equal(_bits(r.dequantized), _bits(expected))


def test_ties_round_half_to_even_after_scaling_like_torch():
    # affine 8 bits over [-8, 7.9375]: scale is exactly 1/16 and the zero point 128
    x = (torch.arange(-40, 40, dtype=torch.float32) + 0.5) / 16
    r = qz.quantize(x, 8, scheme="affine", calibration="range", value_range=(-8.0, 7.9375))
    assert (r.scale, r.zero_point) == (0.0625, 128)
    assert torch.equal(r.dequantized, torch.fake_quantize_per_tensor_affine(x, 0.0625, 128, 0, 255))
    # 0.5 step -> 0 (even), 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2: never "round half up"
    steps = (r.q.long() - 128).tolist()
    halves = (x * 16).tolist()
    for half, step in zip(halves, steps, strict=True):
        assert step == round(half), (half, step)  # Python's round is half to even too
        assert step % 2 == 0


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("scheme", ["symmetric", "affine"])
def test_per_channel_equals_torch_per_channel_fake_quantize_and_observer(axis, scheme):
    g = torch.Generator().manual_seed(7)
    weight = torch.randn(12, 30, generator=g) * torch.logspace(-3, 1, 12).reshape(-1, 1)
    weight[3] = 0.25  # a constant channel
    for bits in range(2, 9):
        r = qz.quantize_per_channel(weight, bits, axis=axis, scheme=scheme)
        dtype = torch.quint8 if scheme == "affine" else torch.qint8
        qscheme = torch.per_channel_affine if scheme == "affine" else torch.per_channel_symmetric
        observer = PerChannelMinMaxObserver(
            ch_axis=axis, dtype=dtype, qscheme=qscheme, quant_min=r.qmin, quant_max=r.qmax
        )
        observer(weight)
        scale, zero_point = observer.calculate_qparams()
        assert torch.equal(r.scale, scale)
        assert torch.equal(r.zero_point, zero_point.to(torch.int64))
        expected = torch.fake_quantize_per_channel_affine(
            weight, scale, zero_point.to(torch.int32), axis, r.qmin, r.qmax
        )
        assert torch.equal(_bits(r.dequantized), _bits(expected)), (axis, scheme, bits)


@pytest.mark.parametrize("scheme", INTEGER_SCHEMES)
@pytest.mark.parametrize("calibration", ["minmax", "percentile", "mse"])
def test_error_is_at_most_half_a_step_for_unclipped_values(scheme, calibration):
    x = _draw("normal", 5000, 3)
    saw_clipped = False
    for bits in (2, 3, 4, 6, 8, 12):
        r = qz.quantize(x, bits, scheme=scheme, calibration=calibration)
        inside = ~r.clipped
        assert bool(inside.any())
        # half a step, plus the float32 rounding of x * inv_scale and of dequantized - x (a few ulps of x)
        bound = r.scale / 2 + 4 * qz.FLOAT32_EPS * float(x.abs().max())
        assert float(r.error[inside].abs().max()) <= bound, (scheme, calibration, bits)
        saw_clipped = saw_clipped or r.clipped_count > 0
    if calibration != "minmax":
        assert saw_clipped  # clipping ranges do clip the tails of a normal sample, so the mask is exercised


def test_sqnr_grows_about_six_db_per_bit_on_uniform_data():
    x = _draw("uniform", 200_000, 1)
    bits = np.arange(6, 15)  # 20·log10(2^b - 1) approaches 6.02·b from above as b grows
    measured = np.array([qz.quantize(x, int(b), scheme="affine").sqnr_db for b in bits])
    slope = np.polyfit(bits, measured, 1)[0]
    assert abs(slope - 6.02) < 0.05, slope
    # a full-range uniform input sits on the 6.02·b line itself
    assert np.all(np.abs(measured - qz.theoretical_sqnr_db(bits)) < 0.2), measured
    # and the uniform-noise model predicts the MSE
    r = qz.quantize(x, 8, scheme="affine")
    assert math.isclose(r.mse, qz.uniform_noise_mse(r.scale), rel_tol=0.02)


def test_theory_helpers():
    assert qz.step_size(-1.0, 1.0, 8) == pytest.approx(2 / 255)
    assert qz.uniform_noise_mse(0.1) == pytest.approx(0.01 / 12)
    assert qz.theoretical_sqnr_db(8) == pytest.approx(48.16, abs=0.01)
    assert qz.theoretical_sqnr_db(8, "sine") == pytest.approx(49.92, abs=0.01)
    assert qz.sqnr_db(1.0, 0.0) == math.inf


def test_seed_formula_known_outputs():
    assert qz.seed_quantize(0.5, 8) == 64
    assert qz.seed_quantize(1.0, 8) == 128
    half = qz.quantize(0.5, 8, scheme="seed")
    one = qz.quantize(1.0, 8, scheme="seed")
    assert int(half.q) == 64 and not bool(half.clipped)
    assert int(one.q) == 128 and bool(one.clipped)  # 128 does not fit in int8: flagged as overflow
    assert one.rounding == "truncate"  # the scheme's own rounding by default
    assert float(one.dequantized) == 1.0  # never clamped


def test_seed_scheme_reproduces_python_int_on_many_values():
    values = _draw("normal", 3000, 5).numpy().tolist() + [0.999, -0.999, -0.3, 3.7, -1.0, 127.9 / 128]
    for bits in (2, 4, 8, 12):
        r = qz.quantize(values, bits, scheme="seed")
        expected = [qz.seed_quantize(float(np.float32(v)), bits) for v in values]
        assert r.q.tolist() == expected
        overflow = [not (-(2 ** (bits - 1)) <= e <= 2 ** (bits - 1) - 1) for e in expected]
        assert r.clipped.tolist() == overflow
    assert int(qz.quantize(-0.3, 8, scheme="seed").q) == -38  # truncation toward zero, not floor (-39)


def test_other_roundings():
    x = _draw("normal", 20_000, 2)
    scaled_magnitude = None
    for rounding in ("truncate", "floor", "stochastic"):
        r = qz.quantize(x, 6, scheme="symmetric_restricted", rounding=rounding, seed=11)
        scaled = x / r.scale
        inside = ~r.clipped
        if rounding == "truncate":
            assert torch.all(r.q[inside].abs() <= scaled[inside].abs() + 1e-4)
            scaled_magnitude = r.dequantized.abs().mean()
            assert r.mean_error == pytest.approx(0, abs=r.scale / 20)  # symmetric data: the biases cancel
        elif rounding == "floor":
            assert r.mean_error == pytest.approx(-r.scale / 2, rel=0.1)  # floor pulls everything down
        else:
            again = qz.quantize(x, 6, scheme="symmetric_restricted", rounding="stochastic", seed=11)
            other = qz.quantize(x, 6, scheme="symmetric_restricted", rounding="stochastic", seed=12)
            assert torch.equal(r.q, again.q) and not torch.equal(r.q, other.q)
            assert torch.equal(r.clipped, again.clipped)
            assert abs(r.mean_error) < r.scale / 50  # unbiased
            assert float(r.error.abs().max()) < r.scale * (1 + 1e-5)  # within one step
    nearest = qz.quantize(x, 6, scheme="symmetric_restricted")
    assert scaled_magnitude < nearest.dequantized.abs().mean()  # truncation shrinks magnitudes


def test_clipping_calibration_beats_minmax_at_low_bits_on_heavy_tails():
    x = torch.from_numpy(qz.generate_values("laplace", 50_000, 3))
    minmax = qz.quantize(x, 3, calibration="minmax")
    percentile = qz.quantize(x, 3, calibration="percentile", percentile=99.0)
    searched = qz.quantize(x, 3, calibration="mse")
    assert percentile.mse < minmax.mse
    assert searched.mse < minmax.mse
    assert searched.mse <= percentile.mse * 1.05
    assert qz.quantize(x, 3, calibration="mse").scale == searched.scale  # the search is deterministic
    full = qz.quantize(x, 3, calibration="percentile", percentile=100)
    assert full.scale == minmax.scale


def test_constant_and_zero_inputs_do_not_divide_by_zero():
    for values in ([3.7] * 10, [0.0] * 5, [-2.5], [1e-38] * 3):
        for scheme in INTEGER_SCHEMES:
            for calibration in ("minmax", "percentile", "mse"):
                r = qz.quantize(values, 4, scheme=scheme, calibration=calibration)
                assert r.scale >= qz.FLOAT32_EPS
                assert bool(torch.isfinite(r.dequantized).all())
                assert math.isfinite(r.mse)
    zeros = qz.quantize([0.0, 0.0], 8)
    assert zeros.scale == qz.FLOAT32_EPS and zeros.mse == 0
    # SQNR of an all-zero signal is undefined (there is no signal), not +inf: see test_quantization_metrics.py
    assert math.isnan(zeros.sqnr_db)


def test_parse_values_accepts_commas_spaces_newlines():
    values = qz.parse_values("0.5, 1.0,-0.3\n 2e-3\t7;  -1")
    assert values.dtype == np.float32
    assert values.tolist() == pytest.approx([0.5, 1.0, -0.3, 0.002, 7, -1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "No values given"),
        ("  , \n ", "No values given"),
        ("1, abc, 2, x1", "'abc', 'x1'"),
        ("1, 2, nan", "NaN"),
        ("1, inf", "infinite"),
        ("1e39", "too large for float32"),
    ],
)
def test_parse_values_errors_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        qz.parse_values(text)


def test_parse_csv_one_column_with_or_without_header():
    assert qz.parse_csv(b"0.5\n1.0\n-0.3\n").tolist() == pytest.approx([0.5, 1.0, -0.3])
    assert qz.parse_csv("\ufeffweight\r\n0.25\r\n-2\r\n".encode()).tolist() == [0.25, -2.0]
    assert qz.parse_csv(b'"value"\n"1.5"\n\n2\n').tolist() == [1.5, 2.0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"a,b\n1,2\n3,4\n", "2 columns"),
        (b"value\n", "no numbers"),
        (b"value\n1\nabc\n3\n", "line 3: 'abc'"),
        (b"1\n2\nnan\n", "NaN"),
        (b"\xff\xfe\x00\x01", "UTF-8"),
    ],
)
def test_parse_csv_errors(data, message):
    with pytest.raises(ValueError, match=message):
        qz.parse_csv(data)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: qz.quantize([], 8), "No values given"),
        (lambda: qz.quantize(np.array([], dtype=np.float32), 8), "No values given"),
        (lambda: qz.quantize(torch.tensor([]), 8), "No values given"),
        (lambda: qz.quantize([1.0, float("nan")], 8), "NaN"),
        (lambda: qz.quantize(torch.tensor([1.0, float("inf")]), 8), "infinite"),
        (lambda: qz.quantize(["1", "two"], 8), "'two'"),
        (lambda: qz.quantize([1.0], 0), "Bits must be from 1 to 16; got 0"),
        (lambda: qz.quantize([1.0], 17), "Bits must be from 1 to 16; got 17"),
        (lambda: qz.quantize([1.0], 4.5), "whole number"),
        (lambda: qz.quantize([1.0], 1, scheme="symmetric_restricted"), "at least 2 bits"),
        (lambda: qz.quantize([1.0], 8, calibration="percentile", percentile=120), "percentile must be"),
        (lambda: qz.quantize([1.0], 8, calibration="percentile", percentile=40), "percentile must be"),
        (lambda: qz.quantize([1.0], 8, calibration="range", value_range=(2.0, 1.0)), r"minimum \(2\) is larger"),
        (lambda: qz.quantize([1.0], 8, calibration="range"), "needs an explicit range"),
        (lambda: qz.quantize([1.0], 8, scheme="log"), "Unknown scheme 'log'"),
        (lambda: qz.quantize([1.0], 8, rounding="up"), "Unknown rounding 'up'"),
        (lambda: qz.quantize_per_channel([1.0, 2.0], 8), "2-D weight"),
        (lambda: qz.parse_bits("4,x"), "'x' is not a whole number"),
        (lambda: qz.parse_bits("0,8"), "from 1 to 16"),
        (lambda: qz.generate_values("normal", 0), "At least 1 value"),
        (lambda: qz.generate_values("cauchy", 10), "Unknown distribution"),
        (lambda: qz.sweep([1.0], []), "at least one bitwidth"),
    ],
)
def test_bad_input_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_parse_bits():
    assert qz.parse_bits("8,4, 4") == [4, 8]
    assert qz.parse_bits("16") == [16]


def test_generated_values_and_layer_weights_are_seeded():
    a = qz.generate_values("outliers", 10_000, seed=4)
    assert a.dtype == np.float32 and a.shape == (10_000,)
    assert np.array_equal(a, qz.generate_values("outliers", 10_000, seed=4))
    assert not np.array_equal(a, qz.generate_values("outliers", 10_000, seed=5))
    assert np.abs(a).max() > 20  # the outliers are there
    uniform = qz.generate_values("uniform", 10_000, seed=1)
    assert uniform.min() >= -1 and uniform.max() < 1
    state = torch.random.get_rng_state()
    w = qz.layer_weights("linear_784_128", seed=3)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG is untouched
    assert w.shape == (128, 784) and np.array_equal(w, qz.layer_weights("linear_784_128", seed=3))
    bound = 1 / math.sqrt(784)  # kaiming_uniform(a=√5) on a Linear: U(-1/√fan_in, 1/√fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert qz.layer_weights("conv_3_16_3x3").shape == (16, 27)


def test_sweep_table_paging_and_csv():
    values = qz.generate_values("normal", 1234, seed=0)
    result = qz.sweep(values, [8, 4], scheme="affine")
    assert result.labels == ("4-bit", "8-bit")
    table = result.table(1000, 1100)
    assert len(table) == 100 and table.index[0] == 1001 and table.index[-1] == 1100
    assert list(table.columns[:5]) == ["value", "4-bit code", "4-bit dequantized", "4-bit error", "4-bit clipped"]
    direct = qz.quantize(values, 4, scheme="affine")
    assert np.array_equal(table["4-bit code"].to_numpy(), direct.q.numpy()[1000:1100])
    assert np.array_equal(table["4-bit error"].to_numpy(), direct.error.numpy()[1000:1100])
    assert len(result.table(1200, 5000)) == 34
    lines = result.to_csv().decode().strip().splitlines()
    assert len(lines) == 1 + 1234
    assert lines[0].split(",")[:2] == ['"#"', '"value"']
    full = qz.value_table(values[:5], [2, 3])
    assert list(full.index) == [1, 2, 3, 4, 5] and full.shape == (5, 9)
    summary = result.summary
    assert summary.loc["4-bit", "MSE"] == pytest.approx(direct.mse)
    assert summary.loc["8-bit", "zero point"] == qz.quantize(values, 8, scheme="affine").zero_point


def test_sweep_charts_are_downsampled_and_exact():
    values = qz.generate_values("uniform", 100_000, seed=9)
    result = qz.sweep(values, [3])
    heat = result.error_heatmap(50)
    assert heat.shape == (50, 1)
    curve = result.transfer_curve("3-bit", 500)
    assert len(curve) == 500
    reference = qz.quantize(values, 3)
    grid = torch.from_numpy(curve["x"].to_numpy(dtype=np.float32))
    expected = torch.fake_quantize_per_tensor_affine(grid, reference.scale, 0, -4, 3)
    assert np.array_equal(curve["dequantized"].to_numpy(), expected.numpy())
    assert len(result.levels("3-bit")) == 8
    assert len(result.marked_values("3-bit", 300)) == 300
    assert int(result.histogram(40)["count"].sum()) == 100_000
    assert len(qz.downsample_indices(10, 100)) == 10
    picked = qz.downsample_indices(1_000_000, 200)
    assert len(picked) == 200 and picked[0] == 0 and picked[-1] == 999_999


def test_error_vs_bits_and_seed_comparison():
    values = qz.generate_values("normal", 20_000, seed=2)
    curve = qz.error_vs_bits(values, scheme="symmetric_restricted")
    assert curve["bits"].tolist() == list(range(2, 17))
    assert curve["MSE"].is_monotonic_decreasing
    comparison = qz.compare_with_seed([0.5, 1.0, -0.3, 0.2], 8)
    assert comparison.overflow_example == {
        "value": 1.0, "code": 128, "qmin": -128, "qmax": 127, "fits": False, "stored": -128,
    }  # fmt: skip
    assert comparison.table["article code"].tolist() == [64, 128, -38, 25]
    assert comparison.table["stored as int8"].tolist() == [64, -128, -38, 25]
    assert comparison.table["fits int8"].tolist() == [True, False, True, True]
    big = qz.compare_with_seed(qz.generate_values("uniform", 50_000, seed=1), 4)
    article, correct = big.metrics.loc["article"], big.metrics.loc["correct"]
    assert article["mean shrink toward 0"] > 0.2 * article["scale"]  # truncation bias: about half a step
    assert abs(correct["mean shrink toward 0"]) < 0.05 * correct["scale"]
    assert correct["overflow / clipped"] == 0


def test_page_computation_runs_on_one_thread_and_restores_the_count():
    torch.set_num_threads(2)
    try:
        qz.sweep([0.1, 0.2], [4])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_range_that_overflows_float32_is_a_clear_error():
    with pytest.raises(ValueError, match="too large to quantize in float32"):
        qz.quantize([3.4e38, -3.4e38, 1.0], 8, scheme="affine")
    # 1e30 in magnitude is fine: the range stays finite.
    assert qz.quantize([1e30, -1e30], 8, scheme="affine").scale > 0


@pytest.mark.parametrize("calibration", ["percentile", "minmax", "range", "mse"])
def test_a_sweep_computes_a_bitwidth_independent_range_once_and_agrees_with_single_calls(monkeypatch, calibration):
    """The percentile of a million values was computed once per bitwidth (15 times for error vs bits); now once
    per sweep. The MSE search depends on the bitwidth and still runs per bitwidth. Results are unchanged."""
    from compression.quantization import calibration as cal

    values = np.random.default_rng(3).standard_normal(20_000).astype(np.float32)
    kwargs = {"scheme": "affine", "calibration": calibration, "percentile": 99.0}
    if calibration == "range":
        kwargs["value_range"] = (-2.0, 2.5)
    calls = {"percentile": 0, "mse": 0}
    real_percentile, real_mse = cal.percentile_range, cal.mse_range
    monkeypatch.setattr(
        cal,
        "percentile_range",
        lambda *a: calls.__setitem__("percentile", calls["percentile"] + 1) or real_percentile(*a),
    )
    monkeypatch.setattr(cal, "mse_range", lambda *a: calls.__setitem__("mse", calls["mse"] + 1) or real_mse(*a))
    result = qz.sweep(values, (3, 4, 8), **kwargs)
    curve = qz.error_vs_bits(values, (2, 3, 4, 5, 6, 7, 8), **kwargs)
    if calibration == "percentile":
        assert calls == {"percentile": 2, "mse": 0}  # one per sweep, not one per bitwidth (3 + 7)
    if calibration == "mse":
        assert calls == {"percentile": 0, "mse": 3 + 7}
    for bits in (3, 4, 8):
        single = qz.quantize(values, bits, **kwargs)
        assert np.array_equal(result.dequantized[qz.label_for(bits)], single.dequantized.numpy())
        assert curve.loc[curve["bits"] == bits, "MSE"].item() == single.mse
