"""What the training pages (the trainer, the sweep) draw alike: a stored job's status banner, its history table
with "Reopen", its downloads, and the shared queue with Watch and Cancel.

A module whose name starts with "_" is not a page. The words come from each page's catalogue keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from compression.distillation.jobs import JobManager, JobSnapshot
from compression.distillation.room_run import watch_target
from compression.distillation.store import StorageError
from pages._shared import FEATURE_PAGES, is_presenter, job_message, lang_query, t, t_or

R = TypeVar("R")


# --- a stored job ----------------------------------------------------------------------------------------------
def status_name(status: str) -> str:
    """A run's or sweep's status as a plain word ("done", "cancelled"): headings and history tables."""
    return t_or(f"distillation.state.{status}", status)


def status_banner(status: str, error: str | None, keys: str) -> None:
    """Why a stored job has no (or partial) results: failed, cancelled or interrupted, in the page's words
    (`keys`.failed / .cancelled / .interrupted, e.g. "distillation.run" or "sweep")."""
    if status == "failed":
        st.error(t(f"{keys}.failed", error=error), icon=":material/error:")
    elif status == "cancelled":
        st.info(t(f"{keys}.cancelled", error=error or ""), icon=":material/cancel:")
    elif status == "interrupted":
        st.warning(t(f"{keys}.interrupted", error=error), icon=":material/warning:")


@dataclass(frozen=True)
class Download:
    """One download button: its label, bytes (or text), file name, MIME type and widget key."""

    label: str
    data: bytes | str
    file_name: str
    mime: str
    key: str


def download_row(downloads: list[Download | None], columns: int | None = None) -> None:
    """The downloads side by side, one column each (`columns` holds the row's width when some are missing)."""
    cols = st.columns(columns or len(downloads))
    for col, item in zip(cols, downloads, strict=False):
        if item is not None:
            col.download_button(
                item.label, item.data, file_name=item.file_name, mime=item.mime, icon=":material/download:",
                key=item.key,
            )  # fmt: skip


def stored_weights(manager: JobManager, job_id: str, role: str) -> bytes | None:
    """A stored job's weights file for `role` ("student", "best"), or None when it is missing or unreadable."""
    try:
        path = manager.store.weights_path(job_id, role)
        return path.read_bytes() if path is not None else None
    except (StorageError, OSError):
        return None


def show_storage_error(exc: StorageError) -> None:
    st.error(str(exc), icon=":material/database_off:")


def load_record(load: Callable[[str], R | None], job_id: str) -> R | None:
    """A stored run or sweep (`load`: the store's reader), or None when there is none or its id is malformed;
    a store that cannot be read says why (`StorageError`)."""
    try:
        return load(job_id)
    except StorageError as exc:
        show_storage_error(exc)
    except ValueError:
        pass
    return None


def history_panel(
    heading: str,
    load: Callable[[], pd.DataFrame],
    empty: str,
    label: Callable[[Any], str],
    *,
    prefix: str,
    columns: dict,
    select_label: str,
    open_label: str,
    placeholder: str | None = "–",
) -> str | None:
    """A training page's history: its heading, the table of stored jobs (`load`: newest first, with an "error"
    column that is not shown, and statuses in the visitor's language) under the key `prefix`_history_table, and
    "Reopen" (a choice `prefix`_reopen_choice labelled by `label(row)`, the Open button `prefix`_reopen). Returns
    the id the visitor opened, else None; what opening does is the page's."""
    st.subheader(heading, anchor=False)
    try:
        jobs = load()
    except StorageError as exc:
        show_storage_error(exc)
        return None
    if jobs.empty:
        st.caption(empty)
        return None
    shown = jobs.drop(columns=["error"]).assign(status=jobs["status"].map(status_name))
    st.dataframe(
        shown, hide_index=True, width="stretch", key=f"{prefix}_history_table", placeholder=placeholder,
        column_config=columns,
    )  # fmt: skip
    labels = {row.id: label(row) for row in jobs.itertuples()}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    choice = c1.selectbox(select_label, list(labels), format_func=labels.get, key=f"{prefix}_reopen_choice")
    if c2.button(open_label, key=f"{prefix}_reopen", icon=":material/open_in_new:"):
        return choice
    return None


# --- the queue -------------------------------------------------------------------------------------------------
def status_word(status: str) -> str:
    """A job's status as a sentence start ("Done", "Cancelled"): the queue."""
    return t_or(f"distillation.status.{status}", status.capitalize())


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


def watch(job: JobSnapshot) -> None:
    """The queue's Watch: a run opens here (the trainer); a job of another kind opens its own page (a sweep on
    the sweep page, a benchmark or QAT job on Compress at its run: `room_run.watch_target`)."""
    target = watch_target(job.kind, job.id, getattr(job.config, "run_id", None))
    if target.page == "distillation":
        st.session_state["distill_job"] = job.id
        st.session_state["distill_job_chosen"] = True
        st.rerun(scope="app")
    page = next(spec.file for spec in FEATURE_PAGES if spec.url_path == target.page)
    st.switch_page(page, query_params={**target.query, **lang_query()})


def queue_panel(manager: JobManager, visitor: str) -> None:
    """Every job of the server's one queue (active first, then the 5 latest finished), with Watch and Cancel."""
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
                watch(job)
            allowed = job.owner == visitor or presenter
            if job.active:
                buttons.button(
                    t("distillation.queue.cancel"),
                    key=f"distill_cancel_{job.id}",
                    icon=":material/cancel:",
                    disabled=not allowed or job.cancel_requested,
                    help=None if allowed else t("distillation.room.cancel_help_other"),
                    on_click=cancel_job,
                    args=(manager, job.id, visitor),
                )


# --- a job a section of a page started (a benchmark, a QAT job, a PTQ sweep) -------------------------------------
def job_progress(manager: JobManager, visitor: str, name: str, tx: Callable[..., str]) -> None:
    """Polled (in a fragment): this session's `name` job (its id in session_state[f"_{name}_job"]) while it waits
    or runs: its queue position or live progress, and Cancel for its owner. When it ends, the whole page redraws
    once with its result; a failure or a cancel is said. Words: `tx("waiting" | "cancel" | "failed" | "cancelled")`."""
    job_id = st.session_state.get(f"_{name}_job")
    snap = manager.snapshot(job_id) if job_id else None
    if snap is None:
        return
    drawn = f"_{name}_drawn_active"
    if snap.active:
        if snap.status == "queued":
            st.info(tx("waiting", job=snap.id, position=snap.position), icon=":material/hourglass_top:")
        else:
            st.progress(min(1.0, snap.fraction), text=job_message(snap))
        if snap.owner == visitor:
            st.button(tx("cancel"), key=f"{name}_cancel_{snap.id}", icon=":material/cancel:",
                      disabled=snap.cancel_requested, on_click=manager.cancel, args=(snap.id, visitor))  # fmt: skip
        st.session_state[drawn] = snap.id
        return
    if st.session_state.get(drawn) == snap.id:  # it just ended: redraw the page with its result
        st.session_state.pop(drawn, None)
        st.rerun(scope="app")
    if snap.status == "failed":
        st.error(tx("failed", error=snap.error or ""), icon=":material/error:")
    elif snap.status == "cancelled":
        st.info(tx("cancelled"), icon=":material/cancel:")


def follow_job(manager: JobManager, visitor: str, name: str, tx: Callable[..., str]) -> None:
    """`job_progress` in a fragment that polls every second while this session has such a job."""
    poll = 1.0 if st.session_state.get(f"_{name}_job") else None
    st.fragment(job_progress, run_every=poll)(manager, visitor, name, tx)
