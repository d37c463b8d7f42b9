"""The room's run: the presenter's pin (a file beside the run store) and what a following screen shows."""

from __future__ import annotations

import pytest

from compression.distillation.room_run import (
    LIVE_REDRAW_FOLLOWING_S,
    LIVE_REDRAW_S,
    PIN_FILE,
    POLL_FOLLOWING_S,
    POLL_IDLE_S,
    POLL_QUEUED_S,
    POLL_RUNNING_S,
    OwnJob,
    QueuedJob,
    RoomFocus,
    RoomPin,
    SweepView,
    TrainerView,
    WatchTarget,
    live_redraw_s,
    poll_interval,
    room_focus,
    run_first,
    sweep_view,
    trainer_view,
    view_changed,
    watch_target,
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


# --- polling, redraw, view changes, where a job is watched, the sweep page's view ------------------------------


def test_a_tab_polls_fast_only_while_its_own_or_chosen_job_runs():
    mine = QueuedJob("aaa", "me", "running")
    other = QueuedJob("bbb", "you", "running")
    queued_mine = QueuedJob("ccc", "me", "queued")
    args = {"visitor": "me", "watched": None, "chosen": False, "follow": False}
    assert poll_interval([mine, other], **args) == POLL_RUNNING_S
    # Following the room's running job (nothing watched, or watching that job without choosing it).
    assert poll_interval([other], **args) == POLL_FOLLOWING_S
    assert poll_interval([other], **{**args, "watched": "bbb"}) == POLL_FOLLOWING_S
    # Chosen (Watch, Reopen): as fast as the owner's own.
    assert poll_interval([other], **{**args, "watched": "bbb", "chosen": True}) == POLL_RUNNING_S
    # Watching another (finished) run while someone else's runs: nothing of this tab's is live.
    assert poll_interval([other], **{**args, "watched": "old"}) == POLL_IDLE_S
    assert poll_interval([queued_mine], **args) == POLL_QUEUED_S
    assert poll_interval([], **{**args, "follow": True}) == POLL_QUEUED_S  # a projector picks up the next run
    assert poll_interval([], **args) == POLL_IDLE_S
    assert POLL_RUNNING_S < POLL_FOLLOWING_S < POLL_QUEUED_S < POLL_IDLE_S


def test_only_the_owners_or_choosers_tab_redraws_every_second():
    assert live_redraw_s(owner="me", visitor="me", chosen=False) == LIVE_REDRAW_S
    assert live_redraw_s(owner="you", visitor="me", chosen=True) == LIVE_REDRAW_S
    assert live_redraw_s(owner="you", visitor="me", chosen=False) == LIVE_REDRAW_FOLLOWING_S > LIVE_REDRAW_S


def test_a_chosen_run_stays_unless_the_tab_follows_the_room():
    room = TrainerView("new", "room", RoomFocus("new", "live"))
    assert view_changed(room, ("room", "old"), chosen=False, follow=False)
    assert not view_changed(room, ("room", "new"), chosen=False, follow=False)
    assert not view_changed(room, ("chosen", "old"), chosen=True, follow=False)  # the visitor's pick stays
    assert view_changed(room, ("room", "old"), chosen=True, follow=True)  # ?follow=1 moves with the room
    assert view_changed(TrainerView("mine", "own"), None, chosen=False, follow=False)  # first poll of a new tab


def test_own_and_chosen_runs_are_drawn_above_the_form():
    assert run_first(TrainerView("a", "own"), follow=False)
    assert run_first(TrainerView("a", "chosen"), follow=False)
    assert not run_first(TrainerView("a", "room"), follow=False)
    assert not run_first(TrainerView("a", "chosen"), follow=True)


def test_watch_opens_each_kind_of_job_on_its_own_page():
    assert watch_target("run", "r1") == WatchTarget("distillation", {})
    assert watch_target("sweep", "s1") == WatchTarget("sweep", {"sweep": "s1"})
    assert watch_target("benchmark", "b1", "r1") == WatchTarget("compress", {"run": "r1"})
    assert watch_target("qat", "q1", "r2") == WatchTarget("compress", {"run": "r2"})
    assert watch_target("run", "r1", "r1") == WatchTarget("distillation", {})


def test_a_sweep_tab_shows_what_it_watches_then_the_room_then_live_then_latest():
    args = {"watched": None, "room_job": None, "running": [], "latest_finished": None}
    assert sweep_view(**args) == SweepView(None, "none")
    assert sweep_view(**{**args, "latest_finished": "old"}) == SweepView("old", "latest")
    assert sweep_view(**{**args, "latest_finished": "old", "running": ["run1", "run2"]}) == SweepView("run1", "live")
    assert sweep_view(**{**args, "running": ["run1"], "room_job": "room"}) == SweepView("room", "room")
    assert sweep_view(**{**args, "room_job": "room", "watched": "mine"}) == SweepView("mine", "chosen")
