"""The trainer's form: deep-link defaults, the model choices, the run's fields and the Train button.

Part of pages/distillation.py (a module whose name starts with "_" is not a page). The form's values become a run
in the library (compression.distillation.forms.train_config_from_form); the queue checks and runs it.
"""

from __future__ import annotations

import streamlit as st

from compression.config import Settings
from compression.device import available_devices
from compression.distillation.data import DATASETS, dataset_available, missing_message
from compression.distillation.forms import (
    CUSTOM,
    TRAIN_FORM_FIELDS,
    dataset_default_fields,
    model_fields,
    train_config_from_form,
)
from compression.distillation.jobs import JobManager
from compression.distillation.kinds import train_config_from_payload
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS, describe, human_params
from compression.distillation.trainer import LINK_FIELDS, TrainConfig, default_config, parse_field
from pages._shared import dataset_label, is_presenter, lang, query_param, show_error, t, t_or


def config_line(config: dict) -> str:
    fields = ("dataset", "teacher", "teacher_epochs", "student", "epochs", "temperature", "alpha", "lr", "batch_size")
    return t("distillation.config_line", seed=config.get("seed"), **{name: config.get(name) for name in fields})


# --- the form -----------------------------------------------------------------------------------------------
def apply_deep_link(max_epochs: int) -> None:
    """Fill form fields that have no value yet from ?dataset=...&temperature=... (bad values warn and fall back).

    Runs on every script run: Streamlit forgets a widget's value when its page is left, so fields come
    back from the link or the defaults. Defaults are the chosen dataset's (`default_config`), as in the CLI.
    """
    if "distill_dataset" not in st.session_state:
        st.session_state["distill_dataset"] = query_param(
            "dataset", lambda raw: parse_field("dataset", raw, max_epochs), "digits"
        )
    defaults = default_config(st.session_state["distill_dataset"])
    for name in LINK_FIELDS:
        if f"distill_{name}" in st.session_state:
            continue
        default = getattr(defaults, name)
        value = query_param(name, lambda raw, name=name: parse_field(name, raw, max_epochs), default)
        set_field(name, value)
    st.session_state.setdefault("distill_teacher_epochs", defaults.teacher_epochs or 0)


def set_field(name: str, value) -> None:  # noqa: ANN001
    """Put one config value into its form widget(s): a model name becomes a preset or 'custom' + sizes."""
    fields = model_fields(name, value) if name in ("teacher", "student") else {name: value}
    for field, shown in fields.items():
        st.session_state[f"distill_{field}"] = shown


def use_dataset_defaults() -> None:
    """on_change of the dataset choice: its own default epochs, batch size and teacher (they fit the work budget)."""
    for field, value in dataset_default_fields(st.session_state["distill_dataset"]).items():
        st.session_state[f"distill_{field}"] = value


def dataset_detail(name: str) -> str:
    return t_or(f"distillation.datasets.{name.replace('-', '_')}.detail", DATASETS[name].description)


def preset_title(name: str, presets: dict) -> str:
    """A preset's short name for the select box (its full architecture is in the box's help)."""
    return t_or(f"distillation.presets.{name.replace('-', '_')}.title", presets[name].spec.title)


def presets_help(presets: dict) -> str:
    """Every preset's full description, one line each: the select box shows only short names."""
    lines = [
        t(
            "distillation.form.preset_line",
            title=preset_title(name, presets),
            detail=t_or(f"distillation.presets.{name.replace('-', '_')}.detail", preset.description),
        )
        for name, preset in presets.items()
    ]
    return "\n".join([*lines, f"- **{t('distillation.form.custom_model')}**"])


def model_label(name: str, presets: dict, input_shape: tuple[int, int, int]) -> str:
    if name == CUSTOM:
        return t("distillation.form.custom_model")
    params, _ = describe(presets[name].spec, input_shape)
    return t("distillation.form.model_option", title=preset_title(name, presets), params=human_params(params))


