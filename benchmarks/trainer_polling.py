"""What open trainer tabs cost the server (issue 12, item 5): CPU per poll, and a new tab's draw time.

Starts `streamlit run app.py`, optionally starts a long training job from one tab, opens N trainer tabs in
headless Chromium, and reads the server process's CPU time (utime + stime from /proc; the training worker
is a separate process and is not counted) over a window. Then it times a new trainer tab from navigation to
the page being drawn (script not running). Polls are counted in each tab (its script runs); the fastest poll interval is
read from the checked-out pages/distillation.py, so the script runs unchanged on an older commit.

    .venv/bin/python benchmarks/trainer_polling.py --tabs 8 --window 30          # idle tabs
    .venv/bin/python benchmarks/trainer_polling.py --tabs 8 --window 30 --job    # with a job running
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Big enough to train through the whole measurement (the benchmark's server lifts the work limit for it).
JOB_LINK = "distillation?dataset=digits&teacher=mlp:1024,1024&student=mlp:512,512&epochs=2000"
LOAD_TIMEOUT_MS = 600_000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chromium_cpu_seconds() -> float:
    """CPU time of every Chromium process (the tabs' drawing shares this machine's cores with the server)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and "chrom" in (proc / "comm").read_text():
                total += cpu_seconds(int(proc.name))
        except OSError:
            continue
    return total


def poll_interval(job: bool) -> float:
    text = (ROOT / "pages" / "distillation.py").read_text()
    names = ("POLL_RUNNING_S", "POLL_ACTIVE_S") if job else ("POLL_IDLE_S",)
    for name in names:
        found = re.search(rf"^{name} = ([\d.]+)", text, re.M)
        if found:
            return float(found.group(1))
    raise SystemExit("no poll interval found in pages/distillation.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, default=8)
    parser.add_argument("--window", type=float, default=30.0, help="seconds of measurement")
    parser.add_argument("--job", action="store_true", help="start a long job first (tabs then watch it live)")
    args = parser.parse_args()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        print("skipped: needs playwright (requirements-dev.txt) and /usr/bin/chromium")
        return

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, COUNT_SCRIPT_RUNS_JS, script_runs, start_server

    def drawn(page) -> None:  # noqa: ANN001
        page.wait_for_selector('[data-testid="stForm"]', timeout=LOAD_TIMEOUT_MS)
        expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_be_attached(
            timeout=LOAD_TIMEOUT_MS
        )

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COMPRESSION_LAB_RUNS_DIR"] = str(Path(tmp) / "runs")
        os.environ["COMPRESSION_LAB_MAX_JOB_MINUTES"] = "600"
        server = start_server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

                def new_tab():  # noqa: ANN202
                    context = browser.new_context()
                    context.add_init_script(COUNT_SCRIPT_RUNS_JS)  # counts each tab's polls
                    return context.new_page()

                def runs() -> int:
                    return sum(script_runs(page) for page in pages)

                pages = []
                if args.job:
                    page = new_tab()
                    page.goto(f"{server.url}/{JOB_LINK}", timeout=LOAD_TIMEOUT_MS)
                    drawn(page)
                    page.get_by_role("button", name="Train").click()
                    expect(page.locator(".st-key-distill_queue")).to_contain_text("Running on", timeout=LOAD_TIMEOUT_MS)
                    pages.append(page)
                while len(pages) < args.tabs:
                    page = new_tab()
                    page.goto(server.url + "/distillation", timeout=LOAD_TIMEOUT_MS)
                    drawn(page)
                    pages.append(page)
                time.sleep(5)  # let first renders settle
                start_runs, start_cpu, start = runs(), cpu_seconds(server.process.pid), time.monotonic()
                start_browser = chromium_cpu_seconds()
                time.sleep(args.window)
                used, elapsed = cpu_seconds(server.process.pid) - start_cpu, time.monotonic() - start
                browser_used = chromium_cpu_seconds() - start_browser
                polls = runs() - start_runs
                if args.job and "Running on" not in pages[0].locator(".st-key-distill_queue").inner_text():
                    raise SystemExit("the job finished before the measurement ended: use a longer one")
                new = browser.new_page()
                began = time.monotonic()
                new.goto(server.url + "/distillation", timeout=LOAD_TIMEOUT_MS)
                drawn(new)
                draw_s = time.monotonic() - began
                browser.close()
        finally:
            server.process.terminate()
            server.process.wait(10)
    interval = poll_interval(args.job)
    state = "with a job running" if args.job else "idle"
    print(f"{args.tabs} trainer tabs, {state}, {elapsed:.0f} s: server CPU {used:.2f} s = {used / elapsed:.3f} of a core; "
          f"fastest poll every {interval:g} s (at most {args.tabs * elapsed / interval:.0f} polls); the tabs ran "
          f"{polls} polls, {1000 * used / max(polls, 1):.0f} ms CPU per poll; Chromium drawing the tabs used "
          f"{browser_used / elapsed:.2f} of a core; "
          f"a new trainer tab drew in {draw_s:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
