"""Integer quantization, exact to PyTorch: schemes, rounding modes, calibration, per-value results.

The quantizer (rounding="nearest") computes what `torch.fake_quantize_per_tensor_affine` computes, in
float32 and in the same order:

    q = clamp(round_half_even(x * inv_scale) + zero_point, qmin, qmax),   inv_scale = float32(1 / scale)
    dequantized = (q - zero_point) * scale

and with min-max calibration the scale and zero point are those of
`torch.ao.quantization.MinMaxObserver` for the same range (the range is first widened to include 0):

    symmetric:  scale = max(-min, max) / ((qmax - qmin) / 2),  zero_point = 0
    affine:     scale = (max - min) / (qmax - qmin),  zero_point = clamp(qmin - round(min / scale), qmin, qmax)

and the scale is never below float32 eps (a constant input never divides by zero).

The article's "seed" formula (shared/seed, programming problem 1) is reproduced faithfully:
`int(value * 2**(bits - 1))`, truncation toward zero, no clamp; codes that do not fit in `bits` signed
bits are flagged as overflow.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import torch

SCHEMES: tuple[str, ...] = ("symmetric", "affine", "symmetric_restricted", "seed")
ROUNDINGS: tuple[str, ...] = ("nearest", "truncate", "floor", "stochastic")
CALIBRATIONS: tuple[str, ...] = ("minmax", "percentile", "mse", "range")
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "normal", "laplace", "outliers")
MIN_BITS, MAX_BITS = 1, 16
MAX_GENERATED = 2_000_000
P = ParamSpec("P")
R = TypeVar("R")
MSE_GRID = 100
"""Candidate clipping ranges tried by the MSE search: alpha * [min, max], alpha = 1/G ... 1."""
MSE_SAMPLE = 32_768
"""The MSE search measures on at most this many values (a seeded random subset)."""
FLOAT32_EPS = torch.finfo(torch.float32).eps
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


# --------------------------------------------------------------------------------------------------
# Input: text, CSV, generated values, layer weights
# --------------------------------------------------------------------------------------------------

_SPLIT = re.compile(r"[,;\s]+")


def _show_tokens(tokens: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(t[:20]) for t in tokens[:limit])
    return shown + (f" and {len(tokens) - limit} more" if len(tokens) > limit else "")


def _check_finite(array: np.ndarray, what: str = "value") -> None:
    """Raise a learner-readable ValueError for NaN, infinity or values beyond float32."""
    bad = ~np.isfinite(array)
    if bad.any():
        positions = np.flatnonzero(bad)
        first = array.reshape(-1)[positions[0]]
        kind = "NaN (not a number)" if np.isnan(first) else "infinite"
        raise ValueError(
            f"Every {what} must be a finite number, but {len(positions)} of them are not: {what} #{positions[0] + 1} "
            f"is {kind}. Remove it or replace it with a number."
        )
    if array.dtype != np.float32 and array.size and np.abs(array).max() > FLOAT32_MAX:
        count = int((np.abs(array) > FLOAT32_MAX).sum())
        raise ValueError(
            f"{count} value(s) are too large for float32 (the largest is about ±3.4e38): "
            f"model weights are float32, so use smaller numbers."
        )


def parse_values(text: str) -> np.ndarray:
    """Numbers typed or pasted, separated by commas, semicolons, spaces or new lines -> float32 array.

    Raises ValueError naming the tokens that are not numbers, and for empty input, NaN or infinity.
    """
    tokens = [t for t in _SPLIT.split(text or "") if t]
    if not tokens:
        raise ValueError("No values given: type or paste numbers separated by commas, spaces or new lines.")
    try:
        array = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = []
        for token in tokens:
            try:
                float(token)
            except ValueError:
                bad.append(token)
        raise ValueError(
            f"These are not numbers: {_show_tokens(bad)}. Use digits with a dot for decimals, "
            "e.g. 0.5, -1.25, 3e-4, separated by commas, spaces or new lines."
        ) from None
    _check_finite(array)
    return array.astype(np.float32)


def parse_csv(data: bytes) -> np.ndarray:
    """A CSV upload (the file's bytes) with one numeric column, with or without a header -> float32 array."""
    if not data or not data.strip():
        raise ValueError("The CSV file is empty: upload a file with one column of numbers.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The CSV file is not UTF-8 text: save it as CSV (UTF-8) and upload it again.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]
    if not rows:
        raise ValueError("The CSV file has no rows: upload a file with one column of numbers.")
    widths = {len([c for c in row if c.strip()]) for row in rows}
    if max(widths) > 1:
        raise ValueError(
            f"The CSV file has {max(widths)} columns; upload a file with exactly one column of numbers "
            "(one value per line)."
        )
    cells = [next(c.strip() for c in row if c.strip()) for row in rows]

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    start = 0 if is_number(cells[0]) else 1  # a non-numeric first cell is a header
    body = cells[start:]
    if not body:
        raise ValueError(f"The CSV file has a header ({cells[0][:30]!r}) but no numbers under it.")
    bad = [(i + start + 1, c) for i, c in enumerate(body) if not is_number(c)]
    if bad:
        shown = ", ".join(f"line {line}: {cell[:20]!r}" for line, cell in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"These CSV cells are not numbers: {shown}{more}.")
    array = np.array(body, dtype=np.float64)
    _check_finite(array)
    return array.astype(np.float32)


def parse_bits(text: str) -> list[int]:
    """ "4,8" -> [4, 8]: a comma list of whole numbers of bits from 1 to 16 (sorted, duplicates removed)."""
    tokens = [t for t in _SPLIT.split(str(text)) if t]
    if not tokens:
        raise ValueError("No bitwidth given: use whole numbers from 1 to 16, e.g. 4,8.")
    bits = []
    for token in tokens:
        if not re.fullmatch(r"[+]?\d{1,3}", token):
            raise ValueError(f"{token[:20]!r} is not a whole number of bits: use numbers from 1 to 16, e.g. 4,8.")
        bits.append(check_bits(int(token)))
    return sorted(set(bits))


def check_bits(bits: int, scheme: str = "symmetric") -> int:
    """Validate a bitwidth for a scheme; returns it. Integer schemes take 1 to 16 bits."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise ValueError(f"Bits must be a whole number from {MIN_BITS} to {MAX_BITS}; got {bits!r}.")
    bits = int(bits)
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"Bits must be from {MIN_BITS} to {MAX_BITS}; got {bits}.")
    if scheme == "symmetric_restricted" and bits < 2:
        raise ValueError(
            "The restricted symmetric scheme needs at least 2 bits: at 1 bit its range [-(2^0-1), 2^0-1] is just {0}."
        )
    return bits


def _choice(value: str, options: Sequence[str], what: str) -> str:
    if value not in options:
        raise ValueError(f"Unknown {what} {value!r}: choose one of {', '.join(options)}.")
    return value


def generate_values(
    distribution: str,
    count: int,
    seed: int = 0,
    *,
    spread: float = 1.0,
    outlier_fraction: float = 0.01,
    outlier_scale: float = 20.0,
) -> np.ndarray:
    """`count` float32 values drawn with numpy's PCG64(seed).

    uniform: U[-spread, spread); normal: N(0, spread²); laplace: Laplace(0, spread/√2) (variance spread²);
    outliers: normal, with a fraction `outlier_fraction` multiplied by `outlier_scale`.
    """
    _choice(distribution, DISTRIBUTIONS, "distribution")
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or not 1 <= count <= MAX_GENERATED:
        raise ValueError(f"The number of values must be a whole number from 1 to {MAX_GENERATED:,}; got {count!r}.")
    if not (math.isfinite(spread) and spread > 0):
        raise ValueError(f"The spread must be a positive number; got {spread!r}.")
    if not 0 <= outlier_fraction <= 1:
        raise ValueError(f"The outlier fraction must be between 0 and 1; got {outlier_fraction!r}.")
    rng = np.random.Generator(np.random.PCG64(seed))
    if distribution == "uniform":
        out = rng.uniform(-spread, spread, count)
    elif distribution == "normal":
        out = rng.normal(0.0, spread, count)
    elif distribution == "laplace":
        out = rng.laplace(0.0, spread / math.sqrt(2.0), count)
    else:
        out = rng.normal(0.0, spread, count)
        mask = rng.random(count) < outlier_fraction
        out[mask] *= outlier_scale
    return out.astype(np.float32)


LAYERS: dict[str, str] = {
    "linear_784_128": "Linear(784 → 128), an MNIST hidden layer",
    "linear_128_10": "Linear(128 → 10), a classifier head",
    "conv_3_16_3x3": "Conv2d(3 → 16, 3×3), a first conv layer",
    "conv_16_32_3x3": "Conv2d(16 → 32, 3×3)",
}


def layer_weights(layer: str, seed: int = 0) -> np.ndarray:
    """The weight of a freshly initialised torch.nn layer (PyTorch's default init), as a 2-D float32 array.

    Rows are output channels (conv kernels are flattened), the axis per-channel quantization uses.
    The global torch RNG is forked, so the caller's random state is untouched.
    """
    _choice(layer, tuple(LAYERS), "layer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if layer == "linear_784_128":
            module: torch.nn.Module = torch.nn.Linear(784, 128)
        elif layer == "linear_128_10":
            module = torch.nn.Linear(128, 10)
        elif layer == "conv_3_16_3x3":
            module = torch.nn.Conv2d(3, 16, 3)
        else:
            module = torch.nn.Conv2d(16, 32, 3)
    weight = module.weight.detach()
    return weight.reshape(weight.shape[0], -1).numpy().astype(np.float32)


def as_tensor(values: Any, *, check_finite: bool = True) -> torch.Tensor:
    """Anything array-like (list, numpy array, torch tensor, a number, or text) -> a float32 CPU tensor.

    Raises ValueError for empty input, non-numeric entries (named), and (unless check_finite=False, for
    callers that check the min and max themselves) NaN and infinity. A float32 CPU tensor or array is
    used as it is, not copied.
    """
    if isinstance(values, str):
        return torch.from_numpy(parse_values(values))
    if isinstance(values, torch.Tensor):
        if values.is_complex():
            raise ValueError("Complex numbers cannot be quantized here: give real numbers.")
        tensor = values.detach().to(device="cpu", dtype=torch.float32)
        if tensor.numel() == 0:
            raise ValueError("No values given: give at least one number.")
        if check_finite:
            _check_finite_tensor(tensor)
        return tensor
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        flat = [str(v) for v in array.reshape(-1)]
        bad = []
        for token in flat:
            try:
                float(token)
            except (TypeError, ValueError):
                bad.append(token)
        if bad:
            raise ValueError(f"These are not numbers: {_show_tokens(bad)}.")
        array = array.astype(np.float64)
    if array.size == 0:
        raise ValueError("No values given: give at least one number.")
    if array.dtype != np.float32:
        if array.dtype.kind == "f":
            _check_finite(array)  # before float32 turns a 1e39 into inf
        array = array.astype(np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if check_finite:
        _check_finite_tensor(tensor)
    return tensor


def _check_finite_tensor(tensor: torch.Tensor, minmax: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """NaN or inf anywhere makes the min or the max non-finite: one reduction checks them all."""
    low, high = minmax if minmax is not None else torch.aminmax(tensor)
    if not (bool(torch.isfinite(low).all()) and bool(torch.isfinite(high).all())):
        _check_finite(tensor.numpy())


# --------------------------------------------------------------------------------------------------
# Ranges and parameters (MinMaxObserver's arithmetic)
# --------------------------------------------------------------------------------------------------


def code_range(bits: int, scheme: str) -> tuple[int, int]:
    """(qmin, qmax): signed [-2^(b-1), 2^(b-1)-1] for symmetric and seed, unsigned [0, 2^b-1] for affine,
    [-(2^(b-1)-1), 2^(b-1)-1] for symmetric_restricted."""
    _choice(scheme, SCHEMES, "scheme")
    check_bits(bits, scheme)
    if scheme == "affine":
        return 0, 2**bits - 1
    if scheme == "symmetric_restricted":
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def qparams_from_range(
    range_min: torch.Tensor | float, range_max: torch.Tensor | float, qmin: int, qmax: int, symmetric: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale (float32) and zero point (int64), computed exactly as MinMaxObserver._calculate_qparams.

    Works per tensor (0-d inputs) and per channel (1-d inputs).
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
    if min_val.dim() == 0:
        scale, zero_point = scale.reshape(()), zero_point.reshape(())
    return scale.to(torch.float32), zero_point


def _percentile_range(x: torch.Tensor, percentile: float, dim: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    array = x.numpy()
    low, high = np.quantile(array, [1 - percentile / 100, percentile / 100], axis=dim)
    return torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)


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
    """An explicit clipping range (min, max): finite numbers with min <= max."""
    if value_range is None:
        raise ValueError("Calibration 'range' needs an explicit range: give a minimum and a maximum.")
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"The range must be two numbers (minimum, maximum); got {value_range!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("The range's minimum and maximum must be finite numbers.")
    if low > high:
        raise ValueError(f"The range's minimum ({low:g}) is larger than its maximum ({high:g}): swap them.")
    return low, high


# --------------------------------------------------------------------------------------------------
# The quantizer
# --------------------------------------------------------------------------------------------------


def _rounded(scaled: torch.Tensor, rounding: str, seed: int) -> torch.Tensor:
    """Round `scaled` in place: half to even (torch.round = nearbyint), toward zero, down, or stochastically
    (floor(v + u), u ~ U[0, 1) from a torch.Generator seeded with `seed`, so E[round(v)] = v)."""
    if rounding == "nearest":
        return torch.round(scaled, out=scaled)
    if rounding == "truncate":
        return torch.trunc(scaled, out=scaled)
    if rounding == "floor":
        return torch.floor(scaled, out=scaled)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(scaled.shape, generator=generator, dtype=torch.float32)
    return torch.floor(scaled.add_(noise), out=scaled)


def _inverse(scale: torch.Tensor) -> torch.Tensor | float:
    """float32 1/scale, as the kernel's `float inv_scale = 1.0f / scale` (a python float when 0-d)."""
    if scale.dim() == 0:
        return float(np.float32(1.0) / np.float32(scale.item()))
    return torch.ones_like(scale) / scale


@dataclass(frozen=True, eq=False)
class QuantResult:
    """What quantizing a tensor gives, value by value, with its summary figures.

    `q` are the integer codes; `dequantized` = (q - zero_point) * scale (float32); `error` =
    dequantized - original; `clipped` marks values whose rounded code fell outside [qmin, qmax] (for the
    seed scheme: codes that overflow `bits` signed bits). Per-channel results have tensor scale/zero_point.
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
    def q(self) -> torch.Tensor:
        """Integer codes (int32; int64 for the seed scheme, whose codes are unbounded)."""
        dtype = torch.int64 if self.scheme == "seed" else torch.int32
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
        unclamped = self._unclamped()
        return (unclamped < self.qmin) | (unclamped > self.qmax)

    def _unclamped(self) -> torch.Tensor:
        scale = torch.as_tensor(self.scale, dtype=torch.float32)
        zero_point = torch.as_tensor(self.zero_point)
        inv = _inverse(scale)
        if self.axis is not None:
            shape = [1] * self.original.dim()
            shape[self.axis] = -1
            inv = inv.reshape(shape)
            zero_point = zero_point.reshape(shape)
        scaled = _rounded(self.original * inv, self.rounding, self.seed)
        return scaled.add_(zero_point.to(torch.float32) if zero_point.dim() else float(zero_point))

    @cached_property
    def error(self) -> torch.Tensor:
        """dequantized - original, float32."""
        return self.dequantized - self.original

    @cached_property
    def mse(self) -> float:
        """Mean squared error, accumulated in float64."""
        error = self.error
        return float((error * error).sum(dtype=torch.float64)) / error.numel()

    @cached_property
    def max_abs_error(self) -> float:
        return float(self.error.abs().max())

    @cached_property
    def mean_error(self) -> float:
        """Mean signed error (the bias: truncation shrinks magnitudes, floor pulls everything down)."""
        return float(self.error.sum(dtype=torch.float64)) / self.error.numel()

    @cached_property
    def signal_power(self) -> float:
        x = self.original
        return float((x * x).sum(dtype=torch.float64)) / x.numel()

    @cached_property
    def sqnr_db(self) -> float:
        """10·log10(mean(x²) / mean(error²)); +inf when the error is zero."""
        return sqnr_db(self.signal_power, self.mse)

    @cached_property
    def clipped_count(self) -> int:
        return int(self.clipped.sum())

    @property
    def step(self) -> float | torch.Tensor:
        """The step size Δ between neighbouring levels (the scale)."""
        return self.scale

    @cached_property
    def predicted_mse(self) -> float:
        """The uniform-noise prediction Δ²/12 (averaged over channels for per-channel results)."""
        scale = torch.as_tensor(self.scale, dtype=torch.float64)
        return float((scale.square() / 12).mean())

    def levels(self, limit: int = 65_536) -> np.ndarray:
        """Every representable dequantized value (per tensor), ascending; at most `limit` of them."""
        if self.axis is not None or self.kind != "integer":
            raise ValueError("Only per-tensor integer results have one evenly spaced set of levels.")
        count = self.qmax - self.qmin + 1
        codes = np.linspace(self.qmin, self.qmax, min(count, limit)).round()
        return ((torch.from_numpy(codes.astype(np.float32)) - float(self.zero_point)) * float(self.scale)).numpy()

    def apply(self, values: Any) -> torch.Tensor:
        """Quantize-dequantize other values with this result's fixed parameters (the transfer curve)."""
        if self.axis is not None or self.kind != "integer":
            raise ValueError("Only per-tensor integer results have a single transfer curve.")
        x = as_tensor(values).reshape(-1)
        if self.scheme == "seed":
            codes = _seed_codes(x, self.bits, self.rounding, self.seed)
            return (codes.to(torch.float64) * float(self.scale)).to(torch.float32)
        inv = _inverse(torch.tensor(float(self.scale), dtype=torch.float32))
        scaled = _rounded(x * inv, self.rounding, self.seed)
        zero_point = float(self.zero_point)
        scaled.add_(zero_point).clamp_(self.qmin, self.qmax)
        return scaled.sub_(zero_point).mul_(float(self.scale))


def sqnr_db(signal_power: float, noise_power: float) -> float:
    """Signal-to-quantization-noise ratio in dB: 10·log10(signal / noise); +inf for zero noise."""
    if noise_power == 0:
        return math.inf
    if signal_power == 0:
        return -math.inf
    return 10.0 * math.log10(signal_power / noise_power)


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


def seed_quantize(value: float, bitwidth: int) -> int:
    """The article's answer, verbatim: `int(value * 2 ** (bitwidth - 1))` (truncates, never clamps)."""
    scale = 2 ** (bitwidth - 1)
    quantized_value = int(value * scale)
    return quantized_value


_INT64_LIMIT = float(2**62)


def _seed_codes(x: torch.Tensor, bits: int, rounding: str, seed: int) -> torch.Tensor:
    """int(x * 2^(b-1)) in float64 (exact: a power-of-two product), truncated by default; codes beyond ±2^62
    (values that overflow anyway) are saturated so they fit an int64."""
    scaled = x.to(torch.float64) * float(2 ** (bits - 1))
    if rounding == "nearest":
        torch.round(scaled, out=scaled)
    elif rounding == "truncate":
        torch.trunc(scaled, out=scaled)
    elif rounding == "floor":
        torch.floor(scaled, out=scaled)
    else:
        generator = torch.Generator().manual_seed(seed)
        noise = torch.rand(scaled.shape, generator=generator, dtype=torch.float64)
        torch.floor(scaled.add_(noise), out=scaled)
    return scaled.clamp_(-_INT64_LIMIT, _INT64_LIMIT)


def _calibrated_range(
    x: torch.Tensor,
    calibration: str,
    percentile: float,
    value_range: tuple[float, float] | None,
    dim: int | None,
    bits: int,
    scheme: str,
    rounding: str,
    seed: int,
    minmax: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    if calibration == "minmax":
        return minmax
    if calibration == "percentile":
        return _percentile_range(x, percentile, dim)
    if calibration == "range":
        low, high = check_range(value_range)
        shape = minmax[0].shape
        return torch.full(shape, low, dtype=torch.float32), torch.full(shape, high, dtype=torch.float32)
    return _mse_range(x, bits, scheme, rounding, seed, dim, minmax)


def _mse_range(
    x: torch.Tensor,
    bits: int,
    scheme: str,
    rounding: str,
    seed: int,
    dim: int | None,
    minmax: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipping range alpha·[min, max] (alpha on a grid of MSE_GRID values in (0, 1]) that minimizes
    the mean squared error, measured on a seeded subset of at most MSE_SAMPLE values (per channel)."""
    qmin, qmax = code_range(bits, scheme)
    alphas = torch.arange(1, MSE_GRID + 1, dtype=torch.float32) / MSE_GRID
    low, high = minmax
    if dim is None:
        rows = x.reshape(1, -1)
        low, high = low.reshape(1), high.reshape(1)
    else:
        rows = x if dim == 1 else x.t()
    generator = torch.Generator().manual_seed(seed)
    if rows.shape[1] > MSE_SAMPLE:
        rows = rows[:, torch.randperm(rows.shape[1], generator=generator)[:MSE_SAMPLE]]
    best_low, best_high = low.clone(), high.clone()
    symmetric = scheme != "affine"
    for c in range(rows.shape[0]):
        sample = rows[c].reshape(1, -1)
        scale, zero_point = qparams_from_range(alphas * low[c], alphas * high[c], qmin, qmax, symmetric)
        inv = (torch.ones_like(scale) / scale).reshape(-1, 1)
        zp = zero_point.to(torch.float32).reshape(-1, 1)
        codes = _rounded(sample * inv, rounding, seed).add_(zp).clamp_(qmin, qmax)
        deq = codes.sub_(zp).mul_(scale.reshape(-1, 1))
        mse = (deq - sample).to(torch.float64).square().mean(dim=1)
        best = int(torch.argmin(mse))
        best_low[c], best_high[c] = alphas[best] * low[c], alphas[best] * high[c]
    if dim is None:
        return best_low.reshape(()), best_high.reshape(())
    return best_low, best_high


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
    scale and zero point from the calibrated range by MinMaxObserver's formulas (see the module docstring).
    rounding=None means the scheme's own: "nearest" (half to even, as PyTorch), or "truncate" for "seed".
    calibration: "minmax", "percentile" (central `percentile` %), "mse" (searched), or "range" (`value_range`).
    The seed scheme ignores calibration: its scale is fixed at 2^-(bits-1) and it never clamps.
    """
    x = as_tensor(values, check_finite=False)
    return _quantize_tensor(x, bits, scheme, rounding, calibration, percentile, value_range, seed, axis=None)


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
    return _quantize_tensor(x, bits, scheme, rounding, calibration, percentile, None, seed, axis=axis)


def _quantize_tensor(
    x: torch.Tensor,
    bits: int,
    scheme: str,
    rounding: str | None,
    calibration: str,
    percentile: float,
    value_range: tuple[float, float] | None,
    seed: int,
    axis: int | None,
) -> QuantResult:
    _choice(scheme, SCHEMES, "scheme")
    rounding = rounding or ("truncate" if scheme == "seed" else "nearest")
    _choice(rounding, ROUNDINGS, "rounding")
    _choice(calibration, CALIBRATIONS, "calibration")
    bits = check_bits(bits, scheme)
    qmin, qmax = code_range(bits, scheme)
    if calibration == "percentile":
        percentile = check_percentile(percentile)
    if calibration == "range":
        check_range(value_range)
    reduce_dim = None if axis is None else 1 - axis
    minmax = torch.aminmax(x) if axis is None else torch.aminmax(x, dim=reduce_dim)
    _check_finite_tensor(x, minmax)
    if scheme != "seed" and not bool(torch.isfinite(minmax[1] - minmax[0]).all()):
        raise ValueError(
            "These values are too large to quantize in float32: the distance from the smallest to the largest "
            f"({float(minmax[0].min()):.3g} to {float(minmax[1].max()):.3g}) exceeds float32's maximum, about 3.4e38. "
            "Divide them by a power of ten first."
        )

    if scheme == "seed":
        if axis is not None:
            raise ValueError("The article's seed formula has one fixed scale: it has no per-channel form.")
        codes = _seed_codes(x, bits, rounding, seed)
        scale = 2.0 ** -(bits - 1)
        return QuantResult(
            original=x,
            steps=codes,
            dequantized=(codes * scale).to(torch.float32),
            scale=scale,
            zero_point=0,
            qmin=qmin,
            qmax=qmax,
            bits=bits,
            scheme=scheme,
            rounding=rounding,
            calibration="fixed",
            range_min=-1.0,
            range_max=1.0 - scale,
            seed=seed,
            clipped_mask=(codes < qmin) | (codes > qmax),
        )

    low, high = _calibrated_range(
        x, calibration, percentile, value_range, reduce_dim, bits, scheme, rounding, seed, minmax
    )
    scale_t, zero_point_t = qparams_from_range(low, high, qmin, qmax, symmetric=scheme != "affine")

    # The kernel computes (clamp(zero_point + round(x * inv_scale), qmin, qmax) - zero_point) * scale. With
    # integer bounds, clamping commutes with rounding and with adding the (integer) zero point, so
    #     steps = clamp(round(x * inv_scale), qmin - zero_point, qmax - zero_point),  dequantized = steps * scale
    # gives the same floats in two fewer passes. "0 + steps * scale" (addcmul) turns -0.0 into +0.0 as the
    # kernel's integer arithmetic does, so the results agree bit for bit, sign of zero included.
    zero = torch.zeros((), dtype=torch.float32)
    if axis is None:
        scale: float | torch.Tensor = float(scale_t)
        zero_point: int | torch.Tensor = int(zero_point_t)
        steps = _rounded(x * _inverse(scale_t), rounding, seed).clamp_(qmin - zero_point, qmax - zero_point)
        dequantized = torch.addcmul(zero, steps, scale_t.reshape(()))
        clipped_mask = None  # computed on first use (re-rounding with the same seed gives the same codes)
        range_min, range_max = float(low), float(high)
    else:
        shape = [1, 1]
        shape[axis] = -1
        scale, zero_point = scale_t, zero_point_t
        zp = zero_point_t.to(torch.float32).reshape(shape)
        scaled = _rounded(x * _inverse(scale_t).reshape(shape), rounding, seed)
        clipped_mask = (scaled + zp < qmin) | (scaled + zp > qmax)
        steps = torch.minimum(torch.maximum(scaled, qmin - zp), qmax - zp)
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
        bits=bits,
        scheme=scheme,
        rounding=rounding,
        calibration=calibration,
        range_min=range_min,
        range_max=range_max,
        axis=axis,
        seed=seed,
        clipped_mask=clipped_mask,
    )


# --------------------------------------------------------------------------------------------------
# What the page draws: a sweep over bitwidths (and float formats), tables, curves, the article panel
# --------------------------------------------------------------------------------------------------


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch ops on one intra-op thread, then restore the count.

    The page's arrays (at most a few million values) take a millisecond or so per pass on one core; on a
    small shared machine a second OpenMP thread waiting for a busy core made each pass 20x slower.
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


def _one_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run `function` inside `single_threaded()`."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with single_threaded():
            return function(*args, **kwargs)

    return wrapper


def label_for(bits: int) -> str:
    """The column label of an integer bitwidth: "4-bit"."""
    return f"{bits}-bit"


def downsample_indices(count: int, max_points: int) -> np.ndarray:
    """At most `max_points` evenly spaced indices into range(count), always including the first and last."""
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(np.int64))


@dataclass(frozen=True, eq=False)
class Sweep:
    """Every value quantized at every chosen bitwidth (and float format): the page's whole computation.

    Arrays are flat numpy (value order as given, 2-D weights row by row), so the result pickles for
    st.cache_data. `summary` has one row per column label.
    """

    values: np.ndarray
    labels: tuple[str, ...]
    codes: dict[str, np.ndarray]
    dequantized: dict[str, np.ndarray]
    clipped: dict[str, np.ndarray]
    summary: pd.DataFrame
    params: dict[str, dict[str, Any]]
    """Per label: bits, scheme, rounding, seed, and for per-tensor integer results scale, zero_point, qmin, qmax."""
    scheme: str
    rounding: str
    calibration: str
    per_channel: bool = False

    @property
    def count(self) -> int:
        return int(self.values.size)

    def error(self, label: str, index: np.ndarray | slice | None = None) -> np.ndarray:
        """dequantized - original (float32), for all values or those at `index`."""
        pick = slice(None) if index is None else index
        return self.dequantized[label][pick] - self.values[pick]

    def table(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Rows start..stop of the per-value table: the value, then per label its code, dequantized value,
        error and clipped (for the seed scheme: overflow) flag. The index is the value's number, from 1."""
        stop = self.count if stop is None else min(stop, self.count)
        start = max(0, min(start, stop))
        rows = slice(start, stop)
        columns: dict[str, np.ndarray] = {"value": self.values[rows]}
        flag = "overflow" if self.scheme == "seed" else "clipped"
        for label in self.labels:
            columns[f"{label} code"] = self.codes[label][rows]
            columns[f"{label} dequantized"] = self.dequantized[label][rows]
            columns[f"{label} error"] = self.error(label, rows)
            columns[f"{label} {flag if self.params[label]['kind'] == 'integer' else 'clipped'}"] = self.clipped[label][
                rows
            ]
        frame = pd.DataFrame(columns)
        frame.index = pd.RangeIndex(start + 1, stop + 1, name="#")
        return frame

    def to_csv(self) -> bytes:
        """The whole table (every row, "#" first) as CSV bytes; float32 values in their shortest form.

        pyarrow (which streamlit installs) writes it in C++; pandas is the fallback.
        """
        frame = self.table().reset_index()
        try:
            import pyarrow as pa
            import pyarrow.csv as pa_csv
        except ImportError:  # pragma: no cover - streamlit depends on pyarrow
            return frame.to_csv(index=False).encode("utf-8")
        out = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), out)
        return out.getvalue()

    def csv_size_estimate(self) -> int:
        """About how many bytes `to_csv` writes (roughly 8 per cell), to warn before a large download."""
        return self.count * (1 + 4 * len(self.labels)) * 8

    def sample(self, max_points: int) -> np.ndarray:
        """Indices of at most `max_points` values, sorted by value: every k-th value, plus the smallest and
        the largest (where clipping shows first). O(max_points log max_points) after two linear scans."""
        if self.count <= max_points:
            return np.argsort(self.values, kind="stable")
        picked = downsample_indices(self.count, max_points - 2)
        picked = np.unique(np.concatenate([picked, [int(self.values.argmin()), int(self.values.argmax())]]))
        return picked[np.argsort(self.values[picked], kind="stable")]

    def error_heatmap(self, max_rows: int = 120) -> pd.DataFrame:
        """Error of at most `max_rows` values (`sample`), one column per label, the rows sorted by value
        and indexed by "#number: value"."""
        picked = self.sample(max_rows)
        frame = pd.DataFrame({label: self.error(label, picked) for label in self.labels})
        frame.index = [f"#{i + 1}: {v:.4g}" for i, v in zip(picked, self.values[picked], strict=True)]
        return frame

    def transfer_curve(self, label: str, points: int = 1200) -> pd.DataFrame:
        """The staircase x -> dequantize(quantize(x)) of one integer label over the values' range plus a
        margin, sampled at `points` x's plus both sides of every step edge inside that span."""
        params = self.params[label]
        if params["kind"] != "integer" or self.per_channel:
            raise ValueError("The transfer curve is drawn for per-tensor integer quantization only.")
        low, high = float(self.values.min()), float(self.values.max())
        edge_low, edge_high = self.representable_range(label)
        span_low, span_high = min(low, edge_low), max(high, edge_high)
        margin = 0.08 * (span_high - span_low) or 1.0
        xs = np.linspace(span_low - margin, span_high + margin, points, dtype=np.float64)
        return pd.DataFrame({"x": xs, "dequantized": self.apply(label, xs)})

    def apply(self, label: str, xs: np.ndarray) -> np.ndarray:
        """Quantize-dequantize `xs` with the fixed parameters of an integer label."""
        p = self.params[label]
        x = torch.as_tensor(np.asarray(xs, dtype=np.float32))
        if p["scheme"] == "seed":
            return (_seed_codes(x, p["bits"], p["rounding"], p["seed"]) * p["scale"]).to(torch.float32).numpy()
        inv = _inverse(torch.tensor(p["scale"], dtype=torch.float32))
        codes = _rounded(x * inv, p["rounding"], p["seed"]).add_(p["zero_point"]).clamp_(p["qmin"], p["qmax"])
        return ((codes - p["zero_point"]) * p["scale"]).numpy()

    def representable_range(self, label: str) -> tuple[float, float]:
        """The lowest and highest dequantized levels, (qmin - zp)·scale and (qmax - zp)·scale."""
        p = self.params[label]
        return (p["qmin"] - p["zero_point"]) * p["scale"], (p["qmax"] - p["zero_point"]) * p["scale"]

    def levels(self, label: str, limit: int = 257) -> np.ndarray:
        """The label's quantization levels (at most `limit`, evenly picked) for per-tensor integer labels."""
        p = self.params[label]
        if p["kind"] != "integer" or self.per_channel:
            return np.array([], dtype=np.float32)
        codes = np.unique(np.linspace(p["qmin"], p["qmax"], min(p["qmax"] - p["qmin"] + 1, limit)).round())
        return ((codes - p["zero_point"]) * p["scale"]).astype(np.float32)

    def marked_values(self, label: str, max_points: int = 1500) -> pd.DataFrame:
        """At most `max_points` input values (`sample`) with their dequantized value and clipped flag."""
        picked = self.sample(max_points)
        return pd.DataFrame(
            {
                "value": self.values[picked],
                "dequantized": self.dequantized[label][picked],
                "clipped": self.clipped[label][picked],
            }
        )

    def histogram(self, bins: int = 80) -> pd.DataFrame:
        """Counts of the values in `bins` equal bins: columns left, right, center, count."""
        counts, edges = np.histogram(self.values.astype(np.float64), bins=bins)
        return pd.DataFrame(
            {"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2, "count": counts}
        )


def _summary_row(result: QuantResult, label: str) -> dict[str, Any]:
    per_tensor = not isinstance(result.scale, torch.Tensor)
    scale = float(result.scale) if per_tensor else float(torch.as_tensor(result.scale).mean())
    if result.kind == "float":
        scales = "1 (none)" if result.calibration == "none" else result.calibration
    else:
        scales = "1 per tensor" if per_tensor else f"{torch.as_tensor(result.scale).numel()} per channel"
    integer = result.kind == "integer"
    predicted = result.predicted_mse if integer else math.nan
    return {
        "format": label,
        "bits": result.bits,
        "scale (Δ)": scale,
        "scales": scales,
        "zero point": int(result.zero_point) if per_tensor and integer else (0 if integer else math.nan),
        "qmin": result.qmin,
        "qmax": result.qmax,
        "clipped": result.clipped_count,
        "MSE": result.mse,
        "max |error|": result.max_abs_error,
        "mean error": result.mean_error,
        "SQNR (dB)": result.sqnr_db,
        "Δ²/12": predicted,
        "SQNR from Δ²/12 (dB)": sqnr_db(result.signal_power, predicted) if integer else math.nan,
    }


@_one_thread
def sweep(
    values: Any,
    bits: Sequence[int],
    *,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    value_range: tuple[float, float] | None = None,
    per_channel: bool = False,
    float_formats: Sequence[str] = (),
    seed: int = 0,
) -> Sweep:
    """Quantize `values` at each of `bits` (and each float format): codes, dequantized values, errors,
    clipped flags and the summary figures, ready to draw. `per_channel` quantizes a 2-D weight row by row."""
    from compression.formats import FORMATS, quantize_float

    bit_list = sorted({check_bits(b, scheme) for b in bits})
    if not bit_list and not float_formats:
        raise ValueError("Choose at least one bitwidth (or a float format) to quantize to.")
    x = as_tensor(values)
    if per_channel and x.dim() != 2:
        raise ValueError("Per-channel quantization needs a 2-D weight matrix: choose a layer's weights as input.")
    if not per_channel:
        x = x.reshape(-1)
    results: dict[str, QuantResult] = {}
    for b in bit_list:
        if per_channel:
            result = quantize_per_channel(
                x, b, scheme=scheme, rounding=rounding, calibration=calibration, percentile=percentile, seed=seed
            )
        else:
            result = _quantize_tensor(x, b, scheme, rounding, calibration, percentile, value_range, seed, axis=None)
        results[label_for(b)] = result
    for fmt in float_formats:
        if fmt not in FORMATS:
            raise ValueError(f"Unknown float format {fmt!r}: choose one of {', '.join(FORMATS)}.")
        results[FORMATS[fmt].name] = quantize_float(x, fmt)
    flat_values = x.reshape(-1).numpy()
    params: dict[str, dict[str, Any]] = {}
    for label, r in results.items():
        p: dict[str, Any] = {"kind": r.kind, "bits": r.bits, "scheme": r.scheme, "rounding": r.rounding, "seed": seed}
        if r.kind == "integer" and r.axis is None:
            p.update(scale=float(r.scale), zero_point=int(r.zero_point), qmin=r.qmin, qmax=r.qmax)
        params[label] = p
    used_rounding = next(iter(results.values())).rounding if bit_list else "nearest"
    return Sweep(
        values=flat_values,
        labels=tuple(results),
        codes={k: r.q.reshape(-1).numpy() for k, r in results.items()},
        dequantized={k: r.dequantized.reshape(-1).numpy() for k, r in results.items()},
        clipped={k: r.clipped.reshape(-1).numpy() for k, r in results.items()},
        summary=pd.DataFrame([_summary_row(r, k) for k, r in results.items()]).set_index("format"),
        params=params,
        scheme=scheme,
        rounding=used_rounding,
        calibration="fixed" if scheme == "seed" else calibration,
        per_channel=per_channel,
    )


def value_table(values: Any, bits: Sequence[int], **options: Any) -> pd.DataFrame:
    """One row per value and, per bitwidth, its code, dequantized value, error and clipped flag.

    `options` are those of `sweep` (scheme, rounding, calibration, ...)."""
    return sweep(values, bits, **options).table()


@_one_thread
def error_vs_bits(
    values: Any,
    bits: Sequence[int] = tuple(range(MIN_BITS, MAX_BITS + 1)),
    *,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    value_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Measured MSE and SQNR per bitwidth beside theory: the uniform-noise prediction Δ²/12 (and the SQNR
    it implies) and the 6.02 dB-per-bit line. Bitwidths the scheme cannot take are skipped."""
    x = as_tensor(values).reshape(-1)
    low_bits = 2 if scheme == "symmetric_restricted" else MIN_BITS
    rows = []
    for b in bits:
        if b < low_bits:
            continue
        r = _quantize_tensor(x, b, scheme, rounding, calibration, percentile, value_range, seed, axis=None)
        rows.append(
            {
                "bits": b,
                "MSE": r.mse,
                "SQNR (dB)": r.sqnr_db,
                "Δ²/12": r.predicted_mse,
                "SQNR from Δ²/12 (dB)": sqnr_db(r.signal_power, r.predicted_mse),
                "6.02 dB per bit": float(theoretical_sqnr_db(b)),
                "clipped": r.clipped_count,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class SeedComparison:
    """The article's `int(value * 2**(bits-1))` beside a correct quantizer (restricted symmetric, round half
    to even, clamped, min-max scale) on the same values."""

    bits: int
    table: pd.DataFrame
    """The first rows: value, the article's code, whether it fits, what an int<b> would store (wrapping),
    its dequantized value and error, then the correct code, dequantized value and error."""
    metrics: pd.DataFrame
    """Rows "article" and "correct": MSE, max |error|, mean error, mean shrink toward zero, overflow count."""
    overflow_example: dict[str, Any]
    """quantize(1.0, bits) by the article: its code, the int range, whether it fits, the wrapped value."""


def wrap_signed(codes: np.ndarray, bits: int) -> np.ndarray:
    """What a b-bit two's-complement integer stores for `codes`: ((q + 2^(b-1)) mod 2^b) - 2^(b-1)."""
    half = 2 ** (bits - 1)
    return (np.asarray(codes, dtype=np.int64) + half) % (2 * half) - half


@_one_thread
def compare_with_seed(values: Any, bits: int, *, rows: int = 200) -> SeedComparison:
    """The article's formula vs the correct one at `bits` bits, on the same values.

    "Correct" is symmetric with the restricted range [-(2^(b-1)-1), 2^(b-1)-1] (scale amax / (2^(b-1)-1), so
    the largest magnitude is a level and nothing clips), round half to even, clamped: the article's intent,
    done right. At 1 bit it uses 2 bits (the restricted range needs them)."""
    x = as_tensor(values).reshape(-1)
    article = _quantize_tensor(x, bits, "seed", "truncate", "minmax", 99.9, None, 0, axis=None)
    correct = _quantize_tensor(x, max(bits, 2), "symmetric_restricted", "nearest", "minmax", 99.9, None, 0, axis=None)
    shown = slice(0, min(rows, x.numel()))
    article_codes = article.q[shown].numpy()
    table = pd.DataFrame(
        {
            "value": x[shown].numpy(),
            "article code": article_codes,
            f"fits int{bits}": ~article.clipped[shown].numpy(),
            f"stored as int{bits}": wrap_signed(article_codes, bits),
            "article dequantized": article.dequantized[shown].numpy(),
            "article error": article.error[shown].numpy(),
            "correct code": correct.q[shown].numpy(),
            "correct dequantized": correct.dequantized[shown].numpy(),
            "correct error": correct.error[shown].numpy(),
        }
    )
    table.index = pd.RangeIndex(1, len(table) + 1, name="#")

    def figures(r: QuantResult) -> dict[str, float]:
        magnitude = r.original.abs().to(torch.float64)
        shrink = float((magnitude - r.dequantized.abs().to(torch.float64)).mean())
        return {
            "scale": float(r.scale),
            "MSE": r.mse,
            "max |error|": r.max_abs_error,
            "mean error": r.mean_error,
            "mean shrink toward 0": shrink,
            "overflow / clipped": r.clipped_count,
        }

    metrics = pd.DataFrame([figures(article), figures(correct)], index=["article", "correct"])
    code_one = seed_quantize(1.0, bits)
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    example = {
        "value": 1.0,
        "code": code_one,
        "qmin": low,
        "qmax": high,
        "fits": low <= code_one <= high,
        "stored": int(wrap_signed(np.array([code_one]), bits)[0]),
    }
    return SeedComparison(bits=bits, table=table, metrics=metrics, overflow_example=example)
