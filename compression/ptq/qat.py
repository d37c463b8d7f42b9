"""Quantization-aware training (QAT): fine-tune a trained model with its weights fake-quantized in the forward pass.

Each Linear / Conv2d weight W of a copy of the trained float model is replaced, in forward, by (a parametrization)

    W_q = fake_quant(W) = (clamp(nearbyint(W · (1/s)), qmin, qmax)) · s,   qmin = −2^(b−1), qmax = 2^(b−1) − 1

per output channel (one s per row of W viewed as (out, −1)) or per tensor, with torch's own
`fake_quantize_per_channel_affine` / `fake_quantize_per_tensor_affine`, so the forward is bit for bit PyTorch's and
the backward is its straight-through estimator: dL/dW = dL/dW_q where the rounded code lies inside [qmin, qmax], 0
outside. The scale s is

- "minmax": computed from the current weights at every step, as PerChannelMinMaxObserver(qint8-style symmetric)
  would: s = max|W_row| / ((qmax − qmin) / 2), at least float32 eps (no gradient through s, as the observer's);
- "lsq": learned (Esser et al., ICLR 2020), starting at the min-max scale, with LSQ's gradient
  dW_q/ds = round(v) − v inside the range and qmin or qmax outside (v = W/s), scaled by g = 1/√(N·Qp) where N is
  the number of weights the scale covers and Qp = qmax.

Optionally each quantized layer's input is fake-quantized to 8 bits (affine), with the fixed ranges the PTQ path
calibrates on the run's first training batches for the starting model.

What a member of the group minimises is its `LossTerms`: "QAT" trains on the labels alone (alpha 0); "QAT + teacher"
is the run's KD loss against the float teacher, at the run's T and alpha (quantized distillation, Polino et al. 2018).
All members (models × bitwidths × {without, with teacher} × seeds) train as one looped group on the one engine
(`compression.distillation.engine.train_group`), starting from copies of the run's stored float weights (which
never change). Seed replicate r changes the batch order only (the starting weights are the trained ones).

What is reported is what is stored: the fine-tuned latent float weights are re-quantized through the PTQ path
(`core.quantize_model` with the final scales), and that model's accuracy is the reported accuracy; it equals the
accuracy training measured with the fake-quantized forward (tests/unit/test_qat.py), and its codes are b-bit integers.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from compression.distillation.engine import (
    LossTerms,
    Member,
    Progress,
    ProgressEvent,
    train_group,
)
from compression.i18n import LabError
from compression.ptq.core import (
    GRANULARITIES,
    MAX_BITS,
    MIN_BITS,
    QUANTIZED_TYPES,
    PTQConfig,
    QuantizedModel,
    evaluate,
    parameter_modules,
    predictions,
    quantize_model,
)

SCALE_MODES: tuple[str, ...] = ("minmax", "lsq")
QAT_ROLES: tuple[str, ...] = ("student", "baseline")
DEFAULT_QAT_BITS: tuple[int, ...] = (4, 2)
DEFAULT_QAT_EPOCHS = 10
DEFAULT_QAT_LR = 3e-3
"""A short fine-tune: 10 epochs, cosine from 3e-3 (the run's own lr). A probe on the default digits run, int2, 3 seeds:
5 epochs at 1e-4 won back 5 of PTQ's 24 points, at 1e-3 15, at 3e-3 20; 10 epochs at 3e-3 22 (20 epochs: 22.4)."""
MAX_QAT_EPOCHS = 200
MAX_QAT_SEEDS = 5
FLOAT32_EPS = float(torch.finfo(torch.float32).eps)


def weight_code_range(bits: int) -> tuple[int, int]:
    """Signed b-bit codes: (−2^(b−1), 2^(b−1) − 1)."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def check_qat_bits(bits: Any) -> int:
    """A whole number of bits from MIN_BITS to MAX_BITS; LabError otherwise."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        raise LabError("qat.bits", low=MIN_BITS, high=MAX_BITS, value=repr(bits))
    return int(bits)


def minmax_scale(w2d: torch.Tensor, bits: int, per_channel: bool) -> torch.Tensor:
    """The (per-channel) symmetric MinMaxObserver scale of a 2-D weight: max(−min(x, 0), max(x, 0)) / ((qmax − qmin)/2),
    clamped below by float32 eps; (out,) per channel, 0-d per tensor. No gradient."""
    qmin, qmax = weight_code_range(bits)
    with torch.no_grad():
        low, high = torch.aminmax(w2d, dim=1) if per_channel else torch.aminmax(w2d)
        amax = torch.maximum(-torch.clamp(low, max=0.0), torch.clamp(high, min=0.0))
        return torch.clamp(amax / (float(qmax - qmin) / 2), min=FLOAT32_EPS)


def lsq_grad_factor(weights_per_scale: int, bits: int) -> float:
    """LSQ's gradient scale g = 1 / √(N · Qp)."""
    return 1.0 / math.sqrt(weights_per_scale * weight_code_range(bits)[1])


class WeightFakeQuant(nn.Module):
    """A parametrization: the layer's weight W becomes fake_quant(W) in every forward (see the module doc)."""

    def __init__(self, weight: torch.Tensor, bits: int, granularity: str = "per-channel", scale: str = "minmax"):
        super().__init__()
        self.bits = check_qat_bits(bits)
        if granularity not in GRANULARITIES:
            raise ValueError(f"Unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}.")
        if scale not in SCALE_MODES:
            raise ValueError(f"Unknown QAT scale {scale!r}: choose one of {', '.join(SCALE_MODES)}.")
        self.per_channel = granularity == "per-channel"
        self.scale_mode = scale
        self.qmin, self.qmax = weight_code_range(bits)
        w2d = weight.detach().reshape(weight.shape[0], -1)
        self.register_buffer("zero_point", torch.zeros(w2d.shape[0] if self.per_channel else (), dtype=torch.int32,
                                                       device=weight.device))  # fmt: skip
        self.grad_factor = lsq_grad_factor(w2d.shape[1] if self.per_channel else w2d.numel(), bits)
        if scale == "lsq":
            self.scale = nn.Parameter(minmax_scale(w2d, bits, self.per_channel).clone())

    def current_scale(self, weight: torch.Tensor) -> torch.Tensor:
        """The scale used for `weight` now: the min-max scale of the weight, or the learned one (at least eps)."""
        if self.scale_mode == "lsq":
            return torch.clamp(self.scale, min=FLOAT32_EPS)
        return minmax_scale(weight.reshape(weight.shape[0], -1), self.bits, self.per_channel)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        w2d = weight.reshape(weight.shape[0], -1)
        scale = self.current_scale(weight)
        fixed = scale.detach()
        if self.per_channel:
            out = torch.fake_quantize_per_channel_affine(w2d, fixed, self.zero_point, 0, self.qmin, self.qmax)
        else:
            out = torch.fake_quantize_per_tensor_affine(w2d, fixed, self.zero_point, self.qmin, self.qmax)
        if self.scale_mode == "lsq":  # LSQ's gradient for s; the forward adds exactly 0
            with torch.no_grad():
                s = fixed.reshape(-1, 1) if self.per_channel else fixed
                v = w2d * (torch.ones_like(s) / s)
                rounded = torch.round(v)
                slope = torch.where(
                    rounded < self.qmin,
                    torch.full_like(v, self.qmin),
                    torch.where(rounded > self.qmax, torch.full_like(v, self.qmax), rounded - v),
                )
            g = self.grad_factor
            scaled = (scale - scale * g).detach() + scale * g
            term = (scaled.reshape(-1, 1) if self.per_channel else scaled) * slope
            out = out + (term - term.detach())
        return out.reshape(weight.shape)


def unhandled_layers(model: nn.Module) -> list[str]:
    """Layers with parameters that QAT leaves in float32 (not a Linear or Conv2d), named with their type."""
    return [
        f"{name} ({type(m).__name__})" for name, m in parameter_modules(model) if not isinstance(m, QUANTIZED_TYPES)
    ]


def prepare_qat(model: nn.Module, bits: int, granularity: str = "per-channel", scale: str = "minmax") -> nn.Module:
    """A deep copy of `model` whose Linear / Conv2d weights are fake-quantized in forward (`WeightFakeQuant`);
    every other layer with parameters stays float (see `unhandled_layers`). `model` is not touched."""
    check_qat_bits(bits)
    qmodel = copy.deepcopy(model)
    for _, module in parameter_modules(qmodel):
        if isinstance(module, QUANTIZED_TYPES):
            parametrize.register_parametrization(
                module, "weight", WeightFakeQuant(module.weight, bits, granularity, scale)
            )
    return qmodel


def quantizers(qmodel: nn.Module) -> dict[str, WeightFakeQuant]:
    """Each fake-quantized layer's name -> its quantizer."""
    out = {}
    for name, module in qmodel.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            out[name] = module.parametrizations["weight"][0]
    return out


@torch.no_grad()
def final_scales(qmodel: nn.Module) -> dict[str, torch.Tensor]:
    """Each quantized layer's scale at the end of training (from the final latent weights, or learned), on the CPU."""
    out = {}
    modules = dict(qmodel.named_modules())
    for name, quantizer in quantizers(qmodel).items():
        latent = modules[name].parametrizations["weight"].original
        out[name] = quantizer.current_scale(latent).detach().cpu().clone()
    return out


def latent_model(qmodel: nn.Module) -> nn.Module:
    """A float copy of `qmodel` on the CPU with its latent (unquantized) weights: the parametrizations removed."""
    model = copy.deepcopy(qmodel).cpu()
    for module in list(model.modules()):
        if parametrize.is_parametrized(module, "weight"):
            # Not `remove_parametrizations`: it deletes the property from the parametrized class, which a deep copy
            # shares with `qmodel`. Turn this module back into its float class and give it the latent weight.
            latent = module.parametrizations["weight"].original.detach().clone()
            module.__class__ = module.__class__.__bases__[0]
            del module._modules["parametrizations"]
            module._parameters["weight"] = nn.Parameter(latent, requires_grad=False)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def requantize(
    qmodel: nn.Module, bits: int, granularity: str, activation_ranges: dict[str, tuple[float, float]] | None = None
) -> QuantizedModel:
    """The PTQ path's model of a QAT result: the latent weights quantized with the final scales (`quantize_model`)."""
    config = PTQConfig(bits=bits, granularity=granularity, activations=bool(activation_ranges))
    return quantize_model(
        latent_model(qmodel), config, scales=final_scales(qmodel), activation_ranges=activation_ranges or None
    )


def export_state(quantized: QuantizedModel) -> dict[str, torch.Tensor]:
    """What `--qat-save` writes: for every quantized layer `<layer>.weight_codes` (int8 tensor of b-bit integers, the
    weight's shape) and `<layer>.weight_scale` (float32, one per output row, or one per tensor), float32 biases, and
    every parameter of a layer left in float under its own name."""
    state: dict[str, torch.Tensor] = {}
    for name, module in parameter_modules(quantized.model):
        result = quantized.results.get(name)
        if result is None:
            for key, value in module.state_dict().items():
                state[f"{name}.{key}"] = value.detach().cpu().float().contiguous()
            continue
        codes = result.steps.reshape(module.weight.shape).to(torch.int8)
        state[f"{name}.weight_codes"] = codes.contiguous()
        state[f"{name}.weight_scale"] = torch.as_tensor(result.scale, dtype=torch.float32).reshape(-1).contiguous()
        if module.bias is not None:
            state[f"{name}.bias"] = module.bias.detach().cpu().float().contiguous()
    return state


def attach_activation_fake_quant(qmodel: nn.Module, ranges: dict[str, tuple[float, float]]) -> None:
    """Fixed 8-bit affine fake-quant of each named layer's input (the PTQ path's hooks; STE gradient)."""
    from compression.ptq.core import attach_activation_quantizers

    attach_activation_quantizers(qmodel, ranges)


# --- the job's plan and result ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QATPlan:
    """What one QAT job trains: models × bits × losses (× seeds), and how."""

    models: tuple[str, ...] = QAT_ROLES
    bits: tuple[int, ...] = DEFAULT_QAT_BITS
    teacher: tuple[bool, ...] = (False, True)
    """Which losses: False = "QAT" (labels only), True = "QAT + teacher" (the run's KD loss)."""
    epochs: int = DEFAULT_QAT_EPOCHS
    lr: float = DEFAULT_QAT_LR
    seeds: int = 1
    granularity: str = "per-channel"
    scale: str = "minmax"
    activations: bool = False

    def check(self) -> QATPlan:
        """LabError (a ValueError) for the first bad field."""
        if not self.bits:
            raise LabError("qat.no_bits", low=MIN_BITS, high=MAX_BITS)
        for b in self.bits:
            check_qat_bits(b)
        if not self.models:
            raise LabError("qat.no_models")
        if not self.teacher:
            raise LabError("qat.no_losses")
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or not 1 <= self.epochs <= MAX_QAT_EPOCHS:
            raise LabError("qat.epochs", limit=MAX_QAT_EPOCHS, value=repr(self.epochs))
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and 0 < self.lr <= 1):
            raise LabError("qat.lr", value=repr(self.lr))
        if not isinstance(self.seeds, int) or isinstance(self.seeds, bool) or not 1 <= self.seeds <= MAX_QAT_SEEDS:
            raise LabError("qat.seeds", limit=MAX_QAT_SEEDS, value=repr(self.seeds))
        if self.granularity not in GRANULARITIES:
            raise LabError("qat.granularity", value=self.granularity, choices=", ".join(GRANULARITIES))
        if self.scale not in SCALE_MODES:
            raise LabError("qat.scale", value=self.scale, choices=", ".join(SCALE_MODES))
        return self

    @property
    def members(self) -> int:
        return len(self.models) * len(self.bits) * len(self.teacher) * self.seeds

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "bits": list(self.bits),
            "teacher": list(self.teacher),
            "epochs": self.epochs,
            "lr": self.lr,
            "seeds": self.seeds,
            "granularity": self.granularity,
            "scale": self.scale,
            "activations": self.activations,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QATPlan:
        return cls(
            models=tuple(str(m) for m in data.get("models", QAT_ROLES)),
            bits=tuple(data.get("bits", DEFAULT_QAT_BITS)),
            teacher=tuple(bool(t) for t in data.get("teacher", (False, True))),
            epochs=data.get("epochs", DEFAULT_QAT_EPOCHS),
            lr=data.get("lr", DEFAULT_QAT_LR),
            seeds=data.get("seeds", 1),
            granularity=str(data.get("granularity", "per-channel")),
            scale=str(data.get("scale", "minmax")),
            activations=bool(data.get("activations", False)),
        )


