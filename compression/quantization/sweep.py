"""What the playground draws: a sweep over bitwidths (and float formats) with per-value tables, sampled
chart data and summary figures, and measured error vs bits beside the Δ²/12 and 6.02 dB-per-bit theory."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from compression.i18n import LabError
from compression.quantization.core import (
    NOTE_NOT_APPLICABLE,
    QParams,
    QuantResult,
    QuantSpec,
    metric_note,
    one_thread,
    sqnr_db,
    sqnr_note,
    theoretical_sqnr_db,
)
from compression.quantization.formats import FORMATS, quantize_float
from compression.quantization.inputs import FLOAT32_MAX, as_tensor, is_whole, shown_number
from compression.quantization.quantizer import quantize_spec
from compression.quantization.schemes import MAX_BITS, MIN_BITS, check_bits, get_scheme


def label_for(bits: int) -> str:
    """The column label of an integer bitwidth: "4-bit"."""
    return f"{bits}-bit"


SQUARE_LIMIT = math.sqrt(FLOAT32_MAX)
"""About 1.8e19: a float32 number above this squares beyond float32 (the metrics square in float64)."""
NOTED_COLUMNS: tuple[str, ...] = (
    "zero point", "MSE", "max |error|", "mean error", "SQNR (dB)", "Δ²/12", "SQNR from Δ²/12 (dB)",
)  # fmt: skip
"""The summary's columns that can hold a figure that is not a finite number, with a note saying why."""


def check_page(page: int, pages: int) -> int:
    """A page number of a table of `pages` pages: a whole number from 1 to `pages` (LabError otherwise)."""
    if not is_whole(page) or page < 1:
        raise LabError("values.page_low", value=shown_number(page))
    if page > pages:
        raise LabError(
            "values.page_high_one" if pages == 1 else "values.page_high", pages=pages, value=shown_number(page)
        )
    return int(page)


def downsample_indices(count: int, max_points: int) -> np.ndarray:
    """At most `max_points` evenly spaced indices into range(count), always including the first and last."""
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(np.int64))


