"""Distillation sweep: a temperature × alpha grid of students trained as one batched job, chosen or filled by the room.

The sweep runs in the shared JobManager's worker (one job in the same queue as single runs), never in this
script. Library: compression/distillation/sweep.py. A fragment polls the watched job only while it is active.
The page's parts live beside it: pages/_sweep_form.py (settings, grid, room), _sweep_results.py (charts,
stored sweeps, history), _runs.py (what the trainer draws alike).
"""

from __future__ import annotations

import time

import streamlit as st

from compression.config import Settings
from compression.distillation.jobs import JobManager
from compression.distillation.room_run import sweep_view
from compression.distillation.sweep import SweepRoom
from pages._runs import load_record
from pages._shared import get_manager, is_presenter, job_message, require_router, show_error, t, t_or, visitor_id
from pages._sweep_form import apply_deep_link, base_config, grid_form, presenter_controls, room_form, room_panel
from pages._sweep_results import curves, history_panel, stored_results

POLL_ACTIVE_S = 1.0
POLL_ROOM_S = 3.0
LIVE_POINTS = 150


@st.cache_resource(show_spinner=False)
def get_room() -> SweepRoom:
    """The room's submitted cells, shared by every session of this server."""
    return SweepRoom()


def running_sweeps(manager: JobManager) -> list[str]:
    """The ids of the sweeps the queue is running now (oldest first)."""
    return [j.id for j in manager.jobs(include_finished=False) if j.status == "running" and j.kind == "sweep"]


def live_panel(manager: JobManager, visitor: str, watched: str | None) -> None:
    """Polled while the sweep this tab shows is queued or running: its progress, live curves and Cancel."""
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

apply_deep_link(settings.max_epochs, room.job_id)
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

# What this tab shows, as the trainer does for runs (room_run.sweep_view): the sweep it watches, else the room's,
# else one running now, else the newest finished one (a fresh visit after a class ran a sweep sees its heatmap).
latest = None
if st.session_state.get("sweep_job") is None:
    try:
        latest = manager.store.sweeps.latest_finished()
    except ValueError as exc:
        show_error(exc, t("sweep.not_started"))
view = sweep_view(
    watched=st.session_state.get("sweep_job"),
    room_job=room.job_id,
    running=running_sweeps(manager),
    latest_finished=latest,
)
watched_id = view.sweep_id
watched = manager.snapshot(watched_id) if watched_id else None
active = watched is not None and watched.active
st.session_state["sweep_drawn_active"] = watched.id if active else None
st.fragment(live_panel, run_every=POLL_ACTIVE_S if active else None)(manager, visitor, watched_id)

if watched_id and not active:
    record = load_record(manager.store.sweeps.get_sweep, watched_id)
    if record is not None:
        stored_results(record, manager)

history_panel(manager)
st.caption(t("sweep.footer", time=time.strftime("%H:%M:%S")) + (t("sweep.footer_presenter") if is_presenter() else ""))
