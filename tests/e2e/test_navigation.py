"""Every page opens through the sidebar, shows its title, shows no exception, and is photographed."""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import expect

from pages._shared import HOME, existing_feature_pages
from tests.e2e.conftest import assert_no_exception, open_app, open_via_sidebar, screenshot, start_server, stop_server

ALL_PAGES = [HOME, *existing_feature_pages()]


def test_health_answers_ok(server):
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as response:
        assert response.read().decode().strip() == "ok"


@pytest.mark.parametrize("spec", ALL_PAGES, ids=[s.url_path for s in ALL_PAGES])
def test_page_opens_from_sidebar(page, server, screenshot_dir, spec):
    open_app(page, server)
    if len(ALL_PAGES) > 1:  # Streamlit shows no navigation for a single page
        open_via_sidebar(page, spec.title)
    expect(page.locator("h1").first).to_be_visible()
    assert_no_exception(page)
    if spec is HOME:
        expect(page.locator("h1", has_text="Compression Lab")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Training device")
    screenshot(page, screenshot_dir, f"page-{spec.url_path}")


def test_unknown_page_url_is_friendly(page, server, screenshot_dir):
    open_app(page, server, "no-such-page")
    # Streamlit says the page was not found and serves the home page instead.
    expect(page.get_by_text("Page not found").first).to_be_visible()
    expect(page.locator("h1", has_text="Compression Lab")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "unknown-page")


def test_bad_query_parameter_is_friendly(page, server):
    open_app(page, server, "?bits=%3Cscript%3E&scheme=%00%ff&lang=klingon")
    expect(page.locator("h1", has_text="Compression Lab")).to_be_visible()
    assert_no_exception(page)


def test_first_visit_to_a_fresh_server_by_deep_link_gets_the_router(browser, tmp_path, screenshot_dir):
    """A fresh server starts in Streamlit's old pages-folder mode; the first deep link must still get app.py's
    router (navigation, device panel), not the page file run alone."""
    target = existing_feature_pages()[-1] if existing_feature_pages() else HOME
    fresh = start_server(tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        open_app(page, fresh, f"{target.url_path}?probe=1")
        expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Training device")
        expect(page.locator("h1").first).to_contain_text(target.title)
        nav = page.locator('[data-testid="stSidebarNav"]')
        if len(ALL_PAGES) > 1:
            expect(nav).to_contain_text(HOME.title)
            expect(nav).not_to_contain_text("shared")
            expect(nav.get_by_text("app", exact=True)).to_have_count(0)
        assert "probe=1" in page.url
        assert_no_exception(page)
        screenshot(page, screenshot_dir, "fresh-server-deep-link")
    finally:
        context.close()
        stop_server(fresh)


@pytest.mark.parametrize("spec", existing_feature_pages(), ids=[s.url_path for s in existing_feature_pages()])
def test_home_card_links_open_each_page(page, server, spec):
    open_app(page, server)
    page.get_by_role("link", name=f"Open {spec.title.lower()}").click()
    page.wait_for_url(re.compile(rf"/{spec.url_path}(\?.*)?$"))  # Compress adds ?run=<newest run> when one exists
    expect(page.locator("h1").first).to_contain_text(spec.title)
    assert_no_exception(page)
