"""Issue 20, phones: Plotly's toolbar (shown on a tap) covered chart titles on a phone. It is hidden below
640 px and kept on a laptop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import APP_TIMEOUT_MS, wait_for_app


@pytest.mark.parametrize(("width", "shown"), [(390, False), (1280, True)])
def test_the_chart_toolbar_is_hidden_on_a_phone_only(browser: Browser, server, width, shown):
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(APP_TIMEOUT_MS)
        page.goto(f"{server.url}/quantization?values=0.5,1.0,-0.3&bits=4,8")
        wait_for_app(page)
        bar = page.locator(".js-plotly-plot .modebar-container").first
        expect(bar).to_be_attached()
        display = bar.evaluate("e => getComputedStyle(e).display")
        assert (display != "none") == shown, display
    finally:
        context.close()
