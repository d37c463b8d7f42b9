"""Edge cases that used to escape as inf, NaN, a RuntimeError or a wrong flag, and the MSE search checked
against a much finer brute-force grid (issue 8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from compression import quantization as qz


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_one_bit_symmetric_scale_overflow_is_a_clear_error():
    # amax fits float32 but the 1-bit scale amax / 0.5 does not: it used to give scale inf and NaN values
    with pytest.raises(ValueError, match="too large to quantize"):
        qz.quantize([1.7014118e38], 1, scheme="symmetric")
    with pytest.raises(ValueError, match="too large to quantize"):
        qz.quantize_per_channel([[1.7014118e38, 0.0], [1.0, 2.0]], 1, scheme="symmetric")
    with pytest.raises(ValueError, match="too large to quantize"):
        qz.sweep([1.7014118e38, 1.0], [1, 8])
    assert math.isfinite(qz.quantize([1.7014118e38], 2, scheme="symmetric").scale)  # 2 bits: amax / 1.5


def test_explicit_range_that_overflows_float32_is_a_clear_error():
    with pytest.raises(ValueError, match="too large to quantize"):
        qz.quantize([0.5, -1, 2], 8, scheme="affine", calibration="range", value_range=(-3e38, 3e38))
    with pytest.raises(ValueError, match="too large to quantize"):  # used to be "math domain error"
        qz.sweep([0.5, -1, 2], [8], scheme="affine", calibration="range", value_range=(-3e38, 3e38))


def test_range_bound_beyond_float32_is_a_value_error():
    # used to raise RuntimeError from torch.full, which the page does not catch
    with pytest.raises(ValueError, match="beyond float32"):
        qz.quantize([0.5, 1.0], 8, calibration="range", value_range=(0, 1e39))
    with pytest.raises(ValueError, match="beyond float32"):
        qz.sweep([0.5, 1.0], [8], calibration="range", value_range=(-1e39, 0))


def test_fp4_negative_zero_has_the_sign_bit_code():
    result = qz.quantize_float([-0.1, 0.1, -0.0, 0.0, -0.5], "fp4_e2m1", scaling="none")
    assert result.q.tolist() == [8, 0, 8, 0, 9]  # E2M1 bit patterns: sign bit 8, as FP8's -0.0 is 128
    assert torch.signbit(result.dequantized[:4]).tolist() == [True, False, True, False]
    fp8 = qz.quantize_float([-0.0001], "fp8_e4m3", scaling="none")
    assert fp8.q.tolist() == [128]


@pytest.mark.parametrize("fmt", ["fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "nf4"])
@pytest.mark.parametrize("scaling", ["tensor", "block"])
def test_absmax_scaling_never_flags_a_value_clipped(fmt, scaling):
    # absmax / (absmax / max) can land one float32 ulp above max: it used to be flagged clipped
    values = qz.generate_values("normal", 64 * 500, seed=3) * np.float32(3.3)
    result = qz.quantize_float(values, fmt, scaling=scaling)
    assert result.clipped_count == 0
    assert bool(torch.isfinite(result.dequantized).all())
    raw = qz.quantize_float([1e6, 1.0], "fp8_e4m3", scaling="none")
    assert raw.clipped.tolist() == [True, False]  # without scaling, out-of-range values still are


def _brute_force(x: torch.Tensor, bits: int, scheme: str, steps: int) -> float:
    """The lowest MSE over a fine grid of explicit ranges (each end on its own for affine)."""
    low, high = float(x.min()), float(x.max())
    factors = np.linspace(1 / steps, 1.0, steps)
    if scheme == "affine":
        pairs = [(a * low, b * high) for a in factors for b in factors]
    else:
        pairs = [(a * low, a * high) for a in factors]
    return min(qz.quantize(x, bits, scheme=scheme, calibration="range", value_range=p).mse for p in pairs)


@pytest.mark.parametrize(
    ("distribution", "count", "seed", "bits", "scheme", "steps"),
    [
        ("normal", 5_000, 2, 4, "affine", 60),  # a scaled copy of [min, max] was 1.9% worse here
        ("laplace", 20_000, 0, 3, "affine", 60),
        ("outliers", 200_000, 0, 4, "symmetric", 400),  # a 32,768-value sample picked the wrong minimum
        ("uniform", 5_000, 0, 2, "symmetric", 400),
    ],
)
def test_mse_search_matches_a_fine_brute_force_grid(distribution, count, seed, bits, scheme, steps):
    x = torch.from_numpy(qz.generate_values(distribution, count, seed=seed))
    searched = qz.quantize(x, bits, scheme=scheme, calibration="mse")
    best = _brute_force(x, bits, scheme, steps)
    assert searched.mse <= best * 1.001, (searched.mse, best)
    assert searched.mse <= qz.quantize(x, bits, scheme=scheme).mse  # never worse than min-max


def test_mse_search_exact_measure_agrees_with_quantizing():
    x = torch.from_numpy(qz.generate_values("laplace", 30_000, seed=4))
    for bits, scheme, rounding in [
        (3, "affine", "nearest"),
        (5, "symmetric", "floor"),
        (4, "symmetric_restricted", None),
    ]:
        spec = qz.QuantSpec(bits, scheme, rounding, "mse").resolved()
        low, high = qz.mse_range(x, spec, torch.aminmax(x), None)
        direct = qz.quantize(x, bits, scheme=scheme, rounding=rounding, calibration="range",
                             value_range=(float(low), float(high)))  # fmt: skip
        searched = qz.quantize(x, bits, scheme=scheme, rounding=rounding, calibration="mse")
        assert searched.mse == pytest.approx(direct.mse, rel=1e-6)


def test_decimal_commas_are_an_error_not_four_numbers():
    with pytest.raises(ValueError, match="decimal comma"):
        qz.parse_values("0,5 1,0")
    with pytest.raises(ValueError, match="'0.5'"):
        qz.parse_values("0,5\n1,25")
    assert qz.parse_values("0.5, 1.0").tolist() == [0.5, 1.0]
    assert qz.parse_values("1,2,3").tolist() == [1, 2, 3]  # commas alone separate numbers
