"""compression.formats: FP8 through torch's float8 dtypes (saturating), FP4 E2M1 and NF4 tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compression.formats import E2M1_MAGNITUDES, FORMATS, NF4_LEVELS, format_levels, quantize_float
from compression.quantization import QuantResult


@pytest.mark.parametrize(
    ("fmt", "dtype", "max_value"), [("fp8_e4m3", torch.float8_e4m3fn, 448.0), ("fp8_e5m2", torch.float8_e5m2, 57344.0)]
)
def test_fp8_is_torch_cast_and_saturates(fmt, dtype, max_value):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5000, generator=g) * torch.logspace(-6, 2, 5000)
    r = quantize_float(x, fmt)
    assert torch.equal(r.dequantized, x.to(dtype).to(torch.float32))
    assert torch.equal(r.q, x.to(dtype).view(torch.uint8).to(torch.int32))
    big = quantize_float([1e6, -1e6, max_value, 1.0], fmt)
    assert big.dequantized.tolist() == [max_value, -max_value, max_value, 1.0]  # no NaN, no inf
    assert big.clipped.tolist() == [True, True, False, False]


def test_fp8_tensor_scaling_maps_absmax_to_the_format_max():
    r = quantize_float([0.001, -0.002, 0.0005], "fp8_e4m3", scaling="tensor")
    assert r.scale == pytest.approx(0.002 / 448)
    assert float(r.dequantized[1]) == pytest.approx(-0.002, rel=1e-6)


def test_fp4_e2m1_levels_ties_to_even_and_saturation():
    # scaling "none": the raw format
    x = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 7.0, -1.4, -0.1, 6.0]
    r = quantize_float(x, "fp4_e2m1", scaling="none")
    assert r.dequantized.tolist() == [0.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 6.0, -1.5, -0.0, 6.0]
    assert r.clipped.tolist() == [False] * 7 + [True] + [False] * 3
    assert r.q.tolist()[:2] == [0, 2] and r.q.tolist()[8] == 8 + 3  # sign bit + magnitude index
    assert set(np.abs(r.dequantized.numpy())) <= set(E2M1_MAGNITUDES)


def test_nf4_blockwise_absmax_nearest_level():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, generator=g)  # 4 blocks of 64, the last one partial
    r = quantize_float(x, "nf4")
    assert r.scale.shape == (4,)
    levels = torch.tensor(NF4_LEVELS)
    for block in range(4):
        chunk = x[block * 64 : (block + 1) * 64]
        absmax = chunk.abs().max()
        assert float(r.scale[block]) == float(absmax)
        nearest = levels[(chunk.reshape(-1, 1) / absmax - levels).abs().argmin(dim=1)]
        assert torch.allclose(r.dequantized[block * 64 : (block + 1) * 64], nearest * absmax)
    assert int(r.q.min()) >= 0 and int(r.q.max()) <= 15
    assert r.clipped_count == 0
    # the absmax value of each block is exactly representable (level ±1)
    assert float(r.error[x.abs().argmax()]) == 0.0


def test_formats_return_the_same_result_shape_as_integers():
    for key, spec in FORMATS.items():
        r = quantize_float([0.1, -0.5, 0.9, 0.0], key)
        assert isinstance(r, QuantResult)
        assert r.kind == "float" and r.bits == spec.bits and r.label == spec.name
        assert r.dequantized.shape == r.error.shape == r.clipped.shape == r.q.shape == (4,)
        assert np.isfinite(r.mse) and r.max_abs_error >= 0


def test_format_levels_and_errors():
    assert len(format_levels("fp8_e4m3")) == 253  # 256 codes - 2 NaN, +0 and -0 coincide
    assert format_levels("fp8_e4m3").max() == 448
    assert format_levels("fp8_e5m2").max() == 57344
    assert len(format_levels("fp4_e2m1")) == 15
    assert len(format_levels("nf4")) == 16
    with pytest.raises(ValueError, match="Unknown float format 'fp3'"):
        quantize_float([1.0], "fp3")
    with pytest.raises(ValueError, match="Unknown scaling"):
        quantize_float([1.0], "nf4", scaling="row")
    with pytest.raises(ValueError, match="block size"):
        quantize_float([1.0], "nf4", block_size=0)
    with pytest.raises(ValueError, match="NaN"):
        quantize_float([1.0, float("nan")], "fp8_e4m3")
