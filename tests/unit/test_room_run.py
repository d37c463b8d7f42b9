"""The room's run: the presenter's pin (a file beside the run store) and what a following screen shows."""

from __future__ import annotations

import pytest

from compression.distillation.room_run import (
    PIN_FILE,
    OwnJob,
    RoomFocus,
    RoomPin,
    TrainerView,
    room_focus,
    trainer_view,
)
from compression.distillation.store import RunStore


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


def _run(store: RunStore, run_id: str, status: str) -> None:
    store.create_run(run_id, {"dataset": "digits"})
    if status == "done":
        store.finish(run_id, {"student": {"test_accuracy": 0.9}}, {})
    elif status != "queued":
        store.set_status(run_id, status)


def test_pin_round_trip_survives_a_new_instance(store):
    pin = RoomPin(store.runs_dir)
    assert pin.get() is None
    pin.set("run-a")
    assert RoomPin(store.runs_dir).get() == "run-a"
    pin.set("run-b")
    assert pin.get() == "run-b"
    pin.clear()
    assert pin.get() is None
    pin.clear()  # clearing twice is fine


@pytest.mark.parametrize("bad", ["../etc/passwd", "", "a b", "x" * 65])
def test_pin_refuses_malformed_ids(store, bad):
    with pytest.raises(ValueError):
        RoomPin(store.runs_dir).set(bad)
    assert not (store.runs_dir / PIN_FILE).exists()


@pytest.mark.parametrize("content", ["not json", '{"run_id": "../x"}', "[]", '{"other": 1}'])
def test_a_damaged_pin_file_reads_as_no_pin(store, content):
    (store.runs_dir / PIN_FILE).write_text(content)
    assert RoomPin(store.runs_dir).get() is None


def test_room_focus_order_running_then_pinned_then_latest_done(store):
    pin = RoomPin(store.runs_dir)
    assert room_focus([], pin, store) is None
    _run(store, "old", "done")
    _run(store, "failed1", "failed")
    assert room_focus([], pin, store) == RoomFocus("old", "latest")
    _run(store, "new", "done")
    assert room_focus([], pin, store) == RoomFocus("new", "latest")
    pin.set("old")
    assert room_focus([], pin, store) == RoomFocus("old", "pinned")
    assert room_focus(["job1"], pin, store) == RoomFocus("job1", "live")
    pin.set("gone")  # a pin to a run that is no longer stored is ignored
    assert room_focus([], pin, store) == RoomFocus("new", "latest")


def test_latest_run_id_and_run_status(store):
    assert store.latest_run_id() is None
    _run(store, "a", "done")
    _run(store, "b", "cancelled")
    assert store.latest_run_id("done") == "a"
    assert store.latest_run_id("cancelled") == "b"
    assert store.run_status("b") == "cancelled"
    assert store.run_status("nope") is None
    with pytest.raises(ValueError):
        store.latest_run_id("bogus")


# --- your run, your view (compression.distillation.room_run.trainer_view) ------------------------------------

ROOM = RoomFocus("b-running", "live")


def test_a_visitor_with_a_run_of_their_own_keeps_it_after_a_reload_while_another_run_starts():
    mine = [OwnJob("a-queued", active=True, created_at=10.0)]
    view = trainer_view(follow=False, chosen=None, own_jobs=mine, room=ROOM)
    assert view == TrainerView("a-queued", "own") and not view.following


def test_their_active_run_beats_their_finished_one_and_the_newest_wins():
    mine = [OwnJob("old-done", False, 1.0), OwnJob("queued", True, 5.0), OwnJob("newer-done", False, 9.0)]
    assert trainer_view(follow=False, chosen=None, own_jobs=mine, room=ROOM).run_id == "queued"
    finished = [OwnJob("old-done", False, 1.0), OwnJob("newer-done", False, 9.0)]
    assert trainer_view(follow=False, chosen=None, own_jobs=finished, room=ROOM).run_id == "newer-done"


def test_a_chosen_run_stays_and_follow_always_shows_the_room():
    mine = [OwnJob("mine", True, 1.0)]
    assert trainer_view(follow=False, chosen="picked", own_jobs=mine, room=ROOM) == TrainerView("picked", "chosen")
    view = trainer_view(follow=True, chosen="picked", own_jobs=mine, room=ROOM)
    assert view.following and view.run_id == "b-running" and view.focus == ROOM


def test_only_a_visitor_without_a_run_follows_the_room():
    view = trainer_view(follow=False, chosen=None, own_jobs=[], room=ROOM)
    assert view.following and view.run_id == "b-running"
    assert trainer_view(follow=False, chosen=None, own_jobs=[], room=None) == TrainerView(None, "room", None)
