"""Distillation trainer: a teacher, a distilled student and the same student trained alone, live for every visitor.

Training runs in the shared JobManager's worker (compression/distillation/jobs.py), never in this script.
A fragment polls the job's snapshot; finished runs are drawn from the run store.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from compression.config import Settings
from compression.device import available_devices
from compression.distillation.data import DATASETS, dataset_available, missing_message
from compression.distillation.jobs import JobManager, JobSnapshot
from compression.distillation.kinds import train_config_from_payload
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS, describe, human_params, parse_model
from compression.distillation.report import (
    Verdict,
    accuracy_axis_range,
    history_frame,
    log_ticks,
    metrics_csv,
    summary_frame,
    verdict,
)
from compression.distillation.room_run import OwnJob, RoomFocus, RoomPin, TrainerView, room_focus, trainer_view
from compression.distillation.store import RunRecord, StorageError
from compression.distillation.trainer import LINK_FIELDS, TrainConfig, default_config, parse_field
from compression.distillation.variants import TEACHER_TITLE, VARIANTS, colours
from pages._charts import LiveFigureClock
from pages._shared import (
    dataset_label,
    get_manager,
    is_presenter,
    job_message,
    lang,
    lang_query,
    presenter_login,
    query_param,
    require_router,
    show_error,
    t,
    t_or,
    visitor_id,
)

CUSTOM = "custom"
# Polling: each open trainer tab re-runs the live panel. Fast only while the job this visitor watches is
# running; slower while it waits in the queue; rarely when nothing of theirs is active (new jobs still appear).
POLL_RUNNING_S = 1.0
# A tab that merely follows the running job (a fresh visit, a projector) rather than one its visitor started
# or chose to watch: still live, at half the pace; the owner's own tab stays at POLL_RUNNING_S.
POLL_FOLLOWING_S = 2.0
POLL_QUEUED_S = 3.0
POLL_IDLE_S = 30.0
LIVE_POINTS = 300
# The live charts are rebuilt at most this often per job and language, however many tabs poll: tabs polling
# in the same interval share one set of figures. Redrawing three Plotly charts is what costs a browser most
# (8 following tabs redrawing every second kept 1.5 of this machine's 2 cores busy): the tab of the visitor
# who started or chose the job redraws them every second, a tab that only follows the room every 4 s (its
# progress bar and accuracy cards still move at every poll).
LIVE_REDRAW_S = 1.0
LIVE_REDRAW_FOLLOWING_S = 4.0


def room_text(name: str) -> str:
    """The room features' UI text (follow view, presenter controls): catalogue keys distillation.room.*."""
    return t(f"distillation.room.{name}")


# Rows of the "article's code vs this trainer" table: catalogue keys distillation.article.bug1..7 / fix1..7.
ARTICLE_ROWS = 7


def article_table() -> pd.DataFrame:
    """The article's mistakes and this trainer's fixes, in the visitor's language (shown with st.table: wrapped)."""
    return pd.DataFrame(
        {
            t("distillation.article.col_article"): [
                t(f"distillation.article.bug{i}") for i in range(1, ARTICLE_ROWS + 1)
            ],
            t("distillation.article.col_trainer"): [
                t(f"distillation.article.fix{i}") for i in range(1, ARTICLE_ROWS + 1)
            ],
        },
        index=pd.RangeIndex(1, ARTICLE_ROWS + 1),
    )


def model_names() -> dict[str, str]:
    """English model titles (report frames, chart colours) -> their names in the visitor's language."""
    return {
        TEACHER_TITLE: t("distillation.model.teacher"),
        **{v.title: t_or(f"distillation.model.{name}", v.title) for name, v in VARIANTS.items()},
    }


def verdict_text(results: dict, v: Verdict) -> tuple[str, str]:
    """The verdict's headline and details in the visitor's language: the library returns it as catalogue keys
    with their figures (compression.distillation.report.Verdict.parts)."""
    return v.text(lang())


SUMMARY_COLUMNS = {
    "Model": "model",
    "architecture": "architecture",
    "test accuracy %": "test_accuracy",
    "parameters": "params",
    "size KiB": "size",
    "smaller than teacher ×": "smaller",
    "latency ms / batch": "latency",
    "agrees with teacher %": "agreement",
}


def translated_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """report.summary_frame with its column names and model names in the visitor's language."""
    names = model_names()
    out = summary.assign(Model=summary["Model"].map(lambda m: names.get(m, m)))
    return out.rename(columns={c: t_or(f"distillation.col.{k}", c) for c, k in SUMMARY_COLUMNS.items()})


