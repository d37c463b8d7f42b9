"""The sweep's inputs: its deep link, the shared settings, the grid form, the room's form and table, and the
presenter's controls.

Part of pages/sweep.py (a module whose name starts with "_" is not a page). The form's values become a sweep in
the library (compression.distillation.forms); the queue checks and runs it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compression.config import Settings
from compression.distillation.data import DATASETS
from compression.distillation.forms import (
    field_ok,
    grid_sweep,
    room_sweep,
    sweep_base_config,
    sweep_controls,
    teacher_epochs_value,
)
from compression.distillation.jobs import JobManager, JobSnapshot
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS
from compression.distillation.store import check_run_id
from compression.distillation.sweep import DEFAULT_ALPHAS, DEFAULT_TEMPERATURES, SweepConfig, SweepRoom
from compression.distillation.trainer import MAX_TEMPERATURE, MIN_TEMPERATURE, TrainConfig, parse_field
from pages._shared import dataset_label, presenter_login, query_param, show_error, t, t_or

T_OPTIONS = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0]
ALPHA_OPTIONS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]


def preset_title(name: str) -> str:
    """A teacher or student preset's short name (the trainer page's), in the visitor's language."""
    preset = TEACHER_PRESETS.get(name) or STUDENT_PRESETS[name]
    return t_or(f"distillation.presets.{name.replace('-', '_')}.title", preset.spec.title)


# --- inputs -------------------------------------------------------------------------------------------------
# The sweep's deep-link parameters (/sweep?teacher=article-teacher&teacher_epochs=50&epochs=300); ?sweep=<id>
# opens that sweep (the trainer's queue links a sweep's Watch here).
LINK_NAMES = ("dataset", "teacher", "student", "epochs", "teacher_epochs", "sweep")


def sweep_id(raw: str) -> str:
    """A sweep id from a link: a stored job's id (letters, digits, - and _)."""
    try:
        return check_run_id(raw.strip())
    except ValueError as exc:
        raise ValueError(t("sweep.link_not_sweep", value=raw)) from exc


def apply_deep_link(max_epochs: int, room_job: str | None = None) -> None:
    """Fill the shared settings from ?dataset=&teacher=&student=&epochs=&teacher_epochs=, once per link, and
    watch ?sweep=<id> (over the room's current sweep, `room_job`; a newer room sweep still moves the tab).

    Every refused value says which parameter was ignored and why (`query_param`, as on every page), including
    a model the trainer accepts but the sweep does not offer (a student preset as the teacher, custom sizes).
    The same link is applied once per session (the visitor's later changes stay); a different one again.
    """
    link = tuple((name, st.query_params.get(name)) for name in LINK_NAMES)
    if st.session_state.get("sweep_link_applied") == link:
        return
    st.session_state["sweep_link_applied"] = link

    def choice(name: str, options: dict, raw: str) -> str:
        """One of the page's own choices (the trainer's parser also takes custom sizes, which the sweep does not
        offer, and words an unknown name in English only)."""
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(t(f"sweep.link_not_{name}", value=raw, choices=", ".join(options)))
        return value

    parsers = {
        "dataset": lambda raw: choice("dataset", DATASETS, raw),
        "teacher": lambda raw: choice("teacher", TEACHER_PRESETS, raw),
        "student": lambda raw: choice("student", STUDENT_PRESETS, raw),
        "epochs": lambda raw: parse_field("epochs", raw, max_epochs),
        "teacher_epochs": lambda raw: teacher_epochs_value(raw, max_epochs),
        "sweep": sweep_id,
    }
    for name in LINK_NAMES:
        value = query_param(name, parsers[name], None)
        if value is None:
            continue
        if name == "sweep":
            st.session_state["sweep_job"] = value
            st.session_state["sweep_room_seen"] = room_job
        else:
            st.session_state[f"sweep_{name}"] = value


