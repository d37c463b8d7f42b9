"""End-to-end harness: `streamlit run app.py` on a free port, driven by Debian chromium through playwright.

The browser is /usr/bin/chromium (never `playwright install`). Screenshots of what users see are saved
under a temporary folder, or under $COMPRESSION_LAB_SCREENSHOTS when set; the folder is printed in pytest's
terminal summary at the end of the run (pytest_terminal_summary below: a print from a fixture is swallowed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_TIMEOUT_MS = 90_000
EXPECT_TIMEOUT_MS = 30_000
# Every `expect(...)` waits for a state up to 30 s, not playwright's 5 s: on a loaded 2-core machine (CI, or a
# training run beside the suite) a rerun that draws a job's status line can take longer than 5 s. A passing
# expectation returns as soon as the state holds, so this costs time only when a test is failing.
expect.set_options(timeout=EXPECT_TIMEOUT_MS)
_SCREENSHOT_DIRS: list[Path] = []
PRESENTER_KEY = "e2e-presenter-key-4b1d"
"""The shared server holds a presenter key: browsers here connect from 127.0.0.1, and without a key every
localhost visitor would be the presenter (compression.access), which is not what a room looks like."""


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# Install with page.add_init_script / context.add_init_script: window.__runs counts the page's script runs
# (the app element's script state turning "running"; a fragment's poll is one). Playwright sees no WebSocket
# frames of Streamlit's connection here, so a page's polls are counted from the page itself.
COUNT_SCRIPT_RUNS_JS = """
window.__runs = 0;
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.getAttribute('data-test-script-state') === 'running') window.__runs++;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


def script_runs(page: Page) -> int:
    """The page's script runs since it loaded (needs COUNT_SCRIPT_RUNS_JS installed)."""
    return int(page.evaluate("window.__runs"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = os.environ.get("COMPRESSION_LAB_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    _SCREENSHOT_DIRS.append(path)
    yield path


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's TerminalReporter
    """Name the screenshot folder after the test results, where it is seen (with or without -s)."""
    for path in _SCREENSHOT_DIRS:
        shots = len(list(path.glob("*.png")))
        terminalreporter.write_sep("-", "screenshots")
        terminalreporter.write_line(f"Screenshots of each page ({shots} PNG files): {path}")


def start_server(log_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    """Start `streamlit run app.py` on a free port and poll /_stcore/health until it answers ok."""
    port = _free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    env = dict(os.environ)
    env.setdefault("COMPRESSION_LAB_TRAIN_THREADS", "1")
    env.update(extra_env or {})
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not answer /_stcore/health within 60 s:\n{server.log()}")
        time.sleep(0.25)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


@pytest.fixture(scope="session")
def server(isolated_lab_dirs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `streamlit run app.py` shared by the e2e tests."""
    server = start_server(tmp_path_factory.mktemp("server"), {"COMPRESSION_LAB_PRESENTER_KEY": PRESENTER_KEY})
    yield server
    stop_server(server)
    assert "Traceback" not in server.log() or "Unexpected error" in server.log(), server.log()[-4000:]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` as root, or `apt-get install -y chromium`.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(APP_TIMEOUT_MS)
    yield page
    context.close()


def wait_for_app(page: Page, timeout: float = APP_TIMEOUT_MS) -> None:
    """Connected to the server and no script run in progress."""
    app = page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    expect(app).to_be_attached(timeout=timeout)
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_be_attached(timeout=timeout)


def open_app(page: Page, server: Server, path: str = "") -> None:
    page.goto(f"{server.url}/{path.lstrip('/')}")
    wait_for_app(page)


def open_via_sidebar(page: Page, link_text: str) -> None:
    """Click a page's entry in the sidebar navigation and wait for it to render."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=link_text).first.click()
    page.wait_for_timeout(300)
    wait_for_app(page)


def assert_no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("Something went wrong")).to_have_count(0)


def screenshot(page: Page, directory: Path, name: str) -> Path:
    """Save what the visitor sees, once lazily loaded widgets have replaced their grey placeholders."""
    try:
        expect(page.locator('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')).to_have_count(
            0, timeout=10_000
        )
    except AssertionError:
        pass  # a picture with a placeholder still beats no picture
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


STORED_RUN_ID = "e2ecompress"


@pytest.fixture
def stored_run(server) -> str:
    """A real short finished run in the store the server reads (COMPRESSION_LAB_RUNS_DIR of the session),
    trained once per session: the Compress page and its layout cases need one whatever order tests run in."""
    import torch

    from compression.distillation.store import RunStore
    from compression.distillation.trainer import TrainConfig, train

    store = RunStore(os.environ["COMPRESSION_LAB_RUNS_DIR"])
    if store.get_run(STORED_RUN_ID) is None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            config = TrainConfig(
                dataset="digits", teacher="article-teacher", student="article-student", epochs=60, teacher_epochs=60,
                device="cpu",
            )  # fmt: skip
            result = train(config)
        finally:
            torch.set_num_threads(threads)
        store.create_run(STORED_RUN_ID, result.config)
        store.add_metrics(STORED_RUN_ID, result.history)
        summary = result.to_json()
        summary.pop("history")
        store.finish(STORED_RUN_ID, summary, result.weights)
    store.close()
    return STORED_RUN_ID


@pytest.fixture(autouse=True)
def _patient_expect_in_every_test():
    """Every test starts with the 30 s expectation timeout, whatever an earlier test set (a test module that
    restored playwright's 5 s default made every later file wait only 5 s: CI's "waited 5 s for Running on cpu")."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield
