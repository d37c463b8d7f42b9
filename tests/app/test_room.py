"""AppTest of the room features through the real router: a visitor's identity across sessions of one browser,
the presenter (key, cancel any job, pin the room's run), the follow view, and escaped deep-link echoes."""

from __future__ import annotations

import re

import pytest
import torch
from streamlit.runtime.context import ContextProxy, StreamlitCookies

from compression.access import new_visitor_token
from compression.distillation.room_run import RoomPin
from pages._shared import VISITOR_COOKIE
from tests.app.conftest import assert_no_exception
from tests.app.test_distillation import SHORT, page_text, start, wait_for

PAGE = "pages/distillation.py"
KEY = "trainer-key-51c9"
LONG = {**SHORT, "epochs": "2000"}

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def room_settings(monkeypatch, tmp_path):
    """One training thread, a presenter key, and a run store of this test's own (the follow view shows the
    room's latest run: other tests' runs must not leak in)."""
    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "1")
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", KEY)
    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("COMPRESSION_LAB_QUIZ_DB", str(tmp_path / "runs" / "quiz.sqlite"))


@pytest.fixture
def browser_cookie(monkeypatch):
    """Pretend every session's browser sent `cookies` when it connected (AppTest has no browser)."""
    cookies: dict[str, str] = {}
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: StreamlitCookies(dict(cookies))))
    return cookies


def cookie_scripts(at) -> list[str]:
    return [h.value for h in at.html if VISITOR_COOKIE in h.value]


def cancel_button(at, job_id: str):
    return at.button(key=f"distill_cancel_{job_id}")


def stop(owner, job_id: str) -> None:
    """Cleanup: the owner cancels the job if it still runs (so the next test finds a free worker)."""
    owner.run()
    buttons = [b for b in owner.button if b.key == f"distill_cancel_{job_id}" and not b.disabled]
    if buttons:
        buttons[0].click().run()


def test_a_reload_with_the_browser_cookie_keeps_the_job_and_its_cancel(open_page, browser_cookie):
    first = open_page(PAGE, query=LONG)
    # No cookie yet: the page names the visitor by a session token and asks the browser to keep it.
    scripts = cookie_scripts(first)
    assert len(scripts) == 1 and "SameSite=Strict" in scripts[0]
    token = first.session_state["_visitor_token"]
    assert token in scripts[0]
    start(first)
    job_id = first.session_state["distill_job"]
    try:
        # The reload: a new session whose browser sends the cookie the script set.
        browser_cookie[VISITOR_COOKIE] = token
        reloaded = open_page(PAGE)
        assert_no_exception(reloaded)
        assert cookie_scripts(reloaded) == []  # the browser has it already
        assert "(started by you)" in page_text(reloaded)
        assert not cancel_button(reloaded, job_id).disabled
        # The visitor's id shown on the page is a hash, never the cookie's secret.
        assert token not in page_text(reloaded)
        # Another browser (another cookie) does not own it.
        browser_cookie[VISITOR_COOKIE] = new_visitor_token()
        stranger = open_page(PAGE)
        assert "(started by another visitor)" in page_text(stranger)
        assert cancel_button(stranger, job_id).disabled
        # A forged, malformed cookie is ignored (a fresh session token instead).
        browser_cookie[VISITOR_COOKIE] = "x"
        forged = open_page(PAGE)
        assert cancel_button(forged, job_id).disabled
        assert forged.session_state["_visitor_token"] != "x"

        browser_cookie[VISITOR_COOKIE] = token
        reloaded.run()
        cancel_button(reloaded, job_id).click().run()
        assert_no_exception(reloaded)
        wait_for(reloaded, lambda a: f"Run `{job_id}`: cancelled" in page_text(a), timeout=60)
    finally:
        stop(first, job_id)


