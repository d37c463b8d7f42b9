"""A room of visitors during a training run: two visitors press Train at once, a dozen more open pages.

Every page still renders (title, router sidebar, no exception), one job runs while the other waits with its
position, every visitor sees both in the queue, and the server keeps answering its health check.
"""

from __future__ import annotations

import urllib.request

from playwright.sync_api import Browser, Page, expect

from pages._shared import HOME, existing_feature_pages
from tests.e2e.conftest import APP_TIMEOUT_MS, assert_no_exception, open_app, screenshot, wait_for_app

RUN = "distillation?dataset=digits&teacher=article-teacher&student=article-student&epochs=2000&seed={seed}"
VISITORS = 12


def _new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(APP_TIMEOUT_MS)
    return page


def _press_train(page: Page, server, seed: int) -> None:
    open_app(page, server, RUN.format(seed=seed))
    expect(page.locator("h1", has_text="Distillation trainer")).to_be_visible()
    teacher_epochs = page.get_by_role("spinbutton", name="Teacher epochs (0 = preset's)")
    teacher_epochs.fill("3")
    teacher_epochs.press("Tab")
    wait_for_app(page)


def test_room_of_visitors_during_a_training_run(browser: Browser, server, screenshot_dir):
    pages = [HOME, *existing_feature_pages()]
    first, second = _new_page(browser), _new_page(browser)
    _press_train(first, server, seed=11)
    _press_train(second, server, seed=12)
    # Both press Train as close together as one browser driver allows.
    first.get_by_role("button", name="Train").click()
    second.get_by_role("button", name="Train").click()
    expect(first.locator(".st-key-distill_queue").last).to_contain_text("(started by you)")
    queue = second.locator(".st-key-distill_queue").last
    expect(queue).to_contain_text("Queued, position 1 (started by you)", timeout=60_000)
    expect(queue).to_contain_text("Running on cpu")

    # A visitor who did not start the jobs sees both; their Cancel buttons are disabled for them.
    watcher = _new_page(browser)
    open_app(watcher, server, "distillation")
    watcher_queue = watcher.locator(".st-key-distill_queue").last
    expect(watcher_queue).to_contain_text("Running on cpu")
    expect(watcher_queue).to_contain_text("Queued, position 1 (started by another visitor)")
    cancel_buttons = watcher_queue.get_by_role("button", name="Cancel")
    expect(cancel_buttons).to_have_count(2)
    for button in cancel_buttons.all():
        expect(button).to_be_disabled()
    screenshot(watcher, screenshot_dir, "room-watcher-queue")

    # The waiting visitor changes their mind: cancel takes the job out of the queue for everyone.
    queue.get_by_role("button", name="Cancel", disabled=False).click()
    expect(watcher_queue).not_to_contain_text("Queued, position 1", timeout=30_000)
    expect(watcher_queue).to_contain_text("Cancelled")

    # A dozen visitors arrive while the first job trains, spread over every page.
    visitors = []
    for i in range(VISITORS):
        spec = pages[i % len(pages)]
        visitor = _new_page(browser)
        visitor.goto(f"{server.url}/{'' if spec is HOME else spec.url_path}", wait_until="commit")
        visitors.append((spec, visitor))
    for spec, visitor in visitors:
        wait_for_app(visitor)
        expect(visitor.locator("h1").first).to_contain_text("Compression Lab" if spec is HOME else spec.title)
        expect(visitor.locator('[data-testid="stSidebar"]')).to_contain_text("Training device")
        assert_no_exception(visitor)
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=10) as response:
        assert response.read().decode().strip() == "ok"

    # The first job was not disturbed by the room: still running, or done, never failed.
    first_queue = first.locator(".st-key-distill_queue").last
    expect(first_queue).not_to_contain_text("Failed")
    if "Running on cpu" in first_queue.inner_text():
        first_queue.get_by_role("button", name="Cancel", disabled=False).click()
        expect(first_queue).not_to_contain_text("Running on cpu", timeout=60_000)
    for _, visitor in visitors:
        visitor.context.close()
    for page in (first, second, watcher):
        page.context.close()
