"""Server CPU spent on open trainer tabs that only poll (issue 12, item 5).

Starts `streamlit run app.py`, opens N trainer tabs in headless Chromium, lets them sit idle, and reads the
server process's CPU time (utime + stime from /proc) over a window. Prints CPU-seconds per second of wall
time and per poll (polls = tabs × window / the page's idle poll interval, read from pages/distillation.py).

    .venv/bin/python benchmarks/trainer_polling.py --tabs 8 --window 30

Run it on two commits to compare (the interval constant is read from the checked-out page).
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_interval() -> float:
    text = (ROOT / "pages" / "distillation.py").read_text()
    return float(re.search(r"^POLL_IDLE_S = ([\d.]+)", text, re.M).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, default=8)
    parser.add_argument("--window", type=float, default=30.0, help="seconds of measurement")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_server

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COMPRESSION_LAB_RUNS_DIR"] = str(Path(tmp) / "runs")
        server = start_server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = []
                for _ in range(args.tabs):
                    page = browser.new_page()
                    page.goto(server.url + "/distillation")
                    page.wait_for_selector("[data-testid=stForm]", timeout=180_000)
                    pages.append(page)
                time.sleep(5)  # let first renders settle
                start_cpu, start = cpu_seconds(server.process.pid), time.monotonic()
                time.sleep(args.window)
                used, elapsed = cpu_seconds(server.process.pid) - start_cpu, time.monotonic() - start
                browser.close()
        finally:
            server.process.terminate()
            server.process.wait(10)
    interval = idle_interval()
    polls = args.tabs * elapsed / interval
    print(f"{args.tabs} idle trainer tabs, {elapsed:.0f} s: server CPU {used:.2f} s = {used / elapsed:.3f} of a core; "
          f"idle poll every {interval:g} s -> about {polls:.0f} polls, {1000 * used / max(polls, 1):.0f} ms CPU per poll")  # fmt: skip


if __name__ == "__main__":
    main()