def shown_number(value: object) -> str:
    """A typed number as the visitor typed it, short: -1, 1.5, 1e+308."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def field_problem(name: str, value: object, max_epochs: int) -> str | None:
    """Why a typed T, alpha, student or teacher epochs is refused (with the allowed range), or None when it is fine.

    The library decides (`forms.field_ok`: the trainer's ranges); the page only words it next to the field.
    """
    if field_ok(name, value, max_epochs):
        return None
    low, high = (MIN_TEMPERATURE, MAX_TEMPERATURE) if name == "temperature" else (0, max_epochs)
    return t(f"sweep.field.{name}", value=shown_number(value), low=low, high=high)


def refuse_in(where, problem: str | None, key: str) -> None:  # noqa: ANN001 - a column or the page
    """Draw a refusal next to its field (in the field's own column), keyed so tests can find it."""
    if problem:
        where.container(key=key).error(problem, icon=":material/error:")


def base_config(settings: Settings) -> tuple[TrainConfig, int, bool]:
    """The shared settings expander -> (base TrainConfig, seeds per cell, whether every field is in range)."""
    with st.expander(f":material/settings: {t('sweep.settings')}", expanded=False):
        c1, c2, c3 = st.columns([4, 3, 3])  # the dataset's title is the longest label
        # Labels built in this run (a format_func reading the language later would not see this session's).
        dataset_labels = {name: dataset_label(name, settings.data_dir) for name in DATASETS}
        dataset = c1.selectbox(
            t("sweep.dataset"), list(DATASETS), format_func=dataset_labels.__getitem__, key="sweep_dataset"
        )
        teacher_default = DATASETS[dataset].default_teacher
        teacher = c2.selectbox(
            t("sweep.teacher"),
            list(TEACHER_PRESETS),
            index=list(TEACHER_PRESETS).index(teacher_default) if teacher_default in TEACHER_PRESETS else 0,
            format_func={n: preset_title(n) for n in TEACHER_PRESETS}.get,
            key="sweep_teacher",
        )
        student = c3.selectbox(
            t("sweep.student"),
            list(STUDENT_PRESETS),
            format_func={n: preset_title(n) for n in STUDENT_PRESETS}.get,
            key="sweep_student",
        )
        c4, c5, c6 = st.columns(3)
        st.session_state.setdefault("sweep_epochs", 300)
        st.session_state.setdefault("sweep_teacher_epochs", 0)
        # No min/max on the widgets: Streamlit would drop an out-of-range value silently (a red icon, the old
        # value kept). The value reaches the page, which refuses it next to the field and starts nothing.
        epochs = c4.number_input(t("sweep.epochs"), step=50, key="sweep_epochs")
        refuse_in(c4, field_problem("epochs", epochs, settings.max_epochs), "sweep_epochs_problem")
        teacher_epochs = c5.number_input(t("sweep.teacher_epochs"), step=10, key="sweep_teacher_epochs")
        refuse_in(
            c5, field_problem("teacher_epochs", teacher_epochs, settings.max_epochs), "sweep_teacher_epochs_problem"
        )
        seeds = c6.segmented_control(
            t("sweep.seeds"), [1, 3], default=1, key="sweep_seeds", help=t("sweep.seeds_help"), required=True
        )
    valid = not any(
        field_problem(name, value, settings.max_epochs)
        for name, value in (("epochs", epochs), ("teacher_epochs", teacher_epochs))
    )
    # The trainer's defaults for this dataset (batch size, teacher epochs), with the chosen models and epochs.
    base = sweep_base_config(
        dataset=dataset,
        teacher=teacher,
        student=student,
        epochs=epochs,
        teacher_epochs=teacher_epochs,
        device=settings.device,
    )
    return base, int(seeds or 1), valid


def submit_sweep(manager: JobManager, sweep: SweepConfig, visitor: str) -> JobSnapshot | None:
    try:
        job = manager.submit(sweep, owner=visitor)
    except ValueError as exc:
        show_error(exc, t("sweep.not_started"))
        return None
    st.session_state["sweep_job"] = job.id
    where = t("sweep.where_running") if job.status == "running" else t("sweep.where_queued", position=job.position)
    st.toast(t("sweep.queued_toast", id=job.id, where=where), icon=":material/grid_on:")
    return job


def grid_form(manager: JobManager, base: TrainConfig, seeds: int, visitor: str, valid: bool) -> None:
    c1, c2 = st.columns(2)
    temperatures = c1.multiselect(
        t("sweep.temperatures"), T_OPTIONS, default=list(DEFAULT_TEMPERATURES), key="sweep_grid_t"
    )
    refuse_in(c1, None if temperatures else t("sweep.field.grid_temperatures"), "sweep_grid_t_problem")
    alphas = c2.multiselect(t("sweep.alphas"), ALPHA_OPTIONS, default=list(DEFAULT_ALPHAS), key="sweep_grid_alpha")
    refuse_in(c2, None if alphas else t("sweep.field.grid_alphas"), "sweep_grid_alpha_problem")
    sweep = grid_sweep(base, temperatures, alphas, seeds)
    controls = sweep_controls(base)
    st.markdown(
        t("sweep.grid_count", cells=len(sweep.cells), controls=controls, seeds=seeds, students=len(sweep.students()))
    )
    if st.button(t("sweep.start_grid"), key="sweep_grid_start", type="primary", icon=":material/play_arrow:"):
        if not valid or not sweep.cells:
            st.error(t("sweep.fix_fields"), icon=":material/error:")
        else:
            submit_sweep(manager, sweep, visitor)


def room_form(room: SweepRoom, visitor: str, max_epochs: int) -> None:
    st.markdown(f"**{t('sweep.room_header')}**")
    st.caption(t("sweep.room_caption"))
    # No min/max on the widgets (see base_config): an out-of-range T or alpha is refused here, in words.
    c1, c2 = st.columns(2)
    temperature = c1.number_input(t("sweep.your_t"), value=4.0, step=1.0, key="sweep_room_t")
    t_problem = field_problem("temperature", temperature, max_epochs)
    refuse_in(c1, t_problem, "sweep_room_t_problem")
    a = c2.number_input(t("sweep.your_alpha"), value=0.9, step=0.1, key="sweep_room_alpha")
    alpha_problem = field_problem("alpha", a, max_epochs)
    refuse_in(c2, alpha_problem, "sweep_room_alpha_problem")
    if st.button(t("sweep.submit_cell"), key="sweep_room_submit", icon=":material/send:"):
        if t_problem or alpha_problem:
            st.error(t("sweep.cell_not_submitted"), icon=":material/error:")
            return
        try:
            temperature, a = room.submit(visitor, temperature, a)
        except ValueError as exc:
            show_error(exc, t("sweep.not_started"))
        else:
            st.toast(t("sweep.submitted", t=temperature, a=a), icon=":material/check:")


def room_panel(room: SweepRoom, visitor: str) -> None:
    """Polled: the cells the room has submitted; a sweep the presenter started redraws the whole page."""
    cells = room.cells()
    with st.container(border=True, key="sweep_room"):
        st.markdown(t("sweep.room_table", n=len(cells)))
        mine = room.mine(visitor)
        if mine is not None:
            st.caption(t("sweep.yours", t=mine[0], a=mine[1]))
        if cells:
            st.dataframe(
                pd.DataFrame(cells).rename(columns={"temperature": "T", "learners": t("sweep.room_learners")}),
                hide_index=True,
                width="stretch",
                key="sweep_room_table",
            )
        else:
            st.caption(t("sweep.room_empty"))
    if room.job_id and room.job_id != st.session_state.get("sweep_room_seen"):
        st.session_state["sweep_room_seen"] = room.job_id
        st.session_state["sweep_job"] = room.job_id
        st.rerun(scope="app")


def presenter_controls(
    manager: JobManager, room: SweepRoom, base: TrainConfig, seeds: int, visitor: str, valid: bool
) -> None:
    with st.container(border=True, key="sweep_presenter"):
        st.markdown(f"**:material/co_present: {t('sweep.presenter')}**")
        if not presenter_login("sweep"):
            return
        c1, c2 = st.columns(2)
        if c1.button(t("sweep.start_room"), key="sweep_room_start", type="primary", icon=":material/play_arrow:"):
            cells = room.cells()
            if not cells:
                st.warning(t("sweep.nothing_submitted"), icon=":material/info:")
            elif not valid:
                st.error(t("sweep.fix_fields"), icon=":material/error:")
            else:
                job = submit_sweep(manager, room_sweep(base, cells, seeds), visitor)
                if job is not None:
                    room.started(job.id)
                    st.session_state["sweep_room_seen"] = job.id
        if c2.button(t("sweep.clear_room"), key="sweep_room_clear", icon=":material/delete_sweep:"):
            room.clear()
