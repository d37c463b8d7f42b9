"""Form values -> job configurations: what the trainer's and the sweep's forms send, checked, as plain functions.

A page reads its widgets into a plain dict (field name -> value) and calls one of these; a refused value raises
ValueError (a `LabError` the page shows in the visitor's language). No streamlit here: a notebook or a test builds
the same configurations from the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS, parse_model
from compression.distillation.sweep import SweepConfig, control_variants
from compression.distillation.trainer import TrainConfig, default_config, parse_field
from compression.i18n import LabError

CUSTOM = "custom"
"""The model select boxes' extra choice: an MLP of the hidden sizes typed beside it."""

TRAIN_FORM_FIELDS = (
    "dataset",
    "teacher",
    "teacher_custom",
    "student",
    "student_custom",
    "epochs",
    "teacher_epochs",
    "batch_size",
    "lr",
    "temperature",
    "alpha",
    "seed",
    "device",
    "label_smoothing",
)
"""What the trainer's form holds (its widget keys are these with "distill_" in front)."""


def model_name(choice: str, custom_sizes: object = "") -> str:
    """A model select box's value -> the model's name: the preset's name, or "mlp:" + the typed hidden sizes."""
    if choice == CUSTOM:
        return "mlp:" + str(custom_sizes or "").replace(" ", "")
    return str(choice)


def model_fields(role: str, name: str) -> dict[str, str]:
    """The inverse of `model_name`: a model's name -> the form's values for `role` ("teacher" or "student"):
    {role: preset} for a preset, {role: "custom", role_custom: "256,128"} for any other MLP (ValueError if `name`
    is not a model)."""
    presets = TEACHER_PRESETS if role == "teacher" else STUDENT_PRESETS
    if name in presets:
        return {role: name}
    spec = parse_model(name, role)
    return {role: CUSTOM, f"{role}_custom": ",".join(str(h) for h in spec.hidden)}


def dataset_default_fields(dataset: str) -> dict[str, Any]:
    """The fields a change of dataset resets to that dataset's defaults (they fit the work budget): its epochs,
    batch size and teacher, and its teacher epochs (0 in the form: the preset's own)."""
    defaults = default_config(dataset)
    fields: dict[str, Any] = {"epochs": defaults.epochs, "batch_size": defaults.batch_size}
    fields |= model_fields("teacher", defaults.teacher)
    fields["teacher_epochs"] = defaults.teacher_epochs or 0
    return fields


def train_config_from_form(values: Mapping[str, Any]) -> TrainConfig:
    """The trainer's form (`TRAIN_FORM_FIELDS`) -> its run. Teacher epochs 0 mean the preset's own; a negative
    count is refused here (the queue's check refuses what is out of range for this server)."""
    teacher_epochs = int(values["teacher_epochs"])
    if teacher_epochs < 0:
        raise LabError("config.teacher_epochs_negative", epochs=teacher_epochs)
    return TrainConfig(
        dataset=str(values["dataset"]),
        teacher=model_name(values["teacher"], values.get("teacher_custom", "")),
        student=model_name(values["student"], values.get("student_custom", "")),
        epochs=int(values["epochs"]),
        teacher_epochs=teacher_epochs or None,
        batch_size=int(values["batch_size"]),
        lr=float(values["lr"]),
        temperature=float(values["temperature"]),
        alpha=float(values["alpha"]),
        seed=int(values["seed"]),
        device=str(values["device"]),
        label_smoothing=float(values["label_smoothing"]),
    )


# --- the sweep's form -------------------------------------------------------------------------------------------
def teacher_epochs_value(raw: object, max_epochs: int) -> int:
    """Teacher epochs from a link or the sweep's field: a whole number from 0 (the preset's own) to `max_epochs`."""
    text = str(raw).strip()
    if not text.isdigit() or not 0 <= int(text) <= max_epochs:
        raise LabError("config.teacher_epochs_range", max_epochs=max_epochs)
    return int(text)


def field_ok(name: str, value: object, max_epochs: int) -> bool:
    """Whether a typed T, alpha, student epochs or teacher epochs is allowed (`parse_field`'s ranges, the
    trainer's). A float is checked as typed (its repr: 1e+308 stays 1e+308)."""
    try:
        if name == "teacher_epochs":
            teacher_epochs_value(value, max_epochs)
        else:
            parse_field(name, repr(value) if isinstance(value, float) else str(value), max_epochs)
    except ValueError:
        return False
    return True


def sweep_base_config(
    *, dataset: str, teacher: str, student: str, epochs: object, teacher_epochs: object, device: str
) -> TrainConfig:
    """The sweep's shared settings -> the base run every cell varies: the trainer's defaults for `dataset`
    (batch size, teacher epochs when the field says 0), the chosen models, student epochs and device."""
    defaults = default_config(dataset)
    return replace(
        defaults,
        teacher=teacher,
        student=student,
        epochs=int(epochs),
        teacher_epochs=int(teacher_epochs) or defaults.teacher_epochs,
        device=device,
    )


def grid_sweep(base: TrainConfig, temperatures: list[float], alphas: list[float], seeds: int) -> SweepConfig:
    """The grid form's sweep: every chosen T × alpha (sorted, as the heatmap's axes), `seeds` replicates each."""
    return SweepConfig.grid(base, tuple(sorted(temperatures)), tuple(sorted(alphas)), seeds=seeds)


def room_sweep(base: TrainConfig, cells: list[dict[str, Any]], seeds: int) -> SweepConfig:
    """The room's sweep: the cells its learners submitted (`SweepRoom.cells()` rows), in that order."""
    return SweepConfig(base, tuple((c["temperature"], c["alpha"]) for c in cells), seeds=seeds)


def sweep_controls(base: TrainConfig) -> int:
    """How many control students each replicate of a sweep over `base` trains (the count the grid form shows):
    the baseline, the label-smoothing student when base.label_smoothing > 0, and any registered variant."""
    return len(control_variants(base))
