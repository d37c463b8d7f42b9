"""In Chromium, against a server whose jobs run on Ray (COMPRESSION_LAB_RAY_ADDRESS=local: the server starts a
one-machine cluster itself): a short digits run's live chart grows while the Ray task trains, the run finishes,
and the device panel shows the cluster and its slot."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, open_app, start_server, stop_server, wait_for_app
from tests.e2e.test_distillation import LINK, live_chart_signature

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_server(isolated_lab_dirs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-server")
    env = {"COMPRESSION_LAB_RAY_ADDRESS": "local", "COMPRESSION_LAB_CPU_WORKERS": "1",
           "COMPRESSION_LAB_RUNS_DIR": str(folder / "runs")}  # fmt: skip
    server = start_server(folder, env)
    yield server
    stop_server(server)
    assert "Traceback" not in server.log(), server.log()[-4000:]


def test_a_run_on_ray_updates_the_live_chart_and_finishes(page: Page, ray_server):
    open_app(page, ray_server, LINK)
    assert_no_exception(page)
    teacher_epochs = page.get_by_role("spinbutton", name="Teacher epochs (0 = preset's)")
    teacher_epochs.fill("5")
    teacher_epochs.press("Tab")
    page.get_by_role("button", name="Train").click()

    live = page.locator(".st-key-distill_live")  # Ray starts with the first job: give it time on a busy machine
    expect(live.locator(".js-plotly-plot .scatterlayer path.js-line").first).to_be_attached(timeout=180_000)
    first = live_chart_signature(page)
    changed = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not changed:
        page.wait_for_timeout(1200)
        now = live_chart_signature(page)
        changed = bool(now) and now != first
    assert changed, "the live chart did not change while the Ray task trained"
    expect(page.get_by_text(": done")).to_be_visible(timeout=180_000)
    wait_for_app(page)
    expect(page.get_by_text("Accuracy against model size").first).to_be_visible()
    assert_no_exception(page)

    page.reload()
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text("Ray cluster local: 1 nodes, 1 CPUs, 0 GPUs, 1 jobs at once")
    expect(sidebar).to_contain_text("ray: free")
