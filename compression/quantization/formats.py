"""Low-bit float formats: FP8 E4M3 and E5M2, FP4 E2M1 and NF4, returning the same QuantResult as the
integer quantizer so the page treats every format alike.

Each format rounds `x / scale` to its nearest representable value (ties to the even code) and saturates
at its largest finite value instead of overflowing to NaN or infinity; `dequantized = level * scale`.
The scale comes from `scaling`: "none" (scale 1: the raw format), "tensor" (absmax / format max, one
scale for the tensor) or "block" (absmax / format max per block of `block_size` consecutive values).
FP8 goes through torch's float8 dtypes; FP4 and NF4 are tables of 16 levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from compression.quantization.core import QuantResult
from compression.quantization.inputs import as_tensor

SCALINGS: tuple[str, ...] = ("none", "tensor", "block")

NF4_LEVELS: tuple[float, ...] = (
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
)
"""The 16 NF4 levels of bitsandbytes' `get_4bit_type("nf4")` (QLoRA): normal quantiles scaled to [-1, 1]."""

E2M1_MAGNITUDES: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
"""FP4 E2M1 magnitudes for codes 0..7 (bit 3 is the sign): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}."""


@dataclass(frozen=True)
class FloatFormat:
    """A low-bit float format: its name on screen, its bits, its largest finite value, default scaling."""

    key: str
    name: str
    bits: int
    max_value: float
    scaling: str
    block_size: int
    note: str


FORMATS: dict[str, FloatFormat] = {
    "fp8_e4m3": FloatFormat(
        "fp8_e4m3", "FP8 E4M3", 8, 448.0, "none", 64, "4 exponent bits, 3 mantissa bits; max 448, no infinity"
    ),
    "fp8_e5m2": FloatFormat(
        "fp8_e5m2", "FP8 E5M2", 8, 57344.0, "none", 64, "5 exponent bits, 2 mantissa bits; max 57344"
    ),
    "fp4_e2m1": FloatFormat(
        "fp4_e2m1", "FP4 E2M1", 4, 6.0, "block", 32, "±{0, 0.5, 1, 1.5, 2, 3, 4, 6}, absmax scale per block"
    ),
    "nf4": FloatFormat("nf4", "NF4", 4, 1.0, "block", 64, "16 normal-quantile levels, absmax scale per block"),
}


def _levels_nearest(normalized: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Index of the nearest level (levels ascending); a tie between two levels goes to the even index."""
    midpoints = (levels[1:] + levels[:-1]) / 2
    index = torch.bucketize(normalized, midpoints)  # count of midpoints strictly below
    at_tie = index < len(midpoints)
    tie = torch.zeros_like(at_tie)
    tie[at_tie] = normalized[at_tie] == midpoints[index[at_tie]]
    return torch.where(tie & (index % 2 == 1), index + 1, index)


def _scales(x: torch.Tensor, fmt: FloatFormat, scaling: str, block_size: int) -> torch.Tensor:
    """Per-value scale (same shape as the flat x): 1, absmax/max per tensor, or absmax/max per block."""
    if scaling == "none":
        return torch.ones(1, dtype=torch.float32)
    if scaling == "tensor":
        absmax = x.abs().max().reshape(1)
    else:
        count = x.numel()
        padded = torch.nn.functional.pad(x.abs(), (0, (-count) % block_size))
        absmax = padded.reshape(-1, block_size).amax(dim=1)
    scale = absmax / fmt.max_value
    return torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero block keeps scale 1


def quantize_float(values: Any, fmt: str, *, scaling: str | None = None, block_size: int | None = None) -> QuantResult:
    """Round every value to the low-bit float format `fmt` (a key of FORMATS) and back.

    dequantized = level(nearest to x / scale, saturated at ±max) * scale; codes are the format's bit
    patterns (0..255 for FP8, 0..15 for FP4 and NF4, the NF4 code being the level's index).
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown float format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    spec = FORMATS[fmt]
    scaling = scaling or spec.scaling
    if scaling not in SCALINGS:
        raise ValueError(f"Unknown scaling {scaling!r}: choose one of {', '.join(SCALINGS)}.")
    block_size = spec.block_size if block_size is None else block_size
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not 1 <= block_size <= 1_000_000:
        raise ValueError(f"The block size must be a whole number from 1 to 1,000,000; got {block_size!r}.")
    x = as_tensor(values)
    flat = x.reshape(-1)
    scale = _scales(flat, spec, scaling, block_size)
    per_value_scale = scale.repeat_interleave(block_size)[: flat.numel()] if scaling == "block" else scale
    normalized = flat / per_value_scale
    # Absmax scaling maps each block's largest magnitude to max by construction, so nothing clips; the
    # division can land one float32 ulp above max, which the saturation below absorbs (same level).
    if scaling == "none":
        clipped = normalized.abs() > spec.max_value
    else:
        clipped = torch.zeros(normalized.shape, dtype=torch.bool)
    saturated = normalized.clamp(-spec.max_value, spec.max_value)
    if fmt.startswith("fp8"):
        dtype = torch.float8_e4m3fn if fmt == "fp8_e4m3" else torch.float8_e5m2
        as_fp8 = saturated.to(dtype)
        codes = as_fp8.view(torch.uint8).to(torch.float32)
        levels_value = as_fp8.to(torch.float32)
    elif fmt == "fp4_e2m1":
        magnitudes = torch.tensor(E2M1_MAGNITUDES, dtype=torch.float32)
        index = _levels_nearest(saturated.abs(), magnitudes)
        levels_value = torch.copysign(magnitudes[index], saturated)
        negative = torch.signbit(levels_value)  # -0.0 is code 8, as FP8's -0.0 is 128
        codes = (index + 8 * negative.to(index.dtype)).to(torch.float32)
    else:
        table = torch.tensor(NF4_LEVELS, dtype=torch.float32)
        index = _levels_nearest(saturated, table)
        levels_value = table[index]
        codes = index.to(torch.float32)
    dequantized = (levels_value * per_value_scale).reshape(x.shape)
    result_scale: float | torch.Tensor = float(scale) if scale.numel() == 1 else scale
    return QuantResult(
        original=x,
        steps=codes.reshape(x.shape),
        dequantized=dequantized,
        scale=result_scale,
        zero_point=0,
        qmin=0,
        qmax=2**spec.bits - 1,
        bits=spec.bits,
        scheme=fmt,
        rounding="nearest",
        calibration=scaling,
        range_min=-spec.max_value * float(scale.max()),
        range_max=spec.max_value * float(scale.max()),
        label=spec.name,
        clipped_mask=clipped.reshape(x.shape),
        kind="float",
    )


def format_levels(fmt: str) -> np.ndarray:
    """Every finite value of the format at scale 1, ascending (FP8: all 254 finite non-NaN codes)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown float format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if fmt == "nf4":
        return np.array(NF4_LEVELS, dtype=np.float32)
    if fmt == "fp4_e2m1":
        mags = np.array(E2M1_MAGNITUDES, dtype=np.float32)
        return np.unique(np.concatenate([-mags, mags]))
    dtype = torch.float8_e4m3fn if fmt == "fp8_e4m3" else torch.float8_e5m2
    values = torch.arange(256, dtype=torch.uint8).view(dtype).to(torch.float32).numpy()
    return np.unique(values[np.isfinite(values)])
