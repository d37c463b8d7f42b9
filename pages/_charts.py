"""Plotly figures shared by several pages (UI code: builds figures from `compression` results, no numerics)."""

from __future__ import annotations

import threading
import time

import plotly.graph_objects as go

from compression.quantization import Sweep
from pages._shared import t

ERROR_BLUE, ERROR_RED = "#2f6fdf", "#d62728"
HISTOGRAM_LEVELS = 257
"""At most this many levels are drawn; more (e.g. 16-bit) are drawn as an evenly spaced sample that says so."""


def histogram_figure(result: Sweep, label: str) -> go.Figure:
    """A histogram of the sweep's values with the `label` quantization levels drawn over it (the playground's
    level chart; the Compress page draws one layer's weights with it)."""
    hist = result.histogram(80)
    levels = result.levels(label, HISTOGRAM_LEVELS)
    total = result.levels_count(label)
    sampled = total if total > HISTOGRAM_LEVELS else None
    fig = go.Figure(
        go.Bar(
            x=hist["center"], y=hist["count"], width=hist["right"] - hist["left"], name=t("quantization.histogram.values"),
            marker={"color": ERROR_BLUE, "opacity": 0.55},
        )
    )  # fmt: skip
    low, high = float(hist["left"].iloc[0]), float(hist["right"].iloc[-1])
    pad = 0.05 * (high - low) or 1.0
    levels = levels[(levels >= low - pad) & (levels <= high + pad)]
    if len(levels):
        # few levels: full-height lines; many: short ticks along the bottom, so the bars stay visible
        top = float(hist["count"].max()) * (1.05 if len(levels) <= 32 else 0.08)
        xs: list[float | None] = []
        ys: list[float | None] = []
        for level in levels:
            xs += [float(level), float(level), None]
            ys += [0.0, top, None]
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=(
                    t("quantization.histogram.levels", label=label, count=len(levels)) if sampled is None else
                    t("quantization.histogram.levels_sampled", label=label, count=len(levels), total=sampled,
                      step=round((sampled - 1) / (HISTOGRAM_LEVELS - 1)))
                ),
                line={"color": ERROR_RED, "width": 1}, opacity=0.6, hoverinfo="skip",
            )
        )  # fmt: skip
    fig.update_layout(
        title={"text": t("quantization.histogram.title", label=label), "font": {"size": 14}},
        xaxis={"title": t("quantization.histogram.x_axis"), "range": [low - pad, high + pad]},
        yaxis_title=t("quantization.histogram.y_axis"),
        height=420,
        bargap=0,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


class LiveFigureClock:
    """Which state of a live job's history the tabs draw now: per (job, language, pace), the number of rows
    last drawn, moved on to the newest only when `every_s` has passed since. Shared by all sessions, so N tabs
    polling a job cost one figure build per interval, not N, and unchanged figures are not redrawn by the
    browser (histories only grow, so rows[:n] is that state)."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._drawn: dict[tuple[str, str, float], tuple[float, int]] = {}

    def rows(self, key: str, lang_code: str, available: int, every_s: float, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            drawn = self._drawn.get((key, lang_code, every_s))
            if drawn is not None and drawn[1] <= available and (drawn[1] == available or now - drawn[0] < every_s):
                return drawn[1]
            self._drawn.pop((key, lang_code, every_s), None)  # re-inserted last: the least recent go first
            self._drawn[(key, lang_code, every_s)] = (now, available)
            while len(self._drawn) > self.keep:
                self._drawn.pop(next(iter(self._drawn)))
            return available
