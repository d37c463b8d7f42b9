"""The app makes no request outside its own server (issue 20): a classroom server may have no internet, and
the tab icon was once fetched from an outside font host. Every page, in both languages, is loaded in
Chromium with every request recorded; any host other than the app's own fails the test."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pages._shared import existing_feature_pages
from tests.e2e.conftest import open_app

PATHS = ["", *(spec.url_path for spec in existing_feature_pages())]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_page_requests_another_host(browser, server, lang):
    own = urlsplit(server.url).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []
    context.on("request", lambda request: outside.append(request.url)
               if urlsplit(request.url).scheme in ("http", "https", "ws", "wss")
               and urlsplit(request.url).netloc != own else None)  # fmt: skip
    page = context.new_page()
    try:
        for path in PATHS:
            open_app(page, server, f"{path}?lang={lang}")
            page.wait_for_timeout(500)  # late requests (icons, fonts) of the page just drawn
        icon = page.evaluate("(document.querySelector('link[rel~=icon]') || {}).href || ''")
        assert icon and urlsplit(icon).netloc in ("", own), icon  # a favicon, served by the app itself
    finally:
        context.close()
    assert outside == [], "requests outside the app's own server:\n" + "\n".join(sorted(set(outside)))
