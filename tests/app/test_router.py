"""Every page runs inside app.py's router on every run: navigation, page config and the device panel."""

from __future__ import annotations

import pytest

from pages._shared import existing_feature_pages
from tests.app.conftest import assert_no_exception

PAGES = ["pages/home.py", *(spec.file for spec in existing_feature_pages())]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_inside_the_router_on_every_run(open_page, page):
    at = open_page(page)
    for _ in range(2):  # the first run and a rerun (as after any widget change)
        assert_no_exception(at)
        sidebar = " ".join(str(m.value) for m in at.sidebar.markdown)
        assert "Training device" in sidebar, f"{page} ran without app.py's router"
        assert at.title, f"{page} shows no title"
        at.run()
