"""Calibration: choosing the clipping range [low, high] that scale and zero point are computed from.

- "minmax": the values' own minimum and maximum (MinMaxObserver);
- "percentile": the central `percentile` % of the values (numpy's linear-interpolated quantiles);
- "range": an explicit (min, max);
- "mse": a grid search for the range with the smallest mean squared error (see `mse_range`). It is a
  search over a grid, not a proof of optimality: tests check it against a much finer brute-force grid.
"""

from __future__ import annotations

import numpy as np
import torch

from compression.quantization.core import QuantSpec, qparams_from_range, round_codes
from compression.quantization.schemes import get_scheme

MSE_GRID = 100
"""Grid steps per searched end: ranges alpha·[min, max] (and, for affine, each end on its own), alpha = 1/G ... 1."""
MSE_SAMPLE = 32_768
"""The grid is measured on at most this many values (a seeded random subset); the finalists on all of them."""
MSE_FINALISTS = 4
"""How many of the best ranges found on the sample are measured again on every value."""


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


def _local_minima(mse: torch.Tensor) -> list[int]:
    """Indices of the grid's local minima, best first (the sample can rank two distant minima wrongly)."""
    values = mse.tolist()
    minima = [
        i
        for i, v in enumerate(values)
        if (i == 0 or v <= values[i - 1]) and (i == len(values) - 1 or v <= values[i + 1])
    ]
    return sorted(minima, key=values.__getitem__)


def _mse_range_1d(
    full: torch.Tensor, sample: torch.Tensor, low: float, high: float, spec: QuantSpec, qmin: int, qmax: int
) -> tuple[float, float]:
    """The best range for one row of values (see `mse_range`)."""
    grid = torch.arange(1, MSE_GRID + 1, dtype=torch.float64) / MSE_GRID
    scaled_low, scaled_high = (grid * low).to(torch.float32), (grid * high).to(torch.float32)
    joint = _mse_of_ranges(sample, scaled_low, scaled_high, spec, qmin, qmax)
    candidates = [(float(scaled_low[i]), float(scaled_high[i]), float(joint[i])) for i in _local_minima(joint)]
    if not get_scheme(spec.scheme).symmetric:
        # affine: each end on its own, one after the other, starting from the best joint range
        best_low, best_high, _ = candidates[0]
        lows = (grid * low).to(torch.float32)
        by_low = _mse_of_ranges(sample, lows, torch.full_like(lows, best_high), spec, qmin, qmax)
        best_low = float(lows[int(torch.argmin(by_low))])
        highs = (grid * high).to(torch.float32)
        by_high = _mse_of_ranges(sample, torch.full_like(highs, best_low), highs, spec, qmin, qmax)
        for i in _local_minima(by_high):
            candidates.append((best_low, float(highs[i]), float(by_high[i])))
    candidates.sort(key=lambda c: c[2])
    finalists = candidates[:MSE_FINALISTS]
    if len(finalists) == 1 or full.numel() == sample.numel():
        return finalists[0][0], finalists[0][1]
    lows_t = torch.tensor([c[0] for c in finalists], dtype=torch.float32)
    highs_t = torch.tensor([c[1] for c in finalists], dtype=torch.float32)
    best = int(torch.argmin(_mse_of_ranges(full, lows_t, highs_t, spec, qmin, qmax)))
    return finalists[best][0], finalists[best][1]


def mse_range(
    x: torch.Tensor, spec: QuantSpec, minmax: tuple[torch.Tensor, torch.Tensor], dim: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipping range with the smallest mean squared error on a grid, per tensor or per row along `dim`.

    Symmetric schemes search alpha·[min, max] for alpha = 1/G, 2/G, ... 1 (G = MSE_GRID). Affine also
    searches each end on its own (low end with the high end fixed, then the high end), since the best
    range is rarely a scaled copy of [min, max]. The grid is measured on a seeded subset of at most
    MSE_SAMPLE values; its best MSE_FINALISTS ranges (local minima) are then measured on every value.
    """
    qmin, qmax = get_scheme(spec.scheme).code_range(spec.bits)
    low, high = minmax
    if dim is None:
        rows = x.reshape(1, -1)
        low, high = low.reshape(1), high.reshape(1)
    else:
        rows = x if dim == 1 else x.t()
    samples = rows
    if rows.shape[1] > MSE_SAMPLE:
        generator = torch.Generator().manual_seed(spec.seed)
        samples = rows[:, torch.randperm(rows.shape[1], generator=generator)[:MSE_SAMPLE]]
    best_low, best_high = low.clone(), high.clone()
    for c in range(rows.shape[0]):
        found = _mse_range_1d(rows[c], samples[c], float(low[c]), float(high[c]), spec, qmin, qmax)
        best_low[c], best_high[c] = found
    if dim is None:
        return best_low.reshape(()), best_high.reshape(())
    return best_low, best_high


def calibrated_range(
    x: torch.Tensor, spec: QuantSpec, minmax: tuple[torch.Tensor, torch.Tensor], dim: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipping range (low, high) that `spec.calibration` picks for `x` (per tensor, or per row along
    `dim`), given its min and max. `spec` must be resolved."""
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
