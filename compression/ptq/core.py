"""Post-training quantization (PTQ) of a trained model: quantize a copy, measure what it costs.

Weights of every `nn.Linear` and `nn.Conv2d` are fake-quantized with the lab's own quantizer
(`compression.quantization` / `compression.formats`), so each weight equals what PyTorch's fake-quant
kernels give:

    per-tensor:   W_q = (clamp(round(W / s) + z, qmin, qmax) - z) * s              one (s, z) per layer
    per-channel:  W_q[o] = (clamp(round(W[o] / s_o) + z_o, qmin, qmax) - z_o) * s_o  one per output channel
    float format: W_q = level(W / s) * s   (FP8 per tensor or per channel; FP4 / NF4 per block of 32 / 64)

The float model is never modified: every configuration works on a deep copy. Biases stay float32 (as in
PyTorch's quantized Linear); any other layer with parameters is left in float and named.

Optional static activation quantization: the input of each quantized layer is fake-quantized to 8 bits
(affine, like quint8) with a range observed (min-max, forward pre-hooks) on a few training batches.

Storage (`Storage`) counts what a deployment would really keep: codes packed at `bits` each, one float32
scale per tensor / channel / block, one byte per zero point (affine schemes only; symmetric zero points are
0 and not stored), and every value left in float32 (biases and unquantized layers).
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from compression.formats import FORMATS, quantize_float
from compression.quantization import (
    QParams,
    QuantResult,
    code_range,
    qparams_from_range,
    quantize,
    quantize_per_channel,
)

INTEGER_SCHEMES: tuple[str, ...] = ("symmetric", "affine", "symmetric_restricted")
FLOAT_SCHEMES: tuple[str, ...] = tuple(FORMATS)  # fp8_e4m3, fp8_e5m2, fp4_e2m1, nf4
SCHEMES: tuple[str, ...] = INTEGER_SCHEMES + FLOAT_SCHEMES
GRANULARITIES: tuple[str, ...] = ("per-channel", "per-tensor")
GRANULARITY_CHOICES: tuple[str, ...] = (*GRANULARITIES, "both")
"""What the compress page (and its ?granularity= link) offers: one granularity, or both side by side."""
CALIBRATIONS: tuple[str, ...] = ("minmax", "percentile", "mse")
MIN_BITS, MAX_BITS = 2, 8
# The models of a run and their titles come from the one registry of student variants
# (compression/distillation/variants.py): a registered variant is quantized and listed here too. `ROLES` and
# `ROLE_TITLES` are read when asked (module __getattr__ below), so a variant registered later is included.


def roles() -> tuple[str, ...]:
    """Every model a run may have, in display order: the teacher, then each registered student variant."""
    from compression.distillation.variants import roles as variant_roles

    return variant_roles()


def role_titles() -> dict[str, str]:
    from compression.distillation.variants import title

    return {role: title(role) for role in roles()}


def __getattr__(name: str) -> Any:
    if name == "ROLES":
        return roles()
    if name == "ROLE_TITLES":
        return role_titles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


QUANTIZED_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv2d)
SCALE_BYTES = 4
"""Every scale is a float32 (our quantizer computes float32 scales, also for FP4/NF4 block absmax)."""
ZERO_POINT_BYTES = 1
"""An affine zero point lies in [qmin, qmax], at most 8 bits: one byte. Symmetric zero points are 0, not stored."""
ACTIVATION_BITS = 8
CALIBRATION_BATCHES = 4
CALIBRATION_BATCH_SIZE = 64
FLOAT32_BYTES = 4


class PTQError(ValueError):
    """A run or model that cannot be quantized; the message says why and what to do."""


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PTQConfig:
    """One quantization recipe. For float formats `bits` is the format's own (8 for FP8, 4 for FP4/NF4)."""

    bits: int = 8
    granularity: str = "per-channel"
    scheme: str = "symmetric"
    calibration: str = "minmax"
    activations: bool = False
    """Also quantize each quantized layer's input to 8 bits (static, calibrated on training batches)."""
    percentile: float = 99.9

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"Unknown scheme {self.scheme!r}: choose one of {', '.join(SCHEMES)}.")
        if self.scheme in FLOAT_SCHEMES:
            object.__setattr__(self, "bits", FORMATS[self.scheme].bits)
        else:
            object.__setattr__(self, "bits", check_bits(self.bits))
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"Unknown granularity {self.granularity!r}: choose one of {', '.join(GRANULARITIES)}.")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"Unknown calibration {self.calibration!r}: choose one of {', '.join(CALIBRATIONS)}.")

    @property
    def is_float_format(self) -> bool:
        return self.scheme in FLOAT_SCHEMES

    @property
    def effective_granularity(self) -> str:
        """What the scales cover: per-channel / per-tensor, or "block 32" / "block 64" for FP4 and NF4."""
        if self.scheme in ("fp4_e2m1", "nf4"):
            return f"block {FORMATS[self.scheme].block_size}"
        return self.granularity

    @property
    def effective_calibration(self) -> str:
        """Float formats scale by absmax whatever the calibration asked for."""
        return "absmax" if self.is_float_format else self.calibration

    @property
    def label(self) -> str:
        name = FORMATS[self.scheme].name if self.is_float_format else f"int{self.bits}"
        text = f"{name} {self.effective_granularity}"
        if not self.is_float_format and self.calibration != "minmax":
            text += f" {self.calibration}"
        if self.scheme == "affine":
            text += " affine"
        if self.activations:
            text += " + act8"
        return text


