"""The playground's tables: the summary and its notes, the paged per-value table, and the article's formula
against the correct one. Figures the browser's number columns cannot show (∞, undefined, beyond 2^53) are
written as text in the same format, and every column gets a width that shows it whole.

Part of pages/quantization.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from compression import quantization as qz
from compression.grid_text import fit_width, needs_text, number_text
from pages._quantization_charts import _fmt
from pages._quantization_inputs import SourceKey, _article_comparison, _checked_number
from pages._shared import t

PAGE_SIZES = (25, 100, 500)


# Summary columns shown on the page, key columns first (the CSV and the library keep every column); each with
# its catalogue key and number format.
SUMMARY_COLUMNS = {
    "scale (Δ)": ("scale", "%.4g"),
    "zero point": ("zero_point", "%d"),
    "clipped": ("clipped", None),
    "MSE": ("mse", "%.3e"),
    "max |error|": ("max_error", "%.3e"),
    "SQNR (dB)": ("sqnr", "%.2f"),
    "SQNR from Δ²/12 (dB)": ("sqnr_model", "%.2f"),
}


def _cell_text(value: object, number_format: str | None, note: str | None = None) -> str:
    """One cell as text: a library note in words, "—" for a figure that does not exist, ∞, or the number as
    the browser would write it (`grid_text.number_text`)."""
    if note is not None:
        return t(f"quantization.note.{note}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return number_text(value, number_format)


def _displayable(
    frame: pd.DataFrame, config: dict, formats: dict[str, str | None], notes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict]:
    """The frame as the browser can show it, with a width for every column and the index:

    columns the browser cannot show as numbers (or that hold a library note) become right-aligned text in
    the same format, with the header and help their number column had; the others stay number columns."""
    frame = frame.copy()
    for column in frame.columns:
        noted = notes is not None and column in notes.columns and bool(notes[column].notna().any())
        if not (noted or needs_text(frame[column])):
            continue
        column_notes = notes[column].to_dict() if noted else {}
        frame[column] = [
            _cell_text(value, formats.get(column), column_notes.get(index)) for index, value in frame[column].items()
        ]
        header = config.get(column, {}).get("label")
        config[column] = st.column_config.TextColumn(
            header or str(column), help=config.get(column, {}).get("help"), alignment="right"
        )
    for column in frame.columns:
        entry = config.get(column)
        if entry is None:
            fmt = formats.get(column)
            is_number = pd.api.types.is_numeric_dtype(frame[column]) and frame[column].dtype != bool
            entry = st.column_config.NumberColumn(str(column), format=fmt) if is_number else st.column_config.Column()
        header = entry.get("label") or str(column)
        if frame[column].dtype == bool:
            cells: list[str] = []
        elif pd.api.types.is_numeric_dtype(frame[column]):
            cells = [_cell_text(value, formats.get(column)) for value in frame[column]]
        else:
            cells = [str(value) for value in frame[column]]
        config[column] = {**entry, "width": fit_width([header, *cells])}
    index_entry = config.get("_index") or st.column_config.Column()
    index_header = index_entry.get("label") or (frame.index.name or "")
    config["_index"] = {**index_entry, "width": fit_width([index_header, *(str(i) for i in frame.index)])}
    return frame, config


def _scales_text(kind: str, count: int) -> str:
    return t(f"quantization.scales.{kind}", count=count)


def _summary_view(result: qz.Sweep) -> tuple[pd.DataFrame, dict]:
    """The summary's key columns under translated headers, and their column_config; figures that are not
    finite numbers (or do not exist) in words, from the library's notes."""
    summary = result.summary
    shown = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    kinds = result.scale_kinds or {}
    if any(kind != ("per_tensor", 1) for kind in kinds.values()):
        shown.insert(1, "scales")  # per-channel, or a float format's block scales
    frame = summary[shown].copy()
    if "scales" in shown:
        frame["scales"] = [_scales_text(*kinds[label]) for label in frame.index]
    config: dict = {
        "_index": st.column_config.TextColumn(t("quantization.col.format")),
        "scales": st.column_config.TextColumn(t("quantization.col.scales")),
    }
    for column in shown:
        if column == "scales":
            continue
        key, number_format = SUMMARY_COLUMNS[column]
        config[column] = st.column_config.NumberColumn(t(f"quantization.col.{key}"), format=number_format)
    formats = {column: SUMMARY_COLUMNS[column][1] for column in shown if column != "scales"}
    return _displayable(frame, config, formats, result.notes)


