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
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS, describe, human_params, parse_model
from compression.distillation.report import (
    accuracy_axis_range,
    history_frame,
    log_ticks,
    metrics_csv,
    summary_frame,
    verdict,
)
from compression.distillation.room_run import RoomFocus, RoomPin, room_focus
from compression.distillation.store import RunRecord, StorageError
from compression.distillation.trainer import LINK_FIELDS, TrainConfig, default_config, parse_field
from compression.distillation.variants import TEACHER_TITLE, VARIANTS, colours
from pages._shared import (
    get_manager,
    is_presenter,
    presenter_login,
    query_param,
    require_router,
    show_error,
    visitor_id,
)

CUSTOM = "custom"
# Polling: each open trainer tab re-runs the live panel. Fast only while the job this visitor watches is
# running; slower while it waits in the queue; rarely when nothing of theirs is active (new jobs still appear).
POLL_RUNNING_S = 1.0
POLL_QUEUED_S = 3.0
POLL_IDLE_S = 30.0
LIVE_POINTS = 300

# English UI text of the room features (follow view, presenter controls), in one place for the catalogue.
ROOM_TEXT = {
    "live": "Following the room: the run training now.",
    "pinned": "Following the room: the run the presenter pinned.",
    "latest": "Following the room: the latest finished run.",
    "follow_hint": "Open this page with ?follow=1 to keep a projector on the room's run; "
    "Watch or Open shows another run instead.",
    "follow_on": "This screen follows the room (?follow=1): it switches to each new run by itself.",
    "presenter": "Presenter",
    "form_folded": "Configure a run (folded while this screen follows the room)",
    "presenter_powers": "The presenter can cancel any job and pin a finished run as the room's run: the run a "
    "fresh visit (and every screen opened with ?follow=1) shows when nothing is training.",
    "pin": "Pin as the room's run",
    "unpin": "Unpin",
    "pinned_badge": "This is the room's run (pinned by the presenter).",
    "pin_failed": "Could not pin the run",
    "cancel_help_other": "Only the visitor who started a job, or the presenter, can cancel it.",
}

ARTICLE_BUGS = pd.DataFrame(
    [
        (
            "Distils from a teacher that was never trained (random weights).",
            "Trains the teacher first (or reuses a cached one with the same configuration) and reports its accuracy.",
        ),
        (
            "Leaves the teacher in train mode and builds its gradient graph every step.",
            "teacher.eval() (no dropout) and torch.no_grad(); its logits are computed once and indexed with each batch's shuffled indices.",
        ),
        (
            "No temperature: softmax(teacher) at T = 1 is almost one-hot, so little 'dark knowledge' is left.",
            "Soft targets softmax(teacher / T) and softmax(student / T) with a chosen T, multiplied by T² so gradients keep their scale.",
        ),
        (
            "Cross-entropy against probabilities, with 0.5 added to a full hard loss: an unnormalised mix.",
            "alpha · T² · KL(teacher ‖ student) (batchmean) + (1 − alpha) · CE(student, label).",
        ),
        (
            "The function uses an `optimizer` it is never given.",
            "Each student has its own Adam optimizer and cosine learning-rate schedule.",
        ),
        (
            "No baseline: nothing says whether distillation helped.",
            "The same student, same initial weights and batches, trained without the teacher (and with label smoothing).",
        ),
        (
            "A per-sample DataLoader and a teacher forward pass on every step.",
            "The whole dataset as tensors on the device, batches as index slices (see benchmarks/distillation_speed.py).",
        ),
    ],
    columns=["The article's code", "This trainer"],
)


