"""What the eye waits for, measured in Chromium against `streamlit run app.py` (issue 10, "speed where the eye is").

- Playground on 1,000,000 generated values: after each widget change (a bitwidth added, the rounding, the
  calibration, the table page, the bitwidth drawn), the time until the page has finished redrawing: from the
  click that changes the widget (a select box is opened first, off the clock) to the last DOM change before
  the page stays quiet for QUIET_MS. Printed beside the time the same computation (`qz.sweep` +
  `qz.error_vs_bits`) takes in this process, as a ratio, and beside the moment the script run had finished
  in the browser (the server's part and the transfer; the rest is the browser drawing).
- Trainer first paint: a fresh browser opens /distillation; the time until the Train button is visible, and
  until the first script run has finished and the DOM is quiet. Printed beside the home page's, as a ratio.

Each figure is the median of --repeat tries. The server runs with temporary data/run folders and one training
thread; nothing is trained. Chromium: /usr/bin/chromium (never `playwright install`).

    .venv/bin/python benchmarks/browser_speed.py [--repeat 3] [--count 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server, wait_for_app  # noqa: E402

QUIET_MS = 600
# Installed in every page before its own scripts: records the time of the latest DOM change.
INIT_JS = """
window.__t0 = 0;  // navigation start
window.__lastMutation = 0;
window.__scriptDone = 0;  // the latest time the app's script state turned "notRunning" (the server's part done)
new MutationObserver((records) => {
  window.__lastMutation = performance.now();
  for (const r of records) {
    if (r.attributeName === 'data-test-script-state' && r.target.getAttribute('data-test-script-state') === 'notRunning')
      window.__scriptDone = performance.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
window.__mark = () => { window.__t0 = performance.now(); window.__lastMutation = window.__t0; window.__scriptDone = window.__t0; };
"""
MARK_JS = "() => window.__mark()"


def new_page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(INIT_JS)
    page = context.new_page()
    page.set_default_timeout(180_000)
    return context, page


def isolated_env(base: Path) -> dict[str, str]:
    """Temporary data, runs and quiz folders: a benchmark never touches the user's."""
    (base / "data").mkdir(exist_ok=True)
    (base / "runs").mkdir(exist_ok=True)
    return {
        "COMPRESSION_LAB_DATA_DIR": str(base / "data"),
        "COMPRESSION_LAB_RUNS_DIR": str(base / "runs"),
        "COMPRESSION_LAB_QUIZ_DB": str(base / "runs" / "quiz.sqlite"),
        "COMPRESSION_LAB_ALLOW_DOWNLOAD": "0",
        "COMPRESSION_LAB_TRAIN_THREADS": "1",
    }


def settled_after(page: Page, timeout_s: float = 120.0) -> tuple[float, float]:
    """(seconds from window.__t0 to the last DOM change before QUIET_MS of quiet, once the script has finished;
    seconds to the script's last finish: the server's part, the rest is the browser drawing)."""
    wait_for_app(page, timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        quiet_for = page.evaluate("() => performance.now() - window.__lastMutation")
        if quiet_for >= QUIET_MS:
            break
        page.wait_for_timeout(100)
    wait_for_app(page, timeout=timeout_s * 1000)
    return tuple(
        page.evaluate(
            "() => [(window.__lastMutation - window.__t0) / 1000, (window.__scriptDone - window.__t0) / 1000]"
        )
    )


def compute_seconds(count: int) -> float:
    """The playground's own computation for the default quantizer on `count` normal values, in this process."""
    from compression import quantization as qz

    values = qz.generate_values("normal", count, 0)
    start = time.perf_counter()
    qz.sweep(values, (4, 8), scheme="symmetric", rounding="nearest", calibration="minmax", percentile=99.9,
             value_range=None, per_channel=False, float_formats=(), seed=0)  # fmt: skip
    qz.error_vs_bits(values, scheme="symmetric", rounding="nearest", calibration="minmax", percentile=99.9,
                     value_range=None, seed=0)  # fmt: skip
    return time.perf_counter() - start


def choose(page: Page, key: str, option: str) -> None:
    """Open a select box, then (the clock starts here: the widget changes) pick `option`."""
    page.locator(f".st-key-{key}").click()
    option_item = page.get_by_role("option", name=option, exact=True)
    option_item.wait_for(state="visible")
    page.evaluate(MARK_JS)
    option_item.click()


def playground_interactions(page: Page, url: str, count: int) -> dict[str, tuple[float, float]]:
    """Open the playground, generate `count` values, then time each widget change until the redraw is done."""
    page.goto(f"{url}/quantization")
    wait_for_app(page)
    page.locator(".st-key-quant_source").get_by_role("radio", name="Generate").click()
    wait_for_app(page)
    box = page.locator(".st-key-quant_count input")
    box.fill(str(count))
    page.evaluate(MARK_JS)
    box.press("Enter")
    times = {"generate 1M values (first draw)": settled_after(page)}

    def timed(name: str, action) -> None:  # noqa: ANN001 - the action marks the clock when it changes the widget
        page.evaluate(MARK_JS)
        action()
        times[name] = settled_after(page)

    def add_bits() -> None:
        choose(page, "quant_bits", "2")
        page.keyboard.press("Escape")

    timed("add a bitwidth (2)", add_bits)
    timed("rounding: floor", lambda: choose(page, "quant_rounding", "floor (round down)"))
    timed("calibration: percentile", lambda: choose(page, "quant_calibration", "percentile"))
    timed(
        "table: next page", lambda: page.locator(".st-key-quant_page button[data-testid=stNumberInputStepUp]").click()
    )
    timed("draw another bitwidth", lambda: page.locator(".st-key-quant_focus").get_by_role("radio").first.click())
    return times


def first_paint(page: Page, url: str) -> tuple[float, float]:
    """(seconds to the Train button, seconds to a finished, quiet first render) of a fresh visit, both from
    navigation start. For the home page both are the finished render."""
    page.goto(url)
    visible = None
    if "/distillation" in url:
        page.locator(".st-key-distill_train button").wait_for(state="visible", timeout=180_000)
        visible = page.evaluate("() => performance.now() / 1000")
    settled = settled_after(page, 180.0)[0]
    return (visible if visible is not None else settled), settled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        os.environ.update(isolated_env(Path(tmp)))
        server = start_server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                # warm the server once (imports, caches), as a server that has been up a while
                context, warm = new_page(browser)
                for path in ("", "quantization", "distillation", "quiz"):
                    warm.goto(f"{server.url}/{path}")
                    wait_for_app(warm, timeout=180_000)
                context.close()

                runs: dict[str, list[tuple[float, float]]] = {}
                for _ in range(args.repeat):
                    context, page = new_page(browser)
                    for name, seconds in playground_interactions(page, server.url, args.count).items():
                        runs.setdefault(name, []).append(seconds)
                    context.close()
                paints: dict[str, list[tuple[float, float]]] = {"home": [], "distillation": []}
                for _ in range(args.repeat):
                    for name in paints:
                        context, page = new_page(browser)
                        paints[name].append(first_paint(page, f"{server.url}/{'' if name == 'home' else name}"))
                        context.close()
                browser.close()
        finally:
            stop_server(server)

    compute = statistics.median(compute_seconds(args.count) for _ in range(args.repeat))
    print(
        f"Playground, {args.count:,} normal values, 1280×800, median of {args.repeat} (redraw = click to last DOM change):"
    )
    print(f"  the computation alone (sweep at 4,8 bits + error vs bits, in-process): {compute:.2f} s")
    print(f"  {'':<34} {'redraw':>8}   {'× computation':>13}   script finished (server + transfer)")
    for name, values in runs.items():
        median = statistics.median(v for v, _ in values)
        done = statistics.median(d for _, d in values)
        done_text = f"{done:6.2f} s" if done > 0 else "     (not seen: a quick fragment run)"
        print(f"  {name:<34} {median:6.2f} s   {median / compute:12.1f}×   {done_text}")
    home_settled = statistics.median(s for _, s in paints["home"])
    train_visible = statistics.median(v for v, _ in paints["distillation"])
    train_settled = statistics.median(s for _, s in paints["distillation"])
    print(f"First paint of a fresh visit (median of {args.repeat}):")
    print(f"  home, finished and quiet:            {home_settled:6.2f} s")
    print(f"  trainer, Train button visible:       {train_visible:6.2f} s   {train_visible / home_settled:5.1f}× home")
    print(f"  trainer, finished and quiet:         {train_settled:6.2f} s   {train_settled / home_settled:5.1f}× home")


if __name__ == "__main__":
    main()