def history_column_label(column: str) -> str:
    """A run-history accuracy column ("teacher %", "distilled %", ...) in the visitor's language."""
    key = column.removesuffix(" %").replace(" ", "_").replace("-", "_")
    return t_or(f"distillation.history.{key}", column)


def summary_columns() -> dict:
    """Short headers with fixed widths (the full name in each header's tooltip): the table fits a laptop."""
    number = st.column_config.NumberColumn

    def short(key: str) -> dict:
        return {"label": t(f"distillation.col_short.{key}"), "help": t(f"distillation.col.{key}")}

    return {
        t("distillation.col.model"): st.column_config.TextColumn(width=160, pinned=True),
        t("distillation.col.architecture"): st.column_config.TextColumn(width=115, **short("architecture")),
        t("distillation.col.test_accuracy"): number(format="%.2f", width=85, **short("test_accuracy")),
        t("distillation.col.params"): number(width=75, **short("params")),
        t("distillation.col.size"): number(format="%.1f", width=65, **short("size")),
        t("distillation.col.smaller"): number(format="%.1f", width=80, **short("smaller")),
        t("distillation.col.latency"): number(format="%.3f", width=85, **short("latency")),
        t("distillation.col.agreement"): number(format="%.1f", width=80, **short("agreement")),
    }


def history_columns() -> dict:
    """The run history's columns: what tells runs apart, with fixed widths so the table fits a laptop. The
    date and the teacher are in each run's "Reopen a run" label, teacher accuracy in the run itself; the seed is a
    column (two runs that differ only by it would look the same)."""
    text = st.column_config.TextColumn
    return {
        "id": text(width=100, pinned=True),
        "created": None,
        "status": text(t("distillation.history.status"), width=80),
        "dataset": text(t("distillation.history.dataset"), width=85),
        "teacher": None,
        "student": text(t("distillation.history.student"), width=110),
        "epochs": st.column_config.NumberColumn(t("distillation.history.epochs"), width=55),
        "T": st.column_config.NumberColumn(width=45, format="%g"),
        "alpha": st.column_config.NumberColumn(width=50, format="%g"),
        "seed": st.column_config.NumberColumn(t("distillation.history.seed"), width=45),
        "teacher %": None,
        **{
            v.history_column: st.column_config.NumberColumn(
                history_column_label(v.history_column), format="%.2f", width=80
            )
            for v in VARIANTS.values()
        },
    }


# --- charts -------------------------------------------------------------------------------------------------
def line_chart(history: pd.DataFrame, column: str, title: str, height: int, axis: str) -> go.Figure:
    """One line per model (plotly graph_objects: about 15× cheaper than plotly express on every poll); legend
    names in the visitor's language, colours by the models' English titles."""
    names = model_names()
    fig = go.Figure(
        [
            go.Scatter(
                x=group["epoch"],
                y=group[column],
                name=names.get(str(model), str(model)),
                mode="lines",
                line={"color": colours().get(str(model))},
            )
            for model, group in history.groupby("Model", sort=False)
        ]
    )
    fig.update_layout(
        title=title,
        height=height,
        margin={"t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25, "title": {"text": t("distillation.model.legend")}},
        hovermode="x",
    )
    fig.update_xaxes(title=t("distillation.chart.epoch_axis"))
    fig.update_yaxes(title=axis)
    return fig


def accuracy_chart(history: pd.DataFrame, title: str) -> go.Figure:
    fig = line_chart(history, "test accuracy %", title, 380, t("distillation.chart.accuracy_axis"))
    fig.update_yaxes(range=list(accuracy_axis_range(history)))
    teacher = history[history["Model"] == TEACHER_TITLE]
    if not teacher.empty and (history["Model"] != TEACHER_TITLE).any():
        final = float(teacher["test accuracy %"].iloc[-1])
        fig.add_hline(
            y=final,
            line_dash="dot",
            line_color=colours()[TEACHER_TITLE],
            annotation_text=t("distillation.chart.teacher_line", accuracy=final),
            annotation_position="bottom right",
        )
    return fig


def loss_chart(history: pd.DataFrame, column: str, title: str, log_y: bool, axis: str) -> go.Figure:
    fig = line_chart(history, column, title, 320, axis)
    if log_y:
        values = history[column].astype(float)
        positive = values[values > 0]
        ticks = log_ticks(float(positive.min()), float(positive.max())) if not positive.empty else []
        # Explicit ticks with their full values: plotly's own log ticks read "2, 1, 5, 2, 0.1, 5, 2".
        fig.update_yaxes(type="log", tickvals=ticks or None, ticktext=[f"{tick:g}" for tick in ticks] or None)
    return fig


def size_chart(summary: pd.DataFrame) -> go.Figure:
    summary = summary.assign(Model=summary["Model"].map(lambda m: model_names().get(m, m)))
    palette = {model_names().get(m, m): c for m, c in colours().items()}
    fig = px.scatter(
        summary,
        x="size KiB",
        y="test accuracy %",
        color="Model",
        color_discrete_map=palette,
        log_x=True,
        title=t("distillation.chart.size_title"),
    )
    # A legend, not labels beside the points: the students share one size, and their labels overlapped.
    fig.update_traces(marker={"size": 14})
    fig.update_layout(
        height=420, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25, "title": {"text": ""}}
    )
    fig.update_yaxes(title=t("distillation.chart.accuracy_axis"))
    low, high = float(summary["size KiB"].min()), float(summary["size KiB"].max())
    sizes = sorted(set(summary["size KiB"].round(1)))
    fig.update_xaxes(
        title=t("distillation.chart.size_axis"),
        range=[math.log10(low / 2), math.log10(high * 8)],
        tickvals=sizes,  # one tick per model size, not plotly's 2-5-10 minor labels
        ticktext=[f"{size:,.1f}" for size in sizes],
    )
    accuracy = summary["test accuracy %"]
    fig.update_yaxes(range=[float(accuracy.min()) - 1.5, float(accuracy.max()) + 1.5])
    return fig


