"""Plain tables for the page and the CLI: history and summary DataFrames, the verdict, CSV export."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from compression.distillation.store import METRIC_COLUMNS
from compression.distillation.variants import roles, title


def thin_per_model(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most about `max_points` rows per `model` (every k-th, evenly spaced, always the last one)."""
    parts = []
    for _, group in frame.groupby("model", sort=False):
        step = max(1, -(-len(group) // max_points))
        keep = group.iloc[::step]
        if keep.index[-1] != group.index[-1]:
            keep = pd.concat([keep, group.iloc[[-1]]])
        parts.append(keep)
    return pd.concat(parts)


def history_frame(rows: Iterable[dict[str, Any]] | pd.DataFrame, max_points: int | None = None) -> pd.DataFrame:
    """Per-epoch metrics with readable names: Model, epoch, losses, test accuracy % and agreement %.

    `max_points` keeps at most about that many epochs per model (evenly spaced, always the last one),
    so a live chart of 1,000 epochs stays light.
    """
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=METRIC_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=["Model", "epoch", "train loss", "test loss", "test accuracy %", "agreement %"])
    if max_points:
        frame = thin_per_model(frame, max_points)
    order = {role: i for i, role in enumerate(roles())}
    frame = frame.sort_values(["model", "epoch"], key=lambda s: s.map(order) if s.name == "model" else s)
    return pd.DataFrame(
        {
            "Model": frame["model"].map(title),
            "epoch": frame["epoch"].astype(int),
            "train loss": frame["train_loss"].astype(float),
            "test loss": frame["test_loss"].astype(float),
            "test accuracy %": 100.0 * frame["test_accuracy"].astype(float),
            "agreement %": 100.0 * pd.to_numeric(frame["agreement"], errors="coerce"),
        }
    ).reset_index(drop=True)


def accuracy_axis_range(history: pd.DataFrame) -> tuple[float, float]:
    """A y range for accuracy curves that shows where the models end up, not the first epochs' climb:
    from 2 points under the 5th percentile of all values to 100 (plus a margin)."""
    values = history["test accuracy %"].astype(float)
    if values.empty:
        return 0.0, 101.0
    return max(0.0, float(values.quantile(0.05)) - 2.0), 101.0


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis from `low` to `high` (both > 0): 1, 2 and 5 times each power of ten in range,
    thinned to the powers of ten when that leaves at least three (labels are then written out in full)."""
    if not (0 < low <= high) or not math.isfinite(high):
        return []
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
        for m in (1, 2, 5)
        if low <= m * 10.0**e <= high
    ]
    decades = [t for t in ticks if math.isclose(math.log10(t), round(math.log10(t)))]
    if len(decades) >= 3:
        return decades
    if len(ticks) >= 2:
        return [float(f"{t:.12g}") for t in ticks]
    return [float(f"{v:.2g}") for v in (low, high)] if low < high else [float(f"{low:.2g}")]


def summary_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per model: accuracy, parameters, size, compression ratio, latency, agreement with the teacher."""
    records = []
    for role in roles():
        model = results.get(role)
        if not model:
            continue
        records.append(
            {
                "Model": title(role),
                "architecture": model["architecture"],
                "test accuracy %": 100.0 * model["test_accuracy"],
                "parameters": int(model["params"]),
                "size KiB": model["size_bytes"] / 1024.0,
                "smaller than teacher ×": model["compression_ratio"],
                "latency ms / batch": model["latency_ms"],
                "agrees with teacher %": float("nan") if model.get("agreement") is None else 100.0 * model["agreement"],
            }
        )
    return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class Verdict:
    """What a run shows, in words. kind: "success" (distillation won), "warning" (lost or tied), "info"."""

    kind: str
    headline: str
    details: str
    gain_points: float | None
    gap_closed: float | None
    parts: tuple[tuple[str, dict[str, Any]], ...] = ()
    """The verdict as data: (catalogue key, figures) pairs, the headline first, then the details' sentences
    (compression/i18n `distillation.verdict.*`). A page renders each through t() in the visitor's language;
    `headline` and `details` are the English (the CLI)."""

    def text(self, lang: str = "en") -> tuple[str, str]:
        """(headline, details) in `lang`, from the catalogue."""
        from compression.i18n import t

        if not self.parts:
            return self.headline, self.details
        rendered = [t(f"distillation.verdict.{key}", lang, **figures) for key, figures in self.parts]
        return rendered[0], "".join(rendered[1:])


def verdict_parts(results: dict[str, Any], gain: float, gap: float | None) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The catalogue keys and figures of a run's verdict (see `Verdict.parts`)."""
    teacher, student, baseline = (100.0 * results[r]["test_accuracy"] for r in ("teacher", "student", "baseline"))
    figures = {"student": student, "baseline": baseline, "gain": gain}
    headline = "won" if gain > 0 else ("tied" if abs(gain) < 1e-9 else "lost")
    gap_part = ("gap", {"gap": 100 * gap}) if gap is not None else ("no_gap", {})
    parts: list[tuple[str, dict[str, Any]]] = [(headline, figures)]
    if gain > 0:
        parts.append(gap_part)
    else:
        parts.append(("advice", {}))
        if gap is None:
            parts.append(gap_part)
    smoothing = results.get("smoothing")
    if smoothing:
        ls = 100.0 * smoothing["test_accuracy"]
        if ls >= student:
            parts.append(("smoothing_better", {"smoothing": ls}))
        else:
            parts.append(("smoothing_worse", {"smoothing": ls, "below": student - ls}))
    return tuple(parts)


def verdict(results: dict[str, Any]) -> Verdict:
    """Distilled − baseline in accuracy points, the gap closed (s − b)/(t − b), and the label-smoothing control."""
    try:
        t, s, b = (100.0 * results[r]["test_accuracy"] for r in ("teacher", "student", "baseline"))
    except (KeyError, TypeError):
        return Verdict("info", "No results yet.", "", None, None)
    gain = s - b
    gap = (s - b) / (t - b) if t - b > 1e-9 else None
    gap_text = (
        f"It closed {100 * gap:.0f}% of the gap between the baseline and the teacher."
        if gap is not None
        else "The teacher is not better than the baseline here, so there is no gap to close."
    )
    smoothing = results.get("smoothing")
    ls_text = ""
    if smoothing:
        ls = 100.0 * smoothing["test_accuracy"]
        if ls >= s:
            ls_text = (
                f" The label-smoothing student (no teacher) reached {ls:.2f}%, as good as or better than the "
                "distilled one: on this run the gain looks like regularisation from soft targets, not the teacher's knowledge."
            )
        else:
            ls_text = f" The label-smoothing student (no teacher) reached {ls:.2f}%, {s - ls:.2f} points below the distilled one."
    if gain > 0:
        return Verdict(
            "success",
            f"Distillation won: {s:.2f}% against {b:.2f}% for the same student trained alone ({gain:+.2f} points).",
            gap_text + ls_text,
            gain,
            gap,
            verdict_parts(results, gain, gap),
        )
    word = "tied with" if abs(gain) < 1e-9 else "lost to"
    return Verdict(
        "warning",
        f"Distillation {word} the baseline: {s:.2f}% against {b:.2f}% ({gain:+.2f} points).",
        "This happens, especially on small data or with few epochs: a distilled student often needs more steps "
        "to converge. Try more student epochs, another temperature or alpha, and compare several seeds. "
        + (gap_text + " " if gap is None else "")
        + ls_text.strip(),
        gain,
        gap,
        verdict_parts(results, gain, gap),
    )


def metrics_csv(rows: Iterable[dict[str, Any]] | pd.DataFrame) -> str:
    """Per-epoch metrics as CSV (model role, epoch, train_loss, test_loss, test_accuracy, agreement)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=METRIC_COLUMNS)
    return frame[METRIC_COLUMNS].to_csv(index=False)