def test_the_presenter_key_lets_another_visitor_cancel_any_job(open_page):
    alice = open_page(PAGE, query=LONG)
    start(alice)
    job_id = alice.session_state["distill_job"]
    bob = open_page(PAGE)
    try:
        assert cancel_button(bob, job_id).disabled
        assert "Only the visitor who started a job, or the presenter" in str(cancel_button(bob, job_id).help)
        bob.text_input(key="presenter_key_trainer").input("not-the-key").run()
        assert "That is not the presenter key." in " ".join(str(e.value) for e in bob.error)
        assert cancel_button(bob, job_id).disabled
        bob.text_input(key="presenter_key_trainer").input(KEY).run()
        assert_no_exception(bob)
        assert KEY not in page_text(bob)
        assert not cancel_button(bob, job_id).disabled
        cancel_button(bob, job_id).click().run()
        wait_for(alice, lambda a: f"Run `{job_id}`: cancelled" in page_text(a), timeout=60)
        # Leaving presenter mode takes the power away again.
        bob.button(key="presenter_logout_trainer").click().run()
        assert [w for w in bob.text_input if w.key == "presenter_key_trainer"]
    finally:
        stop(alice, job_id)


def test_wrong_presenter_keys_are_limited_but_the_right_one_always_works(open_page):
    """Five wrong keys, then a sixth wrong guess waits (guessing the key is not a loop); the right key still
    works (issue 20: other browsers behind the same address must never lock the presenter out)."""
    at = open_page(PAGE)
    for i in range(5):
        at.text_input(key="presenter_key_trainer").input(f"guess-{i}").run()
        assert "That is not the presenter key." in " ".join(str(e.value) for e in at.error)
    at.text_input(key="presenter_key_trainer").input("guess-5").run()
    assert_no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "Too many wrong keys from this browser: try again in " in errors, errors
    assert not [b for b in at.button if b.key == "presenter_logout_trainer"]  # not the presenter
    at.text_input(key="presenter_key_trainer").input(KEY).run()
    assert_no_exception(at)
    assert [b for b in at.button if b.key == "presenter_logout_trainer"]  # the right key: the presenter
    assert KEY not in page_text(at)


def test_the_owner_polls_every_second_a_follower_half_as_often_an_idle_tab_rarely(open_page):
    """Issue 12 item 5: only a tab whose visitor started or chose the running job polls every second."""
    alice = open_page(PAGE, query=LONG)
    start(alice)
    job_id = alice.session_state["distill_job"]
    try:
        wait_for(alice, lambda a: "Running on" in page_text(a), timeout=60)
        assert alice.session_state["distill_poll_s"] == 1.0
        bob = open_page(PAGE)  # a fresh visit follows the running job, live but at half the pace
        assert "(started by another visitor)" in page_text(bob)
        assert bob.session_state["distill_job"] == job_id
        assert bob.session_state["distill_poll_s"] == 2.0
        bob.button(key=f"distill_watch_{job_id}").click().run()  # watching it by choice: every second
        assert_no_exception(bob)
        assert bob.session_state["distill_poll_s"] == 1.0
        cancel_button(alice, job_id).click().run()
        wait_for(alice, lambda a: f"Run `{job_id}`: cancelled" in page_text(a), timeout=60)
        assert alice.session_state["distill_poll_s"] == 30.0  # nothing active: a slow refresh only
    finally:
        stop(alice, job_id)