@dataclass(frozen=True, eq=False)
class Sweep:
    """Every value quantized at every chosen bitwidth (and float format): the page's whole computation.

    Arrays are flat numpy (value order as given, 2-D weights row by row), so the result pickles for
    st.cache_data. `summary` has one row per column label.
    """

    values: np.ndarray
    labels: tuple[str, ...]
    codes: dict[str, np.ndarray]
    dequantized: dict[str, np.ndarray]
    clipped: dict[str, np.ndarray]
    summary: pd.DataFrame
    qparams: dict[str, QParams | None]
    """Per label: the fixed parameters of a per-tensor integer result; None for float formats and per channel."""
    scheme: str
    rounding: str
    calibration: str
    per_channel: bool = False
    float_labels: tuple[str, ...] = ()
    """The labels that are low-bit float formats."""
    notes: pd.DataFrame | None = None
    """Same index as `summary`, columns NOTED_COLUMNS: None where the figure is a finite number, else why it
    is not (core.METRIC_NOTES: "overflow", "zero_signal", "no_error", "not_applicable")."""
    scale_kinds: dict[str, tuple[str, int]] | None = None
    """Per label, how its scales are counted, for the summary's "scales" column in any language:
    ("per_tensor", 1), ("per_channel", channels), or a float format's scaling ("none", 1), ("tensor", 1),
    ("block", block size)."""

    squares_overflow_float32: bool = False
    """True when a value or an error is beyond about 1.8e19 (SQUARE_LIMIT), so its square overflows float32:
    the MSE, the signal power and the SQNR are finite only because they are squared in float64."""

    def notes_by_kind(self) -> dict[str, dict[str, list[str]]]:
        """The notes regrouped for a message: {note: {column: [labels, in summary order]}}."""
        grouped: dict[str, dict[str, list[str]]] = {}
        if self.notes is None:
            return grouped
        for column in self.notes.columns:
            for label, note in self.notes[column].items():
                if note is not None:
                    grouped.setdefault(note, {}).setdefault(column, []).append(str(label))
        return grouped

    @property
    def count(self) -> int:
        return int(self.values.size)

    def error(self, label: str, index: np.ndarray | slice | None = None) -> np.ndarray:
        """dequantized - original (float32), for all values or those at `index`."""
        pick = slice(None) if index is None else index
        return self.dequantized[label][pick] - self.values[pick]

    def table(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Rows start..stop of the per-value table: the value, then per label its code, dequantized value,
        error and clipped (for a fixed-scale scheme: overflow) flag. The index is the value's number, from 1."""
        stop = self.count if stop is None else min(stop, self.count)
        start = max(0, min(start, stop))
        rows = slice(start, stop)
        columns: dict[str, np.ndarray] = {"value": self.values[rows]}
        flag = get_scheme(self.scheme).flag
        for label in self.labels:
            columns[f"{label} code"] = self.codes[label][rows]
            columns[f"{label} dequantized"] = self.dequantized[label][rows]
            columns[f"{label} error"] = self.error(label, rows)
            integer = label not in self.float_labels
            columns[f"{label} {flag if integer else 'clipped'}"] = self.clipped[label][rows]
        frame = pd.DataFrame(columns)
        frame.index = pd.RangeIndex(start + 1, stop + 1, name="#")
        return frame

    def to_csv(self) -> bytes:
        """The whole table (every row, "#" first) as CSV bytes; float32 values in their shortest form.

        pyarrow (which streamlit installs) writes it in C++; pandas is the fallback.
        """
        frame = self.table().reset_index()
        try:
            import pyarrow as pa
            import pyarrow.csv as pa_csv
        except ImportError:  # pragma: no cover - streamlit depends on pyarrow
            return frame.to_csv(index=False).encode("utf-8")
        out = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), out)
        return out.getvalue()

    def csv_size_estimate(self) -> int:
        """About how many bytes `to_csv` writes (roughly 8 per cell), to warn before a large download."""
        return self.count * (1 + 4 * len(self.labels)) * 8

    def sample(self, max_points: int) -> np.ndarray:
        """Indices of at most `max_points` values, sorted by value: every k-th value, plus the smallest and
        the largest (where clipping shows first). O(max_points log max_points) after two linear scans."""
        if self.count <= max_points:
            return np.argsort(self.values, kind="stable")
        picked = downsample_indices(self.count, max_points - 2)
        picked = np.unique(np.concatenate([picked, [int(self.values.argmin()), int(self.values.argmax())]]))
        return picked[np.argsort(self.values[picked], kind="stable")]

    def error_heatmap(self, max_rows: int = 120) -> pd.DataFrame:
        """Error of at most `max_rows` values (`sample`), one column per label, the rows sorted by value
        and indexed by "#number: value"."""
        picked = self.sample(max_rows)
        frame = pd.DataFrame({label: self.error(label, picked) for label in self.labels})
        frame.index = [f"#{i + 1}: {v:.4g}" for i, v in zip(picked, self.values[picked], strict=True)]
        return frame

    def transfer_curve(self, label: str, points: int = 1200) -> pd.DataFrame:
        """The staircase x -> dequantize(quantize(x)) of one integer label over the values' range plus a
        margin, sampled at `points` x's plus both sides of every step edge inside that span."""
        params = self._per_tensor(label, "The transfer curve is drawn")
        low, high = float(self.values.min()), float(self.values.max())
        edge_low, edge_high = params.representable_range()
        span_low, span_high = min(low, edge_low), max(high, edge_high)
        margin = 0.08 * (span_high - span_low) or 1.0
        xs = np.linspace(span_low - margin, span_high + margin, points, dtype=np.float64)
        return pd.DataFrame({"x": xs, "dequantized": params.apply(xs.astype(np.float32)).numpy()})

    def _per_tensor(self, label: str, what: str) -> QParams:
        params = self.qparams.get(label)
        if params is None:
            raise ValueError(f"{what} for per-tensor integer quantization only.")
        return params

    def representable_range(self, label: str) -> tuple[float, float]:
        """The lowest and highest dequantized levels of a per-tensor integer label."""
        return self._per_tensor(label, "The representable range is defined").representable_range()

    def levels_count(self, label: str) -> int:
        """How many levels a per-tensor integer label has (qmax - qmin + 1); 0 for the others."""
        params = self.qparams.get(label)
        return 0 if params is None else params.qmax - params.qmin + 1

    def levels(self, label: str, limit: int = 257) -> np.ndarray:
        """The label's quantization levels (at most `limit`, evenly picked) for per-tensor integer labels;
        empty for the others."""
        params = self.qparams.get(label)
        return np.array([], dtype=np.float32) if params is None else params.levels(limit).astype(np.float32)

    def marked_values(self, label: str, max_points: int = 1500) -> pd.DataFrame:
        """At most `max_points` input values (`sample`) with their dequantized value and clipped flag."""
        picked = self.sample(max_points)
        return pd.DataFrame(
            {
                "value": self.values[picked],
                "dequantized": self.dequantized[label][picked],
                "clipped": self.clipped[label][picked],
            }
        )

    def histogram(self, bins: int = 80) -> pd.DataFrame:
        """Counts of the values in `bins` equal bins: columns left, right, center, count."""
        counts, edges = np.histogram(self.values.astype(np.float64), bins=bins)
        return pd.DataFrame(
            {"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2, "count": counts}
        )


def _scale_kind(result: QuantResult) -> tuple[str, int]:
    """How a result's scales are counted (see Sweep.scale_kinds)."""
    if result.kind == "float":
        spec = FORMATS.get(result.scheme)
        block = spec.block_size if spec is not None else 0
        return (result.calibration, block if result.calibration == "block" else 1)
    if isinstance(result.scale, torch.Tensor) and result.scale.dim() > 0:
        return ("per_channel", int(result.scale.numel()))
    return ("per_tensor", 1)


def _summary_notes(result: QuantResult, row: dict[str, Any]) -> dict[str, str | None]:
    """Why each of the row's NOTED_COLUMNS is not a finite number (None where it is)."""
    integer = result.kind == "integer"
    signal = result.signal_power
    return {
        "zero point": None if integer else NOTE_NOT_APPLICABLE,
        "MSE": metric_note(row["MSE"]),
        "max |error|": metric_note(row["max |error|"]),
        "mean error": metric_note(row["mean error"]),
        "SQNR (dB)": sqnr_note(signal, row["MSE"]),
        "Δ²/12": metric_note(row["Δ²/12"]) if integer else NOTE_NOT_APPLICABLE,
        "SQNR from Δ²/12 (dB)": sqnr_note(signal, row["Δ²/12"]) if integer else NOTE_NOT_APPLICABLE,
    }


def _summary_row(result: QuantResult, label: str) -> dict[str, Any]:
    per_tensor = not isinstance(result.scale, torch.Tensor)
    scale = float(result.scale) if per_tensor else float(torch.as_tensor(result.scale).mean())
    if result.kind == "float":
        scales = "1 (none)" if result.calibration == "none" else result.calibration
    else:
        scales = "1 per tensor" if per_tensor else f"{torch.as_tensor(result.scale).numel()} per channel"
    integer = result.kind == "integer"
    predicted = result.predicted_mse if integer else math.nan
    return {
        "format": label,
        "bits": result.bits,
        "scale (Δ)": scale,
        "scales": scales,
        "zero point": int(result.zero_point) if per_tensor and integer else (0 if integer else math.nan),
        "qmin": result.qmin,
        "qmax": result.qmax,
        "clipped": result.clipped_count,
        "MSE": result.mse,
        "max |error|": result.max_abs_error,
        "mean error": result.mean_error,
        "SQNR (dB)": result.sqnr_db,
        "Δ²/12": predicted,
        "SQNR from Δ²/12 (dB)": sqnr_db(result.signal_power, predicted) if integer else math.nan,
    }


@one_thread
def sweep(
    values: Any,
    bits: Sequence[int],
    *,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    value_range: tuple[float, float] | None = None,
    per_channel: bool = False,
    float_formats: Sequence[str] = (),
    seed: int = 0,
) -> Sweep:
    """Quantize `values` at each of `bits` (and each float format): codes, dequantized values, errors,
    clipped flags and the summary figures, ready to draw. `per_channel` quantizes a 2-D weight row by row."""
    scheme = get_scheme(scheme).key
    bit_list = sorted({check_bits(b, scheme) for b in bits})
    if not bit_list and not float_formats:
        raise ValueError("Choose at least one bitwidth (or a float format) to quantize to.")
    x = as_tensor(values)
    if per_channel and x.dim() != 2:
        raise ValueError("Per-channel quantization needs a 2-D weight matrix: choose a layer's weights as input.")
    if not per_channel:
        x = x.reshape(-1)
    results: dict[str, QuantResult] = {}
    if per_channel and calibration == "range":
        raise ValueError("An explicit range applies to the whole tensor: use per-tensor quantization for it.")
    ranges: dict = {}  # one calibration range for every bitwidth where it does not depend on the bitwidth
    for b in bit_list:
        spec = QuantSpec(b, scheme, rounding, calibration, percentile, value_range, 0 if per_channel else None, seed)
        results[label_for(b)] = quantize_spec(x, spec, ranges)
    for fmt in float_formats:
        if fmt not in FORMATS:
            raise ValueError(f"Unknown float format {fmt!r}: choose one of {', '.join(FORMATS)}.")
        results[FORMATS[fmt].name] = quantize_float(x, fmt)
    flat_values = x.reshape(-1).numpy()
    qparams = {k: r.qparams if r.kind == "integer" and r.axis is None else None for k, r in results.items()}
    used_rounding = next(iter(results.values())).rounding if bit_list else "nearest"
    rows = [_summary_row(r, k) for k, r in results.items()]
    notes = pd.DataFrame(
        [_summary_notes(r, row) for r, row in zip(results.values(), rows, strict=True)],
        index=pd.Index(list(results), name="format"),
        columns=list(NOTED_COLUMNS),
        dtype=object,
    )
    notes = notes.where(notes.notna(), None)  # None, never NaN, where a figure is a finite number
    return Sweep(
        values=flat_values,
        labels=tuple(results),
        codes={k: r.q.reshape(-1).numpy() for k, r in results.items()},
        dequantized={k: r.dequantized.reshape(-1).numpy() for k, r in results.items()},
        clipped={k: r.clipped.reshape(-1).numpy() for k, r in results.items()},
        summary=pd.DataFrame(rows).set_index("format"),
        notes=notes,
        squares_overflow_float32=bool(
            flat_values.size
            and max(float(np.abs(flat_values).max()), *(row["max |error|"] for row in rows)) > SQUARE_LIMIT
        ),
        scale_kinds={k: _scale_kind(r) for k, r in results.items()},
        qparams=qparams,
        scheme=scheme,
        rounding=used_rounding,
        calibration="fixed" if get_scheme(scheme).fixed_scale else calibration,
        per_channel=per_channel,
        float_labels=tuple(FORMATS[f].name for f in float_formats),
    )


def value_table(values: Any, bits: Sequence[int], **options: Any) -> pd.DataFrame:
    """One row per value and, per bitwidth, its code, dequantized value, error and clipped flag.

    `options` are those of `sweep` (scheme, rounding, calibration, ...)."""
    return sweep(values, bits, **options).table()


@one_thread
def error_vs_bits(
    values: Any,
    bits: Sequence[int] = tuple(range(MIN_BITS, MAX_BITS + 1)),
    *,
    scheme: str = "symmetric",
    rounding: str | None = None,
    calibration: str = "minmax",
    percentile: float = 99.9,
    value_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Measured MSE and SQNR per bitwidth beside theory: the uniform-noise prediction Δ²/12 (and the SQNR
    it implies) and the 6.02 dB-per-bit line. Bitwidths the scheme cannot take are skipped. "note" says why
    a row's measured MSE or SQNR is not a finite number (core.METRIC_NOTES; None where both are)."""
    x = as_tensor(values).reshape(-1)
    record = get_scheme(scheme)
    rows = []
    ranges: dict = {}  # see sweep()
    for b in bits:
        if b < record.min_bits:
            continue
        r = quantize_spec(
            x, QuantSpec(b, record.key, rounding, calibration, percentile, value_range, None, seed), ranges
        )
        rows.append(
            {
                "bits": b,
                "MSE": r.mse,
                "SQNR (dB)": r.sqnr_db,
                "Δ²/12": r.predicted_mse,
                "SQNR from Δ²/12 (dB)": sqnr_db(r.signal_power, r.predicted_mse),
                "6.02 dB per bit": float(theoretical_sqnr_db(b)),
                "clipped": r.clipped_count,
                "note": metric_note(r.mse) or sqnr_note(r.signal_power, r.mse),
            }
        )
    return pd.DataFrame(rows)
