"""Distillation sweep: a temperature × alpha grid of students trained as one batched job, chosen or filled by the room.

The sweep runs in the shared JobManager's worker (one job in the same queue as single runs), never in this
script. Library: compression/distillation/sweep.py. A fragment polls the watched job only while it is active.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression.config import Settings
from compression.distillation.data import DATASETS
from compression.distillation.jobs import JobManager, JobSnapshot
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS
from compression.distillation.report import metrics_csv
from compression.distillation.store import SweepRecord
from compression.distillation.sweep import (
    DEFAULT_ALPHAS,
    DEFAULT_TEMPERATURES,
    SweepConfig,
    SweepRoom,
    heatmap_frames,
    summary_csv,
    sweep_history_frame,
)
from compression.distillation.sweep import verdict_text as sweep_verdict_text
from compression.distillation.trainer import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    TrainConfig,
    default_config,
    parse_field,
)
from pages._shared import (
    dataset_label,
    escape_markdown,
    get_manager,
    is_presenter,
    job_message,
    lang,
    presenter_login,
    query_param,
    require_router,
    show_error,
    t,
    t_or,
    visitor_id,
)

POLL_ACTIVE_S = 1.0
POLL_ROOM_S = 3.0
LIVE_POINTS = 150
T_OPTIONS = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0]
ALPHA_OPTIONS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
CONTROL_COLORS = {"baseline": "#e07b39", "smoothing": "#3a9d5d", "teacher": "#1c2333"}


def preset_title(name: str) -> str:
    """A teacher or student preset's short name (the trainer page's), in the visitor's language."""
    preset = TEACHER_PRESETS.get(name) or STUDENT_PRESETS[name]
    return t_or(f"distillation.presets.{name.replace('-', '_')}.title", preset.spec.title)


@st.cache_resource(show_spinner=False)
def get_room() -> SweepRoom:
    """The room's submitted cells, shared by every session of this server."""
    return SweepRoom()


# --- inputs -------------------------------------------------------------------------------------------------
# The sweep's deep-link parameters (/sweep?teacher=article-teacher&teacher_epochs=50&epochs=300). A comment, not
# a docstring: Streamlit's magic would draw a bare string on the page.
LINK_NAMES = ("dataset", "teacher", "student", "epochs", "teacher_epochs")


