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
