"""The article's quantizer (programming problem 1) beside a correct one.

The article answers `quantize(value, bitwidth)` with `int(value * 2 ** (bitwidth - 1))`: a fixed scale
2^-(b-1), truncation toward zero, no clamp. Stored in a b-bit signed integer, a code that does not fit
wraps around (two's complement), so 1.0 at 8 bits (code 128) is stored as -128. The comparison scores
what the integer would really store, not the unbounded Python int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from compression.quantization.core import QuantResult, QuantSpec, one_thread
from compression.quantization.inputs import as_tensor
from compression.quantization.quantizer import quantize_spec


def article_quantize(value: float, bitwidth: int) -> int:
    """The article's answer, verbatim: `int(value * 2 ** (bitwidth - 1))` (truncates, never clamps)."""
    scale = 2 ** (bitwidth - 1)
    quantized_value = int(value * scale)
    return quantized_value


def wrap_signed(codes: np.ndarray, bits: int) -> np.ndarray:
    """What a b-bit two's-complement integer stores for `codes`: ((q + 2^(b-1)) mod 2^b) - 2^(b-1)."""
    half = 2 ** (bits - 1)
    return (np.asarray(codes, dtype=np.int64) + half) % (2 * half) - half


@dataclass(frozen=True, eq=False)
class ArticleComparison:
    """The article's `int(value * 2**(bits-1))` beside a correct quantizer (restricted symmetric, round half
    to even, clamped, min-max scale) on the same values."""

    bits: int
    table: pd.DataFrame
    """The first rows: value, the article's code, whether it fits, what an int<b> stores (wrapping), the
    stored code's dequantized value and error, then the correct code, dequantized value and error."""
    metrics: pd.DataFrame
    """Rows "article" (what an int<b> stores, wrapped), "article, unbounded int" (the Python int, which no
    int<b> can hold) and "correct": scale, MSE, max |error|, mean error, mean shrink toward 0, overflow count."""
    overflow_example: dict[str, Any]
    """quantize(1.0, bits) by the article: its code, the int range, whether it fits, the wrapped value."""


def _figures(original: torch.Tensor, dequantized: torch.Tensor, scale: float, overflow: int) -> dict[str, float]:
    """MSE, max |error|, mean error and mean shrink toward 0 (|x| - |x̂|): float32 errors, squared and summed
    in float64 (a float32 square overflows from |error| ≈ 1.8e19)."""
    error = dequantized - original
    count = error.numel()
    shrink = original.abs().sub_(dequantized.abs())
    wide = error.to(torch.float64)
    return {
        "scale": scale,
        "MSE": float((wide * wide).sum()) / count,
        "max |error|": float(error.abs().max()),
        "mean error": float(error.sum(dtype=torch.float64)) / count,
        "mean shrink toward 0": float(shrink.sum(dtype=torch.float64)) / count,
        "overflow / clipped": overflow,
    }


@one_thread
def compare_with_article(values: Any, bits: int, *, rows: int = 200) -> ArticleComparison:
    """The article's formula vs the correct one at `bits` bits, on the same values.

    The article's codes are scored as an int<b> stores them: stored = wrap_signed(int(x·2^(b-1)), b),
    dequantized = stored · 2^-(b-1). "Correct" is symmetric with the restricted range
    [-(2^(b-1)-1), 2^(b-1)-1] (scale amax / (2^(b-1)-1), so the largest magnitude is a level and nothing
    clips), round half to even, clamped: the article's intent, done right. At 1 bit it uses 2 bits (the
    restricted range needs them)."""
    x = as_tensor(values).reshape(-1)
    article: QuantResult = quantize_spec(x, QuantSpec(bits, "article", "truncate"))
    correct = quantize_spec(x, QuantSpec(max(bits, 2), "symmetric_restricted", "nearest"))
    codes = article.q.numpy()
    stored = wrap_signed(codes, bits)
    scale = float(article.scale)
    # |stored| <= 2^(b-1) and the scale is a power of two: exact in float32
    stored_dequantized = torch.from_numpy(stored.astype(np.float32)).mul_(scale)
    overflow = article.clipped_count
    shown = slice(0, min(rows, x.numel()))
    table = pd.DataFrame(
        {
            "value": x[shown].numpy(),
            "article code": codes[shown],
            f"fits int{bits}": ~article.clipped[shown].numpy(),
            f"stored as int{bits}": stored[shown],
            "article dequantized": stored_dequantized[shown].numpy(),
            "article error": (stored_dequantized[shown] - x[shown]).numpy(),
            "correct code": correct.q[shown].numpy(),
            "correct dequantized": correct.dequantized[shown].numpy(),
            "correct error": correct.error[shown].numpy(),
        }
    )
    table.index = pd.RangeIndex(1, len(table) + 1, name="#")
    metrics = pd.DataFrame(
        [
            _figures(x, stored_dequantized, scale, overflow),
            _figures(x, article.dequantized, scale, overflow),
            _figures(x, correct.dequantized, float(correct.scale), correct.clipped_count),
        ],
        index=["article", "article, unbounded int", "correct"],
    )
    code_one = article_quantize(1.0, bits)
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    example = {
        "value": 1.0,
        "code": code_one,
        "qmin": low,
        "qmax": high,
        "fits": low <= code_one <= high,
        "stored": int(wrap_signed(np.array([code_one]), bits)[0]),
    }
    return ArticleComparison(bits=bits, table=table, metrics=metrics, overflow_example=example)


# The names this module had when the article's scheme was called "seed" (kept so old callers work).
seed_quantize = article_quantize
SeedComparison = ArticleComparison
compare_with_seed = compare_with_article
