"""In Chromium: start a short digits run, watch the live chart grow while it trains, see the final table."""

from __future__ import annotations

import time
import urllib.request

from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    COUNT_SCRIPT_RUNS_JS,
    assert_no_exception,
    open_app,
    screenshot,
    script_runs,
    wait_for_app,
)

LINK = "distillation?dataset=digits&teacher=article-teacher&student=article-student&epochs=400&temperature=4&alpha=0.9"


def live_chart_signature(page: Page) -> str:
    """The SVG path of every line in the live accuracy chart: it changes when new epochs are drawn."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.st-key-distill_live .js-plotly-plot .scatterlayer path.js-line'))
                 .map(p => p.getAttribute('d') || '').join('|')"""
    )


def test_short_run_live_chart_updates_and_final_table(page: Page, server, screenshot_dir):
    page.add_init_script(COUNT_SCRIPT_RUNS_JS)
    open_app(page, server, LINK)  # a deep link as the fresh server's first request: still served by the router
    assert_no_exception(page)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Training device")
    expect(page.locator("h1", has_text="Distillation trainer")).to_be_visible()
    teacher_epochs = page.get_by_role("spinbutton", name="Teacher epochs (0 = preset's)")
    teacher_epochs.fill("5")
    teacher_epochs.press("Tab")
    screenshot(page, screenshot_dir, "distillation-form")
    page.get_by_role("button", name="Train").click()

    # Live: the progress bar and the chart appear, and the chart grows between two polls.
    live = page.locator(".st-key-distill_live")
    expect(live.get_by_text("Student against teacher: test accuracy per epoch").first).to_be_visible(timeout=60_000)
    expect(live.locator(".js-plotly-plot .scatterlayer path.js-line").first).to_be_attached(timeout=60_000)
    first, runs_before = live_chart_signature(page), script_runs(page)
    changed = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.wait_for_timeout(1200)
        now = live_chart_signature(page)
        if now and now != first:
            changed = True
            break
    assert changed, "the live chart did not change while the job trained"
    assert script_runs(page) > runs_before, "the owner's tab did not poll while its job trained"
    # The server keeps answering while it trains.
    started = time.monotonic()
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as response:
        assert response.read().decode().strip() == "ok"
    assert time.monotonic() - started < 5
    expect(page.locator(".st-key-distill_queue").last).to_contain_text("started by you")
    screenshot(page, screenshot_dir, "distillation-live")
    live.screenshot(path=str(screenshot_dir / "distillation-live-chart.png"))

    # Done: the verdict, the summary table and the accuracy-vs-size chart, from the store.
    expect(page.get_by_text(": done")).to_be_visible(timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text("Accuracy against model size").first).to_be_visible()
    expect(page.get_by_text("Gap closed").first).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    verdict = page.locator('[data-testid="stAlert"]', has_text="Distillation")
    expect(verdict.first).to_be_visible()
    expect(page.get_by_role("button", name="Metrics (CSV)")).to_be_visible()
    assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 3200})  # Streamlit scrolls inside the page: show it all
    page.wait_for_timeout(500)
    screenshot(page, screenshot_dir, "distillation-done")
    results = page.locator('[data-testid="stVerticalBlock"]', has=page.get_by_text("Accuracy against model size")).last
    results.screenshot(path=str(screenshot_dir / "distillation-results.png"))


def test_an_idle_trainer_tab_does_not_poll_the_server(page: Page, server):
    """Issue 12 item 5: with nothing of this visitor's active, the tab used to re-run its live panel every 3 s
    (8 idle tabs cost 0.42 of a core). Now it backs off to a slow refresh: no script run in 8 s. (The same
    counter sees the owner's tab poll in test_short_run_live_chart_updates_and_final_table.)"""
    page.add_init_script(COUNT_SCRIPT_RUNS_JS)
    open_app(page, server, "distillation")
    # Other tests may have left a job finishing: measure once nothing is active on the server.
    expect(page.locator(".st-key-distill_queue").last).to_contain_text(" 0 active ", timeout=120_000)
    open_app(page, server, "distillation")
    wait_for_app(page)
    page.wait_for_timeout(1500)  # the first render's own runs
    before = script_runs(page)
    assert before >= 1  # the counter sees the first render
    page.wait_for_timeout(8000)
    assert script_runs(page) == before, f"{script_runs(page) - before} script runs of an idle tab in 8 s"
