"""The core quantizer's parts: one rounding function, QParams (scale, zero point, code range, axis) with
apply() and levels(), QuantSpec (what to quantize to), MinMaxObserver's parameter arithmetic, QuantResult.

PyTorch's fake quantization, in float32 and in the same order:

    q = clamp(round_half_even(x * inv_scale) + zero_point, qmin, qmax),   inv_scale = float32(1 / scale)
    dequantized = (q - zero_point) * scale
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch

from compression.quantization.inputs import FLOAT32_EPS, FLOAT32_MAX, as_tensor
from compression.quantization.schemes import ROUNDINGS, SCHEME_REGISTRY, check_bits, choice, get_scheme

CALIBRATIONS: tuple[str, ...] = ("minmax", "percentile", "mse", "range")
P = ParamSpec("P")
R = TypeVar("R")
WIDE_LIMIT = float(2**62)
"""Fixed-scale (article) codes are unbounded; beyond ±2^62 (values that overflow anyway) they saturate so
they fit an int64."""


def round_codes(scaled: torch.Tensor, rounding: str, seed: int = 0) -> torch.Tensor:
    """Round `scaled` in place and return it: "nearest" half to even (torch.round = nearbyint), "truncate"
    toward zero, "floor" down, or "stochastic" floor(v + u), u ~ U[0, 1) from a torch.Generator seeded with
    `seed` (so E[round(v)] = v). The one rounding function of the package, for float32 and float64."""
    if rounding == "nearest":
        return torch.round(scaled, out=scaled)
    if rounding == "truncate":
        return torch.trunc(scaled, out=scaled)
    if rounding == "floor":
        return torch.floor(scaled, out=scaled)
    if rounding != "stochastic":
        choice(rounding, ROUNDINGS, "rounding")
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(scaled.shape, generator=generator, dtype=scaled.dtype)
    return torch.floor(scaled.add_(noise), out=scaled)


def inverse_scale(scale: torch.Tensor) -> torch.Tensor | float:
    """float32 1/scale, as the kernel's `float inv_scale = 1.0f / scale` (a python float when 0-d)."""
    if scale.dim() == 0:
        return float(np.float32(1.0) / np.float32(scale.item()))
    return torch.ones_like(scale) / scale


@dataclass(frozen=True)
class QParams:
    """Fixed quantization parameters: codes = clamp(round(x * inv_scale) + zero_point, qmin, qmax),
    dequantized = (codes - zero_point) * scale. `axis` is the channel axis of per-channel parameters
    (scale and zero_point then hold one number per channel). clamp=False (the article's fixed scale)
    computes in float64 and never clamps: codes beyond [qmin, qmax] overflow."""

    scale: float | torch.Tensor
    zero_point: int | torch.Tensor
    qmin: int
    qmax: int
    axis: int | None = None
    rounding: str = "nearest"
    seed: int = 0
    clamp: bool = True

    def _shaped(self, value: Any, dim: int) -> Any:
        if self.axis is None:
            return value
        shape = [1] * dim
        shape[self.axis] = -1
        return torch.as_tensor(value).reshape(shape)

    def unclamped_codes(self, values: Any) -> torch.Tensor:
        """round(x * inv_scale) + zero_point, before clamping (float32; float64 when clamp=False)."""
        x = as_tensor(values, check_finite=False)
        if not self.clamp:
            scaled = x.to(torch.float64) * (1.0 / float(self.scale))
            return round_codes(scaled, self.rounding, self.seed).clamp_(-WIDE_LIMIT, WIDE_LIMIT)
        inv = inverse_scale(torch.as_tensor(self.scale, dtype=torch.float32))
        scaled = round_codes(x * self._shaped(inv, x.dim()), self.rounding, self.seed)
        zero_point = self._shaped(torch.as_tensor(self.zero_point, dtype=torch.float32), x.dim())
        return scaled.add_(zero_point)

    def codes(self, values: Any) -> torch.Tensor:
        """The integer codes of `values` (as floats): clamped to [qmin, qmax] unless clamp=False."""
        codes = self.unclamped_codes(values)
        return codes.clamp_(self.qmin, self.qmax) if self.clamp else codes

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """(codes - zero_point) * scale, float32."""
        zero_point = self._shaped(torch.as_tensor(self.zero_point, dtype=codes.dtype), codes.dim())
        scale = self._shaped(torch.as_tensor(self.scale, dtype=codes.dtype), codes.dim())
        return ((codes - zero_point) * scale).to(torch.float32)

    def apply(self, values: Any) -> torch.Tensor:
        """Quantize-dequantize `values` with these fixed parameters (the transfer curve)."""
        return self.dequantize(self.codes(values))

    def levels(self, limit: int = 65_536) -> np.ndarray:
        """The representable dequantized values of per-tensor parameters, ascending (at most `limit`, evenly
        picked)."""
        if self.axis is not None:
            raise ValueError("Per-channel parameters have one set of levels per channel.")
        codes = np.unique(np.linspace(self.qmin, self.qmax, min(self.qmax - self.qmin + 1, limit)).round())
        return self.dequantize(torch.from_numpy(codes.astype(np.float64))).numpy()

    def representable_range(self) -> tuple[float, float]:
        """The lowest and highest dequantized levels, (qmin - zp)·scale and (qmax - zp)·scale."""
        scale, zero_point = float(self.scale), int(self.zero_point)
        return (self.qmin - zero_point) * scale, (self.qmax - zero_point) * scale


