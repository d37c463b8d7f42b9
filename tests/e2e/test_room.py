"""A room in Chromium: a visitor keeps their run across a reload, the presenter signs in with the server's key,
a second screen follows the room's run without a click, and hostile deep links plant no link or image."""

from __future__ import annotations

import re
from urllib.parse import quote, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import APP_TIMEOUT_MS, PRESENTER_KEY, assert_no_exception, open_app, screenshot, wait_for_app

LONG = "distillation?dataset=digits&teacher=article-teacher&student=article-student&epochs=2000&seed={seed}"
SHORT = "distillation?dataset=digits&teacher=article-teacher&student=article-student&epochs=150&seed={seed}"


def new_page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    """A new browser profile (its own cookies): another visitor."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(APP_TIMEOUT_MS)
    return page


def press_train(page: Page, server, link: str, teacher_epochs: int = 2) -> None:
    open_app(page, server, link)
    field = page.get_by_role("spinbutton", name="Teacher epochs (0 = preset's)")
    field.fill(str(teacher_epochs))
    field.press("Tab")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.locator(".st-key-distill_queue").last).to_contain_text("(started by you)", timeout=60_000)


def sign_in_as_presenter(page: Page, key: str) -> None:
    page.locator('[data-testid="stExpander"] summary', has_text="Presenter").first.click()
    field = page.get_by_label("Presenter key", exact=True)
    field.fill(key)
    field.press("Enter")
    page.wait_for_timeout(300)
    wait_for_app(page)


def test_a_visitor_reloads_and_still_cancels_their_run_and_the_presenter_cancels_any(browser: Browser, server,
                                                                                       screenshot_dir):  # fmt: skip
    owner = new_page(browser)
    press_train(owner, server, LONG.format(seed=21))
    # F5: a new session in the same browser. The cookie names the same visitor: "yours", and Cancel works.
    owner.reload()
    wait_for_app(owner)
    queue = owner.locator(".st-key-distill_queue").last
    expect(queue).to_contain_text("(started by you)")
    # A new tab of the same browser too.
    tab = owner.context.new_page()
    tab.set_default_timeout(APP_TIMEOUT_MS)
    open_app(tab, server, "distillation")
    expect(tab.locator(".st-key-distill_queue").last).to_contain_text("(started by you)")
    tab.close()
    screenshot(owner, screenshot_dir, "room-after-reload")
    queue.get_by_role("button", name="Cancel", disabled=False).click()
    expect(queue).to_contain_text("Cancelled (started by you)", timeout=60_000)
    assert_no_exception(owner)

    # Another visitor cannot cancel the next run, until they type the presenter key.
    press_train(owner, server, LONG.format(seed=22))
    other = new_page(browser)
    open_app(other, server, "distillation")
    other_queue = other.locator(".st-key-distill_queue").last
    expect(other_queue).to_contain_text("(started by another visitor)")
    expect(other_queue.get_by_role("button", name="Cancel").first).to_be_disabled(timeout=60_000)
    sign_in_as_presenter(other, "wrong key")
    expect(other.get_by_text("That is not the presenter key.")).to_be_visible(timeout=30_000)
    expect(other_queue.get_by_role("button", name="Cancel").first).to_be_disabled()
    other.get_by_label("Presenter key", exact=True).fill(PRESENTER_KEY)
    other.get_by_label("Presenter key", exact=True).press("Enter")
    expect(other.get_by_text("You are the presenter in this browser")).to_be_visible(timeout=30_000)
    expect(other.get_by_label("Presenter key", exact=True)).to_have_count(0, timeout=30_000)  # the field is gone
    content = other.content()
    at = content.find(PRESENTER_KEY)
    assert at < 0, content[max(0, at - 600) : at + 100]
    screenshot(other, screenshot_dir, "room-presenter-queue")
    enabled = other_queue.get_by_role("button", name="Cancel", disabled=False)
    expect(enabled).to_have_count(1, timeout=30_000)
    enabled.first.click()
    try:
        expect(other_queue.get_by_role("button", name="Cancel")).to_have_count(0, timeout=60_000)  # none active
    finally:
        screenshot(other, screenshot_dir, "room-presenter-cancelled")
    expect(other_queue).not_to_contain_text("Running on")
    expect(owner.locator(".st-key-distill_queue").last).not_to_contain_text("Running on", timeout=60_000)
    for page in (owner, other):
        page.context.close()


def open_presenter_panel(page: Page) -> None:
    page.locator('[data-testid="stExpander"] summary', has_text="Presenter").first.click()


def test_presenter_mode_is_kept_across_a_reload_and_a_new_tab_until_the_presenter_leaves(browser: Browser, server,
                                                                                          screenshot_dir):  # fmt: skip
    presenter = new_page(browser)
    open_app(presenter, server, "distillation")
    sign_in_as_presenter(presenter, PRESENTER_KEY)
    expect(presenter.get_by_text("You are the presenter in this browser")).to_be_visible()
    presenter.reload()  # F5: a new session of the same browser
    wait_for_app(presenter)
    open_presenter_panel(presenter)
    expect(presenter.get_by_text("You are the presenter in this browser")).to_be_visible()
    expect(presenter.get_by_label("Presenter key", exact=True)).to_have_count(0)
    screenshot(presenter, screenshot_dir, "room-presenter-after-reload")
    tab = presenter.context.new_page()  # a second tab of the same browser
    tab.set_default_timeout(APP_TIMEOUT_MS)
    open_app(tab, server, "quiz?mode=room")
    expect(tab.get_by_text("You are the presenter in this browser").first).to_be_attached()
    tab.close()
    # Another browser is not the presenter.
    stranger = new_page(browser)
    open_app(stranger, server, "distillation")
    open_presenter_panel(stranger)
    expect(stranger.get_by_label("Presenter key", exact=True)).to_be_visible()
    stranger.context.close()
    # Leaving is explicit, and it holds across a reload.
    presenter.get_by_role("button", name="Leave presenter mode").first.click()
    wait_for_app(presenter)
    presenter.reload()
    wait_for_app(presenter)
    open_presenter_panel(presenter)
    expect(presenter.get_by_label("Presenter key", exact=True)).to_be_visible()
    expect(presenter.get_by_text("You are the presenter in this browser")).to_have_count(0)
    assert_no_exception(presenter)
    presenter.context.close()


def test_after_a_reload_a_learner_keeps_their_own_run_while_another_learners_run_starts(browser: Browser, server,
                                                                                         screenshot_dir):  # fmt: skip
    a = new_page(browser)
    press_train(a, server, LONG.format(seed=31))
    b = new_page(browser, 390, 844)
    press_train(b, server, LONG.format(seed=32))  # queued behind A's
    a.reload()
    wait_for_app(a)
    live = a.locator(".st-key-distill_live")
    expect(live).to_contain_text("(started by you)")
    screenshot(a, screenshot_dir, "room-learner-a-after-reload")
    # A cancels; B's run starts. A, who never clicked anything since the reload, still reads A's own run.
    a.locator(".st-key-distill_queue").last.get_by_role("button", name="Cancel", disabled=False).first.click()
    expect(b.locator(".st-key-distill_live")).to_contain_text("Running", timeout=120_000)
    expect(a.get_by_text(re.compile(r"Run [0-9a-f]{12}: cancelled"))).to_be_visible(timeout=60_000)
    a.wait_for_timeout(3000)  # several polls of A's tab while B's run trains
    expect(a.locator(".st-key-distill_live")).to_have_count(0)
    expect(a.get_by_text(re.compile(r"Run [0-9a-f]{12}: cancelled"))).to_be_visible()
    screenshot(a, screenshot_dir, "room-learner-a-own-run-while-b-trains")
    screenshot(b, screenshot_dir, "room-learner-b-phone")
    assert_no_exception(a)
    b.locator(".st-key-distill_queue").last.get_by_role("button", name="Cancel", disabled=False).first.click()
    expect(b.locator(".st-key-distill_queue").last).to_contain_text("Cancelled (started by you)", timeout=60_000)
    for page in (a, b):
        page.context.close()


def test_a_second_screen_follows_the_running_then_the_finished_run_without_clicking(browser: Browser, server,
                                                                                     screenshot_dir):  # fmt: skip
    projector = new_page(browser, 1920, 1080)
    open_app(projector, server, "distillation?follow=1")
    assert_no_exception(projector)
    owner = new_page(browser)
    # Long enough that the projector sees it live on a quiet machine (150 epochs ended in about 4 s, before
    # the projector's poll): it must draw the running run, then the finished one.
    press_train(owner, server, SHORT.replace("epochs=150", "epochs=800").format(seed=23))
    expect(owner.locator(".st-key-distill_queue").last).to_contain_text("· 1 active")  # this run alone: listed first
    job = owner.locator(".st-key-distill_queue code").first.inner_text()
    # The projector switches to the run by itself, draws it live, then shows its results and verdict.
    live = projector.locator(".st-key-distill_live")
    expect(live.get_by_text("Student against teacher: test accuracy per epoch").first).to_be_visible(timeout=60_000)
    expect(projector.get_by_text("Following the room: the run training now.")).to_be_visible(timeout=30_000)
    screenshot(projector, screenshot_dir, "room-follow-live")
    expect(projector.get_by_text(f"Run {job}: done")).to_be_visible(timeout=600_000)
    wait_for_app(projector)
    expect(projector.get_by_text("Accuracy against model size").first).to_be_visible()
    expect(projector.locator('[data-testid="stAlert"]', has_text="Distillation").first).to_be_visible()
    assert_no_exception(projector)
    screenshot(projector, screenshot_dir, "room-follow-done")
    # A learner who opens the trainer now sees the same finished run at once.
    learner = new_page(browser, 390, 844)
    open_app(learner, server, "distillation")
    expect(learner.get_by_text(f"Run {job}: done")).to_be_visible()
    expect(learner.get_by_text("Following the room: the latest finished run.")).to_be_visible()
    for page in (projector, owner, learner):
        page.context.close()


def test_only_the_presenter_can_reset_the_quiz_room(browser: Browser, server):
    visitor = new_page(browser)
    open_app(visitor, server, "quiz?mode=room")
    expander = visitor.locator('[data-testid="stExpander"]', has_text="Presenter").first
    expander.locator("summary").click()
    expect(expander.get_by_label("Presenter key", exact=True)).to_be_visible()
    expect(visitor.get_by_role("button", name="Reset the room statistics")).to_have_count(0)
    field = expander.get_by_label("Presenter key", exact=True)
    field.fill(PRESENTER_KEY)
    field.press("Enter")
    reset = expander.get_by_role("button", name="Reset the room statistics")
    expect(reset).to_be_visible()
    reset.click()
    visitor.get_by_role("button", name="Yes, delete them").click()
    expect(visitor.get_by_text(re.compile(r"answers? deleted"))).to_be_visible()
    assert_no_exception(visitor)
    visitor.context.close()


HOSTILE = (
    "[click here](http://evil.example/login)",
    "x`![t](http://evil.example/t.png)`",
    '<a href="http://evil.example/a">a</a><img src="http://evil.example/i.png"> www.evil.example me@evil.example',
)
PAGE_PARAMS = {
    "quiz": ("lang", "mode"),
    "quantization": ("values", "bits", "scheme", "rounding", "calibration"),
    "distillation": (
        "dataset", "teacher", "student", "epochs", "batch_size", "lr", "temperature", "alpha", "seed", "follow",
    ),
}  # fmt: skip


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_deep_links_plant_no_link_or_image(page: Page, server, payload):
    """Every deep-link parameter of every page carries Markdown, HTML or a link: each is refused, and the page
    shows no <a> or <img> pointing outside the app (nor a mailto: link)."""
    origin = urlparse(server.url).netloc
    for path, params in PAGE_PARAMS.items():
        query = "&".join(f"{name}={quote(payload, safe='')}" for name in params)
        open_app(page, server, f"{path}?{query}")
        assert_no_exception(page)
        refused = page.locator('[data-testid="stAlert"]', has_text="was ignored")
        expect(refused).to_have_count(len(params))
        outside = page.evaluate(
            """(origin) => Array.from(document.querySelectorAll('[data-testid="stApp"] a[href], [data-testid="stApp"] img[src]'))
                 .map(e => e.href || e.src)
                 .filter(u => { try { const p = new URL(u); return p.host !== origin || p.protocol === 'mailto:'; }
                                catch (_) { return true; } })""",
            origin,
        )
        assert outside == [], (path, outside)
        assert "evil.example" in refused.first.inner_text()  # echoed, as plain text