def training_form(settings: Settings, manager: JobManager, visitor: str) -> None:
    """The run form. Option labels are built here, in the visitor's language, and looked up by format_func
    (a dict's .get): format_func may be called outside the script run (AppTest does), where t() has no session."""
    devices = available_devices()
    st.session_state.setdefault("distill_device", settings.device if settings.device in devices else "auto")
    for key, value in {
        "distill_teacher_custom": "256,128",
        "distill_student_custom": "64",
        "distill_teacher_epochs": 0,
        "distill_label_smoothing": default_config().label_smoothing,
    }.items():
        st.session_state.setdefault(key, value)
    dataset, runnable = dataset_choice(settings)
    # The model choices sit above the form's fields (outside the form, so choosing "custom" shows its sizes at
    # once, and a preset hides them); one border holds both.
    box = st.container(border=True)
    model_choices(box, dataset)
    with box.form("distill_form", border=False, enter_to_submit=False):
        submitted, error_slot = run_fields(settings, devices, runnable)
    if submitted:
        train(manager, visitor, error_slot)
    duplicate_notice(manager, visitor)


def dataset_choice(settings: Settings) -> tuple[str, bool]:
    """The dataset select box (its count of datasets on this server) -> (dataset, whether it can be trained
    here), with a warning when its files are missing and downloads are off."""
    dataset = st.session_state.get("distill_dataset", "digits")
    present = [name for name in DATASETS if dataset_available(name, settings.data_dir)]
    st.selectbox(
        t("distillation.form.dataset_count", present=len(present), total=len(DATASETS)),
        list(DATASETS),
        format_func={n: dataset_label(n, settings.data_dir) for n in DATASETS}.get,
        key="distill_dataset",
        on_change=use_dataset_defaults,
        help=t("distillation.form.dataset_help"),
    )
    runnable = settings.allow_download or dataset in present
    if not runnable:
        st.warning(
            missing_message(dataset, settings.data_dir, lang=lang()) + " " + t("distillation.form.train_off"),
            icon=":material/folder_off:",
        )
    return dataset, runnable


def model_choices(box, dataset: str) -> None:  # noqa: ANN001 - a bordered container
    """The teacher and student select boxes, each option with its parameter count on `dataset`'s inputs."""
    shape = DATASETS.get(dataset, DATASETS["digits"]).input_shape
    box.markdown(t("distillation.form.heading"))
    box.caption(dataset_detail(dataset))
    for col, role, presets in zip(
        box.columns(2), ("teacher", "student"), (TEACHER_PRESETS, STUDENT_PRESETS), strict=True
    ):
        col.selectbox(
            t(f"distillation.form.{role}"),
            [*presets, CUSTOM],
            format_func={n: model_label(n, presets, shape) for n in [*presets, CUSTOM]}.get,
            key=f"distill_{role}",
            help=presets_help(presets),
        )


