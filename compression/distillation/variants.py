"""The students every run trains side by side, one record each: title, chart colour, loss.

Adding a student variant is one entry of `VARIANTS` (see the README's "Extending"): the trainer trains it
from the same initial weights on the same batches, and the report, the run store's history table, the page's
charts and the CLI's JSON list it by its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from compression.distillation.losses import kd_loss

VariantLoss = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", Any], torch.Tensor]
"""loss(student_logits, targets, teacher_logits or None, config) -> scalar tensor."""


@dataclass(frozen=True)
class Variant:
    """A student trained in every run. `teacher_title` etc. are display text; `loss` is what it minimises."""

    name: str
    """Its key in results, history rows and the CLI's JSON."""
    title: str
    """Short display name (tables, chart legends)."""
    colour: str
    """Chart colour (CSS hex)."""
    loss: VariantLoss
    uses_teacher: bool = False
    """Whether `loss` reads the teacher's logits (they are computed once per epoch or per run)."""
    enabled: Callable[[Any], bool] = lambda config: True
    """Whether a run with this TrainConfig trains this variant."""
    column: str = ""
    """Column of its test accuracy in the run-history table; default "<name> %"."""

    @property
    def history_column(self) -> str:
        return self.column or f"{self.name} %"


TEACHER_TITLE = "Teacher"
TEACHER_COLOUR = "#1c2333"

VARIANTS: dict[str, Variant] = {
    "student": Variant(
        "student",
        "Distilled student",
        "#2f6fdf",
        lambda logits, y, teacher, config: kd_loss(logits, teacher, y, config.temperature, config.alpha),
        uses_teacher=True,
        column="distilled %",
    ),
    "baseline": Variant(
        "baseline",
        "Baseline student",
        "#e07b39",
        lambda logits, y, teacher, config: F.cross_entropy(logits, y),
        column="baseline %",
    ),
    "smoothing": Variant(
        "smoothing",
        "Label smoothing student",
        "#3a9d5d",
        lambda logits, y, teacher, config: F.cross_entropy(logits, y, label_smoothing=config.label_smoothing),
        enabled=lambda config: config.label_smoothing > 0,
        column="smoothing %",
    ),
}


def roles() -> tuple[str, ...]:
    """Every model of a run, in display order: the teacher, then each variant."""
    return ("teacher", *VARIANTS)


def title(role: str) -> str:
    if role == "teacher":
        return TEACHER_TITLE
    variant = VARIANTS.get(role)
    return variant.title if variant else role


def colours() -> dict[str, str]:
    """Display title -> colour, for charts."""
    return {TEACHER_TITLE: TEACHER_COLOUR, **{v.title: v.colour for v in VARIANTS.values()}}


def enabled_variants(config: Any) -> list[Variant]:
    return [v for v in VARIANTS.values() if v.enabled(config)]