def apply_deep_link(max_epochs: int) -> None:
    """Fill the shared settings from ?dataset=&teacher=&student=&epochs=&teacher_epochs=, once per link.

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
    }
    for name in LINK_NAMES:
        value = query_param(name, parsers[name], None)
        if value is not None:
            st.session_state[f"sweep_{name}"] = value


def teacher_epochs_value(raw: object, max_epochs: int) -> int:
    """Teacher epochs from a link or the field: a whole number from 0 (the preset's own) to `max_epochs`."""
    text = str(raw).strip()
    if not text.isdigit() or not 0 <= int(text) <= max_epochs:
        raise ValueError(t("sweep.teacher_epochs_bad", max_epochs=max_epochs))
    return int(text)


def shown_number(value: object) -> str:
    """A typed number as the visitor typed it, short: -1, 1.5, 1e+308."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def field_problem(name: str, value: object, max_epochs: int) -> str | None:
    """Why a typed T, alpha, student or teacher epochs is refused (with the allowed range), or None when it is fine.

    The library decides (`parse_field`, `validate_config`'s ranges); the page only words it next to the field.
    """
    try:
        if name == "teacher_epochs":
            teacher_epochs_value(value, max_epochs)
        else:
            parse_field(name, repr(value) if isinstance(value, float) else str(value), max_epochs)
    except ValueError:
        low, high = (MIN_TEMPERATURE, MAX_TEMPERATURE) if name == "temperature" else (0, max_epochs)
        return t(f"sweep.field.{name}", value=shown_number(value), low=low, high=high)
    return None


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
    defaults = default_config(dataset)  # the trainer's defaults for this dataset (batch size, teacher epochs)
    base = replace(
        defaults,
        teacher=teacher,
        student=student,
        epochs=int(epochs),
        teacher_epochs=int(teacher_epochs) or defaults.teacher_epochs,
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
    sweep = SweepConfig.grid(base, tuple(sorted(temperatures)), tuple(sorted(alphas)), seeds=seeds)
    controls = 2 if base.label_smoothing > 0 else 1
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
            cells = tuple((c["temperature"], c["alpha"]) for c in room.cells())
            if not cells:
                st.warning(t("sweep.nothing_submitted"), icon=":material/info:")
            elif not valid:
                st.error(t("sweep.fix_fields"), icon=":material/error:")
            else:
                job = submit_sweep(manager, SweepConfig(base, cells, seeds=seeds), visitor)
                if job is not None:
                    room.started(job.id)
                    st.session_state["sweep_room_seen"] = job.id
        if c2.button(t("sweep.clear_room"), key="sweep_room_clear", icon=":material/delete_sweep:"):
            room.clear()


# --- live view ------------------------------------------------------------------------------------------------
def curves(history: list[dict] | pd.DataFrame, key: str, max_points: int | None) -> None:
    frame = sweep_history_frame(
        history.to_dict("records") if isinstance(history, pd.DataFrame) else history, max_points=max_points
    )
    if frame.empty:
        return
    fig = go.Figure()
    for model, group in frame.groupby("model", sort=False):
        name = str(model)
        kind = name.split(" ")[0]
        style = {"color": CONTROL_COLORS[kind], "dash": "dash" if kind != "teacher" else "dot", "width": 3} if (
            kind in CONTROL_COLORS) else {"width": 1.5}  # fmt: skip
        shown = name.replace(kind, t(f"sweep.kind.{kind}"), 1) if kind in CONTROL_COLORS else name
        fig.add_trace(go.Scatter(x=group["epoch"], y=group["test accuracy %"], name=shown, mode="lines", line=style))
    students = frame[frame["model"] != "teacher"]["test accuracy %"]
    low = float(students.quantile(0.1)) if not students.empty else 0.0
    fig.update_layout(height=420, margin={"t": 30, "b": 40}, legend={"orientation": "h", "y": -0.2}, hovermode="x")
    fig.update_xaxes(title=t("sweep.epoch_axis"))
    fig.update_yaxes(title=t("sweep.accuracy_axis"), range=[max(0.0, low - 5), 100.5])
    st.plotly_chart(fig, key=key, width="stretch")


def live_panel(manager: JobManager, visitor: str) -> None:
    watched = st.session_state.get("sweep_job")
    snap = manager.snapshot(watched) if watched else None
    if snap is None:
        return
    if not snap.active:
        if st.session_state.get("sweep_drawn_active") == snap.id:
            st.rerun(scope="app")  # it finished since the page was drawn: draw the results
        return
    with st.container(key="sweep_live"):
        st.subheader(t("sweep.live_header"), anchor=False)
        if snap.status == "queued":
            st.info(t("sweep.waiting", id=snap.id, position=snap.position), icon=":material/hourglass_top:")
        else:
            who = t("sweep.you") if snap.owner == visitor else t("sweep.other")
            st.progress(
                min(1.0, snap.fraction),
                text=t(
                    "sweep.status",
                    phase=t_or(f"distillation.phase.{snap.phase}", snap.phase),
                    message=job_message(snap),  # "Training 4 students as one batch…" in the visitor's language
                    who=who,
                ),
            )
            curves(snap.history, key=f"sweep_live_{snap.id}", max_points=LIVE_POINTS)
        st.button(
            t("sweep.cancel"),
            key=f"sweep_cancel_{snap.id}",
            icon=":material/cancel:",
            disabled=snap.owner != visitor or snap.cancel_requested,
            on_click=manager.cancel,
            args=(snap.id, visitor),
        )


# --- results ------------------------------------------------------------------------------------------------
def heatmap(pivot: pd.DataFrame, title: str, *, center: float | None, marks: dict[str, float], fmt: str) -> go.Figure:
    """T on the y axis, alpha on the x axis; the controls marked on the colour bar (and centred at 0 for gains)."""
    z = pivot.to_numpy()
    low, high = float(pd.DataFrame(z).min().min()), float(pd.DataFrame(z).max().max())
    for value in marks.values():
        low, high = min(low, value), max(high, value)
    colorbar: dict = {"title": {"text": ""}}
    if marks:
        colorbar.update(
            tickvals=list(marks.values()), ticktext=[f"{t(f'sweep.kind.{k}')} {v:{fmt}}" for k, v in marks.items()]
        )
    kwargs: dict = {"zmin": low, "zmax": high, "colorscale": "Viridis"}
    if center is not None:
        span = max(abs(low - center), abs(high - center), 1e-6)
        kwargs = {"zmid": center, "zmin": center - span, "zmax": center + span, "colorscale": "RdBu"}
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"α={a:g}" for a in pivot.columns],
            y=[f"T={temperature:g}" for temperature in pivot.index],
            text=[[("" if pd.isna(v) else f"{v:{fmt}}") for v in row] for row in z],
            texttemplate="%{text}",
            colorbar=colorbar,
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            **kwargs,
        )
    )
    fig.update_layout(title=title, height=360, margin={"t": 50, "b": 30, "l": 10, "r": 10})
    fig.update_yaxes(type="category")
    fig.update_xaxes(type="category")
    return fig


def control_title(kind: str) -> str | None:
    """A control's (or the teacher's) name in the visitor's language; None for a distilled cell (named T=… α=…)."""
    return t(f"sweep.kind.{kind}") if kind in CONTROL_COLORS else None


def stored_results(record: SweepRecord, manager: JobManager) -> None:
    status = t_or(f"distillation.state.{record.status}", record.status)
    st.subheader(t("sweep.results", id=record.id, status=status), anchor=False)
    if record.status == "failed":
        st.error(t("sweep.failed", error=record.error), icon=":material/error:")
    elif record.status == "cancelled":
        st.info(t("sweep.cancelled"), icon=":material/cancel:")
    elif record.status == "interrupted":
        st.warning(t("sweep.interrupted", error=record.error), icon=":material/warning:")
    results = record.results
    if not results:
        return
    verdict = results.get("verdict", {})
    # The verdict is data (its figures); it is said in the visitor's language (sweep.verdict_text).
    seeds = (results.get("config") or {}).get("seeds") or (record.config or {}).get("seeds")
    (st.success if verdict.get("kind") == "clear" else st.warning)(
        escape_markdown(sweep_verdict_text(verdict, lang(), seeds=seeds)), icon=":material/balance:"
    )
    summary = results.get("summary", [])
    accuracy, gain, controls = heatmap_frames(summary)
    teacher = 100 * results["teacher"]["test_accuracy"]
    st.caption(
        t(
            "sweep.controls",
            baseline=f"{controls['baseline']:.2f}%" if "baseline" in controls else t("sweep.not_trained"),
            smoothing=f"{controls['smoothing']:.2f}%" if "smoothing" in controls else t("sweep.not_trained"),
            teacher=f"{teacher:.2f}%",
        )
    )
    if not accuracy.empty:
        left, right = st.columns(2)
        with left, st.container(key="sweep_heatmap_accuracy"):
            st.plotly_chart(
                heatmap(accuracy, t("sweep.heat_acc"), center=None, marks=controls, fmt=".1f"),
                key=f"sweep_heat_acc_{record.id}",
                width="stretch",
            )
        if gain is not None:
            marks = {"baseline": 0.0}
            if "smoothing" in controls:
                marks["smoothing"] = controls["smoothing"] - controls["baseline"]
            with right, st.container(key="sweep_heatmap_gain"):
                st.plotly_chart(
                    heatmap(gain, t("sweep.heat_gain"), center=0.0, marks=marks, fmt="+.1f"),
                    key=f"sweep_heat_gain_{record.id}",
                    width="stretch",
                )
    table = pd.DataFrame(summary)
    if not table.empty:
        table = table.assign(
            **{"test accuracy %": 100 * table["test_accuracy"], "± std": 100 * table["std"].astype(float)}
        )[["name", "test accuracy %", "± std", "kind", "temperature", "alpha", "seeds", "agreement"]]
        table = table.assign(
            # The library names a control by its role ("baseline", "smoothing"): shown in the visitor's language.
            name=[control_title(k) or n for k, n in zip(table["kind"], table["name"], strict=True)],
            kind=table["kind"].map(lambda k: t_or(f"sweep.kind.{k}", k)),
            # A control has no temperature: a dash, not the grid's "None".
            temperature=[t("sweep.no_value") if pd.isna(v) else f"{v:g}" for v in table["temperature"]],
        )
        if table["± std"].isna().all():  # one seed per cell: no spread to show (the grid would read "None")
            table = table.drop(columns=["± std"])
        st.markdown(f"**{t('sweep.table')}**")
        st.dataframe(
            table.sort_values("test accuracy %", ascending=False),
            hide_index=True,
            width="stretch",
            key="sweep_cells_table",
            column_config={
                "name": st.column_config.TextColumn(t("sweep.col.name"), pinned=True),
                "kind": t("sweep.col.kind"),
                "temperature": st.column_config.TextColumn(t("sweep.col.temperature")),
                "alpha": st.column_config.NumberColumn(t("sweep.col.alpha"), format="%g"),
                "seeds": t("sweep.col.seeds"),
                "test accuracy %": st.column_config.NumberColumn(t("sweep.col.test_accuracy"), format="%.2f"),
                "± std": st.column_config.NumberColumn(t("sweep.col.std"), format="%.2f"),
                "agreement": st.column_config.NumberColumn(t("sweep.col.agreement"), format="percent"),
            },
        )
    st.caption(
        t(
            "sweep.seconds",
            students=len(record.cells),
            seconds=results.get("seconds", 0.0),
            device=results.get("device", record.device),
            cache=t("sweep.cache") if results.get("teacher_from_cache") else "",
        )
    )
    if not record.history.empty:
        curves(record.history, key=f"sweep_run_{record.id}", max_points=300)
    d1, d2, d3 = st.columns(3)
    d1.download_button(
        t("sweep.download_csv"), summary_csv(summary), file_name=f"sweep-{record.id}-cells.csv", mime="text/csv",
        icon=":material/download:", key="sweep_download_cells",
    )  # fmt: skip
    d2.download_button(
        t("sweep.download_metrics"), metrics_csv(record.history), file_name=f"sweep-{record.id}-metrics.csv",
        mime="text/csv", icon=":material/download:", key="sweep_download_metrics",
    )  # fmt: skip
    best = manager.store.weights_path(record.id, "best")
    if best is not None:
        d3.download_button(
            t("sweep.download_best"), best.read_bytes(), file_name=f"sweep-{record.id}-best.safetensors",
            mime="application/octet-stream", icon=":material/download:", key="sweep_download_best",
        )  # fmt: skip


def history_columns() -> dict:
    """Sweep history columns with fixed widths, so the table fits a laptop; the date is in the Reopen label."""
    text, number = st.column_config.TextColumn, st.column_config.NumberColumn
    return {
        "id": text(t("sweep.hist.id"), width=105, pinned=True),
        "created": None,
        "status": text(t("sweep.hist.status"), width=80),
        "dataset": text(t("sweep.hist.dataset"), width=95),
        "student": text(t("sweep.hist.student"), width=110),
        "epochs": number(t("sweep.hist.epochs"), width=55),
        "cells": number(t("sweep.hist.cells"), width=55),
        "seeds": number(t("sweep.hist.seeds"), width=55),
        "best cell": text(t("sweep.hist.best_cell"), width=90),
        "best %": number(t("sweep.hist.best"), format="%.2f", width=70),
        "baseline %": number(t("sweep.hist.baseline"), format="%.2f", width=80),
    }


def history_panel(manager: JobManager) -> None:
    st.subheader(t("sweep.history"), anchor=False)
    sweeps = manager.store.sweeps.list_sweeps(limit=50)
    if sweeps.empty:
        st.caption(t("sweep.no_history"))
        return
    shown = sweeps.drop(columns=["error"])
    shown = shown.assign(status=shown["status"].map(lambda s: t_or(f"distillation.state.{s}", s)))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="sweep_history_table",
        column_config=history_columns(),
    )
    labels = {
        row.id: t(
            "sweep.reopen_option",
            id=row.id,
            created=f"{row.created:%Y-%m-%d %H:%M}",
            dataset=row.dataset,
            cells=row.cells,
        )
        for row in sweeps.itertuples()
    }
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    choice = c1.selectbox(t("sweep.reopen"), list(labels), format_func=labels.get, key="sweep_reopen_choice")
    if c2.button(t("sweep.open"), key="sweep_reopen", icon=":material/open_in_new:"):
        st.session_state["sweep_job"] = choice
        st.rerun()


