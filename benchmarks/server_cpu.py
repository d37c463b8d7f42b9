"""Server CPU-seconds per first render of each page (issue 10, "server cost per visitor").

`streamlit run app.py` starts with temporary data/run folders. For each page, --visitors fresh browser
sessions (new Chromium contexts, one after the other) open it and wait until the first render has finished;
the server process's utime + stime (/proc/<pid>/stat) before and after, divided by the number of visitors,
is that page's cost per visitor. Before them, one visit per page warms the server (imports, shared caches);
its cost is printed too ("first visitor"). Chromium's own CPU is not counted: it is another process.
Figures are printed beside the home page's, as ratios. Goal (issue 10): under 0.5 s for home and quiz,
under 1 s for the playground and the trainer.

    .venv/bin/python benchmarks/server_cpu.py [--visitors 5] [--pages home,quiz,quantization,distillation]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from benchmarks.browser_speed import isolated_env  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server, wait_for_app  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (fields 14 and 15 of /proc/<pid>/stat), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS


def visit(browser, url: str) -> None:  # noqa: ANN001
    """One fresh visitor: a new context (no cookies, new session), the page rendered once, then gone."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(300_000)
        page.goto(url)
        wait_for_app(page, timeout=300_000)
        page.wait_for_timeout(300)
        wait_for_app(page, timeout=300_000)
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=5)
    parser.add_argument("--pages", default="home,quiz,quantization,distillation")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    args = parser.parse_args()
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    query = "?lang=zh" if args.lang == "zh" else ""

    first: dict[str, float] = {}
    per_visitor: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        os.environ.update(isolated_env(Path(tmp)))
        server = start_server(Path(tmp))
        pid = server.process.pid
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                for name in pages:
                    url = f"{server.url}/{'' if name == 'home' else name}{query}"
                    before = cpu_seconds(pid)
                    visit(browser, url)
                    first[name] = cpu_seconds(pid) - before
                for name in pages:
                    url = f"{server.url}/{'' if name == 'home' else name}{query}"
                    before = cpu_seconds(pid)
                    for _ in range(args.visitors):
                        visit(browser, url)
                    per_visitor[name] = (cpu_seconds(pid) - before) / args.visitors
                browser.close()
        finally:
            stop_server(server)

    base = per_visitor.get("home") or next(iter(per_visitor.values()))
    print(f"Server CPU-seconds per first render ({args.visitors} fresh visitors per page, lang={args.lang}):")
    print(f"  {'page':<14}{'first visitor':>15}{'per visitor':>14}{'× home':>9}")
    for name in pages:
        print(f"  {name:<14}{first[name]:>13.2f} s{per_visitor[name]:>12.2f} s{per_visitor[name] / base:>9.1f}")


if __name__ == "__main__":
    main()
