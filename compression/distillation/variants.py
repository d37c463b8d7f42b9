"""The students every run trains side by side, one record each: title, chart colour, and what it minimises.

Adding a student variant is one entry of `VARIANTS` (see the README's "Extending"). A variant declares its loss
as `LossTerms` (soft term at T with weight alpha, cross-entropy with weight 1 − alpha and label smoothing ε,
read from the run's configuration), so the one engine trains it in both forms: in every run (looped) and as a
control of every sweep (stacked); the report, the run store, Compress, the charts and the CLI's JSON list it
by its name. A variant may instead give an arbitrary `loss`; it then trains only in the looped form (a sweep
with such a control runs looped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from compression.distillation.engine import LossTerms, Member

VariantLoss = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", Any], torch.Tensor]
"""loss(student_logits, targets, teacher_logits or None, config) -> scalar tensor."""


@dataclass(frozen=True)
class Variant:
    """A student trained in every run: display text, and what it minimises (`terms`, or a custom `loss`)."""

    name: str
    """Its key in results, history rows and the CLI's JSON."""
    title: str
    """Short display name (tables, chart legends)."""
    colour: str
    """Chart colour (CSS hex)."""
    loss: VariantLoss | None = None
    """A custom loss instead of `terms` (looped form only)."""
    uses_teacher: bool = False
    """Whether the custom `loss` reads the teacher's logits (with `terms`, alpha > 0 says so)."""
    enabled: Callable[[Any], bool] = lambda config: True
    """Whether a run with this TrainConfig trains this variant."""
    column: str = ""
    """Column of its test accuracy in the run-history table; default "<name> %"."""
    terms: Callable[[Any], LossTerms] | None = None
    """Its loss terms for a run's configuration (T, alpha, label smoothing)."""

    @property
    def history_column(self) -> str:
        return self.column or f"{self.name} %"

    @property
    def stackable(self) -> bool:
        """Whether the stacked (batched) form can train it: it declares its loss as terms."""
        return self.loss is None

    def member(self, config: Any, name: str | None = None, replicate: int = 0, cell: int | None = None,
               label: str = "") -> Member:  # fmt: skip
        """This variant as a student of a group trained with `config`."""
        title = self.title.lower() + (f" ({label})" if label and label != self.name else "")
        if self.loss is not None:
            custom = self.loss
            return Member(name or self.name, self.name, LossTerms(), replicate, cell, title,
                          loss=lambda logits, y, teacher: custom(logits, y, teacher, config),
                          reads_teacher=self.uses_teacher)  # fmt: skip
        if self.terms is None:
            raise ValueError(f"The variant {self.name!r} declares neither loss terms nor a loss.")
        return Member(name or self.name, self.name, self.terms(config), replicate, cell, title)


TEACHER_TITLE = "Teacher"
TEACHER_COLOUR = "#1c2333"

VARIANTS: dict[str, Variant] = {
    "student": Variant(
        "student",
        "Distilled student",
        "#2f6fdf",
        column="distilled %",
        terms=lambda config: LossTerms(alpha=config.alpha, temperature=config.temperature),
    ),
    "baseline": Variant(
        "baseline",
        "Baseline student",
        "#e07b39",
        column="baseline %",
        terms=lambda config: LossTerms(),
    ),
    "smoothing": Variant(
        "smoothing",
        "Label smoothing student",
        "#3a9d5d",
        enabled=lambda config: config.label_smoothing > 0,
        column="smoothing %",
        terms=lambda config: LossTerms(label_smoothing=config.label_smoothing),
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
