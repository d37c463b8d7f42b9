"""Teacher and student presets: MLPs (the article's pair and smaller) and small CNNs, or custom hidden sizes.

A model is described by a `ModelSpec` (plain data) and built for a dataset's input shape with `build_model`.
Names accepted everywhere (form, deep links, CLI): a preset name, or "mlp:H1,H2,..." for custom hidden sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from compression.i18n import LabError, Text

MAX_HIDDEN = 4096
MAX_LAYERS = 6


@dataclass(frozen=True)
class ModelSpec:
    """kind "mlp": Linear layers of `hidden` units with ReLU (and dropout), then the class layer.

    kind "cnn": one 3×3 conv (padding 1) + ReLU per entry of `channels`, one 2×2 max-pool,
    then Linear layers of `hidden` units with ReLU and dropout, then the class layer.
    """

    kind: str
    hidden: tuple[int, ...]
    channels: tuple[int, ...] = ()
    dropout: float = 0.0
    title: str = ""

    @property
    def name(self) -> str:
        if self.kind == "mlp":
            return "mlp:" + ",".join(str(h) for h in self.hidden)
        return "cnn:" + ",".join(str(c) for c in self.channels) + "/" + ",".join(str(h) for h in self.hidden)


@dataclass(frozen=True)
class Preset:
    """A named model with its role and default training epochs when it is the teacher."""

    name: str
    spec: ModelSpec
    description: str
    teacher_epochs: int = 100
    augment: bool = False
    """Whether it trains with random 1-pixel shifts (jitter) when it is the teacher."""


TEACHER_PRESETS: dict[str, Preset] = {
    "cnn-small": Preset(
        "cnn-small",
        ModelSpec("cnn", (128,), (32, 64), 0.3, "Small CNN (conv 32, conv 64, pool, FC 128, dropout 0.3)"),
        "Two 3×3 conv layers (32, 64 channels), max-pool, FC 128, dropout 0.3; trained with 1-pixel shifts.",
        teacher_epochs=150,
        augment=True,
    ),
    "article-teacher": Preset(
        "article-teacher",
        ModelSpec("mlp", (256, 128), (), 0.0, "Article teacher MLP (in-256-128-10)"),
        "The article's teacher: an MLP in-256-128-10.",
        teacher_epochs=100,
        augment=False,
    ),
    "mlp-1200x2": Preset(
        "mlp-1200x2",
        ModelSpec("mlp", (1200, 1200), (), 0.3, "Wide MLP 1200-1200 with dropout (the paper's teacher shape)"),
        "The paper's teacher shape: two hidden layers of 1,200 units with dropout, trained with jitter.",
        teacher_epochs=60,
        augment=True,
    ),
}

STUDENT_PRESETS: dict[str, Preset] = {
    "article-student": Preset(
        "article-student",
        ModelSpec("mlp", (128,), (), 0.0, "Article student MLP (in-128-10)"),
        "The article's student: an MLP in-128-10.",
    ),
    "mlp-32": Preset(
        "mlp-32",
        ModelSpec("mlp", (32,), (), 0.0, "Tiny MLP (in-32-10)"),
        "A tiny MLP with one hidden layer of 32 units.",
    ),
    "cnn-tiny": Preset(
        "cnn-tiny",
        ModelSpec("cnn", (32,), (8, 16), 0.0, "Tiny CNN (conv 8, conv 16, pool, FC 32)"),
        "Two 3×3 conv layers (8, 16 channels), max-pool, FC 32.",
    ),
}


def parse_model(name: str, role: str = "model") -> ModelSpec:
    """A preset name (teacher or student) or "mlp:H1,H2" -> ModelSpec. ValueError explains what is accepted."""
    text = (name or "").strip().lower()
    for presets in (TEACHER_PRESETS, STUDENT_PRESETS):
        if text in presets:
            return presets[text].spec
    if text.startswith("mlp:"):
        parts = [p.strip() for p in text[4:].split(",") if p.strip()]
        try:
            hidden = tuple(int(p) for p in parts)
        except ValueError as exc:
            raise LabError("model.custom_not_whole", role=Text(f"errors.model.{role}"), name=repr(name)) from exc
        if not hidden or len(hidden) > MAX_LAYERS or any(h < 1 or h > MAX_HIDDEN for h in hidden):
            raise LabError(
                "model.custom_sizes",
                role=Text(f"errors.model.{role}"),
                name=repr(name),
                layers=MAX_LAYERS,
                hidden=MAX_HIDDEN,
            )
        return ModelSpec("mlp", hidden, (), 0.0, f"Custom MLP (in-{'-'.join(map(str, hidden))}-10)")
    known = ", ".join([*TEACHER_PRESETS, *STUDENT_PRESETS])
    raise LabError("model.unknown", role=Text(f"errors.model.{role}"), name=repr(name), known=known)


def _mlp(in_features: int, hidden: tuple[int, ...], num_classes: int, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return layers


def build_model(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    """Build the network for inputs of shape (C, H, W); initialised from torch's global RNG (seed it first)."""
    c, h, w = input_shape
    if spec.kind == "mlp":
        return nn.Sequential(nn.Flatten(), *_mlp(c * h * w, spec.hidden, num_classes, spec.dropout))
    if spec.kind == "cnn":
        layers: list[nn.Module] = []
        channels = c
        for out in spec.channels:
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.ReLU()]
            channels = out
        layers += [nn.MaxPool2d(2), nn.Flatten()]
        return nn.Sequential(*layers, *_mlp(channels * (h // 2) * (w // 2), spec.hidden, num_classes, spec.dropout))
    raise ValueError(f"Unknown model kind {spec.kind!r}.")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def size_bytes(model: nn.Module) -> int:
    """Bytes of all parameters and buffers as stored (float32: 4 bytes each)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def describe(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int = 10) -> tuple[int, int]:
    """(parameters, size in bytes) of `spec` for this input shape, without training it."""
    with torch.device("meta"):
        model = build_model(spec, input_shape, num_classes)
    params = count_params(model)
    return params, params * 4


def shift_batch(x: torch.Tensor, generator: torch.Generator, background: float, max_shift: int = 1) -> torch.Tensor:
    """Random translation of each image by up to `max_shift` pixels in x and y (jitter), padding with background."""
    b, c, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4, value=background)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, b), generator=generator, device="cpu").to(x.device)
    rows = offsets[0][:, None] + torch.arange(h, device=x.device)[None, :]  # (B, H)
    cols = offsets[1][:, None] + torch.arange(w, device=x.device)[None, :]  # (B, W)
    batch_index = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch_index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def human_params(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k"
    return str(n)


__all__ = [
    "ModelSpec",
    "Preset",
    "TEACHER_PRESETS",
    "STUDENT_PRESETS",
    "parse_model",
    "build_model",
    "count_params",
    "size_bytes",
    "describe",
    "shift_batch",
    "human_params",
]