def test_a_fresh_visit_shows_the_latest_run_and_the_presenter_pins_another(open_page, tmp_path):
    empty = open_page(PAGE)
    assert "Following the room" not in page_text(empty)  # no run yet: nothing to follow
    first = open_page(PAGE, query=SHORT)
    start(first)
    first_id = first.session_state["distill_job"]
    wait_for(first, lambda a: f"Run `{first_id}`: done" in page_text(a))
    second = open_page(PAGE, query={**SHORT, "seed": "5"})
    start(second)
    second_id = second.session_state["distill_job"]
    wait_for(second, lambda a: f"Run `{second_id}`: done" in page_text(a))

    # A fresh visit: the latest finished run with its verdict and charts, without a click.
    fresh = open_page(PAGE)
    assert_no_exception(fresh)
    text = page_text(fresh)
    assert f"Run `{second_id}`: done" in text and "Following the room: the latest finished run." in text
    assert any("Distillation" in str(x.value) for x in [*fresh.success, *fresh.warning])
    assert len(fresh.get("plotly_chart")) >= 3
    assert not [b for b in fresh.button if b.key and b.key.startswith("distill_pin_")]  # not the presenter

    # The presenter reopens the first run and pins it: fresh visits now show that one.
    presenter = open_page(PAGE)
    presenter.text_input(key="presenter_key_trainer").input(KEY).run()
    presenter.selectbox(key="distill_reopen_choice").set_value(first_id)
    presenter.button(key="distill_reopen").click().run()
    presenter.button(key=f"distill_pin_{first_id}").click().run()
    assert_no_exception(presenter)
    assert RoomPin(tmp_path / "runs").get() == first_id
    assert "This is the room's run (pinned by the presenter)." in page_text(presenter)
    later = open_page(PAGE)
    assert f"Run `{first_id}`: done" in page_text(later)
    assert "Following the room: the run the presenter pinned." in page_text(later)
    # ?follow=1 keeps following even after a click elsewhere; without it, a visitor's own choice sticks.
    presenter.button(key=f"distill_unpin_{first_id}").click().run()
    assert RoomPin(tmp_path / "runs").get() is None
    projector = open_page(PAGE, query={"follow": "1"})
    assert f"Run `{second_id}`: done" in page_text(projector)
    projector.selectbox(key="distill_reopen_choice").set_value(first_id)
    projector.button(key="distill_reopen").click().run()
    assert f"Run `{second_id}`: done" in page_text(projector)
    later.selectbox(key="distill_reopen_choice").set_value(second_id)
    later.button(key="distill_reopen").click().run()
    later.selectbox(key="distill_reopen_choice").set_value(first_id)
    later.button(key="distill_reopen").click().run()
    assert f"Run `{first_id}`: done" in page_text(later)


HOSTILE = (
    "[click here](http://evil.example/login)",
    "![t](http://evil.example/t.png)",
    "x`[click me](http://evil.example/phish)`",
    '<img src="http://evil.example/i.png"><a href="http://evil.example">a</a>',
    "http://evil.example www.evil.example me@evil.example",
)
# Unescaped Markdown: a bracket, tag or backtick without its backslash; a URL or e-mail address without the
# invisible word joiner that keeps GitHub Markdown from linking it.
UNESCAPED = [
    re.compile(pattern)
    for pattern in (r"(?<!\\)\]", r"(?<!\\)<", r"(?<!\\)`", "(?<!\u2060)://", r"(?i)www\.", "(?<!\u2060)@")
]
PAGE_PARAMS = {
    "pages/home.py": ("lang",),  # the router's: one language switch for every page, warned on the first run
    "pages/quiz.py": ("mode",),
    "pages/quantization.py": ("values", "bits", "scheme", "rounding", "calibration"),
    "pages/sweep.py": ("dataset", "teacher", "student", "epochs", "teacher_epochs", "sweep"),
    "pages/distillation.py": (
        "dataset", "teacher", "student", "epochs", "batch_size", "lr", "temperature", "alpha", "seed", "follow",
    ),
}  # fmt: skip


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_deep_link_values_are_echoed_as_literal_text(open_page, payload):
    """Every deep-link parameter of every page, at once: each is refused, and its echo is a code span
    (fenced past any backtick in it) and the reason is escaped prose: no Markdown link, image or HTML."""
    for page, params in PAGE_PARAMS.items():
        at = open_page(page, query=dict.fromkeys(params, payload))
        assert_no_exception(at)
        warnings = [str(w.value) for w in at.warning if w.icon == ":material/link_off:"]
        assert len(warnings) == len(params), (page, warnings)
        for text in warnings:
            prefix, _, reason = text.partition(" was ignored: ")
            echo = prefix.removeprefix("The link's parameter ")
            fence = echo.split(" ", 1)[0]
            assert set(fence) == {"`"} and echo.endswith(" " + fence), echo
            assert fence not in echo[len(fence) : -len(fence)], echo  # nothing closes the code span early
            for unescaped in UNESCAPED:
                assert not unescaped.search(reason), (page, unescaped.pattern, reason)


def test_a_very_long_deep_link_value_is_refused_with_a_short_echo(open_page):
    at = open_page("pages/quantization.py", query={"values": "1," * 30_000})
    assert_no_exception(at)
    warnings = [str(w.value) for w in at.warning if w.icon == ":material/link_off:"]
    assert len(warnings) == 1 and "60,000 characters long" in warnings[0], warnings
    assert len(warnings[0]) < 200
