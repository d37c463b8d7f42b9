"""Calibration: choosing the clipping range [low, high] that scale and zero point are computed from.

- "minmax": the values' own minimum and maximum (MinMaxObserver);
- "percentile": the central `percentile` % of the values (numpy's linear-interpolated quantiles);
- "range": an explicit (min, max);
- "mse": a grid search for the range with the smallest mean squared error (see `mse_range`). It is a
  search over a grid, not a proof of optimality: tests check it against a much finer brute-force grid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from compression.quantization.core import QuantSpec, qparams_from_range, round_codes
from compression.quantization.schemes import get_scheme

MSE_GRID = 100
"""Grid steps per searched end: alpha·[min, max] (for affine, each end on its own), alpha = 1/G ... 1."""
MSE_SAMPLE = 16_384
"""Where the exact measure does not apply (stochastic or truncating rounding, more than 10 bits), the grid
is measured on at most this many values (a seeded random subset)."""


def percentile_range(x: torch.Tensor, percentile: float, dim: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The (100 - p)th and pth percentiles: the central p % of the values, per tensor or along `dim`."""
    low, high = np.quantile(x.numpy(), [1 - percentile / 100, percentile / 100], axis=dim)
    return torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)


def _mse_of_ranges(
    values: torch.Tensor, lows: torch.Tensor, highs: torch.Tensor, spec: QuantSpec, qmin: int, qmax: int
) -> torch.Tensor:
    """Mean squared error of fake-quantizing the 1-D `values` with each candidate range (lows[k], highs[k])."""
    symmetric = get_scheme(spec.scheme).symmetric
    scale, zero_point = qparams_from_range(lows, highs, qmin, qmax, symmetric)
    inv = (torch.ones_like(scale) / scale).reshape(-1, 1)
    zp = zero_point.to(torch.float32).reshape(-1, 1)
    row = values.reshape(1, -1)
    out = torch.empty(len(lows), dtype=torch.float64)
    chunk = max(1, 4_000_000 // max(1, row.shape[1]))  # bounded memory on a million values
    for start in range(0, len(lows), chunk):
        part = slice(start, start + chunk)
        codes = round_codes(row * inv[part], spec.rounding or "nearest", spec.seed).add_(zp[part])
        deq = codes.clamp_(qmin, qmax).sub_(zp[part]).mul_(scale[part].reshape(-1, 1))
        out[part] = deq.sub_(row).to(torch.float64).square().mean(dim=1)
    return out


SORTED_MAX_LEVELS = 1024
"""Up to this many levels (10 bits), nearest and floor rounding measure every candidate on every value
exactly through sorted values and prefix sums; otherwise on a sample of at most MSE_SAMPLE values."""
MSE_REFINE = 5
"""The search then refines around its best range on a grid MSE_REFINE times finer, one grid step either way."""

Evaluator = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _SortedValues:
    """Exact MSE of many candidate ranges at once on every value: with the values sorted and prefix sums of
    x and x², the values between two neighbouring decision boundaries all go to one level L, and
    sum (x - L)² = S2 - 2·L·S1 + n·L² over them. Cost per candidate: one binary search per level."""

    def __init__(self, values: torch.Tensor) -> None:
        ordered = torch.sort(values.reshape(-1).to(torch.float64)).values
        self.sorted = ordered
        self.count = ordered.numel()
        zero = torch.zeros(1, dtype=torch.float64)
        self.sum1 = torch.cat([zero, torch.cumsum(ordered, 0)])
        self.sum2 = torch.cat([zero, torch.cumsum(ordered * ordered, 0)])

    def mse(self, scale: torch.Tensor, zero_point: torch.Tensor, qmin: int, qmax: int, offset: float) -> torch.Tensor:
        """MSE per candidate (scale[c], zero_point[c]); a value goes up a level past (j + offset)·scale
        (0.5: nearest, 1: floor)."""
        scale = scale.to(torch.float64).reshape(-1, 1)
        steps = torch.arange(qmin, qmax + 1, dtype=torch.float64).reshape(1, -1) - zero_point.reshape(-1, 1)
        levels = steps * scale  # (C, L)
        boundaries = ((steps[:, :-1] + offset) * scale).contiguous()
        index = torch.searchsorted(self.sorted, boundaries)
        edges = torch.cat(
            [
                torch.zeros(len(scale), 1, dtype=torch.int64),
                index,
                torch.full((len(scale), 1), self.count, dtype=torch.int64),
            ],
            dim=1,
        )
        n = (edges[:, 1:] - edges[:, :-1]).to(torch.float64)
        s1 = self.sum1[edges[:, 1:]] - self.sum1[edges[:, :-1]]
        s2 = self.sum2[edges[:, 1:]] - self.sum2[edges[:, :-1]]
        return (s2 - 2 * levels * s1 + n * levels * levels).sum(dim=1).clamp_(min=0) / self.count


_SORTED_CACHE: list[tuple[tuple[int, int, int], torch.Tensor, _SortedValues]] = []


def _sorted_values(x: torch.Tensor) -> _SortedValues:
    """`_SortedValues(x)`, remembered for the last tensor's data while it is unchanged: a sweep measures the
    same values at every bitwidth, so they are sorted once. The cache holds the tensor, so its memory (and
    address) cannot be reused while the entry lives; in-place changes bump its version."""
    key = (x.data_ptr(), x.numel(), x._version)
    if _SORTED_CACHE and _SORTED_CACHE[0][0] == key:
        return _SORTED_CACHE[0][2]
    made = _SortedValues(x)
    _SORTED_CACHE[:] = [(key, x, made)]
    return made


def _search(evaluate: Evaluator, low: float, high: float, symmetric: bool) -> tuple[float, float]:
    """Grid search for the range [lo, hi] with the lowest MSE (see `mse_range`)."""
    grid = torch.arange(1, MSE_GRID + 1, dtype=torch.float64) / MSE_GRID

    def argmin(lows: torch.Tensor, highs: torch.Tensor) -> tuple[float, float]:
        lows32, highs32 = lows.to(torch.float32), highs.to(torch.float32)
        best = int(torch.argmin(evaluate(lows32, highs32)))
        return float(lows32[best]), float(highs32[best])

    best_low, best_high = argmin(grid * low, grid * high)
    fine = torch.arange(-MSE_REFINE, MSE_REFINE + 1, dtype=torch.float64) / (MSE_REFINE * MSE_GRID)
    if symmetric:
        factor = best_high / high if high else best_low / low if low else 1.0
        alphas = (factor + fine).clamp(1 / (MSE_GRID * MSE_REFINE), 1.0)
        return argmin(alphas * low, alphas * high)
    for _ in range(2):  # affine: each end on its own, one after the other
        best_low, _ = argmin(grid * low, torch.full_like(grid, best_high))
        _, best_high = argmin(torch.full_like(grid, best_low), grid * high)
    low_factor = best_low / low if low else 1.0
    high_factor = best_high / high if high else 1.0
    lows = ((low_factor + fine).clamp(0.0, 1.0) * low).repeat_interleave(len(fine))
    highs = ((high_factor + fine).clamp(0.0, 1.0) * high).repeat(len(fine))
    return argmin(lows, highs)


def mse_range(
    x: torch.Tensor, spec: QuantSpec, minmax: tuple[torch.Tensor, torch.Tensor], dim: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipping range with the lowest mean squared error found by a grid search, per tensor or per row
    along `dim`. A grid search, not a proof of optimality (tests compare it with a much finer brute force).

    Symmetric schemes search alpha·[min, max] for alpha = 1/G, 2/G, ... 1 (G = MSE_GRID), then a grid
    MSE_REFINE times finer around the best alpha. Affine searches each end on its own (the low end with the
    high end fixed, then the high end, twice), then a fine 2-D grid around the best pair. With nearest or
    floor rounding and at most 10 bits every candidate is measured exactly on every value (`_SortedValues`);
    otherwise on a seeded sample of at most MSE_SAMPLE values.
    """
    scheme = get_scheme(spec.scheme)
    qmin, qmax = scheme.code_range(spec.bits)
    low, high = minmax
    if dim is None:
        rows = x.reshape(1, -1)
        low, high = low.reshape(1), high.reshape(1)
    else:
        rows = x if dim == 1 else x.t()
    rounding = spec.rounding or "nearest"
    exact = rounding in ("nearest", "floor") and qmax - qmin + 1 <= SORTED_MAX_LEVELS
    offset = 0.5 if rounding == "nearest" else 1.0
    generator = torch.Generator().manual_seed(spec.seed)
    best_low, best_high = low.clone(), high.clone()
    for c in range(rows.shape[0]):
        row = rows[c]
        if exact:
            ordered = _sorted_values(x) if dim is None else _SortedValues(row)

            def evaluate(lows: torch.Tensor, highs: torch.Tensor, ordered: _SortedValues = ordered) -> torch.Tensor:
                scale, zero_point = qparams_from_range(lows, highs, qmin, qmax, scheme.symmetric)
                return ordered.mse(scale, zero_point, qmin, qmax, offset)

        else:
            sample = row
            if row.numel() > MSE_SAMPLE:
                sample = row[torch.randperm(row.numel(), generator=generator)[:MSE_SAMPLE]]

            def evaluate(lows: torch.Tensor, highs: torch.Tensor, sample: torch.Tensor = sample) -> torch.Tensor:
                return _mse_of_ranges(sample, lows, highs, spec, qmin, qmax)

        best_low[c], best_high[c] = _search(evaluate, float(low[c]), float(high[c]), scheme.symmetric)
    if dim is None:
        return best_low.reshape(()), best_high.reshape(())
    return best_low, best_high


# Calibrations whose range does not depend on the bitwidth (the MSE search does): one range serves every
# bitwidth of a sweep, so a percentile of a million values is computed once, not once per bitwidth.
BITS_INDEPENDENT = frozenset({"minmax", "percentile", "range"})


def calibrated_range(
    x: torch.Tensor,
    spec: QuantSpec,
    minmax: tuple[torch.Tensor, torch.Tensor],
    dim: int | None,
    ranges: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipping range (low, high) that `spec.calibration` picks for `x` (per tensor, or per row along
    `dim`), given its min and max. `spec` must be resolved. `ranges`, when given, is a memo for one `x` across
    several bitwidths (a sweep): bitwidth-independent ranges are computed once and read from it after."""
    if ranges is not None and spec.calibration in BITS_INDEPENDENT:
        key = (spec.calibration, spec.percentile, spec.value_range, dim)
        if key not in ranges:
            ranges[key] = calibrated_range(x, spec, minmax, dim)
        return ranges[key]
    if spec.calibration == "minmax":
        return minmax
    if spec.calibration == "percentile":
        return percentile_range(x, spec.percentile, dim)
    if spec.calibration == "range":
        assert spec.value_range is not None  # resolved() checked it
        low, high = spec.value_range
        shape = minmax[0].shape
        return torch.full(shape, low, dtype=torch.float32), torch.full(shape, high, dtype=torch.float32)
    return mse_range(x, spec, minmax, dim)