# --- charts -------------------------------------------------------------------------------------------------
def line_chart(history: pd.DataFrame, column: str, title: str, height: int) -> go.Figure:
    """One line per model (plotly graph_objects: about 15× cheaper than plotly express on every poll)."""
    fig = go.Figure(
        [
            go.Scatter(
                x=group["epoch"],
                y=group[column],
                name=str(model),
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
        legend={"orientation": "h", "y": -0.25, "title": {"text": "Model"}},
        hovermode="x",
    )
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title=column)
    return fig


def accuracy_chart(history: pd.DataFrame, title: str) -> go.Figure:
    fig = line_chart(history, "test accuracy %", title, 380)
    fig.update_yaxes(title="test accuracy (%)", range=list(accuracy_axis_range(history)))
    teacher = history[history["Model"] == TEACHER_TITLE]
    if not teacher.empty and (history["Model"] != TEACHER_TITLE).any():
        final = float(teacher["test accuracy %"].iloc[-1])
        fig.add_hline(
            y=final,
            line_dash="dot",
            line_color=colours()[TEACHER_TITLE],
            annotation_text=f"teacher {final:.1f}%",
            annotation_position="bottom right",
        )
    return fig


def loss_chart(history: pd.DataFrame, column: str, title: str, log_y: bool) -> go.Figure:
    fig = line_chart(history, column, title, 320)
    if log_y:
        values = history[column].astype(float)
        positive = values[values > 0]
        ticks = log_ticks(float(positive.min()), float(positive.max())) if not positive.empty else []
        # Explicit ticks with their full values: plotly's own log ticks read "2, 1, 5, 2, 0.1, 5, 2".
        fig.update_yaxes(type="log", tickvals=ticks or None, ticktext=[f"{t:g}" for t in ticks] or None)
    return fig


def size_chart(summary: pd.DataFrame) -> go.Figure:
    fig = px.scatter(
        summary,
        x="size KiB",
        y="test accuracy %",
        color="Model",
        color_discrete_map=colours(),
        text="Model",
        log_x=True,
        title="Accuracy against model size",
    )
    fig.update_traces(marker={"size": 14}, textposition="middle right")
    fig.update_layout(height=380, margin={"t": 50, "b": 40}, showlegend=False)
    low, high = float(summary["size KiB"].min()), float(summary["size KiB"].max())
    sizes = sorted(set(summary["size KiB"].round(1)))
    fig.update_xaxes(
        title="size (KiB, log scale)",
        range=[math.log10(low / 2), math.log10(high * 8)],
        tickvals=sizes,  # one tick per model size, not plotly's 2-5-10 minor labels
        ticktext=[f"{size:,.1f}" for size in sizes],
    )
    accuracy = summary["test accuracy %"]
    fig.update_yaxes(range=[float(accuracy.min()) - 1.5, float(accuracy.max()) + 1.5])
    return fig


@st.cache_resource(show_spinner=False, max_entries=16)
def curve_figures(key: str, version: int, _history_rows, max_points: int | None) -> tuple[go.Figure, ...] | None:  # noqa: ANN001
    """The three curve figures of a run at one version, built once and shared by every session watching it
    (each poll of each open tab reuses them instead of rebuilding). Never mutated after building."""
    history = history_frame(_history_rows, max_points=max_points)
    if history.empty:
        return None
    return (
        accuracy_chart(history, "Student against teacher: test accuracy per epoch"),
        loss_chart(history, "train loss", "Training loss (what each model optimises, log scale)", True),
        loss_chart(history, "test loss", "Test loss (cross-entropy)", False),
    )


def draw_curves(history_rows, key: str, max_points: int | None = None, version: int = -1) -> None:  # noqa: ANN001
    """`version` identifies the history's state (its number of rows)."""
    figures = curve_figures(key, version if version >= 0 else len(history_rows), history_rows, max_points)
    if figures is None:
        st.caption("No epoch has finished yet.")
        return
    accuracy, train_loss, test_loss = figures
    st.plotly_chart(accuracy, key=f"{key}_acc", width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(train_loss, key=f"{key}_train_loss")
    right.plotly_chart(test_loss, key=f"{key}_test_loss")


def config_line(config: dict) -> str:
    return (
        f"{config.get('dataset')} · teacher {config.get('teacher')} ({config.get('teacher_epochs')} epochs) · "
        f"student {config.get('student')} ({config.get('epochs')} epochs) · T={config.get('temperature')} · "
        f"alpha={config.get('alpha')} · lr={config.get('lr')} · batch {config.get('batch_size')} · seed {config.get('seed')}"
    )


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


def dataset_label(name: str, data_dir) -> str:  # noqa: ANN001
    title = DATASETS[name].title
    return title if dataset_available(name, data_dir) else f"{title}: not on this server"


def model_label(name: str, presets: dict, input_shape: tuple[int, int, int]) -> str:
    if name == CUSTOM:
        return "Custom MLP (hidden sizes below)"
    params, _ = describe(presets[name].spec, input_shape)
    return f"{presets[name].spec.title} · {human_params(params)} params"


def read_model(role: str) -> str:
    choice = st.session_state.get(f"distill_{role}")
    if choice == CUSTOM:
        return "mlp:" + str(st.session_state.get(f"distill_{role}_custom", "")).replace(" ", "")
    return str(choice)


def training_form(settings: Settings, manager: JobManager, visitor: str) -> None:
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
        f"Dataset ({len(present)} of {len(DATASETS)} on this server)",
        list(DATASETS),
        format_func=lambda n: dataset_label(n, settings.data_dir),
        key="distill_dataset",
        on_change=use_dataset_defaults,
        help="Choosing a dataset sets its own default epochs, batch size and teacher, which fit this server's "
        "work limit. Datasets whose files are missing cannot be trained here.",
    )
    runnable = settings.allow_download or dataset in present
    if not runnable:
        st.warning(
            missing_message(dataset, settings.data_dir) + " Until then, Train is off for this dataset.",
            icon=":material/folder_off:",
        )

    with st.form("distill_form", border=True):
        st.markdown("**:material/tune: Configure a run**")
        c1, c2, c3 = st.columns(3)
        c1.caption(DATASETS[dataset].description)
        c2.selectbox(
            "Teacher",
            [*TEACHER_PRESETS, CUSTOM],
            format_func=lambda n: model_label(n, TEACHER_PRESETS, shape),
            key="distill_teacher",
        )
        c2.text_input(
            "Custom teacher hidden sizes", key="distill_teacher_custom", help="e.g. 256,128 (used with 'Custom')"
        )
        c3.selectbox(
            "Student",
            [*STUDENT_PRESETS, CUSTOM],
            format_func=lambda n: model_label(n, STUDENT_PRESETS, shape),
            key="distill_student",
        )
        c3.text_input("Custom student hidden sizes", key="distill_student_custom", help="e.g. 64 (used with 'Custom')")

        c1, c2, c3, c4 = st.columns(4)
        c1.number_input("Student epochs", step=50, key="distill_epochs", help=f"At most {settings.max_epochs} here.")
        c2.number_input(
            "Teacher epochs (0 = preset's)",
            step=10,
            key="distill_teacher_epochs",
            help="The teacher preset's own epochs when 0 (cnn-small: 150 with 1-pixel shifts); a cached teacher "
            "is reused when nothing changed.",
        )
        c3.number_input("Batch size", step=16, key="distill_batch_size")
        c4.number_input("Learning rate (Adam, cosine)", step=0.001, format="%.4f", key="distill_lr")

        c1, c2, c3, c4 = st.columns(4)
        c1.number_input(
            "Temperature T",
            step=0.5,
            format="%.2f",
            key="distill_temperature",
            help="From 0.05 to 100; 1 is the plain softmax.",
        )
        c2.number_input(
            "alpha: weight of the teacher's soft term",
            step=0.05,
            format="%.2f",
            key="distill_alpha",
            help="loss = alpha · T² · KL(teacher ‖ student) + (1 − alpha) · CE(student, label). "
            "alpha = 0 ignores the teacher; alpha = 1 ignores the labels.",
        )
        c3.number_input("Seed", step=1, key="distill_seed")
        c4.selectbox("Device", devices, key="distill_device")
        st.caption(
            "**alpha weights the soft (teacher) term** here, as in Hinton et al. and haitongli's code; "
            "torchdistill puts alpha on the cross-entropy instead. Every run also trains the same student "
            "without the teacher (baseline) and with label smoothing 0.1 (a control: is the gain the teacher's "
            "knowledge, or just softer targets?), from the same initial weights, on the same batches."
        )
        row = st.container(horizontal=True, vertical_alignment="center")
        submitted = row.form_submit_button(
            "Train", type="primary", icon=":material/play_arrow:", key="distill_train", disabled=not runnable
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
                raise ValueError(f"Teacher epochs must be 0 (the preset's) or more, got {config.teacher_epochs}.")
            job = manager.submit(config, owner=visitor, privileged=is_presenter())
        except ValueError as exc:  # includes StorageError: the message says what the owner can do
            with error_slot:
                show_error(exc, "Not started")
        else:
            st.session_state["distill_job"] = job.id
            st.session_state["distill_job_chosen"] = True
            where = "starting now" if manager.starts_at_once(job.id) else f"queued, position {job.position}"
            st.toast(f"Job {job.id} is {where}.", icon=":material/model_training:")


# --- live view (polled) -------------------------------------------------------------------------------------
def job_status_text(job: JobSnapshot, visitor: str) -> str:
    who = "you" if job.owner == visitor else "another visitor"
    if job.status == "queued":
        return f"Queued, position {job.position} (started by {who})"
    if job.status == "running":
        if job.phase in ("teacher", "students") and job.total_epochs:
            return f"Running on {job.device}: {job.phase} epoch {job.epoch}/{job.total_epochs} (started by {who})"
        return f"Running on {job.device}: {job.message} (started by {who})"
    return f"{job.status.capitalize()} (started by {who})"


def cancel_job(manager: JobManager, job_id: str, visitor: str) -> None:
    """Cancel button callback: the owner, or the presenter (checked at the click, on the server)."""
    manager.cancel(job_id, visitor, privileged=is_presenter())


def queue_panel(manager: JobManager, visitor: str) -> None:
    presenter = is_presenter()
    jobs = manager.jobs()
    active = [j for j in jobs if j.active]
    recent = [j for j in jobs if not j.active][:5]
    with st.container(border=True, key="distill_queue"):
        st.markdown(f"**:material/queue: Training queue** · {len(active)} active · one job at a time per device")
        if not active and not recent:
            st.caption("Nothing is training. Press Train to start a run; every visitor sees it here.")
        for job in active + recent:
            cols = st.columns([3, 5, 1.2, 1.2])
            cols[0].markdown(f"`{job.id}` · {job.config.dataset} · {job.config.student} ← {job.config.teacher}")
            text = job_status_text(job, visitor)
            if job.status == "running":
                cols[1].progress(min(1.0, job.fraction), text=text)
            else:
                cols[1].markdown(text)
            if cols[2].button("Watch", key=f"distill_watch_{job.id}", icon=":material/visibility:"):
                st.session_state["distill_job"] = job.id
                st.session_state["distill_job_chosen"] = True
                st.rerun(scope="app")
            allowed = job.owner == visitor or presenter
            if job.active:
                cols[3].button(
                    "Cancel",
                    key=f"distill_cancel_{job.id}",
                    icon=":material/cancel:",
                    disabled=not allowed or job.cancel_requested,
                    help=None if allowed else ROOM_TEXT["cancel_help_other"],
                    on_click=cancel_job,
                    args=(manager, job.id, visitor),
                )


def live_job(job: JobSnapshot, visitor: str) -> None:
    st.subheader(":material/monitoring: Live: student against teacher", anchor=False)
    st.caption(config_line(job.config.to_dict()))
    if job.status == "queued":
        st.info(f"Job `{job.id}` is waiting: position {job.position} in the queue. It starts when the device is free.")
        return
    st.progress(min(1.0, job.fraction), text=f"{job_status_text(job, visitor)} · {job.message}")
    latest = {}
    for row in job.history:
        latest[row["model"]] = row
    if latest:
        labels = {"teacher": TEACHER_TITLE, **{name: v.title for name, v in VARIANTS.items()}}
        shown = [role for role in labels if role in latest]
        for col, role in zip(st.columns(max(4, len(shown))), shown, strict=False):
            col.metric(f"{labels[role]}: test accuracy", f"{100 * latest[role]['test_accuracy']:.1f}%", border=True)
    # Keyed by the epochs drawn, not job.version (that moves with every progress event): tabs polling at
    # different moments share one set of figures until a curve really changes.
    draw_curves(job.history, key=f"live_{job.id}", max_points=LIVE_POINTS, version=len(job.history))


def poll_interval(manager: JobManager, visitor: str) -> float:
    """Seconds between polls of this tab: fast while the job it watches (or one of this visitor's) runs."""
    watched = st.session_state.get("distill_job")
    jobs = manager.jobs(include_finished=False)
    mine = [j for j in jobs if j.id == watched or j.owner == visitor]
    if any(j.status == "running" for j in mine) or (watched is None and any(j.status == "running" for j in jobs)):
        return POLL_RUNNING_S
    if mine or st.session_state.get("distill_follow"):  # ?follow=1: a projector picks up the next run soon
        return POLL_QUEUED_S
    return POLL_IDLE_S


def live_panel(manager: JobManager, visitor: str) -> None:
    """Polled: the queue, and the watched job while it is queued or running."""
    if room_moved(manager):
        st.rerun(scope="app")
    queue_panel(manager, visitor)
    watched = st.session_state.get("distill_job")
    snap = manager.snapshot(watched) if watched else None
    if snap is None and not watched:
        running = [j for j in manager.jobs(include_finished=False) if j.status == "running"]
        if running:
            st.session_state["distill_job"] = running[0].id
            snap = manager.snapshot(running[0].id)
    drawn_active = st.session_state.get("distill_drawn_active")
    if snap is not None and snap.active:
        with st.container(key="distill_live"):
            live_job(snap, visitor)
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
    st.subheader(f":material/analytics: Run `{record.id}`: {record.status}", anchor=False)
    room_run_controls(record, manager)
    st.caption(config_line(record.config) + f" · {pd.Timestamp(record.created_at, unit='s'):%Y-%m-%d %H:%M} UTC")
    if record.status == "failed":
        st.error(f"This run failed: {record.error}", icon=":material/error:")
    elif record.status == "cancelled":
        st.info(f"This run was cancelled. {record.error or ''}", icon=":material/cancel:")
    elif record.status == "interrupted":
        st.warning(f"This run was interrupted: {record.error}", icon=":material/warning:")
    if record.results:
        results = record.results
        v = verdict(results)
        (st.success if v.kind == "success" else st.warning)(v.headline, icon=":material/balance:")
        st.caption(v.details)
        cols = st.columns(5)
        acc = {
            r: 100 * results[r]["test_accuracy"]
            for r in ("teacher", "student", "baseline", "smoothing")
            if r in results
        }
        cols[0].metric("Teacher", f"{acc['teacher']:.2f}%", border=True)
        cols[1].metric(
            "Distilled student", f"{acc['student']:.2f}%", delta=f"{v.gain_points:+.2f} vs baseline", border=True
        )
        cols[2].metric("Baseline student", f"{acc['baseline']:.2f}%", border=True)
        if "smoothing" in acc:
            cols[3].metric("Label smoothing student", f"{acc['smoothing']:.2f}%", border=True)
        cols[4].metric(
            "Gap closed",
            "n/a" if v.gap_closed is None else f"{100 * v.gap_closed:.0f}%",
            help="(distilled − baseline) / (teacher − baseline), in test accuracy.",
            border=True,
        )
        summary = summary_frame(results)
        st.dataframe(
            summary,
            hide_index=True,
            width="stretch",
            key="distill_summary",
            placeholder="–",
            column_config={
                "test accuracy %": st.column_config.NumberColumn(format="%.2f"),
                "size KiB": st.column_config.NumberColumn(format="%.1f"),
                "smaller than teacher ×": st.column_config.NumberColumn(format="%.1f"),
                "latency ms / batch": st.column_config.NumberColumn(format="%.3f"),
                "agrees with teacher %": st.column_config.NumberColumn(format="%.1f"),
            },
        )
        st.caption(
            f"Latency: median time of one forward pass over a batch of {record.config.get('batch_size')} on "
            f"{results.get('device', record.device)}. Run time {results.get('seconds', 0):.1f} s"
            f"{' (teacher reused from the cache)' if results.get('teacher_from_cache') else ''}."
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
            "Metrics (CSV)",
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
                label="Compress this run: quantize its models to int8, int4, int2",
                icon=":material/compress:",
                query_params={"run": record.id},
            )
        if weight_bytes is not None:
            d2.download_button(
                "Distilled student weights (safetensors)",
                weight_bytes,
                file_name=f"distillation-{record.id}-student.safetensors",
                mime="application/octet-stream",
                icon=":material/download:",
                key="distill_download_weights",
            )


def history_panel(manager: JobManager) -> None:
    st.subheader(":material/history: Run history", anchor=False)
    try:
        runs = manager.store.list_runs(limit=50)
    except StorageError as exc:
        show_storage_error(exc)
        return
    if runs.empty:
        st.caption("No runs yet.")
        return
    st.dataframe(
        runs.drop(columns=["error"]),
        hide_index=True,
        width="stretch",
        key="distill_history_table",
        placeholder="–",
        column_config={
            "created": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm"),
            **{
                c: st.column_config.NumberColumn(format="%.2f")
                for c in ("teacher %", *(v.history_column for v in VARIANTS.values()))
            },
        },
    )
    labels = {
        row.id: f"{row.id} · {row.created:%Y-%m-%d %H:%M} · {row.dataset} · {row.student} ← {row.teacher} · {row.epochs} epochs"
        for row in runs.itertuples()
    }
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    choice = c1.selectbox("Reopen a run", list(labels), format_func=labels.get, key="distill_reopen_choice")
    if c2.button("Open", key="distill_reopen", icon=":material/open_in_new:"):
        st.session_state["distill_job"] = choice
        st.session_state["distill_job_chosen"] = True
        st.rerun()


# --- the room: follow view and presenter controls -----------------------------------------------------------
def _follow_param(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("use follow=1 to follow the room's run, follow=0 not to.")
    return value in ("1", "true", "yes", "on")


def following() -> bool:
    """Whether this session shows the room's run: always with ?follow=1, else until the visitor picks a run."""
    return bool(st.session_state.get("distill_follow")) or not st.session_state.get("distill_job_chosen")


def current_room_focus(manager: JobManager) -> RoomFocus | None:
    running = [j.id for j in manager.jobs(include_finished=False) if j.status == "running"]
    return room_focus(running, RoomPin(manager.store.runs_dir), manager.store)


def follow_room(manager: JobManager) -> RoomFocus | None:
    """For a following session, watch the room's run (live job, pinned run, latest finished run)."""
    if not following():
        st.session_state.pop("distill_focus", None)
        return None
    focus = current_room_focus(manager)
    if focus is not None:
        st.session_state["distill_job"] = focus.run_id
    st.session_state["distill_focus"] = focus.run_id if focus else None
    return focus


def room_moved(manager: JobManager) -> bool:
    """Polled: a following session's room run changed (a job started, a pin moved) since the page was drawn."""
    if not following():
        return False
    focus = current_room_focus(manager)
    return (focus.run_id if focus else None) != st.session_state.get("distill_focus")


def room_banner(focus: RoomFocus | None) -> None:
    if focus is None:
        return
    hint = ROOM_TEXT["follow_on"] if st.session_state.get("distill_follow") else ROOM_TEXT["follow_hint"]
    st.caption(f":material/cast: {ROOM_TEXT[focus.kind]} {hint}")


def room_run_controls(record: RunRecord, manager: JobManager) -> None:
    """The pin badge for everyone; Pin / Unpin buttons for the presenter on a finished run."""
    pin = RoomPin(manager.store.runs_dir)
    pinned = pin.get() == record.id
    if pinned:
        st.caption(f":material/push_pin: {ROOM_TEXT['pinned_badge']}")
    if record.status != "done" or not is_presenter():
        return
    try:
        if pinned:
            if st.button(ROOM_TEXT["unpin"], key=f"distill_unpin_{record.id}", icon=":material/keep_off:"):
                pin.clear()
                st.rerun()
        elif st.button(ROOM_TEXT["pin"], key=f"distill_pin_{record.id}", icon=":material/push_pin:"):
            pin.set(record.id)
            st.rerun()
    except (OSError, ValueError) as exc:
        show_error(exc, ROOM_TEXT["pin_failed"])


def presenter_panel() -> None:
    """Under the queue: the presenter's sign-in (a password field) and what the presenter may do."""
    with st.expander(ROOM_TEXT["presenter"], icon=":material/co_present:", expanded=False):
        st.caption(ROOM_TEXT["presenter_powers"])
        presenter_login("trainer")


# --- the page -----------------------------------------------------------------------------------------------
require_router()
st.title("Distillation trainer", anchor=False)
st.markdown(
    "Train a **teacher**, then distil a small **student** from its softened outputs "
    "(Hinton, Vinyals & Dean, 2015), and compare it with **the same student trained alone**: same initial "
    "weights, same batches, same epochs. Distillation does not always win; every run shows what really happened."
)
try:
    settings = Settings.from_env()
    manager = get_manager(settings)
except (ValueError, OSError) as exc:
    show_error(exc, "The trainer cannot start")
    st.stop()

visitor = visitor_id()
apply_deep_link(settings.max_epochs)
# Runs interrupted by a restart are marked at start-up (app.py) and shown as such in the history below.
if "distill_follow" not in st.session_state:
    st.session_state["distill_follow"] = query_param("follow", _follow_param, False)

with st.expander(":material/school: The loss, and what alpha means here", expanded=False):
    left, right = st.columns([1, 1], gap="large")
    left.latex(r"\alpha\,T^2\,\mathrm{KL}\big(\sigma(t/T)\,\|\,\sigma(s/T)\big) + (1-\alpha)\,\mathrm{CE}(s, y)")
    left.caption(
        "t, s: teacher and student logits; σ: softmax; y: the label; KL averaged per example (batchmean). "
        "**alpha weights the soft (teacher) term**, as in Hinton et al. and haitongli's code "
        "(torchdistill puts alpha on the cross-entropy instead)."
    )
    right.caption(
        "A higher T spreads the teacher's probability over the wrong classes, which tells the student which "
        "mistakes are almost right. T² keeps the soft gradients' size as T changes. "
        "Default run: digits (20% for training), the small CNN teacher (150 epochs with 1-pixel shifts), the "
        "article's MLP student 64-128-10 for 1000 epochs, T = 4, alpha = 0.9, Adam 3e-3 with a cosine schedule. "
        "How long it takes and how often distillation wins over seeds (and whether label smoothing alone does as "
        "well) are measured by benchmarks/distillation_quality.py; the README lists the figures."
    )
if st.session_state.get("distill_follow"):  # a projector: the room's run first, the form folded away
    with st.expander(ROOM_TEXT["form_folded"], icon=":material/tune:", expanded=False):
        training_form(settings, manager, visitor)
else:
    training_form(settings, manager, visitor)

focus = follow_room(manager)
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
with st.expander(":material/bug_report: The article's code vs this trainer"):
    st.markdown(
        "The article's programming problem 2 distils knowledge in a few lines. Each line hides a mistake; "
        "here is what each one does and what this trainer does instead."
    )
    st.dataframe(ARTICLE_BUGS, hide_index=True, width="stretch", key="distill_article_table")
st.caption(f"Page drawn at {time.strftime('%H:%M:%S')} · your visitor id `{visitor}`.")