@st.cache_resource(show_spinner=False, max_entries=16)
def curve_figures(
    key: str,
    version: int,
    lang_code: str,
    _history_rows,
    max_points: int | None,  # noqa: ANN001
) -> tuple[go.Figure, ...] | None:
    """The three curve figures of a run at one version in one language (`lang_code`, the visitor's: their
    text comes from t()), built once and shared by every session watching it (each poll of each open tab
    reuses them instead of rebuilding). Never mutated after building."""
    history = history_frame(_history_rows, max_points=max_points)
    if history.empty:
        return None
    return (
        accuracy_chart(history, t("distillation.chart.accuracy_title")),
        loss_chart(
            history,
            "train loss",
            t("distillation.chart.train_loss_title"),
            True,
            t("distillation.chart.train_loss_axis"),
        ),
        loss_chart(
            history, "test loss", t("distillation.chart.test_loss_title"), False, t("distillation.chart.test_loss_axis")
        ),
    )


@st.cache_resource(show_spinner=False)
def live_figure_clock() -> LiveFigureClock:
    return LiveFigureClock()


def draw_live_curves(history_rows: list, key: str, every_s: float) -> None:
    """A running job's charts: the state every tab at this pace shares now (LiveFigureClock)."""
    rows = live_figure_clock().rows(key, lang(), len(history_rows), every_s)
    draw_curves(history_rows[:rows], key=key, max_points=LIVE_POINTS, version=rows)