def run_fields(settings: Settings, devices: list[str], runnable: bool):  # noqa: ANN201 - (bool, a placeholder)
    """Inside the form: a custom model's sizes, the run's numbers, the device and the Train button ->
    (whether Train was pressed, the placeholder beside it that explains a refused run)."""
    custom = [role for role in ("teacher", "student") if st.session_state.get(f"distill_{role}") == CUSTOM]
    if custom:
        for col, role in zip(st.columns(2), ("teacher", "student"), strict=True):
            if role in custom:
                col.text_input(
                    t(f"distillation.form.{role}_custom"),
                    key=f"distill_{role}_custom",
                    help=t(f"distillation.form.{role}_custom_help"),
                )

    c1, c2, c3 = st.columns(3)
    c1.number_input(
        t("distillation.form.epochs"),
        step=50,
        key="distill_epochs",
        help=t("distillation.form.epochs_help", max_epochs=settings.max_epochs),
    )
    c2.number_input(
        t("distillation.form.teacher_epochs"),
        step=10,
        key="distill_teacher_epochs",
        help=t("distillation.form.teacher_epochs_help"),
    )
    c3.number_input(t("distillation.form.batch_size"), step=16, key="distill_batch_size")

    c1, c2, c3 = st.columns(3)
    c1.number_input(t("distillation.form.lr"), step=0.001, format="%.4f", key="distill_lr")
    c2.number_input(
        t("distillation.form.temperature"),
        step=0.5,
        format="%.2f",
        key="distill_temperature",
        help=t("distillation.form.temperature_help"),
    )
    c3.number_input(
        t("distillation.form.alpha"),
        step=0.05,
        format="%.2f",
        key="distill_alpha",
        help=t("distillation.form.alpha_help"),
    )

    c1, c2, _ = st.columns(3)
    c1.number_input(t("distillation.form.seed"), step=1, key="distill_seed")
    c2.selectbox(t("distillation.form.device"), devices, key="distill_device")
    st.caption(t("distillation.form.alpha_note"))
    row = st.container(horizontal=True, vertical_alignment="center")
    submitted = row.form_submit_button(
        t("distillation.form.train"),
        type="primary",
        icon=":material/play_arrow:",
        key="distill_train",
        disabled=not runnable,
    )
    return submitted, row.empty()  # a refused run is explained beside the Train button


def train(manager: JobManager, visitor: str, error_slot) -> None:  # noqa: ANN001 - a placeholder
    """Train pressed: the form's run (`forms.train_config_from_form`) is checked, then queued, or the identical
    stored run is opened at once (training it again is a choice: `duplicate_notice`)."""
    try:
        config = train_config_from_form({f: st.session_state.get(f"distill_{f}") for f in TRAIN_FORM_FIELDS})
        manager.check(config)  # a refused run is said first, even when an identical one is stored
        found = manager.identical(config)
    except ValueError as exc:  # includes StorageError: the message says what the owner can do
        with error_slot:
            show_error(exc, t("distillation.form.not_started"))
        return
    if found is None:
        submit_run(manager, config, visitor, error_slot)
    else:  # this exact run is stored: open it at once; training again is a choice
        st.session_state["distill_job"] = found
        st.session_state["distill_job_chosen"] = True
        st.session_state["distill_duplicate"] = {"run": found, "config": config.to_dict()}


def submit_run(manager: JobManager, config: TrainConfig, visitor: str, error_slot=None) -> None:  # noqa: ANN001
    """Queue the run; say why not beside the Train button (or here), or toast where it waits."""
    st.session_state.pop("distill_duplicate", None)
    try:
        job = manager.submit(config, owner=visitor, privileged=is_presenter())
    except ValueError as exc:  # includes StorageError: the message says what the owner can do
        with error_slot if error_slot is not None else st.container():
            show_error(exc, t("distillation.form.not_started"))
        return
    st.session_state["distill_job"] = job.id
    st.session_state["distill_job_chosen"] = True
    if manager.starts_at_once(job.id):
        st.toast(t("distillation.toast.running", job=job.id), icon=":material/model_training:")
    else:
        st.toast(t("distillation.toast.queued", job=job.id, position=job.position), icon=":material/model_training:")


def duplicate_notice(manager: JobManager, visitor: str) -> None:
    """An identical run was opened instead of training it again: say so, and offer "Train again" on purpose."""
    duplicate = st.session_state.get("distill_duplicate")
    if not duplicate or st.session_state.get("distill_job") != duplicate["run"]:
        return
    box = st.container(horizontal=True, vertical_alignment="center", key="distill_duplicate_box")
    box.info(t("distillation.duplicate.done", run=duplicate["run"]), icon=":material/content_copy:")
    if box.button(t("distillation.duplicate.again"), key="distill_train_again", icon=":material/replay:"):
        submit_run(manager, train_config_from_payload(duplicate["config"]), visitor)
        st.rerun()
