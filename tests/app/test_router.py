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


def test_streamlit_still_has_the_legacy_mode_require_router_handles():
    """Fails loudly when a Streamlit upgrade changes the legacy pages-folder mode (see require_router)."""
    import inspect

    import streamlit
    from streamlit.commands import navigation
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import app_test

    assert streamlit.__version__.startswith("1.67."), (
        f"streamlit {streamlit.__version__}: re-check pages/_shared.require_router and tests/app/conftest.py, "
        "then update this pin"
    )
    assert "uses_pages_directory" in vars(PagesManager), "PagesManager.uses_pages_directory is gone"
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation.navigation), (
        "st.navigation no longer switches the pages-folder mode off"
    )
    assert "_mpa_v1(" in inspect.getsource(script_runner.ScriptRunner), "the pages-folder mode runs differently now"
    assert "PagesManager.uses_pages_directory = None" in inspect.getsource(app_test.AppTest), (
        "AppTest no longer re-enters the pages-folder mode on each run: tests/app/conftest.py may not need its patch"
    )


def test_device_panel_shows_each_slot_and_an_unreachable_ray_cluster(open_page, monkeypatch, tmp_path):
    """Local: the device's slots, free. With COMPRESSION_LAB_RAY_ADDRESS unreachable: the panel says so, with
    the reason, and the page still serves."""
    import time

    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("COMPRESSION_LAB_DEVICE", "cpu")
    monkeypatch.setenv("COMPRESSION_LAB_CPU_WORKERS", "2")
    at = open_page("pages/home.py")
    captions = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "Slots** (0 busy of 2)" in captions and "`cpu`: free" in captions and "`cpu#1`: free" in captions

    monkeypatch.setenv("COMPRESSION_LAB_RAY_ADDRESS", "127.0.0.1:9")
    at = open_page("pages/home.py")
    for _ in range(100):  # the cluster's thread tries to connect: a few seconds
        warnings = " ".join(str(w.value) for w in at.sidebar.warning)
        if "not reachable" in warnings:
            break
        time.sleep(0.2)
        at.run()
    assert "Ray cluster `127.0.0.1:9`: not reachable" in warnings and "cannot be reached" in warnings
    assert_no_exception(at)
    assert at.title
