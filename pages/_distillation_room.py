"""The trainer's room: which run a tab shows (its own, a chosen one, or the room's), how often it polls, the
follow banner, and the presenter's pin and sign-in.

Part of pages/distillation.py (a module whose name starts with "_" is not a page). The policy is the library's
(compression.distillation.room_run: trainer_view, room_focus, poll_interval, view_changed); this reads the
session and the queue for it.
"""

from __future__ import annotations

import streamlit as st

from compression.distillation.jobs import JobManager
from compression.distillation.room_run import (
    OwnJob,
    QueuedJob,
    RoomFocus,
    RoomPin,
    TrainerView,
    room_focus,
    trainer_view,
    view_changed,
)
from compression.distillation.room_run import poll_interval as poll_policy
from compression.distillation.store import RunRecord, StorageError
from pages._shared import is_presenter, presenter_login, show_error, t


def room_text(name: str) -> str:
    """The room features' UI text (follow view, presenter controls): catalogue keys distillation.room.*."""
    return t(f"distillation.room.{name}")


def follow_param(raw: str) -> bool:
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
    chosen = bool(st.session_state.get("distill_job_chosen"))
    follow = bool(st.session_state.get("distill_follow"))
    if chosen and not follow:  # view_changed says False too: not worth reading the queue and the store
        return False
    view = current_view(manager, visitor)
    return view_changed(view, st.session_state.get("distill_view"), chosen=chosen, follow=follow)


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


def poll_interval(manager: JobManager, visitor: str) -> float:
    """Seconds between polls of this tab (`room_run.poll_interval`, over the queue's active jobs)."""
    return poll_policy(
        [QueuedJob(j.id, j.owner, j.status) for j in manager.jobs(include_finished=False)],
        visitor=visitor,
        watched=st.session_state.get("distill_job"),
        chosen=bool(st.session_state.get("distill_job_chosen", False)),
        follow=bool(st.session_state.get("distill_follow")),
    )
