"""Quantization playground: every value, every bitwidth, its code and its rounding error, exact to PyTorch.

Deep links (the quiz links here): /quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate
&calibration=minmax (the contract is `compression.quantization.links`; "seed" still names the article's
scheme). A bad parameter shows a warning and falls back to the default.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression import quantization as qz
from compression.i18n import CatalogueError
from pages._charts import histogram_figure
from pages._shared import error_text, escape_markdown, lang, query_param, require_router, show_error, t

require_router()

SOURCES = ("text", "generate", "layer", "csv")
DISTRIBUTIONS = ("uniform", "normal", "laplace", "outliers")
SCHEME_KEYS = {"article": "seed"}  # catalogue key of a scheme's label where it differs from the scheme's name
DEFAULT_TEXT = "0.5, 1.0, -0.3, 0.127, -0.9, 0.0039, 0.75, -1.0"
PAGE_SIZES = (25, 100, 500)
HEATMAP_ROWS = 120
CURVE_POINTS = 1500
MARKED_POINTS = 400

COUNT_MAX = 1_000_000
# A number column in the browser refuses integral values from 2^53 on (every float32 beyond 2^24 is one):
# such columns, and columns holding ∞ or an undefined figure, are shown as text (see `_displayable`).
BROWSER_INTEGER_LIMIT = 2**53
ERROR_BLUE, ERROR_RED, LEVEL_GREY = "#2f6fdf", "#d62728", "#8a94a6"


def _scheme_label(key: str) -> str:
    """The scheme's label in this visitor's language; a scheme the catalogue does not know (one registered
    later) shows its own label."""
    try:
        return t(f"quantization.scheme.{SCHEME_KEYS.get(key, key)}")
    except CatalogueError:
        return qz.SCHEME_REGISTRY[key].label


def _link(name: str):
    """The playground's deep-link parser for `name` (one contract, shared with the quiz's links)."""
    return lambda raw: qz.parse_link_param(name, raw)


def _upload_limit_bytes() -> int:
    """The upload limit the browser enforces: server.maxUploadSize megabytes of 1,000,000 bytes."""
    return int(st.get_option("server.maxUploadSize")) * 1_000_000


def _init_state() -> None:
    """Defaults once per session, taken from the URL where it says so (bad values warn and fall back)."""
    if "quant_bits" in st.session_state:
        return
    text = query_param("values", _link("values"), None)
    st.session_state["quant_source"] = "text"
    st.session_state["quant_text"] = text.replace(",", ", ") if text else DEFAULT_TEXT
    st.session_state["quant_bits"] = qz.parse_bits(query_param("bits", _link("bits"), "4,8"))
    scheme = query_param("scheme", _link("scheme"), "symmetric")
    st.session_state["quant_scheme"] = scheme
    default_rounding = qz.SCHEME_REGISTRY[scheme].default_rounding
    st.session_state["quant_rounding"] = query_param("rounding", _link("rounding"), default_rounding)
    st.session_state["quant_calibration"] = query_param("calibration", _link("calibration"), "minmax")
    st.session_state.setdefault("quant_percentile", 99.9)
    st.session_state.setdefault("quant_range_min", -1.0)
    st.session_state.setdefault("quant_range_max", 1.0)
    st.session_state.setdefault("quant_dist", "normal")
    st.session_state.setdefault("quant_count", 10_000)
    st.session_state.setdefault("quant_seed", 0)
    st.session_state.setdefault("quant_layer", "linear_784_128")
    st.session_state.setdefault("quant_per_channel", False)
    st.session_state.setdefault("quant_formats", [])
    st.session_state.setdefault("quant_page_size", 25)
    st.session_state.setdefault("quant_page", 1)
    st.session_state.setdefault("quant_round_seed", 0)


def _on_scheme_change() -> None:
    """Each scheme has its own default rounding (the article's formula truncates): when the rounding is
    another scheme's default, switch it to the new scheme's, so the defaults stay faithful."""
    scheme = qz.SCHEME_REGISTRY[st.session_state["quant_scheme"]]
    rounding = st.session_state["quant_rounding"]
    defaults = {s.default_rounding for s in qz.SCHEME_REGISTRY.values()}
    if rounding != scheme.default_rounding and rounding in defaults:
        st.session_state["quant_rounding"] = scheme.default_rounding


def _checked_number(container, label: str, key: str, check, default: int, **options) -> int:
    """A whole-number field without client-side limits: what the visitor types stays in the field, `check`
    (a library validator) accepts it or raises a ValueError whose message is shown right below the field,
    and the page keeps using the last valid value (so nothing is swallowed or silently replaced)."""
    valid_key = f"{key}_valid"
    st.session_state.setdefault(valid_key, default)
    if key not in st.session_state:  # a widget not drawn on the last run loses its state: bring back the last valid one
        st.session_state[key] = st.session_state[valid_key]
    value = container.number_input(label, step=options.pop("step", 1), key=key, **options)
    try:
        st.session_state[valid_key] = check(value)
    except ValueError as exc:
        container.error(
            t(
                "quantization.limits.not_applied",
                message=escape_markdown(error_text(exc), 300),
                kept=f"{st.session_state[valid_key]:,}",
            ),
            icon=":material/error:",
        )
    return int(st.session_state[valid_key])


# ------------------------------------------------------------------ cached calls into compression
# Shared by every session through st.cache_resource (no pickling: a 1M-value Sweep is about 22 MB) and keyed
# by a small spec of the inputs (the source's parameters, or a digest of typed text / an upload), never by the
# array itself, so a rerun after a widget change costs dictionary look-ups, not hashing and unpickling.
SourceKey = tuple


@st.cache_resource(max_entries=8, show_spinner=False)
def _values(source: SourceKey, _data: bytes | None = None) -> np.ndarray:
    """The values a source spec names: ("text", text), ("csv", digest) with its bytes in `_data`,
    ("generate", distribution, count, seed) or ("layer", layer, seed). Raises ValueError on bad input."""
    kind = source[0]
    if kind == "text":
        return qz.parse_values(source[1])
    if kind == "csv":
        return qz.parse_csv(_data or b"")
    if kind == "generate":
        return qz.generate_values(source[1], source[2], source[3])
    return qz.layer_weights(source[1], source[2])


@st.cache_resource(max_entries=4, show_spinner=False)
def _sweep(source: SourceKey, per_channel: bool, bits: tuple[int, ...], options: tuple) -> qz.Sweep:
    values = _values(source)
    return qz.sweep(values if per_channel else values.reshape(-1), bits, per_channel=per_channel, **dict(options))


@st.cache_resource(max_entries=4, show_spinner=False)
def _error_vs_bits(source: SourceKey, options: tuple) -> pd.DataFrame:
    return qz.error_vs_bits(_values(source).reshape(-1), **dict(options))


@st.cache_resource(max_entries=4, show_spinner=False)
def _article_comparison(source: SourceKey, bits: int) -> qz.ArticleComparison:
    return qz.compare_with_article(_values(source).reshape(-1), bits)


# ------------------------------------------------------------------ drawing helpers (no numerics)
def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


@st.cache_resource(max_entries=8, show_spinner=False)
def _heatmap(key: tuple, _result: qz.Sweep, language: str) -> go.Figure:
    """The error heatmap of a sample of HEATMAP_ROWS values (built once per sweep and language)."""
    frame = _result.error_heatmap(HEATMAP_ROWS)
    total = _result.count
    fig = go.Figure(
        go.Heatmap(
            z=frame.to_numpy(),
            x=list(frame.columns),
            y=list(frame.index),
            colorscale="RdBu",
            zmid=0,
            colorbar={"title": {"text": t("quantization.heatmap.colorbar")}},
            hovertemplate=t("quantization.heatmap.hover") + "<extra></extra>",
        )
    )
    shown = (
        t("quantization.heatmap.sampled", shown=len(frame), total=total)
        if total > len(frame)
        else t("quantization.heatmap.every_value")
    )
    fig.update_layout(
        title={"text": t("quantization.heatmap.title", shown=shown), "font": {"size": 14}},
        height=max(260, min(620, 40 + 18 * len(frame))),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed", "type": "category", "showticklabels": len(frame) <= 40},
        xaxis={"type": "category"},
    )
    return fig


@st.cache_resource(max_entries=8, show_spinner=False)
def _transfer_figure(key: tuple, _result: qz.Sweep, label: str, language: str) -> go.Figure:
    result = _result
    curve = result.transfer_curve(label, CURVE_POINTS)
    marked = result.marked_values(label, MARKED_POINTS)
    low, high = result.representable_range(label)
    x_min, x_max = float(curve["x"].iloc[0]), float(curve["x"].iloc[-1])
    fig = go.Figure()
    flag = qz.SCHEME_REGISTRY[result.scheme].flag
    for start, stop in ((x_min, low), (high, x_max)):
        if stop > start:
            fig.add_vrect(x0=start, x1=stop, fillcolor=ERROR_RED, opacity=0.08, line_width=0)
    fig.add_trace(
        go.Scatter(
            x=[x_min, x_max], y=[x_min, x_max], mode="lines", name=t("quantization.transfer.identity"),
            line={"color": LEVEL_GREY, "dash": "dot", "width": 1},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=curve["x"], y=curve["dequantized"], mode="lines", name=t("quantization.transfer.staircase", label=label),
            line={"color": ERROR_BLUE, "shape": "hv", "width": 2},
        )
    )  # fmt: skip
    inside, outside = marked[~marked["clipped"]], marked[marked["clipped"]]
    sampled = result.count > len(marked)
    your_values = t("quantization.transfer.your_values") + (
        t("quantization.transfer.sample_suffix", shown=len(marked)) if sampled else ""
    )
    fig.add_trace(
        go.Scatter(
            x=inside["value"], y=inside["dequantized"], mode="markers", name=your_values,
            marker={"color": "#1c2333", "size": 6, "opacity": 0.7},
        )
    )  # fmt: skip
    if len(outside):
        fig.add_trace(
            go.Scatter(
                x=outside["value"], y=outside["dequantized"], mode="markers",
                name=t("quantization.transfer.overflow_values" if flag == "overflow" else "quantization.transfer.clipped_values"),
                marker={"color": ERROR_RED, "size": 8, "symbol": "x"},
            )
        )  # fmt: skip
    fig.update_layout(
        title={
            "text": t("quantization.transfer.title", label=label, low=_fmt(low), high=_fmt(high)),
            "font": {"size": 14},
        },
        xaxis_title=t("quantization.transfer.x_axis"),
        yaxis_title=t("quantization.transfer.y_axis"),
        height=420,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


@st.cache_resource(max_entries=8, show_spinner=False)
def _histogram(key: tuple, _result: qz.Sweep, label: str, language: str) -> go.Figure:
    return histogram_figure(_result, label)


@st.cache_resource(max_entries=8, show_spinner=False)
def _error_vs_bits_figures(
    key: tuple, _curve: pd.DataFrame, chosen: tuple[int, ...], language: str
) -> tuple[go.Figure, go.Figure]:
    curve = _curve
    mse = go.Figure()
    mse.add_trace(
        go.Scatter(x=curve["bits"], y=curve["MSE"], mode="lines+markers", name=t("quantization.bits.measured_mse"))
    )
    mse.add_trace(
        go.Scatter(
            x=curve["bits"], y=curve["Δ²/12"], mode="lines", name=t("quantization.bits.noise_model"),
            line={"dash": "dash"},
        )
    )  # fmt: skip
    mse.update_layout(
        title={"text": t("quantization.bits.mse_title"), "font": {"size": 14}},
        xaxis_title=t("quantization.bits.x_axis"),
        yaxis={"title": t("quantization.bits.mse_axis"), "type": "log", "exponentformat": "power"},
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    sqnr = go.Figure()
    finite = curve[np.isfinite(curve["SQNR (dB)"])]
    sqnr.add_trace(
        go.Scatter(
            x=finite["bits"], y=finite["SQNR (dB)"], mode="lines+markers", name=t("quantization.bits.measured_sqnr")
        )
    )
    sqnr.add_trace(
        go.Scatter(
            x=curve["bits"], y=curve["SQNR from Δ²/12 (dB)"], mode="lines", name=t("quantization.bits.sqnr_model"),
            line={"dash": "dash"},
        )
    )  # fmt: skip
    sqnr.add_trace(
        go.Scatter(
            x=curve["bits"], y=curve["6.02 dB per bit"], mode="lines", name=t("quantization.bits.per_bit"),
            line={"dash": "dot", "color": LEVEL_GREY},
        )
    )  # fmt: skip
    for fig in (mse, sqnr):
        for b in chosen:
            fig.add_vline(x=b, line={"color": ERROR_RED, "width": 1, "dash": "dot"})
    sqnr.update_layout(
        title={"text": t("quantization.bits.sqnr_title"), "font": {"size": 14}},
        xaxis_title=t("quantization.bits.x_axis"),
        yaxis_title=t("quantization.bits.sqnr_axis"),
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return mse, sqnr


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


def _needs_text(column: pd.Series) -> bool:
    """True when the browser's number column cannot show this column: ∞, NaN, or |value| >= 2^53."""
    if column.dtype == bool or not pd.api.types.is_numeric_dtype(column):
        return False
    numbers = column.to_numpy(dtype=np.float64)
    return bool((~np.isfinite(numbers)).any() or (np.abs(numbers) >= BROWSER_INTEGER_LIMIT).any())


def _number_text(value: object, number_format: str | None) -> str:
    """A finite number as the browser's number column writes it in a printf format (sprintf-js): "%.Ng" is
    String(Number(x.toPrecision(N))), positional from 1e-6 to 1e21 ("0.000003927", "123500", "1e+38"); "%.Ne"
    has no leading zeros in its exponent ("2.963e+73", "7.858e-5"); the others as Python's %."""
    precision = re.fullmatch(r"%\.(\d+)g", number_format or "")
    if precision and isinstance(value, float | np.floating) and value != 0:
        rounded = float(f"{value:.{max(int(precision[1]), 1) - 1}e}")
        if -7 < math.floor(math.log10(abs(rounded))) < 21:
            return np.format_float_positional(rounded, trim="-")
        return np.format_float_scientific(rounded, trim="-", exp_digits=1)
    if number_format is None:
        return f"{int(value)}" if float(value).is_integer() else f"{value}"
    text = number_format % value
    return re.sub(r"e([+-])0+(\d)", r"e\1\2", text) if number_format.endswith("e") else text


def _cell_text(value: object, number_format: str | None, note: str | None = None) -> str:
    """One cell as text: a library note in words, "—" for a figure that does not exist, ∞, or the number as
    the browser would write it (`_number_text`)."""
    if note is not None:
        return t(f"quantization.note.{note}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return _number_text(value, number_format)


# Upper bounds of character widths in pixels in the grid's 14 px Source Sans (measured in Chromium).
_CHAR_WIDTHS = {
    char: width
    for chars, width in (
        (" il.,|':;!Ij", 3.7),
        ("ftr-()/[]`", 4.9),
        ('szcx"', 6.4),
        ("0123456789+#$<>=~^_*?aegkvyYFJ", 7.1),
        ("bdhnopquAELSTVXZCPR", 8.0),
        ("BDGK", 8.7),
        ("HNOQU", 9.4),
        ("mwMW%∞—", 11.7),
        ("²·", 5.2),
        ("Δ", 8.3),
    )
    for char in chars
}


def _text_width(text: str) -> float:
    """About how many pixels `text` takes in the grid, from above: _CHAR_WIDTHS, else 7.8 for ASCII, 14 for
    wide (CJK) characters and 11.7 for other symbols."""
    width = 0.0
    for char in text:
        if char in _CHAR_WIDTHS:
            width += _CHAR_WIDTHS[char]
        elif char.isascii():
            width += 7.8
        else:
            width += 14.0 if unicodedata.east_asian_width(char) in ("W", "F") else 11.7
    return width


def _fit_width(texts) -> int:
    """A column width that shows the longest of `texts` whole: the text, the cell's 8 px padding on both
    sides and a little room (the grid sizes a column to its content only once, so a column set here stays
    right when the rows change: more formats, another page)."""
    return int(math.ceil(max((_text_width(str(text)) for text in texts), default=0.0) + 16 + 4))


def _displayable(
    frame: pd.DataFrame, config: dict, formats: dict[str, str | None], notes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict]:
    """The frame as the browser can show it, with a width for every column and the index:

    columns the browser cannot show as numbers (or that hold a library note) become right-aligned text in
    the same format, with the header and help their number column had; the others stay number columns."""
    frame = frame.copy()
    for column in frame.columns:
        noted = notes is not None and column in notes.columns and bool(notes[column].notna().any())
        if not (noted or _needs_text(frame[column])):
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
        config[column] = {**entry, "width": _fit_width([header, *cells])}
    index_entry = config.get("_index") or st.column_config.Column()
    index_header = index_entry.get("label") or (frame.index.name or "")
    config["_index"] = {**index_entry, "width": _fit_width([index_header, *(str(i) for i in frame.index)])}
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


@st.fragment
def _transfer_section(result: qz.Sweep, sweep_key: tuple, integer_labels: list[str], per_channel: bool) -> None:
    """The bitwidth to draw, its transfer curve and histogram: switching the bitwidth reruns only this."""
    if st.session_state.get("quant_focus") not in integer_labels:
        st.session_state["quant_focus"] = integer_labels[-1]
    focus = st.segmented_control(t("quantization.transfer.focus"), integer_labels, key="quant_focus", required=True)
    if per_channel:
        st.info(t("quantization.transfer.per_channel_info"), icon=":material/info:")
        return
    left, right = st.columns(2)
    language = lang()
    left.plotly_chart(_transfer_figure(sweep_key, result, focus, language), width="stretch", key="quant_transfer")
    right.plotly_chart(_histogram(sweep_key, result, focus, language), width="stretch", key="quant_histogram")
    if result.count > MARKED_POINTS:
        st.caption(t("quantization.transfer.marked", shown=MARKED_POINTS, n=result.count))


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


# ------------------------------------------------------------------ the page
st.title(t("quantization.title"), anchor=False)
st.markdown(t("quantization.intro"))
_init_state()

source_key: SourceKey | None = None
data: bytes | None = None
with st.container(border=True, key="quant_input_box"):
    st.markdown(t("quantization.values.heading"))
    source = st.segmented_control(
        t("quantization.source.label"),
        list(SOURCES),
        format_func={k: t(f"quantization.source.{k}") for k in SOURCES}.get,
        key="quant_source",
        required=True,
        label_visibility="collapsed",
    )
    values: np.ndarray | None = None
    try:
        if source == "text":
            text = st.text_area(
                t("quantization.values.text_label"),
                key="quant_text",
                height=90,
                help=t("quantization.values.text_help"),
            )
            source_key = ("text", text)
        elif source == "generate":
            c1, c2, c3 = st.columns([2, 2, 1])
            distribution = c1.selectbox(
                t("quantization.values.distribution"),
                list(DISTRIBUTIONS),
                format_func={k: t(f"quantization.distribution.{k}") for k in DISTRIBUTIONS}.get,
                key="quant_dist",
            )
            count = _checked_number(
                c2,
                t("quantization.values.count"),
                "quant_count",
                lambda v: qz.check_count(v, COUNT_MAX),
                10_000,
                step=1000,
                help=t("quantization.values.count_help", high=COUNT_MAX),
            )
            seed = _checked_number(c3, t("quantization.values.seed"), "quant_seed", qz.check_seed, 0)
            source_key = ("generate", distribution, count, seed)
        elif source == "layer":
            c1, c2 = st.columns([3, 1])
            layer = c1.selectbox(
                t("quantization.values.layer"), list(qz.LAYERS), format_func=qz.LAYERS.get, key="quant_layer"
            )
            seed = _checked_number(c2, t("quantization.values.seed"), "quant_seed", qz.check_seed, 0)
            st.toggle(
                t("quantization.values.per_channel"),
                key="quant_per_channel",
                help=t("quantization.values.per_channel_help"),
            )
            source_key = ("layer", layer, seed)
        else:
            limit = _upload_limit_bytes()
            upload = st.file_uploader(
                t("quantization.values.upload_limit", mb=f"{limit / 1e6:g}"),
                type=["csv", "txt"],
                key="quant_upload",
                help=t("quantization.values.upload_help", limit=limit),
            )
            if upload is not None:
                import hashlib

                data = upload.getvalue()
                source_key = ("csv", hashlib.sha256(data).hexdigest())
            else:
                st.info(t("quantization.values.upload_prompt"), icon=":material/upload_file:")
        if source_key is not None:
            if source_key[0] == "generate" and source_key[2] > 100_000:
                with st.spinner(t("quantization.spinner.generating")):
                    values = _values(source_key)
            else:
                values = _values(source_key, data)
            if source == "layer":
                st.caption(
                    t("quantization.values.layer_shape", rows=values.shape[0], cols=values.shape[1], count=values.size)
                )
    except ValueError as exc:
        show_error(exc, t("quantization.values.error"))
        values = None

with st.container(border=True, key="quant_controls_box"):
    st.markdown(t("quantization.quantizer.heading"))
    c1, c2 = st.columns(2)
    bits = c1.multiselect(
        t("quantization.quantizer.bits"),
        list(range(qz.MIN_BITS, qz.MAX_BITS + 1)),
        key="quant_bits",
        placeholder=t("quantization.quantizer.choose"),
        help=t("quantization.quantizer.bits_help"),
    )
    scheme = c2.selectbox(
        t("quantization.quantizer.scheme"),
        list(qz.SCHEMES),
        format_func={k: _scheme_label(k) for k in qz.SCHEMES}.get,
        key="quant_scheme",
        on_change=_on_scheme_change,
    )
    fixed_scale = qz.SCHEME_REGISTRY[scheme].fixed_scale
    c3, c4 = st.columns(2)
    rounding = c3.selectbox(
        t("quantization.quantizer.rounding"),
        list(qz.ROUNDINGS),
        format_func={k: t(f"quantization.rounding.{k}") for k in qz.ROUNDINGS}.get,
        key="quant_rounding",
    )
    calibration = c4.selectbox(
        t("quantization.quantizer.calibration"),
        list(qz.CALIBRATIONS),
        format_func={k: t(f"quantization.calibration.{k}") for k in qz.CALIBRATIONS}.get,
        key="quant_calibration",
        disabled=fixed_scale,
        help=t("quantization.quantizer.calibration_help"),
    )
    if rounding == "stochastic":
        _checked_number(c3, t("quantization.quantizer.round_seed"), "quant_round_seed", qz.check_seed, 0)
    percentile = 99.9
    value_range: tuple[float, float] | None = None
    if calibration == "percentile" and not fixed_scale:
        percentile = c4.slider(
            t("quantization.quantizer.percentile"), 90.0, 100.0, step=0.1, key="quant_percentile", format="%.1f%%"
        )
    if calibration == "range" and not fixed_scale:
        r1, r2 = c4.columns(2)
        value_range = (
            r1.number_input(t("quantization.quantizer.range_min"), key="quant_range_min", format="%.4g"),
            r2.number_input(t("quantization.quantizer.range_max"), key="quant_range_max", format="%.4g"),
        )
    formats = st.multiselect(
        t("quantization.quantizer.formats"),
        list(qz.FORMATS),
        format_func=lambda k: qz.FORMATS[k].name,
        key="quant_formats",
        placeholder=t("quantization.quantizer.choose"),
        help="; ".join(f"{f.name}: {f.note}" for f in qz.FORMATS.values()),
    )
    note_key = {"article": "seed_note", "symmetric": "symmetric_note"}.get(scheme)
    if note_key:
        st.caption(t(f"quantization.quantizer.{note_key}"))
    elif qz.SCHEME_REGISTRY[scheme].note:  # a scheme registered later brings its own (English) note
        st.caption(qz.SCHEME_REGISTRY[scheme].note)

if values is None or source_key is None:
    st.stop()

per_channel = bool(st.session_state.get("quant_per_channel")) and source == "layer"
round_seed = int(st.session_state.get("quant_round_seed_valid", 0))
options = (
    ("scheme", scheme),
    ("rounding", rounding),
    ("calibration", calibration),
    ("percentile", float(percentile)),
    ("value_range", value_range),
    ("seed", round_seed),
)
sweep_key = (source_key, per_channel, tuple(bits), options, tuple(formats))
try:
    with st.spinner(t("quantization.spinner.quantizing")):
        result = _sweep(source_key, per_channel, tuple(bits), (*options, ("float_formats", tuple(formats))))
except ValueError as exc:
    show_error(exc, t("quantization.quantizer.error"))
    st.stop()

integer_labels = [qz.label_for(b) for b in sorted(bits)]
n = result.count
language = lang()
st.subheader(t("quantization.summary.heading"), anchor=False)
st.caption(
    t(
        "quantization.summary.caption_one" if n == 1 else "quantization.summary.caption",
        n=n,
        scheme=scheme,
        rounding=result.rounding,
        calibration=result.calibration,
    )
    + (t("quantization.summary.per_channel") if per_channel else "")
)
summary, summary_config = _summary_view(result)
st.dataframe(summary, width="stretch", column_config=summary_config, key="quant_summary")
_summary_notes(result, list(summary.columns))

# ---- per-value table, paged
st.subheader(t("quantization.table.heading"), anchor=False)
_value_table(result)

# ---- charts
st.subheader(t("quantization.heatmap.heading"), anchor=False)
st.plotly_chart(_heatmap(sweep_key, result, language), width="stretch", key="quant_heatmap")

if integer_labels:
    st.subheader(t("quantization.transfer.heading"), anchor=False)
    _transfer_section(result, sweep_key, integer_labels, per_channel)

    st.subheader(t("quantization.bits.heading"), anchor=False)
    if per_channel:
        st.caption(t("quantization.bits.per_channel_note"))
    try:
        curve = _error_vs_bits(source_key, options)
    except ValueError as exc:
        show_error(exc, t("quantization.bits.error"))
    else:
        left, right = st.columns(2)
        mse_fig, sqnr_fig = _error_vs_bits_figures((source_key, options), curve, tuple(bits), language)
        left.plotly_chart(mse_fig, width="stretch", key="quant_mse_bits")
        right.plotly_chart(sqnr_fig, width="stretch", key="quant_sqnr_bits")
        st.caption(t("quantization.bits.caption"))
        undrawn = curve[curve["note"].notna()]
        for note, rows in undrawn.groupby("note", sort=False):
            st.caption(
                t(
                    "quantization.bits.not_drawn",
                    bits=", ".join(str(b) for b in rows["bits"]),
                    reason=t(f"quantization.note.{note}"),
                )
            )

# ---- the article's formula vs the correct one
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
        {c: "%d" if pd.api.types.is_integer_dtype(comparison.table[c]) else "%.6g" for c in comparison.table.columns},
    )
    st.dataframe(seed_table, width="stretch", column_config=seed_config, key="quant_seed_table")
st.caption(t("quantization.seed.caption"))
