"""Integer quantization, exact to PyTorch, and low-bit float formats: one module per job.

- `schemes`: the Scheme registry (symmetric, affine, restricted, the article's formula), bits, code ranges;
- `inputs`: typed text, CSV, generated distributions, layer weights -> float32;
- `core`: the one rounding function, QParams (scale, zero point, code range) and QuantSpec, MinMaxObserver's
  arithmetic, QuantResult;
- `calibration`: min-max, percentile, explicit range, MSE grid search;
- `quantizer`: `quantize`, `quantize_per_channel` (bit for bit torch's fake quantization);
- `formats`: FP8 E4M3/E5M2, FP4 E2M1, NF4;
- `sweep`: the playground's computation (every value at every bitwidth, error vs bits);
- `article`: the article's `int(x·2^(b-1))` beside a correct quantizer;
- `links`: the playground's deep-link contract.

Imports run one way (schemes <- inputs <- core <- calibration <- quantizer <- formats, sweep, article), so
there is no cycle. Everything public is re-exported here.
"""

from compression.quantization.article import (
    ArticleComparison,
    SeedComparison,
    article_quantize,
    compare_with_article,
    compare_with_seed,
    seed_quantize,
    wrap_signed,
)
from compression.quantization.calibration import MSE_GRID, MSE_REFINE, MSE_SAMPLE, calibrated_range, mse_range
from compression.quantization.core import (
    CALIBRATIONS,
    QParams,
    QuantResult,
    QuantSpec,
    check_percentile,
    check_range,
    one_thread,
    qparams_from_range,
    round_codes,
    single_threaded,
    sqnr_db,
    step_size,
    theoretical_sqnr_db,
    uniform_noise_mse,
)
from compression.quantization.formats import (
    E2M1_MAGNITUDES,
    FORMATS,
    NF4_LEVELS,
    SCALINGS,
    FloatFormat,
    format_levels,
    quantize_float,
)
from compression.quantization.inputs import (
    DISTRIBUTIONS,
    FLOAT32_EPS,
    FLOAT32_MAX,
    LAYERS,
    MAX_GENERATED,
    as_tensor,
    generate_values,
    layer_weights,
    parse_bits,
    parse_csv,
    parse_values,
)
from compression.quantization.links import LINK_CALIBRATIONS, LINK_PARAMS, REQUIRED_LINK_PARAMS, parse_link_param
from compression.quantization.quantizer import quantize, quantize_per_channel, quantize_spec
from compression.quantization.schemes import (
    MAX_BITS,
    MIN_BITS,
    ROUNDINGS,
    SCHEME_REGISTRY,
    SCHEMES,
    Scheme,
    check_bits,
    code_range,
    get_scheme,
)
from compression.quantization.sweep import Sweep, downsample_indices, error_vs_bits, label_for, sweep, value_table

__all__ = [
    "CALIBRATIONS",
    "DISTRIBUTIONS",
    "E2M1_MAGNITUDES",
    "FLOAT32_EPS",
    "FLOAT32_MAX",
    "FORMATS",
    "LAYERS",
    "LINK_CALIBRATIONS",
    "LINK_PARAMS",
    "MAX_BITS",
    "MAX_GENERATED",
    "MIN_BITS",
    "MSE_REFINE",
    "MSE_GRID",
    "MSE_SAMPLE",
    "NF4_LEVELS",
    "REQUIRED_LINK_PARAMS",
    "ROUNDINGS",
    "SCALINGS",
    "SCHEMES",
    "SCHEME_REGISTRY",
    "ArticleComparison",
    "FloatFormat",
    "QParams",
    "QuantResult",
    "QuantSpec",
    "Scheme",
    "SeedComparison",
    "Sweep",
    "article_quantize",
    "as_tensor",
    "calibrated_range",
    "check_bits",
    "check_percentile",
    "check_range",
    "code_range",
    "compare_with_article",
    "compare_with_seed",
    "downsample_indices",
    "error_vs_bits",
    "format_levels",
    "generate_values",
    "get_scheme",
    "label_for",
    "layer_weights",
    "mse_range",
    "one_thread",
    "parse_bits",
    "parse_csv",
    "parse_link_param",
    "parse_values",
    "qparams_from_range",
    "quantize",
    "quantize_float",
    "quantize_per_channel",
    "quantize_spec",
    "round_codes",
    "seed_quantize",
    "single_threaded",
    "sqnr_db",
    "step_size",
    "sweep",
    "theoretical_sqnr_db",
    "uniform_noise_mse",
    "value_table",
    "wrap_signed",
]