# --- the page -------------------------------------------------------------------------------------------------
require_router()
st.title(t("sweep.title"), anchor=False)
st.markdown(t("sweep.intro"))
try:
    settings = Settings.from_env()
    manager = get_manager(settings)
except (ValueError, OSError) as exc:
    show_error(exc, t("sweep.not_started"))
    st.stop()
room = get_room()
visitor = visitor_id()
if st.session_state.get("sweep_job") is None and room.job_id:
    # A fresh visit watches the room's sweep from its first run. Adopted here, before the room panel's first
    # (inline) run, which would otherwise see an unseen room sweep and rerun the whole page at once: a second
    # run that drops this run's one-time messages, such as the refused deep-link parameters.
    st.session_state["sweep_job"] = st.session_state["sweep_room_seen"] = room.job_id

apply_deep_link(settings.max_epochs)
base, seeds, settings_valid = base_config(settings)
mode = st.segmented_control(
    t("sweep.mode"),
    ["room", "grid"],
    default="room",
    format_func={"room": t("sweep.mode_room"), "grid": t("sweep.mode_grid")}.get,
    key="sweep_mode",
    required=True,
)
if mode == "grid":
    grid_form(manager, base, seeds, visitor, settings_valid)
else:
    room_form(room, visitor, settings.max_epochs)
    st.fragment(room_panel, run_every=POLL_ROOM_S)(room, visitor)
    presenter_controls(manager, room, base, seeds, visitor, settings_valid)

watched_id = st.session_state.get("sweep_job")
if watched_id is None:  # a fresh visit: the room's latest finished sweep, as the trainer shows its latest run
    try:
        watched_id = manager.store.sweeps.latest_finished()
    except ValueError as exc:
        show_error(exc, t("sweep.not_started"))
watched = manager.snapshot(watched_id) if watched_id else None
active = watched is not None and watched.active
st.session_state["sweep_drawn_active"] = watched.id if active else None
st.fragment(live_panel, run_every=POLL_ACTIVE_S if active else None)(manager, visitor)

if watched_id and not active:
    try:
        record = manager.store.sweeps.get_sweep(watched_id)
    except ValueError:
        record = None
    if record is not None:
        stored_results(record, manager)

history_panel(manager)
st.caption(t("sweep.footer", time=time.strftime("%H:%M:%S")) + (t("sweep.footer_presenter") if is_presenter() else ""))
