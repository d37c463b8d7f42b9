"""Distillation trainer: a teacher, a distilled student and the same student trained alone, live for every visitor.

Training runs in the shared JobManager's worker (compression/distillation/jobs.py), never in this script.
A fragment polls the job's snapshot; finished runs are drawn from the run store. The page's parts live beside
it: pages/_distillation_form.py (the form), _distillation_charts.py, _distillation_results.py (stored runs,
history), _distillation_room.py (which run a tab shows, polling, the presenter), _runs.py (the queue panel and
what the sweep page draws alike).
"""

from __future__ import annotations

import time

import streamlit as st

from compression.config import Settings
from compression.distillation.jobs import JobManager, JobSnapshot
from compression.distillation.room_run import live_redraw_s, run_first
from compression.distillation.variants import VARIANTS
from pages._distillation_charts import draw_live_curves
from pages._distillation_form import apply_deep_link, config_line, training_form
from pages._distillation_results import article_table, history_panel, stored_results
from pages._distillation_room import (
    current_view,
    follow_param,
    follow_room,
    poll_interval,
    presenter_panel,
    room_banner,
    room_moved,
    room_text,
)
from pages._runs import job_status_text, load_record, queue_panel
from pages._shared import get_manager, job_message, query_param, require_router, show_error, t, t_or, visitor_id


# --- live view (polled) -------------------------------------------------------------------------------------
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
    chosen = bool(st.session_state.get("distill_job_chosen", False))
    draw_live_curves(
        job.history, key=f"live_{job.id}", every_s=live_redraw_s(owner=job.owner, visitor=visitor, chosen=chosen)
    )


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
    st.session_state["distill_follow"] = query_param("follow", follow_param, False)

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
first = run_first(current_view(manager, visitor), follow=bool(st.session_state.get("distill_follow")))
run_area, form_area = (st.container(), st.container()) if first else reversed((st.container(), st.container()))
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
        record = load_record(manager.store.get_run, watched_id)
        if record is not None:
            stored_results(record, manager)

history_panel(manager)
with st.expander(t("distillation.article.heading")):
    st.markdown(t("distillation.article.intro"))
    st.table(article_table())
st.caption(t("distillation.footer", time=time.strftime("%H:%M:%S"), visitor=visitor))