def check_bits(bits: Any) -> int:
    """A whole number of bits from MIN_BITS to MAX_BITS (what PTQ of weights supports here)."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise ValueError(f"Bits must be a whole number from {MIN_BITS} to {MAX_BITS}; got {bits!r}.")
    if not MIN_BITS <= int(bits) <= MAX_BITS:
        raise ValueError(
            f"Bits must be from {MIN_BITS} to {MAX_BITS} for post-training quantization of weights; got {bits}. "
            "(1 bit leaves a symmetric quantizer a single level; above 8, use float16.)"
        )
    return int(bits)


def parse_bits_list(text: str) -> list[int]:
    """ "8,4,2" -> [8, 4, 2] (each checked); ValueError names the bad item."""
    items = [t.strip() for t in str(text).replace(";", ",").split(",") if t.strip()]
    if not items:
        raise ValueError(f"Give at least one bitwidth from {MIN_BITS} to {MAX_BITS}, e.g. 8,4,2.")
    out: list[int] = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise ValueError(f"{item!r} is not a whole number of bits (from {MIN_BITS} to {MAX_BITS}).") from None
        out.append(check_bits(value))
    return list(dict.fromkeys(out))


def parse_choice_list(text: str, options: Sequence[str], what: str) -> list[str]:
    """ "per-channel,per-tensor" -> the list, each checked against `options`."""
    items = [t.strip().lower() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError(f"Give at least one {what}: {', '.join(options)}.")
    for item in items:
        if item not in options:
            raise ValueError(f"Unknown {what} {item!r}: choose from {', '.join(options)}.")
    return list(dict.fromkeys(items))


def parse_granularity_choice(text: str) -> str:
    """ "per-channel" | "per-tensor" | "both" (one of GRANULARITY_CHOICES, the compress page's ?granularity=)."""
    value = str(text).strip().lower()
    if value not in GRANULARITY_CHOICES:
        raise ValueError(f"must be one of {', '.join(GRANULARITY_CHOICES)}; got {value!r}")
    return value


# --------------------------------------------------------------------------------------------------
# Quantizing one weight tensor
# --------------------------------------------------------------------------------------------------


def quantize_weight(weight: torch.Tensor, config: PTQConfig, seed: int = 0) -> QuantResult:
    """Fake-quantize a Linear (out, in) or Conv2d (out, in, kh, kw) weight, viewed as (out, -1).

    The returned QuantResult is of the 2-D view; `dequantized.reshape(weight.shape)` is the layer's W_q.
    """
    # a copy: the caller writes W_q into the layer, and the result's `original` must stay the float weight
    w2d = weight.detach().to("cpu", torch.float32).reshape(weight.shape[0], -1).clone()
    if config.is_float_format:
        if config.scheme.startswith("fp8"):
            if config.granularity == "per-tensor":
                return quantize_float(w2d, config.scheme, scaling="tensor")
            # one block per output row = one absmax scale per output channel
            return quantize_float(w2d, config.scheme, scaling="block", block_size=w2d.shape[1])
        return quantize_float(w2d, config.scheme, scaling="block")
    if config.granularity == "per-channel":
        return quantize_per_channel(
            w2d, config.bits, axis=0, scheme=config.scheme, calibration=config.calibration,
            percentile=config.percentile, seed=seed,
        )  # fmt: skip
    return quantize(
        w2d, config.bits, scheme=config.scheme, calibration=config.calibration, percentile=config.percentile, seed=seed
    )


def quantize_weight_with_scale(weight: torch.Tensor, config: PTQConfig, scale: torch.Tensor | float) -> QuantResult:
    """`quantize_weight` with a given symmetric scale (one per output channel, or one per tensor) instead of a
    calibrated one: codes = clamp(nearbyint(W · (1/s)), qmin, qmax), W_q = codes · s (the kernel's arithmetic)."""
    if config.scheme not in ("symmetric", "symmetric_restricted"):
        raise ValueError("Given scales apply to the symmetric integer schemes only.")
    w2d = weight.detach().to("cpu", torch.float32).reshape(weight.shape[0], -1).clone()
    qmin, qmax = code_range(config.bits, config.scheme)
    scale_t = torch.as_tensor(scale, dtype=torch.float32).detach().cpu()
    per_channel = config.granularity == "per-channel"
    expected = w2d.shape[0] if per_channel else 1
    if scale_t.numel() != expected or not bool(torch.isfinite(scale_t).all()) or bool((scale_t <= 0).any()):
        raise ValueError(f"A {config.granularity} scale of this layer needs {expected} positive finite value(s).")
    scale_t = scale_t.reshape(-1) if per_channel else scale_t.reshape(())
    zero_point = torch.zeros(scale_t.shape, dtype=torch.int64)
    params = QParams(scale_t, zero_point, qmin, qmax, 0 if per_channel else None)
    unclamped = params.unclamped_codes(w2d)
    clipped_mask = (unclamped < qmin) | (unclamped > qmax)
    steps = unclamped.clamp_(qmin, qmax)
    zero = torch.zeros((), dtype=torch.float32)
    dequantized = torch.addcmul(zero, steps, scale_t.reshape(-1, 1) if per_channel else scale_t)
    low, high = qmin * scale_t, qmax * scale_t
    return QuantResult(
        original=w2d, steps=steps, dequantized=dequantized, scale=scale_t if per_channel else float(scale_t),
        zero_point=zero_point if per_channel else 0, qmin=qmin, qmax=qmax, bits=config.bits, scheme=config.scheme,
        rounding="nearest", calibration="given", range_min=low if per_channel else float(low),
        range_max=high if per_channel else float(high), axis=0 if per_channel else None, seed=0,
        clipped_mask=clipped_mask,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Storage arithmetic
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerStorage:
    """Bytes of one layer: packed codes, scales, zero points, and values kept in float32."""

    name: str
    kind: str
    quantized: bool
    weights: int
    """Quantized values (0 when the layer stays in float)."""
    code_bytes: int
    scale_count: int
    scale_bytes: int
    zero_point_bytes: int
    float_values: int
    """Values kept in float32: the bias, or every parameter of a layer left in float."""
    float_bytes: int
    note: str = ""

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + self.scale_bytes + self.zero_point_bytes + self.float_bytes


def scale_count(weight_shape: Sequence[int], config: PTQConfig) -> int:
    """How many scales a weight of this shape needs: 1, one per output channel, or one per block."""
    out_channels = int(weight_shape[0])
    count = int(np.prod(weight_shape))
    granularity = config.effective_granularity
    if granularity == "per-tensor":
        return 1
    if granularity == "per-channel":
        return out_channels
    block = FORMATS[config.scheme].block_size
    return math.ceil(count / block)


def layer_storage(name: str, module: nn.Module, config: PTQConfig | None) -> LayerStorage:
    """The storage of one module under `config` (None: the module stays in float32)."""
    kind = describe_module(module)
    params = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
    total_values = sum(p.numel() for p in params)
    if config is None or not isinstance(module, QUANTIZED_TYPES):
        note = "" if isinstance(module, QUANTIZED_TYPES) else "layer type not handled by the quantizer"
        return LayerStorage(name, kind, False, 0, 0, 0, 0, 0, total_values, FLOAT32_BYTES * total_values, note)
    weight = module.weight
    n = weight.numel()
    scales = scale_count(tuple(weight.shape), config)
    zero_points = scales if config.scheme == "affine" else 0
    bias_values = 0 if module.bias is None else module.bias.numel()
    other = total_values - n - bias_values  # buffers, if any
    float_values = bias_values + other
    return LayerStorage(
        name=name,
        kind=kind,
        quantized=True,
        weights=n,
        code_bytes=math.ceil(n * config.bits / 8),
        scale_count=scales,
        scale_bytes=SCALE_BYTES * scales,
        zero_point_bytes=ZERO_POINT_BYTES * zero_points,
        float_values=float_values,
        float_bytes=FLOAT32_BYTES * float_values,
        note="bias kept in float32" if bias_values else "",
    )


def describe_module(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}→{module.out_features}"
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return f"Conv2d {module.in_channels}→{module.out_channels} {kh}×{kw}"
    return type(module).__name__


def parameter_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own parameters or buffers directly, in order (the layers storage must account for)."""
    out = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
        if own:
            out.append((name, module))
    return out


def quantizable_layers(model: nn.Module) -> list[str]:
    """Names of the layers the quantizer handles (Linear and Conv2d), in order."""
    return [name for name, module in parameter_modules(model) if isinstance(module, QUANTIZED_TYPES)]


def float_size_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer in float32."""
    return FLOAT32_BYTES * sum(t.numel() for t in list(model.parameters()) + list(model.buffers()))


# --------------------------------------------------------------------------------------------------
# Quantizing a model
# --------------------------------------------------------------------------------------------------


@dataclass
class QuantizedModel:
    """A quantized copy of a model, with each layer's weight result and the storage of every layer."""

    model: nn.Module
    config: PTQConfig
    layers: list[LayerStorage]
    results: dict[str, QuantResult] = field(repr=False)
    activation_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return sum(layer.total_bytes for layer in self.layers)

    @property
    def float_layers(self) -> list[str]:
        """Layers left entirely in float32 (not a Linear or Conv2d), named with their type."""
        return [f"{layer.name} ({layer.kind})" for layer in self.layers if not layer.quantized]

    @property
    def float_bytes(self) -> int:
        return sum(layer.float_bytes for layer in self.layers)

    def storage_table(self) -> pd.DataFrame:
        rows = [{**asdict(layer), "total_bytes": layer.total_bytes} for layer in self.layers]
        return pd.DataFrame(rows)


def quantize_model(
    model: nn.Module,
    config: PTQConfig,
    *,
    only: Iterable[str] | None = None,
    calibration_inputs: torch.Tensor | None = None,
    seed: int = 0,
    scales: dict[str, torch.Tensor] | None = None,
    activation_ranges: dict[str, tuple[float, float]] | None = None,
) -> QuantizedModel:
    """A deep copy of `model` (in eval mode) with quantized weights; `model` itself is never touched.

    `only`: quantize just these layer names (per-layer sensitivity); the rest stay float32.
    With `config.activations`, `calibration_inputs` (a few training inputs) set each quantized layer's
    input range; the copy then fake-quantizes those inputs to 8 bits (affine) in forward pre-hooks.
    `scales` (layer name -> scale, symmetric integer schemes only): use these scales instead of calibrating
    (a QAT model's final or learned scales); `activation_ranges`: these input ranges instead of calibrating.
    """
    wanted = None if only is None else set(only)
    qmodel = copy.deepcopy(model).cpu().eval()
    results: dict[str, QuantResult] = {}
    layers: list[LayerStorage] = []
    quantized_names: list[str] = []
    for name, module in parameter_modules(qmodel):
        handled = isinstance(module, QUANTIZED_TYPES)
        if handled and (wanted is None or name in wanted):
            if scales is not None and name in scales:
                result = quantize_weight_with_scale(module.weight, config, scales[name])
            else:
                result = quantize_weight(module.weight, config, seed=seed)
            with torch.no_grad():
                module.weight.copy_(result.dequantized.reshape(module.weight.shape))
            results[name] = result
            quantized_names.append(name)
            layers.append(layer_storage(name, module, config))
        else:
            layers.append(layer_storage(name, module, None))
    if wanted is not None and not wanted <= set(results):
        unknown = sorted(wanted - set(results))
        raise ValueError(f"No quantizable layer named {', '.join(unknown)}; choose from {', '.join(results) or '-'}.")
    ranges: dict[str, tuple[float, float]] = {}
    if config.activations and activation_ranges is not None:
        ranges = {name: activation_ranges[name] for name in quantized_names}
        attach_activation_quantizers(qmodel, ranges)
    elif config.activations:
        if calibration_inputs is None:
            raise ValueError("Activation quantization needs calibration inputs: a few training batches.")
        ranges = calibrate_activations(qmodel, quantized_names, calibration_inputs)
        attach_activation_quantizers(qmodel, ranges)
    return QuantizedModel(qmodel, config, layers, results, ranges)


def calibrate_activations(
    model: nn.Module, names: Sequence[str], inputs: torch.Tensor, batch_size: int = CALIBRATION_BATCH_SIZE
) -> dict[str, tuple[float, float]]:
    """Min and max of each named layer's input over `inputs`, in batches (a MinMaxObserver in a hook)."""
    modules = dict(model.named_modules())
    ranges: dict[str, list[float]] = {}
    handles = []

    def observer(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            x = args[0].detach()
            low, high = float(x.min()), float(x.max())
            if name in ranges:
                ranges[name] = [min(ranges[name][0], low), max(ranges[name][1], high)]
            else:
                ranges[name] = [low, high]

        return hook

    for name in names:
        handles.append(modules[name].register_forward_pre_hook(observer(name)))
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                model(inputs[start : start + batch_size].cpu())
    finally:
        for handle in handles:
            handle.remove()
    return {name: (low, high) for name, (low, high) in ranges.items()}


def attach_activation_quantizers(model: nn.Module, ranges: dict[str, tuple[float, float]]) -> None:
    """Fake-quantize each named layer's input: 8-bit affine, qparams from its range as MinMaxObserver(quint8)."""
    modules = dict(model.named_modules())
    qmin, qmax = 0, 2**ACTIVATION_BITS - 1
    for name, (low, high) in ranges.items():
        scale, zero_point = qparams_from_range(low, high, qmin, qmax, symmetric=False)
        s, z = float(scale), int(zero_point)

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...], s: float = s, z: int = z) -> tuple[torch.Tensor]:
            return (torch.fake_quantize_per_tensor_affine(args[0], s, z, qmin, qmax),)

        modules[name].register_forward_pre_hook(hook)


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def predictions(model: nn.Module, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Top-1 class of every input (model in eval mode, in chunks)."""
    model.eval()
    return torch.cat([model(x[i : i + chunk]).argmax(1) for i in range(0, len(x), chunk)])


@dataclass(frozen=True)
class Evaluation:
    test_accuracy: float
    agreement: float
    """Share of test inputs where the quantized model's top-1 class equals its float model's."""


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, float_pred: torch.Tensor) -> Evaluation:
    pred = predictions(model, x)
    return Evaluation(float((pred == y).float().mean()), float((pred == float_pred).float().mean()))


ROW_COLUMNS = [
    "model", "config", "bits", "granularity", "scheme", "calibration", "activations", "test_accuracy",
    "agreement", "size_bytes", "compression_ratio", "accuracy_drop", "float_layers",
]  # fmt: skip


def _row(
    role: str, label: str, bits: int, granularity: str, scheme: str, calibration: str, activations: bool,
    ev: Evaluation, size: int, reference_size: int, float_accuracy: float, float_layers: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "model": role,
        "config": label,
        "bits": bits,
        "granularity": granularity,
        "scheme": scheme,
        "calibration": calibration,
        "activations": activations,
        "test_accuracy": ev.test_accuracy,
        "agreement": ev.agreement,
        "size_bytes": int(size),
        "compression_ratio": reference_size / size,
        "accuracy_drop": float_accuracy - ev.test_accuracy,
        "float_layers": float_layers,
    }


def sweep_models(
    models: dict[str, nn.Module],
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    configs: Sequence[PTQConfig],
    *,
    calibration_inputs: torch.Tensor | None = None,
    reference_size: int | None = None,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """One row per model and configuration (plus each model's float32 row, bits 32), with test accuracy,
    agreement with the float model, size in bytes and compression ratio = reference_size / size_bytes
    (reference: the float32 teacher when present, else the largest model). `on_step(done, total)` after each
    quantized configuration (a job's progress; it may raise to stop)."""
    if not models:
        raise ValueError("No models to quantize.")
    if not configs:
        raise ValueError("Choose at least one bitwidth or format to quantize to.")
    x_test, y_test = x_test.cpu(), y_test.cpu()
    if reference_size is None:
        reference = models["teacher"] if "teacher" in models else max(models.values(), key=float_size_bytes)
        reference_size = float_size_bytes(reference)
    rows = []
    total, done = len(models) * len(configs), 0
    for role, model in models.items():
        model = model.cpu().eval()
        float_pred = predictions(model, x_test)
        float_ev = Evaluation(float((float_pred == y_test).float().mean()), 1.0)
        size = float_size_bytes(model)
        rows.append(
            _row(role, "float32", 32, "-", "float32", "-", False, float_ev, size, reference_size,
                 float_ev.test_accuracy, "")
        )  # fmt: skip
        for config in configs:
            q = quantize_model(model, config, calibration_inputs=calibration_inputs, seed=seed)
            ev = evaluate(q.model, x_test, y_test, float_pred)
            rows.append(
                _row(role, config.label, config.bits, config.effective_granularity, config.scheme,
                     config.effective_calibration, config.activations, ev, q.size_bytes, reference_size,
                     float_ev.test_accuracy, ", ".join(q.float_layers))
            )  # fmt: skip
            done += 1
            if on_step is not None:
                on_step(done, total)
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def sensitivity(
    model: nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, config: PTQConfig, seed: int = 0
) -> pd.DataFrame:
    """Quantize one layer at a time (the rest float32): each layer's accuracy drop (points) and weight SQNR (dB).

    SQNR = 10·log10(mean(W²) / mean((W_q − W)²)).
    """
    model = model.cpu().eval()
    x_test, y_test = x_test.cpu(), y_test.cpu()
    float_pred = predictions(model, x_test)
    float_accuracy = float((float_pred == y_test).float().mean())
    rows = []
    for name in quantizable_layers(model):
        q = quantize_model(model, config, only=[name], seed=seed)
        ev = evaluate(q.model, x_test, y_test, float_pred)
        module = dict(model.named_modules())[name]
        rows.append(
            {
                "layer": name,
                "kind": describe_module(module),
                "weights": module.weight.numel(),
                "test_accuracy": ev.test_accuracy,
                "accuracy_drop_points": 100 * (float_accuracy - ev.test_accuracy),
                "agreement": ev.agreement,
                "weight_sqnr_db": q.results[name].sqnr_db,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["layer", "kind", "weights", "test_accuracy", "accuracy_drop_points", "agreement", "weight_sqnr_db"],
    )


def configs_for(
    bits: Sequence[int],
    granularities: Sequence[str] = ("per-channel",),
    *,
    scheme: str = "symmetric",
    calibrations: Sequence[str] = ("minmax",),
    float_formats: Sequence[str] = (),
    activations: bool = False,
) -> list[PTQConfig]:
    """Every combination of bits × granularity × calibration (integer scheme), then each float format
    at each granularity (FP4/NF4 are block-wise, so once)."""
    if scheme in FLOAT_SCHEMES:
        raise ValueError("Give float formats in `float_formats`; `scheme` is the integer scheme.")
    configs = [
        PTQConfig(bits=b, granularity=g, scheme=scheme, calibration=c, activations=activations)
        for b in bits
        for g in granularities
        for c in calibrations
    ]
    for fmt in float_formats:
        for g in granularities if fmt.startswith("fp8") else granularities[:1]:
            configs.append(PTQConfig(granularity=g, scheme=fmt, activations=activations))
    return configs


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """PyTorch's own integer path, for comparison: `torch.ao.quantization.quantize_dynamic` on every Linear
    (int8 weights per tensor, symmetric, MinMaxObserver; activations quantized to 8 bits per batch at run time).
    Runs on the CPU. Returns a new model; `model` is not touched."""
    import warnings

    with warnings.catch_warnings():  # torch 2.14 marks torch.ao.quantization deprecated (moving to torchao)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8)


# --------------------------------------------------------------------------------------------------
# Stored runs
# --------------------------------------------------------------------------------------------------


@dataclass
class StoredRunModels:
    """A finished run's models rebuilt from the store, with the run's own dataset split."""

    run_id: str
    config: dict[str, Any]
    models: dict[str, nn.Module]
    x_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    missing: list[str]
    """Roles the run has no weights file for (for example smoothing when label smoothing was 0)."""
    teacher_size: int = 0
    """Bytes of the float32 teacher: the reference of every compression ratio."""

    @property
    def calibration_inputs(self) -> torch.Tensor:
        """The first CALIBRATION_BATCHES batches of the training split (fixed, so results repeat)."""
        return self.x_train[: CALIBRATION_BATCHES * CALIBRATION_BATCH_SIZE]


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state(path: Path, run_id: str, role: str) -> dict[str, torch.Tensor]:
    """A safetensors state dict; a missing or unreadable file gives a PTQError naming the run and role."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise PTQError(f"The {role} weights of run {run_id} are gone from the store; train the run again.") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt files
        raise PTQError(
            f"The {role} weights of run {run_id} cannot be read ({type(exc).__name__}): the file is damaged. "
            "Train the run again."
        ) from None


def build_from_state(
    architecture: str, state: dict[str, torch.Tensor], input_shape: tuple[int, int, int], num_classes: int
) -> nn.Module:
    """The model `architecture` (a preset or mlp:...) with `state` loaded strictly; PTQError on a mismatch."""
    from compression.distillation.models import build_model, parse_model

    spec = parse_model(architecture)
    with torch.device("meta"):
        model = build_model(spec, input_shape, num_classes)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, ValueError) as exc:
        raise PTQError(
            f"The stored weights do not fit a {architecture} model ({str(exc).splitlines()[0][:160]})."
        ) from None
    return model.eval()


def load_run_models(
    store: Any,
    run_id: str,
    *,
    roles: Sequence[str] | None = None,
    data_dir: Path | str = "data",
    allow_download: bool = False,
) -> StoredRunModels:
    """Rebuild a finished run's models from `store` (a RunStore) and load its test split.

    PTQError (a ValueError) when the run does not exist, is not finished, or its weights are gone or damaged.
    """
    record = store.get_run(run_id)  # ValueError for a malformed id
    if record is None:
        raise PTQError(f"There is no run {run_id} in the store.")
    if record.status != "done":
        raise PTQError(f"Run {run_id} is {record.status}, not finished: only finished runs have weights to quantize.")
    states: dict[str, dict[str, torch.Tensor]] = {}
    missing: list[str] = []
    known = globals()["roles"]()
    for role in known if roles is None else roles:
        if role not in known:
            raise ValueError(f"Unknown model {role!r}: choose from {', '.join(known)}.")
        path = store.weights_path(run_id, role)
        if path is None:
            if role in ("teacher", "student") or (record.results and role in record.results):
                raise PTQError(f"The {role} weights of run {run_id} are gone from the store; train the run again.")
            missing.append(role)
            continue
        states[role] = load_state(path, run_id, role)
    loaded = models_from_weights(record.config, states, run_id=run_id, data_dir=data_dir, allow_download=allow_download)
    loaded.missing = missing
    return loaded


def models_from_weights(
    config: dict[str, Any],
    weights: dict[str, dict[str, torch.Tensor]],
    *,
    run_id: str = "",
    data_dir: Path | str = "data",
    allow_download: bool = False,
) -> StoredRunModels:
    """Models rebuilt from a run's config (as `TrainConfig.to_dict()`) and state dicts, with the run's own
    dataset split (the same seed and training fraction, so the test set is the one the trainer used)."""
    from compression.distillation.data import load_dataset

    data = load_dataset(
        config["dataset"],
        seed=int(config.get("seed", 0)),
        train_fraction=float(config.get("train_fraction", 0.2)),
        data_dir=data_dir,
        allow_download=allow_download,
    )
    from compression.distillation.models import describe, parse_model

    models: dict[str, nn.Module] = {}
    for role, state in weights.items():
        architecture = config["teacher"] if role == "teacher" else config["student"]
        models[role] = build_from_state(architecture, state, data.input_shape, data.num_classes)
    _, teacher_size = describe(parse_model(config["teacher"]), data.input_shape, data.num_classes)
    return StoredRunModels(run_id, config, models, data.x_train, data.x_test, data.y_test, [], teacher_size)


# --------------------------------------------------------------------------------------------------
# Reading a sweep: the staircase and the verdict
# --------------------------------------------------------------------------------------------------


def staircase(frame: pd.DataFrame, granularity: str = "per-channel") -> pd.DataFrame:
    """The path a learner walks down: float32 teacher, float32 distilled student, then the distilled student
    at each integer bitwidth from high to low (weights only, min-max, the chosen granularity)."""
    steps = []
    for role in ("teacher", "student"):
        row = frame[(frame["model"] == role) & (frame["bits"] == 32)]
        if not row.empty:
            steps.append(row.iloc[0])
    student = frame[
        (frame["model"] == "student")
        & frame["scheme"].isin(INTEGER_SCHEMES)
        & (frame["granularity"] == granularity)
        & ~frame["activations"].astype(bool)
    ]
    if not student.empty:
        preferred = student[student["calibration"] == "minmax"]
        student = preferred if not preferred.empty else student
        for _, row in student.sort_values("bits", ascending=False).drop_duplicates("bits").iterrows():
            steps.append(row)
    out = pd.DataFrame(steps).reset_index(drop=True)
    if not out.empty:
        out["step"] = [
            ("float32 teacher" if r["model"] == "teacher" else "float32 student")
            if r["bits"] == 32
            else str(r["config"]).split(" ")[0]
            for _, r in out.iterrows()
        ]
    return out


@dataclass(frozen=True)
class Verdict:
    """A verdict as data: its `tone` and its parts, each a catalogue key under ``compress.verdict`` with its
    figures. Pages render it with `text(lang)` in the visitor's language and colour it by `tone`:
    "good" (distillation's gain survives, or nothing costs more than `BAD_DROP_POINTS`), "mixed" (a tie),
    "bad" (the baseline is ahead, or the smallest bitwidth costs more than `BAD_DROP_POINTS`), "none"."""

    tone: str
    parts: tuple[tuple[str, dict[str, Any]], ...]

    def text(self, lang: str = "en") -> str:
        """parts joined as one sentence: "; " and a full stop in English, "；" and "。" in Chinese."""
        from compression.i18n import CatalogueError, t

        rendered = []
        for key, figures in self.parts:
            values = dict(figures)
            if "model" in values:
                try:
                    title = t(f"compress.role.{values['model']}", lang)
                except CatalogueError:  # a registered variant the catalogue has no title for
                    title = role_titles().get(values["model"], values["model"])
                values["model"] = title.lower() if lang == "en" else title
            rendered.append(t(f"compress.verdict.{key}", lang, **values))
        if lang == "zh":
            return "；".join(rendered) + ("" if rendered[-1].endswith("。") else "。")
        text = "; ".join(rendered)
        return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


BAD_DROP_POINTS = 5.0
"""A bitwidth that costs more accuracy than this (points) turns the verdict into a warning."""


def structured_verdict(frame: pd.DataFrame, granularity: str = "per-channel") -> Verdict:
    """What int8 and int4 cost the distilled student, and how far the smallest distilled student is from the
    float32 teacher in size and accuracy, as data. Honest when quantization or distillation loses."""
    role = "student" if (frame["model"] == "student").any() else str(frame["model"].iloc[0])
    rows = frame[
        (frame["model"] == role)
        & frame["scheme"].isin(INTEGER_SCHEMES)
        & ~frame["activations"].astype(bool)
        & (frame["granularity"] == granularity)
    ]
    if rows.empty:
        rows = frame[(frame["model"] == role) & (frame["bits"] < 32)]
    if rows.empty:
        return Verdict("none", (("empty", {}),))
    by_bits = rows.sort_values(["bits", "calibration"]).drop_duplicates("bits", keep="first").set_index("bits")
    parts: list[tuple[str, dict[str, Any]]] = []
    worst = 0.0
    for b in sorted(by_bits.index, reverse=True):
        drop = 100 * float(by_bits.loc[b, "accuracy_drop"])
        worst = max(worst, drop)
        name_b = str(by_bits.loc[b, "config"]).split(" ")[0]
        parts.append(("costs" if drop >= 0 else "gains", {"config": name_b, "points": abs(drop)}))
    tone = "bad" if worst > BAD_DROP_POINTS else "good"
    smallest = by_bits.loc[min(by_bits.index)]
    at = str(smallest["config"]).split(" ")[0]
    teacher = frame[(frame["model"] == "teacher") & (frame["bits"] == 32)]
    if not teacher.empty:
        t = teacher.iloc[0]
        gap = 100 * (t["test_accuracy"] - smallest["test_accuracy"])
        ratio = t["size_bytes"] / smallest["size_bytes"]
        parts.append(
            (
                "size_less" if gap >= 0 else "size_more",
                {"config": at, "model": role, "ratio": ratio, "points": abs(gap)},
            )
        )
    baseline = frame[(frame["model"] == "baseline")]
    if role == "student" and not baseline.empty:
        b = baseline[baseline["config"] == smallest["config"]]
        if not b.empty:
            lead = 100 * (smallest["test_accuracy"] - b.iloc[0]["test_accuracy"])
            if lead > 0:
                parts.append(("survives", {"config": at, "points": lead}))
            elif lead == 0:
                parts.append(("tied", {"config": at}))
                tone = "bad" if tone == "bad" else "mixed"
            else:
                parts.append(("lost", {"config": at, "points": -lead}))
                tone = "bad"
    return Verdict(tone, tuple(parts))


def verdict(frame: pd.DataFrame, granularity: str = "per-channel") -> str:
    """The verdict as one English sentence (the CLI's); pages render `structured_verdict` in their language."""
    return structured_verdict(frame, granularity).text("en")


def smallest_within(
    frame: pd.DataFrame, points: float = 1.0, granularity: str = "per-channel"
) -> dict[str, int | None]:
    """Per model: the smallest integer bitwidth (weights only) whose accuracy is within `points` of float."""
    out: dict[str, int | None] = {}
    for role, group in frame.groupby("model", sort=False):
        rows = group[
            group["scheme"].isin(INTEGER_SCHEMES)
            & (group["granularity"] == granularity)
            & ~group["activations"].astype(bool)
        ]
        ok = rows[100 * rows["accuracy_drop"] <= points]
        out[str(role)] = int(ok["bits"].min()) if not ok.empty else None
    return out


__all__ = [
    "ACTIVATION_BITS",
    "CALIBRATIONS",
    "FLOAT_SCHEMES",
    "GRANULARITIES",
    "INTEGER_SCHEMES",
    "LayerStorage",
    "PTQConfig",
    "PTQError",
    "QuantizedModel",
    "SCHEMES",
    "StoredRunModels",
    "check_bits",
    "configs_for",
    "evaluate",
    "file_sha256",
    "layer_storage",
    "load_run_models",
    "models_from_weights",
    "parse_bits_list",
    "parse_choice_list",
    "quantizable_layers",
    "quantize_model",
    "quantize_weight",
    "quantize_weight_with_scale",
    "sensitivity",
    "smallest_within",
    "staircase",
    "sweep_models",
    "torch_dynamic_int8",
    "verdict",
    "structured_verdict",
    "Verdict",
    "BAD_DROP_POINTS",
]