def draw_curves(history_rows, key: str, max_points: int | None = None, version: int = -1) -> None:  # noqa: ANN001
    """`version` identifies the history's state (its number of rows)."""
    figures = curve_figures(key, version if version >= 0 else len(history_rows), lang(), history_rows, max_points)
    if figures is None:
        st.caption(t("distillation.chart.no_epoch"))
        return
    accuracy, train_loss, test_loss = figures
    st.plotly_chart(accuracy, key=f"{key}_acc", width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(train_loss, key=f"{key}_train_loss")
    right.plotly_chart(test_loss, key=f"{key}_test_loss")


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
    if name in ("teacher", "student"):
        presets = TEACHER_PRESETS if name == "teacher" else STUDENT_PRESETS
        if value in presets:
            st.session_state[f"distill_{name}"] = value
        else:
            spec = parse_model(value, name)
            st.session_state[f"distill_{name}"] = CUSTOM
            st.session_state[f"distill_{name}_custom"] = ",".join(str(h) for h in spec.hidden)
    else:
        st.session_state[f"distill_{name}"] = value


def use_dataset_defaults() -> None:
    """on_change of the dataset choice: its own default epochs, batch size and teacher (they fit the work budget)."""
    defaults = default_config(st.session_state["distill_dataset"])
    for name in ("epochs", "batch_size", "teacher"):
        set_field(name, getattr(defaults, name))
    st.session_state["distill_teacher_epochs"] = defaults.teacher_epochs or 0


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


def read_model(role: str) -> str:
    choice = st.session_state.get(f"distill_{role}")
    if choice == CUSTOM:
        return "mlp:" + str(st.session_state.get(f"distill_{role}_custom", "")).replace(" ", "")
    return str(choice)


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
    dataset = st.session_state.get("distill_dataset", "digits")
    shape = DATASETS.get(dataset, DATASETS["digits"]).input_shape
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

    # The model choices sit above the form's fields (outside the form, so choosing "custom" shows its sizes at
    # once, and a preset hides them); one border holds both.
    box = st.container(border=True)
    box.markdown(t("distillation.form.heading"))
    box.caption(dataset_detail(dataset))
    m1, m2 = box.columns(2)
    m1.selectbox(
        t("distillation.form.teacher"),
        [*TEACHER_PRESETS, CUSTOM],
        format_func={n: model_label(n, TEACHER_PRESETS, shape) for n in [*TEACHER_PRESETS, CUSTOM]}.get,
        key="distill_teacher",
        help=presets_help(TEACHER_PRESETS),
    )
    m2.selectbox(
        t("distillation.form.student"),
        [*STUDENT_PRESETS, CUSTOM],
        format_func={n: model_label(n, STUDENT_PRESETS, shape) for n in [*STUDENT_PRESETS, CUSTOM]}.get,
        key="distill_student",
        help=presets_help(STUDENT_PRESETS),
    )
    custom = [role for role in ("teacher", "student") if st.session_state.get(f"distill_{role}") == CUSTOM]
    with box.form("distill_form", border=False, enter_to_submit=False):
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
        error_slot = row.empty()  # a refused run is explained here, beside the Train button

    if submitted:
        try:
            config = TrainConfig(
                dataset=str(st.session_state["distill_dataset"]),
                teacher=read_model("teacher"),
                student=read_model("student"),
                epochs=int(st.session_state["distill_epochs"]),
                teacher_epochs=int(st.session_state["distill_teacher_epochs"]) or None,
                batch_size=int(st.session_state["distill_batch_size"]),
                lr=float(st.session_state["distill_lr"]),
                temperature=float(st.session_state["distill_temperature"]),
                alpha=float(st.session_state["distill_alpha"]),
                seed=int(st.session_state["distill_seed"]),
                device=str(st.session_state["distill_device"]),
                label_smoothing=float(st.session_state["distill_label_smoothing"]),
            )
            if config.teacher_epochs is not None and config.teacher_epochs < 0:
                raise ValueError(t("distillation.form.teacher_epochs_negative", epochs=config.teacher_epochs))
            manager.check(config)  # a refused run is said first, even when an identical one is stored
            found = manager.identical(config)
        except ValueError as exc:  # includes StorageError: the message says what the owner can do
            with error_slot:
                show_error(exc, t("distillation.form.not_started"))
        else:
            if found is None:
                submit_run(manager, config, visitor, error_slot)
            else:  # this exact run is stored: open it at once; training again is a choice
                st.session_state["distill_job"] = found
                st.session_state["distill_job_chosen"] = True
                st.session_state["distill_duplicate"] = {"run": found, "config": config.to_dict()}
    duplicate_notice(manager, visitor)


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


# --- live view (polled) -------------------------------------------------------------------------------------
def status_word(status: str) -> str:
    """A job's status as a sentence start ("Done", "Cancelled"): the queue."""
    return t_or(f"distillation.status.{status}", status.capitalize())


def status_name(status: str) -> str:
    """A run's status as a plain word ("done", "cancelled"): headings and history tables."""
    return t_or(f"distillation.state.{status}", status)


def job_status_text(job: JobSnapshot, visitor: str) -> str:
    who = t("distillation.job.by_you") if job.owner == visitor else t("distillation.job.by_other")
    if job.status == "queued":
        return t("distillation.job.queued", position=job.position, who=who)
    if job.status == "running":
        if job.phase in ("teacher", "students") and job.total_epochs:
            return t(
                "distillation.job.running_epoch",
                device=job.device,
                phase=t(f"distillation.phase.{job.phase}"),
                epoch=job.epoch,
                total=job.total_epochs,
                who=who,
            )
        return t("distillation.job.running_message", device=job.device, message=job_message(job), who=who)
    return t("distillation.job.finished_status", status=status_word(job.status), who=who)


def cancel_job(manager: JobManager, job_id: str, visitor: str) -> None:
    """Cancel button callback: the owner, or the presenter (checked at the click, on the server)."""
    manager.cancel(job_id, visitor, privileged=is_presenter())


def queue_panel(manager: JobManager, visitor: str) -> None:
    presenter = is_presenter()
    jobs = manager.jobs()
    active = [j for j in jobs if j.active]
    recent = [j for j in jobs if not j.active][:5]
    with st.container(border=True, key="distill_queue"):
        workers = getattr(manager, "cpu_workers", 1)
        if workers > 1:
            st.markdown(t("distillation.queue.heading_cpu_workers", active=len(active), workers=workers))
        else:
            st.markdown(t("distillation.queue.heading", active=len(active)))
        if not active and not recent:
            st.caption(t("distillation.queue.empty"))
        for job in active + recent:
            # The buttons sit in a row of their own width (wrapping when narrow): their labels are never cut.
            cols = st.columns([3, 4, 2], vertical_alignment="center")
            cols[0].markdown(f"`{job.id}` · {job.label['dataset']} · {job.label['student']} ← {job.label['teacher']}")
            text = job_status_text(job, visitor)
            if job.status == "running":
                cols[1].progress(min(1.0, job.fraction), text=text)
            else:
                cols[1].markdown(text)
            buttons = cols[2].container(horizontal=True, gap="small")
            if buttons.button(
                t("distillation.queue.watch"), key=f"distill_watch_{job.id}", icon=":material/visibility:"
            ):
                st.session_state["distill_job"] = job.id
                st.session_state["distill_job_chosen"] = True
                st.rerun(scope="app")
            allowed = job.owner == visitor or presenter
            if job.active:
                buttons.button(
                    t("distillation.queue.cancel"),
                    key=f"distill_cancel_{job.id}",
                    icon=":material/cancel:",
                    disabled=not allowed or job.cancel_requested,
                    help=None if allowed else room_text("cancel_help_other"),
                    on_click=cancel_job,
                    args=(manager, job.id, visitor),
                )


def live_job(job: JobSnapshot, visitor: str) -> None:
    st.subheader(t("distillation.live.heading"), anchor=False)
    st.caption(config_line(job.config.to_dict()))
    if job.status == "queued":
        st.info(t("distillation.live.waiting", job=job.id, position=job.position))
        return
    status = job_status_text(job, visitor)
    # The message adds what an epoch count does not say ("Training the students for 1000 epochs"); a status
    # that already holds it ("Starting (started by you)") is not repeated.
    shown = status if job_message(job) in status else f"{status} · {job_message(job)}"
    st.progress(min(1.0, job.fraction), text=shown)
    latest = {}
    for row in job.history:
        latest[row["model"]] = row
    if latest:
        # Short labels (the models' names); what they measure is said once, above them.
        labels = {"teacher": t("distillation.live.teacher")}
        labels |= {name: t_or(f"distillation.live.{name}", v.title) for name, v in VARIANTS.items()}
        shown = [role for role in labels if role in latest]
        st.caption(t("distillation.live.latest_accuracy"))
        for col, role in zip(st.columns(max(4, len(shown))), shown, strict=False):
            col.metric(labels[role], f"{100 * latest[role]['test_accuracy']:.1f}%", border=True)
    # Keyed by the epochs drawn, not job.version (that moves with every progress event): tabs polling at
    # different moments share one set of figures until a curve really changes.
    own = job.owner == visitor or st.session_state.get("distill_job_chosen", False)
    draw_live_curves(job.history, key=f"live_{job.id}", every_s=LIVE_REDRAW_S if own else LIVE_REDRAW_FOLLOWING_S)


def poll_interval(manager: JobManager, visitor: str) -> float:
    """Seconds between polls of this tab: fast while this visitor's job, or one they chose to watch, runs; half
    as fast while the tab only follows the room's running job; slow when nothing of theirs is active."""
    watched = st.session_state.get("distill_job")
    chosen = st.session_state.get("distill_job_chosen", False)
    jobs = manager.jobs(include_finished=False)
    mine = [j for j in jobs if j.owner == visitor or (chosen and j.id == watched)]
    if any(j.status == "running" for j in mine):
        return POLL_RUNNING_S
    if any(j.status == "running" and (watched is None or j.id == watched) for j in jobs):
        return POLL_FOLLOWING_S
    if mine or st.session_state.get("distill_follow"):  # ?follow=1: a projector picks up the next run soon
        return POLL_QUEUED_S
    return POLL_IDLE_S


def live_panel(manager: JobManager, visitor: str) -> None:
    """Polled: the queue, and the watched job while it is queued or running."""
    if room_moved(manager, visitor):
        st.rerun(scope="app")
    watched = st.session_state.get("distill_job")
    snap = manager.snapshot(watched) if watched else None
    if snap is None and not watched:
        running = [j for j in manager.jobs(include_finished=False) if j.status == "running" and j.kind == "run"]
        if running:
            st.session_state["distill_job"] = running[0].id
            snap = manager.snapshot(running[0].id)
    drawn_active = st.session_state.get("distill_drawn_active")
    if snap is not None and snap.active:
        with st.container(key="distill_live"):
            live_job(snap, visitor)
    # The queue under the live chart: on a phone (one column) the chart is what a follower came for.
    queue_panel(manager, visitor)
    # The watched job finished, or a job appeared, since the whole page was drawn: redraw it all
    # (results come from the store, and polling slows down).
    # ... or this tab should now poll at another pace (a watched job started, or everything went idle).
    if (snap is not None and drawn_active == snap.id and not snap.active) or (
        poll_interval(manager, visitor) != st.session_state.get("distill_poll_s")
    ):
        st.rerun(scope="app")


# --- results from the store ---------------------------------------------------------------------------------
def show_storage_error(exc: StorageError) -> None:
    st.error(str(exc), icon=":material/database_off:")


def stored_results(record: RunRecord, manager: JobManager) -> None:
    status = status_name(record.status)
    st.subheader(t("distillation.run.heading", run=record.id, status=status), anchor=False)
    room_run_controls(record, manager)
    created = t("distillation.run.created", when=f"{pd.Timestamp(record.created_at, unit='s'):%Y-%m-%d %H:%M}")
    st.caption(f"{config_line(record.config)} · {created}")
    if record.status == "failed":
        st.error(t("distillation.run.failed", error=record.error), icon=":material/error:")
    elif record.status == "cancelled":
        st.info(t("distillation.run.cancelled", error=record.error or ""), icon=":material/cancel:")
    elif record.status == "interrupted":
        st.warning(t("distillation.run.interrupted", error=record.error), icon=":material/warning:")
    if record.results:
        results = record.results
        v = verdict(results)
        headline, details = verdict_text(results, v)
        (st.success if v.kind == "success" else st.warning)(headline, icon=":material/balance:")
        st.caption(details)
        acc = {
            r: 100 * results[r]["test_accuracy"]
            for r in ("teacher", "student", "baseline", "smoothing")
            if r in results
        }
        # Five boxes share a laptop's width: "Label smoothing" without "student", deltas in points.
        cols = st.columns(5)
        cols[0].metric(t("distillation.model.teacher"), f"{acc['teacher']:.2f}%", border=True)
        cols[1].metric(
            t("distillation.model.student"),
            f"{acc['student']:.2f}%",
            delta=t("distillation.run.vs_baseline", gain=v.gain_points),
            border=True,
            help=t("distillation.run.vs_baseline_help"),
        )
        cols[2].metric(t("distillation.model.baseline"), f"{acc['baseline']:.2f}%", border=True)
        if "smoothing" in acc:
            cols[3].metric(t("distillation.live.smoothing"), f"{acc['smoothing']:.2f}%", border=True)
        cols[4].metric(
            t("distillation.run.gap_closed"),
            t("distillation.run.not_applicable") if v.gap_closed is None else f"{100 * v.gap_closed:.0f}%",
            help=t("distillation.run.gap_closed_help"),
            border=True,
        )
        summary = summary_frame(results)
        st.dataframe(
            translated_summary(summary),
            hide_index=True,
            width="stretch",
            key="distill_summary",
            placeholder="–",
            column_config=summary_columns(),
        )
        st.caption(
            t(
                "distillation.run.latency",
                batch_size=record.config.get("batch_size"),
                device=results.get("device", record.device),
                seconds=results.get("seconds", 0),
                cached=t("distillation.run.teacher_cached") if results.get("teacher_from_cache") else "",
            )
        )
    if not record.history.empty:
        if record.results:
            left, right = st.columns([2, 1])
            with left:
                draw_curves(record.history, key=f"run_{record.id}", max_points=600, version=len(record.history))
            right.plotly_chart(size_chart(summary_frame(record.results)), key=f"run_{record.id}_size")
        else:
            draw_curves(record.history, key=f"run_{record.id}", max_points=600, version=len(record.history))
        d1, d2 = st.columns(2)
        d1.download_button(
            t("distillation.run.download_metrics"),
            metrics_csv(record.history),
            file_name=f"distillation-{record.id}-metrics.csv",
            mime="text/csv",
            icon=":material/download:",
            key="distill_download_csv",
        )
        try:
            weights = manager.store.weights_path(record.id, "student")
            weight_bytes = weights.read_bytes() if weights is not None else None
        except (StorageError, OSError):
            weight_bytes = None
        if record.status == "done" and weight_bytes is not None:
            st.page_link(
                "pages/compress.py",
                label=t("distillation.run.compress_link"),
                icon=":material/compress:",
                query_params={"run": record.id, **lang_query()},
            )
        if weight_bytes is not None:
            d2.download_button(
                t("distillation.run.download_weights"),
                weight_bytes,
                file_name=f"distillation-{record.id}-student.safetensors",
                mime="application/octet-stream",
                icon=":material/download:",
                key="distill_download_weights",
            )


def history_panel(manager: JobManager) -> None:
    st.subheader(t("distillation.history.heading"), anchor=False)
    try:
        runs = manager.store.list_runs(limit=50)
    except StorageError as exc:
        show_storage_error(exc)
        return
    if runs.empty:
        st.caption(t("distillation.history.empty"))
        return
    shown = runs.drop(columns=["error"]).assign(status=runs["status"].map(status_name))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="distill_history_table",
        placeholder="–",
        column_config=history_columns(),
    )
    labels = {
        row.id: t(
            "distillation.history.option",
            run=row.id,
            created=f"{row.created:%m-%d %H:%M}",
            dataset=row.dataset,
        )
        for row in runs.itertuples()
    }
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    choice = c1.selectbox(
        t("distillation.history.reopen"), list(labels), format_func=labels.get, key="distill_reopen_choice"
    )
    if c2.button(t("distillation.history.open"), key="distill_reopen", icon=":material/open_in_new:"):
        st.session_state["distill_job"] = choice
        st.session_state["distill_job_chosen"] = True
        st.rerun()


