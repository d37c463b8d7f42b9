"""Issue 20: Enter in a field of the trainer's form does not start a run (only the Train button does).

Streamlit forms submit on Enter by default ("Press Enter to submit form"): one Enter and one click gave a
learner two identical jobs."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, open_app, wait_for_app


def test_enter_in_a_form_field_starts_no_run(page: Page, server):
    open_app(page, server, "distillation?epochs=5&teacher=article-teacher")
    temperature = page.get_by_role("spinbutton", name="Temperature")
    expect(temperature.first).to_be_visible(timeout=60_000)  # a loaded machine draws the form late
    temperature.first.fill("3")
    temperature.first.press("Enter")
    page.wait_for_timeout(1500)  # a submitted form would rerun the page and queue the job now
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_text("Press Enter to submit form")).to_have_count(0)
    expect(page.get_by_text("started by you")).to_have_count(0)
