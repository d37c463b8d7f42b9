"""The room's run: what a projector or a learner's second screen shows on the trainer page.

A presenter may pin one finished run as "the room's run". The pin is a tiny JSON file beside the run store
(`runs_dir/room_run.json`, written atomically), so every session and a restarted server see it.

What the room shows, in order (`room_focus`):
1. a job that is running now (live);
2. else the pinned run, if it still exists in the store;
3. else the newest finished ("done") run;
4. else nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from compression.distillation.store import RunStore, check_run_id

PIN_FILE = "room_run.json"


class RoomPin:
    """Read and write the pinned run id in `runs_dir/room_run.json`."""

    def __init__(self, runs_dir: Path | str) -> None:
        self.path = Path(runs_dir) / PIN_FILE

    def get(self) -> str | None:
        """The pinned run id, or None (no pin, or an unreadable or hand-edited file)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return check_run_id(data["run_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def set(self, run_id: str) -> None:
        """Pin `run_id` (ValueError for a malformed id). Atomic: a reader sees the old or the new pin."""
        payload = json.dumps({"run_id": check_run_id(run_id)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".room_run-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class RoomFocus:
    """What the room should look at: a live job, the pinned run or the latest finished run."""

    run_id: str
    kind: Literal["live", "pinned", "latest"]


def room_focus(running_job_ids: list[str], pin: RoomPin, store: RunStore) -> RoomFocus | None:
    """Running job first, then the pinned run (if it is still stored), then the newest done run, else None."""
    if running_job_ids:
        return RoomFocus(running_job_ids[0], "live")
    pinned = pin.get()
    if pinned is not None and store.run_status(pinned) is not None:
        return RoomFocus(pinned, "pinned")
    latest = store.latest_run_id("done")
    return None if latest is None else RoomFocus(latest, "latest")


@dataclass(frozen=True)
class OwnJob:
    """One of this visitor's jobs, as the queue knows it (queued, running, or recently finished)."""

    id: str
    active: bool
    created_at: float


@dataclass(frozen=True)
class TrainerView:
    """Which run a trainer tab shows, and why: "chosen" (the visitor picked it), "own" (their newest job) or
    "room" (the room's run: `?follow=1`, or a visitor with no run of their own)."""

    run_id: str | None
    reason: Literal["chosen", "own", "room"]
    focus: RoomFocus | None = None

    @property
    def following(self) -> bool:
        return self.reason == "room"


def trainer_view(*, follow: bool, chosen: str | None, own_jobs: list[OwnJob], room: RoomFocus | None) -> TrainerView:
    """Your run, your view. `?follow=1` always shows the room's run (a projector). Otherwise a run the visitor
    picked stays on screen; else their own newest job (queued, running or just finished), kept across a reload
    because ownership is the browser's; only a visitor with no run of their own follows the room."""
    if follow:
        return TrainerView(room.run_id if room else None, "room", room)
    if chosen:
        return TrainerView(chosen, "chosen")
    if own_jobs:
        active = [j for j in own_jobs if j.active]
        newest = max(active or own_jobs, key=lambda j: j.created_at)
        return TrainerView(newest.id, "own")
    return TrainerView(room.run_id if room else None, "room", room)


# --- polling policy ------------------------------------------------------------------------------------------
# Each open trainer tab re-runs its live panel. Fast only while the job this visitor watches is running; slower
# while it waits in the queue; rarely when nothing of theirs is active (new jobs still appear).
POLL_RUNNING_S = 1.0
POLL_FOLLOWING_S = 2.0
"""A tab that merely follows the running job (a fresh visit, a projector) rather than one its visitor started or
chose to watch: still live, at half the pace; the owner's own tab stays at POLL_RUNNING_S."""
POLL_QUEUED_S = 3.0
POLL_IDLE_S = 30.0
# The live charts are rebuilt at most this often per job and language, however many tabs poll: tabs polling in
# the same interval share one set of figures. Redrawing three Plotly charts is what costs a browser most (8
# following tabs redrawing every second kept 1.5 of this machine's 2 cores busy): the tab of the visitor who
# started or chose the job redraws them every second, a tab that only follows the room every 4 s (its progress
# bar and accuracy cards still move at every poll).
LIVE_REDRAW_S = 1.0
LIVE_REDRAW_FOLLOWING_S = 4.0


@dataclass(frozen=True)
class QueuedJob:
    """What the polling policy needs of an active job in the queue (`jobs.JobSnapshot` has these fields)."""

    id: str
    owner: str
    status: str


def poll_interval(
    active_jobs: list[QueuedJob], *, visitor: str, watched: str | None, chosen: bool, follow: bool
) -> float:
    """Seconds between polls of a trainer tab: fast while this visitor's job, or one they chose to watch, runs;
    half as fast while the tab only follows the room's running job; slow when nothing of theirs is active."""
    mine = [j for j in active_jobs if j.owner == visitor or (chosen and j.id == watched)]
    if any(j.status == "running" for j in mine):
        return POLL_RUNNING_S
    if any(j.status == "running" and (watched is None or j.id == watched) for j in active_jobs):
        return POLL_FOLLOWING_S
    if mine or follow:  # ?follow=1: a projector picks up the next run soon
        return POLL_QUEUED_S
    return POLL_IDLE_S


def live_redraw_s(*, owner: str, visitor: str, chosen: bool) -> float:
    """How often a tab redraws a running job's charts: every second for its owner or a visitor who chose it,
    every 4 s for a tab that only follows the room."""
    return LIVE_REDRAW_S if owner == visitor or chosen else LIVE_REDRAW_FOLLOWING_S


def view_changed(view: TrainerView, drawn: tuple[str, str | None] | None, *, chosen: bool, follow: bool) -> bool:
    """Polled: whether what a tab should show (`trainer_view`) moved since its page was drawn (`drawn`: the
    view's reason and run then). A run the visitor picked stays on screen unless the tab follows the room."""
    if chosen and not follow:
        return False
    return (view.reason, view.run_id) != drawn


def run_first(view: TrainerView, *, follow: bool) -> bool:
    """Whether the trainer draws the run above its form: a visitor's own or chosen run is read first (on a phone
    it was a long scroll under the form); a follower or a fresh visitor sees the form first (a projector the
    room's run, with the form folded away, which the page decides)."""
    return view.reason in ("own", "chosen") and not follow


# --- where a job is watched ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WatchTarget:
    """The page that shows a job (its url path in the page registry, "distillation" for the trainer itself),
    with the query that opens the job there."""

    page: str
    query: dict[str, str]


def watch_target(kind: str, job_id: str, run_id: str | None = None) -> WatchTarget:
    """Where the queue's "Watch" opens a job: a run on the trainer, a sweep on the sweep page (?sweep=<id>), a job
    over a stored run (a deploy benchmark, QAT: its config's `run_id`) on Compress (?run=<run id>)."""
    if kind == "sweep":
        return WatchTarget("sweep", {"sweep": job_id})
    if kind != "run" and run_id:
        return WatchTarget("compress", {"run": run_id})
    return WatchTarget("distillation", {})


# --- the sweep page's view -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepView:
    """Which sweep a sweep tab shows, and why: "chosen" (the visitor's own, reopened or linked), "room" (the
    presenter's room sweep), "live" (a sweep running now) or "latest" (the newest finished one)."""

    sweep_id: str | None
    reason: Literal["chosen", "room", "live", "latest", "none"]


def sweep_view(
    *, watched: str | None, room_job: str | None, running: list[str], latest_finished: str | None
) -> SweepView:
    """What a sweep tab shows, as the trainer does for runs: the sweep it already watches (one it started,
    reopened or was linked to); else the room's sweep (the presenter started it for everyone); else a sweep
    running now (live); else the newest finished sweep; else nothing."""
    if watched:
        return SweepView(watched, "chosen")
    if room_job:
        return SweepView(room_job, "room")
    if running:
        return SweepView(running[0], "live")
    if latest_finished:
        return SweepView(latest_finished, "latest")
    return SweepView(None, "none")