@dataclass(frozen=True)
class QuantSpec:
    """What to quantize to: bits, scheme, rounding (None: the scheme's own), calibration (minmax, percentile,
    mse, range), the percentile kept, the explicit range, the channel axis (None: per tensor), the seed of
    stochastic rounding and of the MSE search's sample. Hashable: it doubles as a cache key."""

    bits: int
    scheme: str = "symmetric"
    rounding: str | None = None
    calibration: str = "minmax"
    percentile: float = 99.9
    value_range: tuple[float, float] | None = None
    axis: int | None = None
    seed: int = 0

    def resolved(self) -> QuantSpec:
        """The spec checked, with the scheme's canonical key (aliases resolved) and its rounding filled in.

        Raises ValueError for an unknown scheme, rounding or calibration, bad bits, percentile or range."""
        scheme = get_scheme(self.scheme)
        rounding = choice(self.rounding or scheme.default_rounding, ROUNDINGS, "rounding")
        choice(self.calibration, CALIBRATIONS, "calibration")
        bits = check_bits(self.bits, scheme.key)
        percentile = check_percentile(self.percentile) if self.calibration == "percentile" else self.percentile
        value_range = check_range(self.value_range) if self.calibration == "range" else self.value_range
        return QuantSpec(bits, scheme.key, rounding, self.calibration, percentile, value_range, self.axis, self.seed)


def check_percentile(percentile: float) -> float:
    """The central percentile kept by percentile calibration: more than 50, at most 100."""
    try:
        value = float(percentile)
    except (TypeError, ValueError):
        raise ValueError(f"The percentile must be a number between 50 and 100; got {percentile!r}.") from None
    if not (50 < value <= 100):
        raise ValueError(
            f"The percentile must be more than 50 and at most 100 (99.9 keeps the values between the 0.1th "
            f"and the 99.9th percentile); got {percentile!r}."
        )
    return value


def check_range(value_range: tuple[float, float] | None) -> tuple[float, float]:
    """An explicit clipping range (min, max): finite float32 numbers with min <= max."""
    if value_range is None:
        raise ValueError("Calibration 'range' needs an explicit range: give a minimum and a maximum.")
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"The range must be two numbers (minimum, maximum); got {value_range!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("The range's minimum and maximum must be finite numbers.")
    if max(abs(low), abs(high)) > FLOAT32_MAX:
        raise ValueError(
            f"The range ({low:g}, {high:g}) goes beyond float32 (about ±3.4e38): model weights are float32, "
            "so use smaller bounds."
        )
    if low > high:
        raise ValueError(f"The range's minimum ({low:g}) is larger than its maximum ({high:g}): swap them.")
    return low, high