# --- the room: follow view and presenter controls -----------------------------------------------------------
def _follow_param(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(t("distillation.room.follow_bad"))
    return value in ("1", "true", "yes", "on")


def own_jobs(manager: JobManager, visitor: str) -> list[OwnJob]:
    """This visitor's trainer runs the queue knows (queued, running, recently finished)."""
    return [OwnJob(j.id, j.active, j.created_at) for j in manager.jobs() if j.owner == visitor and j.kind == "run"]


def current_view(manager: JobManager, visitor: str) -> TrainerView:
    """What this tab shows (compression.distillation.room_run.trainer_view): its own run first, across reloads."""
    chosen = st.session_state.get("distill_job") if st.session_state.get("distill_job_chosen") else None
    follow = bool(st.session_state.get("distill_follow"))
    mine = [] if follow or chosen else own_jobs(manager, visitor)
    room = current_room_focus(manager) if follow or not (chosen or mine) else None
    return trainer_view(follow=follow, chosen=chosen, own_jobs=mine, room=room)


def following(manager: JobManager, visitor: str) -> bool:
    """Whether this session shows the room's run: always with ?follow=1, else only without a run of its own."""
    return current_view(manager, visitor).following


def current_room_focus(manager: JobManager) -> RoomFocus | None:
    """The room's run; None when the run store cannot be read (the history panel says why)."""
    running = [j.id for j in manager.jobs(include_finished=False) if j.status == "running" and j.kind == "run"]
    try:
        return room_focus(running, RoomPin(manager.store.runs_dir), manager.store)
    except (StorageError, OSError):  # an unusable runs folder: the history panel says why; nothing to follow
        return None


def follow_room(manager: JobManager, visitor: str) -> RoomFocus | None:
    """Watch what this tab's view says: its chosen run, its own newest run, or the room's run."""
    view = current_view(manager, visitor)
    if view.run_id is not None:
        st.session_state["distill_job"] = view.run_id
    st.session_state["distill_view"] = (view.reason, view.run_id)
    return view.focus if view.following else None


def room_moved(manager: JobManager, visitor: str) -> bool:
    """Polled: what this tab should show changed (a job of its own appeared, the room's run moved) since the
    page was drawn."""
    if st.session_state.get("distill_job_chosen") and not st.session_state.get("distill_follow"):
        return False
    view = current_view(manager, visitor)
    return (view.reason, view.run_id) != st.session_state.get("distill_view")


def room_banner(focus: RoomFocus | None) -> None:
    if focus is None:
        return
    hint = room_text("follow_on") if st.session_state.get("distill_follow") else room_text("follow_hint")
    st.caption(f":material/cast: {room_text(focus.kind)} {hint}")


def room_run_controls(record: RunRecord, manager: JobManager) -> None:
    """The pin badge for everyone; Pin / Unpin buttons for the presenter on a finished run."""
    pin = RoomPin(manager.store.runs_dir)
    pinned = pin.get() == record.id
    if pinned:
        st.caption(f":material/push_pin: {room_text('pinned_badge')}")
    if record.status != "done" or not is_presenter():
        return
    try:
        if pinned:
            if st.button(room_text("unpin"), key=f"distill_unpin_{record.id}", icon=":material/keep_off:"):
                pin.clear()
                st.rerun()
        elif st.button(room_text("pin"), key=f"distill_pin_{record.id}", icon=":material/push_pin:"):
            pin.set(record.id)
            st.rerun()
    except (OSError, ValueError) as exc:
        show_error(exc, room_text("pin_failed"))


def presenter_panel() -> None:
    """Under the queue: the presenter's sign-in (a password field) and what the presenter may do."""
    with st.expander(room_text("presenter"), icon=":material/co_present:", expanded=False):
        st.caption(room_text("presenter_powers"))
        presenter_login("trainer")


# --- the page -----------------------------------------------------------------------------------------------
require_router()
st.title(t("distillation.title"), anchor=False)
st.markdown(t("distillation.intro"))
try:
    settings = Settings.from_env()
    manager = get_manager(settings)
except (ValueError, OSError) as exc:
    show_error(exc, t("distillation.cannot_start"))
    st.stop()

visitor = visitor_id()
apply_deep_link(settings.max_epochs)
# Runs interrupted by a restart are marked at start-up (app.py) and shown as such in the history below.
if "distill_follow" not in st.session_state:
    st.session_state["distill_follow"] = query_param("follow", _follow_param, False)

with st.expander(t("distillation.loss.heading"), expanded=False):
    # The formula on two lines and the whole width: on one line it was cut at 1280 px and on a phone.
    st.latex(
        r"\begin{aligned}L &= \alpha\,T^2\,\mathrm{KL}\big(\sigma(t/T)\,\|\,\sigma(s/T)\big)"
        r"\\ &\quad + (1-\alpha)\,\mathrm{CE}(s, y)\end{aligned}"
    )
    left, right = st.columns([1, 1], gap="large")
    left.caption(t("distillation.loss.symbols"))
    right.caption(t("distillation.loss.explain"))
# A visitor with a run of their own (or one they opened) reads it first, the form below it: on a phone the
# results were a long scroll under the form. A visitor without one sees the form first.
run_first = current_view(manager, visitor).reason in ("own", "chosen") and not st.session_state.get("distill_follow")
run_area, form_area = (st.container(), st.container()) if run_first else reversed((st.container(), st.container()))
with form_area:
    if st.session_state.get("distill_follow"):  # a projector: the room's run first, the form folded away
        with st.expander(room_text("form_folded"), icon=":material/tune:", expanded=False):
            training_form(settings, manager, visitor)
    else:
        training_form(settings, manager, visitor)

with run_area:
    focus = follow_room(manager, visitor)
    watched_id = st.session_state.get("distill_job")
    watched = manager.snapshot(watched_id) if watched_id else None
    poll_s = poll_interval(manager, visitor)
    st.session_state["distill_poll_s"] = poll_s
    st.session_state["distill_drawn_active"] = watched.id if watched is not None and watched.active else None
    room_banner(focus)
    st.fragment(live_panel, run_every=poll_s)(manager, visitor)
    presenter_panel()

    if watched_id and (watched is None or not watched.active):
        try:
            record = manager.store.get_run(watched_id)
        except StorageError as exc:
            show_storage_error(exc)
            record = None
        except ValueError:
            record = None
        if record is not None:
            stored_results(record, manager)

history_panel(manager)
with st.expander(t("distillation.article.heading")):
    st.markdown(t("distillation.article.intro"))
    st.table(article_table())
st.caption(t("distillation.footer", time=time.strftime("%H:%M:%S"), visitor=visitor))