def member_name(model: str, bits: int, teacher: bool, seed: int = 0) -> str:
    """ "student-int4-qat", "baseline-int2-qat-teacher", "...-s1" for seed replicate 1."""
    return f"{model}-int{bits}-qat{'-teacher' if teacher else ''}{f'-s{seed}' if seed else ''}"


@dataclass
class QATResult:
    """One row per trained member, the seed summary, the history, weights (name -> export_state) and the verdict."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    history: list[dict[str, Any]]
    plan: dict[str, Any]
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    float_layers: list[str] = field(default_factory=list)
    seconds: float = 0.0
    quantized: dict[str, QuantizedModel] = field(default_factory=dict, repr=False)
    """name -> the PTQ path's model of each member (for tests and the CLI; not serialized)."""

    def to_json(self) -> dict[str, Any]:
        from compression.ptq.qat_verdict import qat_verdict

        return {
            "qat": self.rows,
            "summary": self.summary,
            "history": self.history,
            "plan": self.plan,
            "float_layers": self.float_layers,
            "weights_metadata": self.metadata,
            "verdict": qat_verdict(self.summary).to_dict(),
            "seconds": self.seconds,
        }


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, bits, teacher): mean and sample std over seeds of the QAT accuracy, with PTQ and float."""
    groups: dict[tuple[str, int, bool], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["bits"], row["teacher"]), []).append(row)
    out = []
    for (model, bits, teacher), items in groups.items():
        mean, std = _mean_std([r["test_accuracy"] for r in items])
        out.append(
            {
                "model": model,
                "bits": bits,
                "teacher": teacher,
                "test_accuracy": mean,
                "std": std,
                "seeds": len(items),
                "ptq_accuracy": items[0]["ptq_accuracy"],
                "float_accuracy": items[0]["float_accuracy"],
                "size_bytes": items[0]["size_bytes"],
            }
        )
    return out


def train_qat(
    run_config: dict[str, Any],
    floats: dict[str, nn.Module],
    teacher: nn.Module | None,
    data: Any,
    plan: QATPlan,
    *,
    emit: Callable[[ProgressEvent], None] = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
    calibration_inputs: torch.Tensor | None = None,
) -> QATResult:
    """Fine-tune copies of `floats` (role -> trained float model) with fake-quantized weights, as one group.

    `run_config`: the run's `TrainConfig.to_dict()` (batch size, seed, T and alpha come from it); `data`: the run's
    TensorData on the training device (its test split is the run's); `teacher`: the run's float teacher (needed when
    `plan.teacher` has True). Raises TrainingCancelled when `should_stop()` turns true, TrainingError on NaN.
    """
    import time

    from compression.distillation.kinds import train_config_from_payload

    plan.check()
    started = time.monotonic()
    missing = [m for m in plan.models if m not in floats]
    if missing:
        raise LabError("qat.no_weights", models=", ".join(missing))
    if any(plan.teacher) and teacher is None:
        raise LabError("qat.no_teacher")
    base = train_config_from_payload(run_config)
    config = replace(base, epochs=plan.epochs, lr=float(plan.lr), student_augment=False, device="cpu")
    device = data.x_train.device
    x_test_cpu, y_test_cpu = data.x_test.cpu(), data.y_test.cpu()
    calibration = calibration_inputs if calibration_inputs is not None else data.x_train[:256].cpu()

    members: list[Member] = []
    modules: list[nn.Module] = []
    ranges_of: dict[str, dict[str, tuple[float, float]]] = {}
    ptq_accuracy: dict[tuple[str, int], float] = {}
    float_accuracy: dict[str, float] = {}
    size_of: dict[tuple[str, int], int] = {}
    float_layers: list[str] = []
    for role in plan.models:
        model = floats[role].cpu().eval()
        float_pred = predictions(model, x_test_cpu)
        float_accuracy[role] = float((float_pred == y_test_cpu).float().mean())
        float_layers = unhandled_layers(model)
        for bits in plan.bits:
            ptq = quantize_model(
                model, PTQConfig(bits=bits, granularity=plan.granularity, activations=plan.activations),
                calibration_inputs=calibration if plan.activations else None,
            )  # fmt: skip
            ptq_accuracy[(role, bits)] = evaluate(ptq.model, x_test_cpu, y_test_cpu, float_pred).test_accuracy
            size_of[(role, bits)] = ptq.size_bytes
            for seed in range(plan.seeds):
                for uses_teacher in plan.teacher:
                    name = member_name(role, bits, uses_teacher, seed)
                    terms = LossTerms(alpha=base.alpha, temperature=base.temperature) if uses_teacher else LossTerms()
                    title = f"{role} int{bits} QAT{' + teacher' if uses_teacher else ''}"
                    members.append(Member(name, "qat", terms, replicate=seed, title=title))
                    qmodel = prepare_qat(model, bits, plan.granularity, plan.scale)
                    if plan.activations:
                        ranges_of[name] = dict(ptq.activation_ranges)
                        attach_activation_fake_quant(qmodel, ranges_of[name])
                    modules.append(qmodel.to(device))
    steps_per_epoch = math.ceil(len(data.y_train) / config.batch_size)
    progress = Progress(plan.epochs * steps_per_epoch * len(members), emit, should_stop)
    emit(ProgressEvent("status", "qat", message=f"Quantization-aware training of {len(members)} models",
                       key="progress.qat", params={"models": len(members), "epochs": plan.epochs}))  # fmt: skip
    if teacher is not None:
        teacher = teacher.to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    group = train_group(config, members, data, teacher, progress, emit, mode="looped", modules=modules, phase="qat")

    rows: list[dict[str, Any]] = []
    weights: dict[str, dict[str, torch.Tensor]] = {}
    metadata: dict[str, dict[str, str]] = {}
    quantized: dict[str, QuantizedModel] = {}
    spec_index = 0
    for role in plan.models:
        for bits in plan.bits:
            for seed in range(plan.seeds):
                for uses_teacher in plan.teacher:
                    member = members[spec_index]
                    qmodel = group.module(spec_index)
                    spec_index += 1
                    q = requantize(qmodel, bits, plan.granularity, ranges_of.get(member.name))
                    float_pred = predictions(floats[role].cpu().eval(), x_test_cpu)
                    accuracy = evaluate(q.model, x_test_cpu, y_test_cpu, float_pred).test_accuracy
                    trained = group.histories[spec_index - 1][-1]["test_accuracy"]
                    rows.append(
                        {
                            "model": role,
                            "bits": bits,
                            "teacher": uses_teacher,
                            "seed": seed,
                            "test_accuracy": accuracy,
                            "trained_accuracy": trained,
                            "ptq_accuracy": ptq_accuracy[(role, bits)],
                            "float_accuracy": float_accuracy[role],
                            "size_bytes": size_of[(role, bits)],  # = q.size_bytes: the same layers and bits
                            "epochs": plan.epochs,
                            "name": member.name,
                        }
                    )
                    weights[member.name] = export_state(q)
                    metadata[member.name] = {
                        "bits": str(bits),
                        "model": role,
                        "teacher": str(uses_teacher).lower(),
                        "granularity": plan.granularity,
                        "scale": plan.scale,
                        "run_student": str(run_config.get("student", "")),
                    }
                    quantized[member.name] = q
    return QATResult(
        rows=rows,
        summary=summarize(rows),
        history=group.rows,
        plan=plan.to_dict(),
        weights=weights,
        metadata=metadata,
        float_layers=float_layers,
        seconds=time.monotonic() - started,
        quantized=quantized,
    )


def decode_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An exported QAT state (codes and scales) back to a float state dict: weight = codes · scale (per row)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith(".weight_codes"):
            layer = key[: -len(".weight_codes")]
            scale = state[f"{layer}.weight_scale"]
            codes = value.to(torch.float32)
            shape = [-1] + [1] * (codes.dim() - 1) if scale.numel() > 1 else []
            out[f"{layer}.weight"] = torch.addcmul(torch.zeros(()), codes, scale.reshape(shape) if shape else scale)
        elif not key.endswith(".weight_scale"):
            out[key] = value
    return out


def qat_from_weights(
    run_config: dict[str, Any],
    states: dict[str, dict[str, torch.Tensor]],
    plan: QATPlan,
    *,
    data_dir: Any = "data",
    allow_download: bool = False,
    device: str = "cpu",
    emit: Callable[[ProgressEvent], None] = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> QATResult:
    """`train_qat` on a run's config (`TrainConfig.to_dict()`) and its state dicts (role -> weights): the run's own
    data split loaded on `device` ("auto", "cpu", "cuda", ...)."""
    from compression.device import resolve_device
    from compression.distillation.data import load_dataset
    from compression.ptq.core import CALIBRATION_BATCH_SIZE, CALIBRATION_BATCHES, build_from_state

    plan.check()
    missing = [m for m in plan.models if m not in states]
    if missing:
        raise LabError("qat.no_weights", models=", ".join(missing))
    if any(plan.teacher) and "teacher" not in states:
        raise LabError("qat.no_teacher")
    target = resolve_device(device)
    emit(ProgressEvent("status", "data", message=f"Loading {run_config['dataset']} on {target}",
                       key="progress.loading", params={"dataset": run_config["dataset"], "device": str(target)}))  # fmt: skip
    data = load_dataset(
        run_config["dataset"],
        seed=int(run_config.get("seed", 0)),
        train_fraction=float(run_config.get("train_fraction", 0.2)),
        data_dir=data_dir,
        allow_download=allow_download,
        device=target,
    )
    models = {}
    for role, state in states.items():
        if role in plan.models or role == "teacher":
            architecture = run_config["teacher"] if role == "teacher" else run_config["student"]
            models[role] = build_from_state(architecture, state, data.input_shape, data.num_classes)
    teacher = models.pop("teacher", None) if any(plan.teacher) else None
    models.pop("teacher", None)
    calibration = data.x_train[: CALIBRATION_BATCHES * CALIBRATION_BATCH_SIZE].cpu()
    return train_qat(run_config, models, teacher, data, plan, emit=emit, should_stop=should_stop,
                     calibration_inputs=calibration)  # fmt: skip


def stored_states(store: Any, run_id: str, roles: Sequence[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(run config, role -> state dict) of a finished run in `store` (a RunStore); LabError / PTQError naming what is
    missing (an unknown run, an unfinished one, weights gone)."""
    from compression.ptq.core import PTQError, load_state

    record = store.get_run(run_id)
    if record is None:
        raise PTQError(f"There is no run {run_id} in the store.")
    if record.status != "done":
        raise PTQError(f"Run {run_id} is {record.status}, not finished: only finished runs have weights to train.")
    states: dict[str, dict[str, Any]] = {}
    missing = []
    for role in roles:
        path = store.weights_path(run_id, role)
        if path is None:
            missing.append(role)
            continue
        states[role] = load_state(path, run_id, role)
    if missing:
        raise LabError("qat.no_weights", models=", ".join(missing))
    return record.config, states


# --- command lines (python -m compression.distill --qat-bits, python -m compression.ptq --qat-bits) ---------------
CLI_FIELDS = ("model", "bits", "teacher", "test_accuracy", "ptq_accuracy", "float_accuracy", "size_bytes", "epochs")


def parse_qat_bits(text: str) -> tuple[int, ...]:
    """ "4,2" -> (4, 2); LabError for a bitwidth out of range, ValueError for text that is not a number."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise LabError("qat.no_bits", low=MIN_BITS, high=MAX_BITS)
    out = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise LabError("qat.bits", low=MIN_BITS, high=MAX_BITS, value=repr(item)) from None
        out.append(check_qat_bits(value))
    return tuple(dict.fromkeys(out))


def cli_rows(result: QATResult) -> list[dict[str, Any]]:
    """The JSON's "qat" list: one row per (model, bits, teacher) (and seed, when several were trained)."""
    several = int(result.plan.get("seeds", 1)) > 1
    return [{k: row[k] for k in (*CLI_FIELDS, *(("seed",) if several else ()))} for row in result.rows]


def print_qat(result: QATResult, lang: str = "en") -> None:
    from compression.ptq.qat_verdict import qat_verdict, verdict_text

    print(f"quantization-aware training ({result.plan['epochs']} epochs at lr {result.plan['lr']:g}, "
          f"{result.plan['granularity']} {result.plan['scale']} scales, {result.seconds:.1f} s):")  # fmt: skip
    for row in result.summary:
        spread = "" if row["std"] is None else f" ± {100 * row['std']:.2f} (n={row['seeds']})"
        print(
            f"  {row['model']:10s} int{row['bits']} {'QAT + teacher' if row['teacher'] else 'QAT          '} "
            f"{100 * row['test_accuracy']:6.2f}%{spread}  PTQ {100 * row['ptq_accuracy']:6.2f}%  "
            f"float {100 * row['float_accuracy']:6.2f}%  {row['size_bytes']:>8,d} B"
        )
    if result.float_layers:
        print(f"  left in float32 (layer type not handled): {', '.join(result.float_layers)}")
    for item in qat_verdict(result.summary).items:
        print(verdict_text(item, lang))


def save_models(result: QATResult, folder: Any) -> list[str]:
    """--qat-save DIR: DIR/<name>.safetensors per QAT model (codes, scales, biases; metadata bits, model, ...)."""
    from pathlib import Path

    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, state in result.weights.items():
        path = out / f"{name}.safetensors"
        save_file(state, str(path), metadata=result.metadata.get(name, {}))
        written.append(str(path))
    return written