def qparams_from_range(
    range_min: torch.Tensor | float, range_max: torch.Tensor | float, qmin: int, qmax: int, symmetric: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale (float32) and zero point (int64), computed exactly as MinMaxObserver._calculate_qparams:

        symmetric:  scale = max(-min, max) / ((qmax - qmin) / 2),  zero_point = 0
        affine:     scale = (max - min) / (qmax - qmin),  zero_point = clamp(qmin - round(min / scale), qmin, qmax)

    after widening [min, max] to include 0, with scale >= float32 eps. Works per tensor (0-d inputs) and
    per channel (1-d inputs). Raises ValueError when the scale itself overflows float32 (a range near
    ±3.4e38, or 1-bit symmetric whose scale is 2·amax).
    """
    min_val = torch.as_tensor(range_min, dtype=torch.float32)
    max_val = torch.as_tensor(range_max, dtype=torch.float32)
    eps = torch.tensor([FLOAT32_EPS], dtype=torch.float32)
    min_val_neg = torch.min(min_val, torch.zeros_like(min_val))
    max_val_pos = torch.max(max_val, torch.zeros_like(max_val))
    zero_point = torch.zeros(min_val_neg.size(), dtype=torch.int64)
    if symmetric:
        max_val_pos = torch.max(-min_val_neg, max_val_pos)
        scale = max_val_pos / (float(qmax - qmin) / 2)
        scale = torch.max(scale, eps)
    else:
        scale = (max_val_pos - min_val_neg) / float(qmax - qmin)
        scale = torch.max(scale, eps)
        zero_point = qmin - torch.round(min_val_neg / scale).to(torch.int)
        zero_point = torch.clamp(zero_point, qmin, qmax).to(torch.int64)
    if not bool(torch.isfinite(scale).all()):
        raise ValueError(
            "These values are too large to quantize here: the scale (the step between levels) would be "
            f"{float(scale.max()):.3g}, beyond float32's maximum (about 3.4e38). Divide them by a power of ten "
            "first, or use more bits."
        )
    if min_val.dim() == 0:
        scale, zero_point = scale.reshape(()), zero_point.reshape(())
    return scale.to(torch.float32), zero_point


@dataclass(frozen=True, eq=False)
class QuantResult:
    """What quantizing a tensor gives, value by value, with its summary figures.

    `q` are the integer codes; `dequantized` = (q - zero_point) * scale (float32); `error` =
    dequantized - original; `clipped` marks values whose rounded code fell outside [qmin, qmax] (for the
    article's fixed scale: codes that overflow `bits` signed bits). Per-channel results have tensor scale/zero_point.
    """

    original: torch.Tensor
    steps: torch.Tensor = field(repr=False)
    """q - zero_point as float32 integers (the signed number of steps from 0); `q` adds the zero point back."""
    dequantized: torch.Tensor
    scale: float | torch.Tensor
    zero_point: int | torch.Tensor
    qmin: int
    qmax: int
    bits: int
    scheme: str
    rounding: str
    calibration: str
    range_min: float | torch.Tensor
    """The calibrated clipping range, before it is widened to include 0."""
    range_max: float | torch.Tensor
    axis: int | None = None
    seed: int = 0
    label: str = ""
    clipped_mask: torch.Tensor | None = field(default=None, repr=False)
    kind: str = "integer"
    """"integer" (uniform levels: scale and zero point) or "float" (a low-bit float format)."""

    @cached_property
    def qparams(self) -> QParams:
        """The fixed parameters this result was quantized with (integer results only)."""
        if self.kind != "integer":
            raise ValueError(f"{self.label or self.scheme} is a float format: it has no scale and zero point.")
        scheme = SCHEME_REGISTRY.get(self.scheme)
        wide = scheme is not None and scheme.fixed_scale
        return QParams(
            self.scale, self.zero_point, self.qmin, self.qmax, self.axis, self.rounding, self.seed, clamp=not wide
        )

    @cached_property
    def q(self) -> torch.Tensor:
        """Integer codes (int32; int64 for a fixed-scale scheme, whose codes are unbounded)."""
        scheme = SCHEME_REGISTRY.get(self.scheme)
        dtype = torch.int64 if scheme is not None and scheme.fixed_scale else torch.int32
        if self.axis is not None:
            shape = [1] * self.steps.dim()
            shape[self.axis] = -1
            return (self.steps.to(dtype) + torch.as_tensor(self.zero_point).reshape(shape)).to(dtype)
        return self.steps.to(dtype) + int(self.zero_point)

    @cached_property
    def clipped(self) -> torch.Tensor:
        """Mask of values outside the representable range (torch's fake-quant mask, inverted)."""
        if self.clipped_mask is not None:
            return self.clipped_mask
        unclamped = self.qparams.unclamped_codes(self.original)
        return (unclamped < self.qmin) | (unclamped > self.qmax)

    @cached_property
    def error(self) -> torch.Tensor:
        """dequantized - original, float32."""
        return self.dequantized - self.original

    @cached_property
    def mse(self) -> float:
        """mean(error²), squared and summed in float64: a float32 error up to 3.4e38 squares to at most
        1.2e77, which float64 holds (float32 squares overflow from |error| ≈ 1.8e19). +inf only when an
        error itself overflows float32 (see `metric_note`)."""
        error = self.error.to(torch.float64)
        return float((error * error).sum()) / error.numel()

    @cached_property
    def max_abs_error(self) -> float:
        return float(self.error.abs().max())

    @cached_property
    def mean_error(self) -> float:
        """Mean signed error (the bias: truncation shrinks magnitudes, floor pulls everything down)."""
        return float(self.error.sum(dtype=torch.float64)) / self.error.numel()

    @cached_property
    def signal_power(self) -> float:
        """mean(x²), squared and summed in float64 (finite for every float32 input)."""
        x = self.original.to(torch.float64)
        return float((x * x).sum()) / x.numel()

    @cached_property
    def sqnr_db(self) -> float:
        """10·log10(mean(x²) / mean(error²)); +inf when the error is zero, NaN (undefined) when the signal is
        all zeros (see `sqnr_db` and `sqnr_note`)."""
        return sqnr_db(self.signal_power, self.mse)

    @cached_property
    def clipped_count(self) -> int:
        return int(self.clipped.sum())

    @cached_property
    def predicted_mse(self) -> float:
        """The uniform-noise prediction Δ²/12 (averaged over channels for per-channel results)."""
        scale = torch.as_tensor(self.scale, dtype=torch.float64)
        return float((scale.square() / 12).mean())


def sqnr_db(signal_power: float, noise_power: float) -> float:
    """Signal-to-quantization-noise ratio in dB: 10·log10(signal / noise).

    Where it is not a finite number, `sqnr_note` says why: NaN (undefined) when the signal is all zeros
    (0/0, or a ratio to nothing); +inf for zero noise (an exact reconstruction); -inf when the noise is
    infinite (an error overflowed float32); NaN when the noise is NaN."""
    if math.isnan(noise_power) or math.isnan(signal_power) or signal_power == 0:
        return math.nan
    if math.isinf(noise_power):
        return -math.inf
    if noise_power == 0:
        return math.inf
    return 10.0 * math.log10(signal_power / noise_power)


NOTE_OVERFLOW = "overflow"
"""A figure is infinite because an error (or a dequantized value) overflows float32."""
NOTE_ZERO_SIGNAL = "zero_signal"
"""An SQNR is undefined: the signal is all zeros, so there is nothing to compare the noise with."""
NOTE_NO_ERROR = "no_error"
"""An SQNR is +inf: every value is reconstructed exactly (the error is 0)."""
NOTE_NOT_APPLICABLE = "not_applicable"
"""The figure does not exist for this format (a float format has no zero point and no uniform step Δ)."""
METRIC_NOTES: tuple[str, ...] = (NOTE_OVERFLOW, NOTE_ZERO_SIGNAL, NOTE_NO_ERROR, NOTE_NOT_APPLICABLE)


def metric_note(value: float) -> str | None:
    """Why an error figure (MSE, max |error|, mean error) is not a finite number: NOTE_OVERFLOW, or None when
    it is finite."""
    return None if math.isfinite(value) else NOTE_OVERFLOW


def sqnr_note(signal_power: float, noise_power: float) -> str | None:
    """Why `sqnr_db(signal_power, noise_power)` is not a finite number (one of METRIC_NOTES), or None."""
    if not math.isfinite(noise_power):
        return NOTE_OVERFLOW
    if signal_power == 0:
        return NOTE_ZERO_SIGNAL
    if noise_power == 0:
        return NOTE_NO_ERROR
    return None


def step_size(range_min: float, range_max: float, bits: int) -> float:
    """Δ = (max - min) / (2^b - 1): the distance between neighbouring levels over [min, max]."""
    return (float(range_max) - float(range_min)) / (2**bits - 1)


def uniform_noise_mse(step: float) -> float:
    """The uniform-noise model: a rounding error spread evenly over [-Δ/2, Δ/2] has variance Δ²/12."""
    return float(step) ** 2 / 12.0


def theoretical_sqnr_db(bits: int | np.ndarray, signal: str = "uniform") -> float | np.ndarray:
    """The ~6.02 dB-per-bit line: 20·log10(2)·b = 6.02·b for a full-range uniform input, +1.76 dB for a
    full-scale sine."""
    per_bit = 20.0 * math.log10(2.0)
    offset = {"uniform": 0.0, "sine": 10.0 * math.log10(1.5)}[signal]
    return per_bit * np.asarray(bits, dtype=np.float64) + offset


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch ops on one intra-op thread, then restore the count.

    The page's arrays (at most a few million values) are small passes: on a small shared machine an OpenMP
    thread waiting for a busy core costs more than it brings (`make bench` prints 1 thread beside the default).
    """
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run `function` inside `single_threaded()`."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with single_threaded():
            return function(*args, **kwargs)

    return wrapper
