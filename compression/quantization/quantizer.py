"""The quantizer, exact to PyTorch: `quantize` per tensor, `quantize_per_channel`, both through
`quantize_spec`.

With min-max calibration the scale and zero point are those of `torch.ao.quantization.MinMaxObserver`
for the same range (see `qparams_from_range`), and with rounding="nearest" the values are those of
`torch.fake_quantize_per_tensor_affine` (per_channel_affine per channel), bit for bit.

The article's formula (scheme "article", programming problem 1) is reproduced faithfully:
`int(value * 2**(bits - 1))`, truncation toward zero, no clamp; codes that do not fit in `bits` signed
bits are flagged as overflow.
"""

from __future__ import annotations

from typing import Any

import torch

from compression.quantization.calibration import calibrated_range
from compression.quantization.core import (
    QParams,
    QuantResult,
    QuantSpec,
    inverse_scale,
    qparams_from_range,
    round_codes,
)
from compression.quantization.inputs import as_tensor, check_finite_tensor
from compression.quantization.schemes import get_scheme


def quantize(
    values: Any,
    bits: int,
    *,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    value_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> QuantResult:
    """Quantize every value to `bits` bits and back, per tensor.

    q = clamp(round(x * inv_scale) + zero_point, qmin, qmax); dequantized = (q - zero_point) * scale, with
    scale and zero point from the calibrated range by MinMaxObserver's formulas.
    rounding=None means the scheme's own: "nearest" (half to even, as PyTorch), or "truncate" for "article".
    calibration: "minmax", "percentile" (central `percentile` %), "mse" (grid search), or "range" (`value_range`).
    The article's scheme ignores calibration: its scale is fixed at 2^-(bits-1) and it never clamps.
    """
    spec = QuantSpec(bits, scheme, rounding, calibration, percentile, value_range, None, seed)
    return quantize_spec(as_tensor(values, check_finite=False), spec)


def quantize_per_channel(
    weight: Any,
    bits: int,
    *,
    axis: int = 0,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    seed: int = 0,
) -> QuantResult:
    """Per-channel quantization of a 2-D weight: one scale and zero point per slice along `axis`, as
    PerChannelMinMaxObserver + torch.fake_quantize_per_channel_affine."""
    x = as_tensor(weight, check_finite=False)
    if x.dim() != 2:
        raise ValueError(f"Per-channel quantization needs a 2-D weight matrix; got {x.dim()} dimension(s).")
    if axis not in (0, 1):
        raise ValueError(f"The channel axis of a 2-D weight is 0 (rows) or 1 (columns); got {axis!r}.")
    if calibration == "range":
        raise ValueError("An explicit range applies to the whole tensor: use per-tensor quantization for it.")
    return quantize_spec(x, QuantSpec(bits, scheme, rounding, calibration, percentile, None, axis, seed))


def _fixed_scale(x: torch.Tensor, spec: QuantSpec) -> QuantResult:
    """The article's formula: codes = int(x · 2^(b-1)) (in float64, exact: a power-of-two product), no clamp."""
    if spec.axis is not None:
        raise ValueError("The article's formula has one fixed scale: it has no per-channel form.")
    qmin, qmax = get_scheme(spec.scheme).code_range(spec.bits)
    scale = 2.0 ** -(spec.bits - 1)
    params = QParams(scale, 0, qmin, qmax, None, spec.rounding or "truncate", spec.seed, clamp=False)
    codes = params.codes(x)
    return QuantResult(
        original=x,
        steps=codes,
        dequantized=params.dequantize(codes),
        scale=scale,
        zero_point=0,
        qmin=qmin,
        qmax=qmax,
        bits=spec.bits,
        scheme=spec.scheme,
        rounding=params.rounding,
        calibration="fixed",
        range_min=-1.0,
        range_max=1.0 - scale,
        seed=spec.seed,
        clipped_mask=(codes < qmin) | (codes > qmax),
    )


def quantize_spec(x: torch.Tensor, spec: QuantSpec, ranges: dict | None = None) -> QuantResult:
    """Quantize the float32 tensor `x` as `spec` says (per tensor, or per channel along `spec.axis`).
    `ranges`: a memo shared by calls on the same `x` at several bitwidths (see calibration.calibrated_range)."""
    spec = spec.resolved()
    axis = spec.axis
    reduce_dim = None if axis is None else 1 - axis
    minmax = torch.aminmax(x) if axis is None else torch.aminmax(x, dim=reduce_dim)
    check_finite_tensor(x, minmax)
    scheme = get_scheme(spec.scheme)
    if scheme.fixed_scale:
        return _fixed_scale(x, spec)
    if not bool(torch.isfinite(minmax[1] - minmax[0]).all()):
        raise ValueError(
            "These values are too large to quantize in float32: the distance from the smallest to the largest "
            f"({float(minmax[0].min()):.3g} to {float(minmax[1].max()):.3g}) exceeds float32's maximum, about 3.4e38. "
            "Divide them by a power of ten first."
        )
    qmin, qmax = scheme.code_range(spec.bits)
    low, high = calibrated_range(x, spec, minmax, reduce_dim, ranges)
    scale_t, zero_point_t = qparams_from_range(low, high, qmin, qmax, symmetric=scheme.symmetric)
    rounding, seed = spec.rounding or "nearest", spec.seed
    params = QParams(scale_t, zero_point_t, qmin, qmax, axis, rounding, seed)

    # The kernel computes (clamp(zero_point + round(x * inv_scale), qmin, qmax) - zero_point) * scale. With
    # integer bounds, clamping commutes with rounding and with adding the (integer) zero point, so
    #     steps = clamp(round(x * inv_scale), qmin - zero_point, qmax - zero_point),  dequantized = steps * scale
    # gives the same floats in two fewer passes. "0 + steps * scale" (addcmul) turns -0.0 into +0.0 as the
    # kernel's integer arithmetic does, so the results agree bit for bit, sign of zero included.
    zero = torch.zeros((), dtype=torch.float32)
    if axis is None:
        scale: float | torch.Tensor = float(scale_t)
        zero_point: int | torch.Tensor = int(zero_point_t)
        steps = round_codes(x * inverse_scale(scale_t), rounding, seed).clamp_(qmin - zero_point, qmax - zero_point)
        dequantized = torch.addcmul(zero, steps, scale_t.reshape(()))
        clipped_mask = None  # computed on first use (re-rounding with the same seed gives the same codes)
        range_min, range_max = float(low), float(high)
    else:
        shape = [1, 1]
        shape[axis] = -1
        scale, zero_point = scale_t, zero_point_t
        zp = zero_point_t.to(torch.float32).reshape(shape)
        unclamped = params.unclamped_codes(x)
        clipped_mask = (unclamped < qmin) | (unclamped > qmax)
        steps = torch.minimum(torch.maximum(unclamped.sub_(zp), qmin - zp), qmax - zp)
        dequantized = torch.addcmul(zero, steps, scale_t.reshape(shape))
        range_min, range_max = low, high
    return QuantResult(
        original=x,
        steps=steps,
        dequantized=dequantized,
        scale=scale,
        zero_point=zero_point,
        qmin=qmin,
        qmax=qmax,
        bits=spec.bits,
        scheme=spec.scheme,
        rounding=rounding,
        calibration=spec.calibration,
        range_min=range_min,
        range_max=range_max,
        axis=axis,
        seed=seed,
        clipped_mask=clipped_mask,
    )
