"""compression.distillation.forms: the trainer's and the sweep's form values become the jobs they start."""

from __future__ import annotations

import pytest

from compression.distillation.forms import (
    CUSTOM,
    TRAIN_FORM_FIELDS,
    dataset_default_fields,
    field_ok,
    grid_sweep,
    model_fields,
    model_name,
    room_sweep,
    sweep_base_config,
    sweep_controls,
    teacher_epochs_value,
    train_config_from_form,
)
from compression.distillation.trainer import TrainConfig, default_config
from compression.i18n import LabError

FORM = {
    "dataset": "digits",
    "teacher": "article-teacher",
    "teacher_custom": "256,128",
    "student": CUSTOM,
    "student_custom": " 32, 16 ",
    "epochs": 40,
    "teacher_epochs": 0,
    "batch_size": 32,
    "lr": 0.002,
    "temperature": 3.0,
    "alpha": 0.7,
    "seed": 5,
    "device": "cpu",
    "label_smoothing": 0.0,
}


def test_the_form_becomes_its_run():
    assert set(FORM) == set(TRAIN_FORM_FIELDS)
    config = train_config_from_form(FORM)
    assert config == TrainConfig(
        dataset="digits",
        teacher="article-teacher",
        student="mlp:32,16",
        epochs=40,
        teacher_epochs=None,  # 0 in the form: the preset's own
        batch_size=32,
        lr=0.002,
        temperature=3.0,
        alpha=0.7,
        seed=5,
        device="cpu",
        label_smoothing=0.0,
    )
    assert train_config_from_form({**FORM, "teacher_epochs": 12}).teacher_epochs == 12


def test_widget_values_are_converted_as_the_form_holds_them():
    """Streamlit's number inputs give floats for whole numbers typed with a step; the run gets ints."""
    config = train_config_from_form({**FORM, "epochs": 40.0, "seed": 5.0, "batch_size": 32.0})
    assert (config.epochs, config.seed, config.batch_size) == (40, 5, 32)
    assert all(isinstance(v, int) for v in (config.epochs, config.seed, config.batch_size))


def test_negative_teacher_epochs_are_refused_in_both_languages():
    with pytest.raises(LabError) as caught:
        train_config_from_form({**FORM, "teacher_epochs": -3})
    assert str(caught.value) == "Teacher epochs must be 0 (the preset's) or more, got -3."
    assert caught.value.message("zh") == "教师训练轮数必须为 0（预设值）或更大，当前为 -3。"


def test_model_names_and_form_fields_round_trip():
    assert model_name("cnn-small") == "cnn-small"
    assert model_name(CUSTOM, "64, 32") == "mlp:64,32"
    assert model_fields("teacher", "cnn-small") == {"teacher": "cnn-small"}
    assert model_fields("student", "mlp:64,32") == {"student": CUSTOM, "student_custom": "64,32"}
    fields = model_fields("student", "mlp:64,32")
    assert model_name(fields["student"], fields["student_custom"]) == "mlp:64,32"
    with pytest.raises(ValueError):
        model_fields("teacher", "not-a-model")


def test_a_change_of_dataset_resets_its_own_defaults():
    for dataset in ("digits", "mnist"):
        defaults = default_config(dataset)
        fields = dataset_default_fields(dataset)
        assert fields["epochs"] == defaults.epochs and fields["batch_size"] == defaults.batch_size
        assert model_name(fields["teacher"], fields.get("teacher_custom")) == defaults.teacher
        assert fields["teacher_epochs"] == (defaults.teacher_epochs or 0)
    assert dataset_default_fields("mnist") != dataset_default_fields("digits")


def test_the_sweep_checks_its_fields_with_the_trainers_ranges():
    assert field_ok("temperature", 4.0, 2000) and field_ok("alpha", 0.5, 2000) and field_ok("epochs", 300, 2000)
    assert not field_ok("temperature", 1e308, 2000)
    assert not field_ok("temperature", 0.0, 2000)
    assert not field_ok("alpha", 1.5, 2000)
    assert not field_ok("epochs", 0, 2000) and not field_ok("epochs", 2001, 2000)
    assert field_ok("teacher_epochs", 0, 50) and field_ok("teacher_epochs", 50, 50)
    assert not field_ok("teacher_epochs", 51, 50) and not field_ok("teacher_epochs", -1, 50)
    assert teacher_epochs_value(" 7 ", 50) == 7
    with pytest.raises(LabError) as caught:
        teacher_epochs_value("-3", 50)
    assert str(caught.value) == "teacher_epochs must be a whole number from 0 to 50."
    assert caught.value.message("zh") == "teacher_epochs 必须是 0 到 50 之间的整数。"


def test_the_sweeps_base_run_uses_the_datasets_defaults():
    """The issue's bug: the sweep built its base without default_config(dataset) (batch 64 on MNIST)."""
    base = sweep_base_config(
        dataset="mnist", teacher="article-teacher", student="article-student", epochs=30, teacher_epochs=0, device="cpu"
    )
    defaults = default_config("mnist")
    assert base.batch_size == defaults.batch_size
    assert base.teacher_epochs == defaults.teacher_epochs
    assert (base.teacher, base.student, base.epochs, base.device) == ("article-teacher", "article-student", 30, "cpu")
    assert sweep_base_config(
        dataset="mnist", teacher="article-teacher", student="article-student", epochs=30, teacher_epochs=4, device="cpu"
    ).teacher_epochs == 4  # fmt: skip


def test_grid_and_room_sweeps():
    base = default_config("digits")
    grid = grid_sweep(base, [4.0, 1.0], [0.9, 0.1], seeds=3)
    assert grid.cells == ((1.0, 0.1), (1.0, 0.9), (4.0, 0.1), (4.0, 0.9))  # sorted, as the heatmap's axes
    assert grid.seeds == 3
    room = room_sweep(base, [{"temperature": 8.0, "alpha": 0.5, "learners": 2}, {"temperature": 2.0, "alpha": 1.0}], 1)
    assert room.cells == ((8.0, 0.5), (2.0, 1.0))
    assert sweep_controls(base) == 2  # the baseline and the label-smoothing student
    assert sweep_controls(TrainConfig(label_smoothing=0.0)) == 1
    assert len(grid.students()) == 3 * (4 + sweep_controls(base))