# The per-value table's column parts ("4-bit code") and their number formats.
VALUE_PARTS = {"code": "%d", "dequantized": "%.5g", "error": "%.5g", "clipped": None, "overflow": None}


def _value_table_view(result: qz.Sweep, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The per-value table without flag columns that are all False (the summary counts them), under short
    translated headers ("4-bit code", "FP8 E4M3 clipped") with the full meaning in each header's help."""
    keep = [c for c in frame.columns if frame[c].dtype != bool or bool(frame[c].any())]
    frame = frame[keep]
    config: dict = {
        "value": st.column_config.NumberColumn(
            t("quantization.col.value"), format="%.6g", help=t("quantization.col_help.value")
        )
    }
    formats: dict[str, str | None] = {"value": "%.6g"}
    for column in keep[1:]:
        label, _, part = column.rpartition(" ")
        header = t(f"quantization.col_short.{part}", label=label)
        help_text = t(f"quantization.col_help.{part}", label=label)
        formats[column] = VALUE_PARTS.get(part)
        if frame[column].dtype == bool:
            config[column] = st.column_config.CheckboxColumn(header, help=help_text)
        else:
            config[column] = st.column_config.NumberColumn(header, format=formats[column], help=help_text)
    return _displayable(frame, config, formats)


@st.fragment
def _value_table(result: qz.Sweep) -> None:
    """The paged per-value table: paging reruns only this fragment."""
    n = result.count
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    page_size = c1.selectbox(t("quantization.table.page_size"), PAGE_SIZES, key="quant_page_size")
    pages = max(1, math.ceil(n / page_size))
    valid = st.session_state.get("quant_page_valid", 1)
    if valid > pages:  # fewer rows or larger pages: the page shown moves to the last one (nothing was typed)
        if st.session_state.get("quant_page") == valid:
            st.session_state["quant_page"] = pages
        st.session_state["quant_page_valid"] = pages
    page = _checked_number(
        c2, t("quantization.table.page", pages=pages), "quant_page", lambda v: qz.check_page(v, pages), 1
    )
    start = (page - 1) * page_size
    frame, config = _value_table_view(result, result.table(start, start + page_size))
    st.dataframe(frame, width="stretch", key="quant_table", column_config=config)
    st.caption(t("quantization.table.rows", first=start + 1, last=min(start + page_size, n), n=n))
    size_mb = result.csv_size_estimate() / 1e6
    st.download_button(
        (t("quantization.table.download_one") if n == 1 else t("quantization.table.download", n=n))
        + (t("quantization.table.download_size", mb=size_mb) if size_mb >= 1 else ""),
        data=result.to_csv,
        file_name="quantization.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="quant_download",
    )


NOTE_MESSAGES = {  # how each library note is said below the summary: the kind of box and its catalogue key
    qz.NOTE_OVERFLOW: (st.warning, ":material/warning:"),
    qz.NOTE_ZERO_SIGNAL: (st.warning, ":material/warning:"),
    qz.NOTE_NO_ERROR: (st.info, ":material/info:"),
}


def _summary_notes(result: qz.Sweep, shown: list[str]) -> None:
    """Say in words why a figure in the summary is ∞, undefined or "—" (the library's notes), and when the
    values are so large that the figures are finite only because they are squared in float64."""
    for note, columns in result.notes_by_kind().items():
        columns = {c: labels for c, labels in columns.items() if c in shown}
        if not columns:
            continue
        if note not in NOTE_MESSAGES:  # not_applicable: the dashes of the float formats, named once
            labels = list(dict.fromkeys(label for labels in columns.values() for label in labels))
            st.caption(t(f"quantization.notes.{note}", where=", ".join(labels)))
            continue
        where = t("quantization.notes.separator").join(
            t(
                "quantization.notes.where",
                column=t(f"quantization.col.{SUMMARY_COLUMNS[c][0]}"),
                labels=", ".join(labels),
            )
            for c, labels in columns.items()
        )
        box, icon = NOTE_MESSAGES[note]
        box(t(f"quantization.notes.{note}", where=where), icon=icon)
    if result.squares_overflow_float32:
        limit = f"{qz.SQUARE_LIMIT:.1e}".replace("e+", "e")
        st.info(t("quantization.notes.float64", limit=limit), icon=":material/info:")


def _article_section(source_key: SourceKey, bits: list[int], n: int) -> None:
    """The article's formula against the correct one at the largest chosen bitwidth: its overflow example,
    four metrics, the comparison table and the value-by-value table."""
    st.subheader(t("quantization.seed.heading"), anchor=False)
    compare_bits = max(bits) if bits else 8
    comparison = _article_comparison(source_key, compare_bits)
    example = comparison.overflow_example
    st.markdown(
        t(
            "quantization.seed.body",
            bits=compare_bits,
            code=example["code"],
            qmin=example["qmin"],
            qmax=example["qmax"],
            stored=example["stored"],
        )
    )
    m = comparison.metrics
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    c1.metric(
        t("quantization.seed.metric_code", bits=compare_bits),
        example["code"],
        t("quantization.seed.does_not_fit", bits=compare_bits),
        delta_color="red",
        delta_arrow="off",
    )
    c2.metric(
        t("quantization.seed.overflowing"),
        f"{int(m.loc['article', 'overflow / clipped']):,}",
        t("quantization.seed.of_values_one" if n == 1 else "quantization.seed.of_values", n=n),
        delta_color="off",
        delta_arrow="off",
    )
    c3.metric(
        t("quantization.seed.shrink_article"),
        _fmt(float(m.loc["article", "mean shrink toward 0"])),
        t("quantization.seed.truncation_bias"),
        delta_color="off",
        delta_arrow="off",
    )
    c4.metric(t("quantization.seed.shrink_correct"), _fmt(float(m.loc["correct", "mean shrink toward 0"])))
    metric_headers = {
        "scale": "scale", "MSE": "mse", "max |error|": "max_error", "mean error": "mean_error",
        "mean shrink toward 0": "shrink", "overflow / clipped": "clipped",
    }  # fmt: skip
    metric_formats = {c: "%d" if c == "overflow / clipped" else "%.4g" for c in m.columns}
    metrics_frame, metrics_config = _displayable(
        m.rename(
            index={
                "article": t("quantization.seed.row_article"),
                "article, unbounded int": t("quantization.seed.row_unbounded"),
                "correct": t("quantization.seed.row_correct"),
            }
        ),
        {
            c: st.column_config.NumberColumn(
                t(f"quantization.col.{metric_headers[c]}") if c in metric_headers else c,
                format=None if c == "overflow / clipped" else "%.4g",
            )
            for c in m.columns
        },
        metric_formats,
    )
    st.dataframe(metrics_frame, width="stretch", column_config=metrics_config, key="quant_seed_metrics")
    with st.expander(
        t("quantization.seed.value_by_value_one")
        if len(comparison.table) == 1
        else t("quantization.seed.value_by_value", n=len(comparison.table)),
        icon=":material/list:",
    ):
        seed_table, seed_config = _displayable(
            comparison.table,
            {},
            {
                c: "%d" if pd.api.types.is_integer_dtype(comparison.table[c]) else "%.6g"
                for c in comparison.table.columns
            },
        )
        st.dataframe(seed_table, width="stretch", column_config=seed_config, key="quant_seed_table")
    st.caption(t("quantization.seed.caption"))
