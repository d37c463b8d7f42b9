"""Watch on a sweep in the trainer's queue opens that sweep on the sweep page, in a real browser (issue 16: it
ended at nothing). The Watch button sits in the trainer's polled fragment: a page switch from a fragment's run."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, open_app, screenshot, wait_for_app

QUICK = "sweep?teacher=article-teacher&teacher_epochs=3&epochs=3"


def test_watch_on_a_sweep_in_the_trainers_queue_opens_the_sweep_page(page: Page, server, screenshot_dir):
    open_app(page, server, QUICK)
    page.get_by_text("Choose a grid", exact=True).click()
    wait_for_app(page)
    page.get_by_role("button", name="Train the grid").click()
    wait_for_app(page)
    heading = page.locator("h3", has_text=re.compile(r"Sweep \w+: done"))
    expect(heading).to_be_visible(timeout=300_000)
    job = re.search(r"Sweep (\w+): done", heading.inner_text()).group(1)

    open_app(page, server, "distillation")
    watch = page.locator(f".st-key-distill_watch_{job} button")
    expect(watch).to_be_visible(timeout=60_000)
    watch.click()
    page.wait_for_url(re.compile(rf"/sweep\?(.*&)?sweep={job}"), timeout=60_000)
    wait_for_app(page)
    expect(page.locator("h1", has_text="Distillation sweep")).to_be_visible()
    expect(page.locator("h3", has_text=f"Sweep {job}: done")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-sweep_heatmap_accuracy .js-plotly-plot")).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "queue-watch-sweep")
