"""AppTest harness: run app.py (the real router) and switch to a page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from tests.conftest import ROOT

# torch imports and first-time model builds take a while on a 2-core machine.
DEFAULT_TIMEOUT = 120


class _ServedPagesManager(PagesManager):
    """AppTest re-enters Streamlit's legacy pages-folder mode on every run (app.py sits next to pages/), which
    would run the page file without app.py. A real server leaves that mode for good as soon as app.py calls
    st.navigation (pages._shared.require_router sees to it on a fresh server; tests/e2e checks that), so
    AppTest runs here in the same, served state: every run executes app.py, the real router."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def run_through_the_router(monkeypatch):
    monkeypatch.setattr(app_test_module, "PagesManager", _ServedPagesManager)


@pytest.fixture(autouse=True)
def clear_streamlit_caches():
    """Each test starts with empty st.cache_resource / st.cache_data (job managers, stores...)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """open_page("pages/quiz.py", query={"lang": "zh"}) -> an AppTest that has run that page once."""

    def _open(page: str, query: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()  # registers st.navigation's pages, so switch_page resolves real page hashes
        if page != "pages/home.py":
            at.switch_page(page)
            at.run()
        return at

    return _open


def assert_no_exception(at: AppTest) -> None:
    """No uncaught exception and no 'Something went wrong' box from the router."""
    assert not at.exception, [e.value for e in at.exception]
    unexpected = [e.value for e in at.error if "Something went wrong" in str(e.value)]
    assert not unexpected, unexpected
