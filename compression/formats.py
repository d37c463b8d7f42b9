"""Low-bit float formats: moved to `compression.quantization.formats`; this name keeps old imports working."""

from compression.quantization.formats import (
    E2M1_MAGNITUDES,
    FORMATS,
    NF4_LEVELS,
    SCALINGS,
    FloatFormat,
    format_levels,
    quantize_float,
)

__all__ = ["E2M1_MAGNITUDES", "FORMATS", "NF4_LEVELS", "SCALINGS", "FloatFormat", "format_levels", "quantize_float"]
