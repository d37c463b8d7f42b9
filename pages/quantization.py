"""Quantization playground: every value, every bitwidth, its code and its rounding error, exact to PyTorch.

Deep links (the quiz links here): /quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate
&calibration=minmax (the contract is `compression.quantization.links`; "seed" still names the article's
scheme). A bad parameter shows a warning and falls back to the default.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression import quantization as qz
from pages._charts import histogram_figure
from pages._shared import query_param, require_router, show_error

require_router()

SOURCES = {
    "text": ":material/edit: Type or paste",
    "generate": ":material/casino: Generate",
    "layer": ":material/layers: Layer weights",
    "csv": ":material/upload_file: Upload CSV",
}
ROUNDING_LABELS = {
    "nearest": "nearest, half to even (PyTorch)",
    "truncate": "truncate toward zero (the article)",
    "floor": "floor (round down)",
    "stochastic": "stochastic (seeded)",
}
CALIBRATION_LABELS = {
    "minmax": "min-max (MinMaxObserver)",
    "percentile": "percentile",
    "mse": "lowest-MSE clipping (grid search)",
    "range": "explicit range",
}
DISTRIBUTION_LABELS = {
    "uniform": "uniform U[-1, 1)",
    "normal": "normal N(0, 1)",
    "laplace": "Laplace (variance 1)",
    "outliers": "normal with 1% outliers ×20",
}
DEFAULT_TEXT = "0.5, 1.0, -0.3, 0.127, -0.9, 0.0039, 0.75, -1.0"
PAGE_SIZES = (25, 100, 500)
HEATMAP_ROWS = 120
CURVE_POINTS = 1500
MARKED_POINTS = 1500

COUNT_MAX = 1_000_000
ERROR_BLUE, ERROR_RED, LEVEL_GREY = "#2f6fdf", "#d62728", "#8a94a6"


def _scheme_label(key: str) -> str:
    return qz.SCHEME_REGISTRY[key].label


def _link(name: str):
    """The playground's deep-link parser for `name` (one contract, shared with the quiz's links)."""
    return lambda raw: qz.parse_link_param(name, raw)


def _plural(count: int, word: str, words: str | None = None) -> str:
    """ "1 value", "2 values", "1,000 values"."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


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


# ------------------------------------------------------------------ cached calls into compression
@st.cache_data(max_entries=16, show_spinner=False)
def _parsed_text(text: str) -> np.ndarray:
    return qz.parse_values(text)


@st.cache_data(max_entries=4, show_spinner=False)
def _parsed_csv(data: bytes) -> np.ndarray:
    return qz.parse_csv(data)


@st.cache_data(max_entries=4, show_spinner="Generating values...")
def _generated(distribution: str, count: int, seed: int) -> np.ndarray:
    return qz.generate_values(distribution, count, seed)


@st.cache_data(max_entries=8, show_spinner=False)
def _layer(layer: str, seed: int) -> np.ndarray:
    return qz.layer_weights(layer, seed)


@st.cache_data(max_entries=4, show_spinner="Quantizing...")
def _sweep(values: np.ndarray, bits: tuple[int, ...], **options: object) -> qz.Sweep:
    return qz.sweep(values, bits, **options)  # type: ignore[arg-type]


@st.cache_data(max_entries=4, show_spinner="Measuring error at every bitwidth...")
def _error_vs_bits(values: np.ndarray, **options: object) -> pd.DataFrame:
    return qz.error_vs_bits(values, **options)  # type: ignore[arg-type]


@st.cache_data(max_entries=4, show_spinner=False)
def _article_comparison(values: np.ndarray, bits: int) -> qz.ArticleComparison:
    return qz.compare_with_article(values, bits)


# ------------------------------------------------------------------ drawing helpers (no numerics)
def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def _heatmap(frame: pd.DataFrame, total: int) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=frame.to_numpy(),
            x=list(frame.columns),
            y=list(frame.index),
            colorscale="RdBu",
            zmid=0,
            colorbar={"title": {"text": "error"}},
            hovertemplate="%{y}<br>%{x}: error %{z:.4g}<extra></extra>",
        )
    )
    shown = (
        f"{len(frame)} of {total:,} values: every k-th, plus the smallest and largest, sorted by value"
        if total > len(frame)
        else "every value"
    )
    fig.update_layout(
        title={"text": f"Rounding error per value and format ({shown})", "font": {"size": 14}},
        height=max(260, min(620, 40 + 18 * len(frame))),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed", "type": "category", "showticklabels": len(frame) <= 40},
        xaxis={"type": "category"},
    )
    return fig


def _transfer_figure(result: qz.Sweep, label: str) -> go.Figure:
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
            x=[x_min, x_max], y=[x_min, x_max], mode="lines", name="y = x (no error)",
            line={"color": LEVEL_GREY, "dash": "dot", "width": 1},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=curve["x"], y=curve["dequantized"], mode="lines", name=f"{label} staircase",
            line={"color": ERROR_BLUE, "shape": "hv", "width": 2},
        )
    )  # fmt: skip
    inside, outside = marked[~marked["clipped"]], marked[marked["clipped"]]
    fig.add_trace(
        go.Scatter(
            x=inside["value"], y=inside["dequantized"], mode="markers", name="your values",
            marker={"color": "#1c2333", "size": 6, "opacity": 0.7},
        )
    )  # fmt: skip
    if len(outside):
        fig.add_trace(
            go.Scatter(
                x=outside["value"], y=outside["dequantized"], mode="markers", name=f"{flag} values",
                marker={"color": ERROR_RED, "size": 8, "symbol": "x"},
            )
        )  # fmt: skip
    fig.update_layout(
        title={
            "text": f"Transfer curve at {label}: shaded = outside [{_fmt(low)}, {_fmt(high)}]",
            "font": {"size": 14},
        },
        xaxis_title="input value x",
        yaxis_title="dequantized value",
        height=420,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def _error_vs_bits_figures(curve: pd.DataFrame, chosen: list[int]) -> tuple[go.Figure, go.Figure]:
    mse = go.Figure()
    mse.add_trace(go.Scatter(x=curve["bits"], y=curve["MSE"], mode="lines+markers", name="measured MSE"))
    mse.add_trace(
        go.Scatter(x=curve["bits"], y=curve["Δ²/12"], mode="lines", name="Δ²/12 (uniform noise)", line={"dash": "dash"})
    )
    mse.update_layout(
        title={"text": "MSE vs bits (log scale)", "font": {"size": 14}},
        xaxis_title="bits",
        yaxis={"title": "mean squared error", "type": "log", "exponentformat": "power"},
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    sqnr = go.Figure()
    finite = curve[np.isfinite(curve["SQNR (dB)"])]
    sqnr.add_trace(go.Scatter(x=finite["bits"], y=finite["SQNR (dB)"], mode="lines+markers", name="measured SQNR"))
    sqnr.add_trace(
        go.Scatter(
            x=curve["bits"], y=curve["SQNR from Δ²/12 (dB)"], mode="lines", name="from Δ²/12", line={"dash": "dash"}
        )
    )
    sqnr.add_trace(
        go.Scatter(
            x=curve["bits"], y=curve["6.02 dB per bit"], mode="lines", name="6.02 dB per bit",
            line={"dash": "dot", "color": LEVEL_GREY},
        )
    )  # fmt: skip
    for fig in (mse, sqnr):
        for b in chosen:
            fig.add_vline(x=b, line={"color": ERROR_RED, "width": 1, "dash": "dot"})
    sqnr.update_layout(
        title={"text": "SQNR vs bits", "font": {"size": 14}},
        xaxis_title="bits",
        yaxis_title="SQNR (dB)",
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return mse, sqnr


# ------------------------------------------------------------------ the page
st.title("Quantization playground", anchor=False)
st.markdown(
    "Quantization maps each float to one of 2^b integer codes: "
    "`q = clamp(round(x / scale) + zero_point, qmin, qmax)`, and back: `x̂ = (q - zero_point) · scale`. "
    "Every number below is computed exactly as PyTorch's `fake_quantize_per_tensor_affine` and "
    "`MinMaxObserver` compute it (float32, round half to even)."
)
_init_state()

with st.container(border=True, key="quant_input_box"):
    st.markdown("**:material/input: Values**")
    source = st.segmented_control(
        "Where the values come from",
        list(SOURCES),
        format_func=SOURCES.get,
        key="quant_source",
        required=True,
        label_visibility="collapsed",
    )
    values: np.ndarray | None = None
    try:
        if source == "text":
            text = st.text_area(
                "Numbers separated by commas, spaces or new lines",
                key="quant_text",
                height=90,
                help="Values are stored as float32, like model weights.",
            )
            values = _parsed_text(text)
        elif source == "generate":
            c1, c2, c3 = st.columns([2, 2, 1])
            distribution = c1.selectbox(
                "Distribution", list(DISTRIBUTION_LABELS), format_func=DISTRIBUTION_LABELS.get, key="quant_dist"
            )
            count = c2.number_input("How many values", 1, COUNT_MAX, step=1000, key="quant_count")
            seed = c3.number_input("Seed", 0, 2**31 - 1, step=1, key="quant_seed")
            values = _generated(distribution, int(count), int(seed))
        elif source == "layer":
            c1, c2, c3 = st.columns([3, 1, 2])
            layer = c1.selectbox(
                "Layer (PyTorch default init)", list(qz.LAYERS), format_func=qz.LAYERS.get, key="quant_layer"
            )
            seed = c2.number_input("Seed", 0, 2**31 - 1, step=1, key="quant_seed")
            c3.toggle(
                "Per-channel (one scale per output row)",
                key="quant_per_channel",
                help="PerChannelMinMaxObserver + fake_quantize_per_channel_affine along axis 0.",
            )
            values = _layer(layer, int(seed))
            st.caption(f"Weight matrix {values.shape[0]} × {values.shape[1]} = {values.size:,} values.")
        else:
            limit = _upload_limit_bytes()
            upload = st.file_uploader(
                f"A CSV file with one column of numbers (a header line is fine), at most {limit / 1e6:g} MB",
                type=["csv", "txt"],
                key="quant_upload",
                help=f"Files over {limit:,} bytes are refused by the browser before they reach the server.",
            )
            if upload is not None:
                values = _parsed_csv(upload.getvalue())
            else:
                st.info("Upload a CSV file to quantize its values.", icon=":material/upload_file:")
    except ValueError as exc:
        show_error(exc, "Values")
        values = None

with st.container(border=True, key="quant_controls_box"):
    st.markdown("**:material/tune: Quantizer**")
    c1, c2 = st.columns([3, 2])
    bits = c1.multiselect(
        "Bitwidths",
        list(range(qz.MIN_BITS, qz.MAX_BITS + 1)),
        key="quant_bits",
        help="One column of codes, dequantized values and errors per bitwidth.",
    )
    scheme = c2.selectbox(
        "Scheme", list(qz.SCHEMES), format_func=_scheme_label, key="quant_scheme", on_change=_on_scheme_change
    )
    fixed_scale = qz.SCHEME_REGISTRY[scheme].fixed_scale
    c3, c4, c5, c6 = st.columns(4)
    rounding = c3.selectbox("Rounding", list(qz.ROUNDINGS), format_func=ROUNDING_LABELS.get, key="quant_rounding")
    calibration = c4.selectbox(
        "Calibration (the range)",
        list(qz.CALIBRATIONS),
        format_func=CALIBRATION_LABELS.get,
        key="quant_calibration",
        disabled=fixed_scale,
        help="How the clipping range is chosen. The article's formula has a fixed range [-1, 1).",
    )
    percentile = 99.9
    value_range: tuple[float, float] | None = None
    if calibration == "percentile" and not fixed_scale:
        percentile = c5.slider(
            "Keep the central percentile", 90.0, 100.0, step=0.1, key="quant_percentile", format="%.1f%%"
        )
    if calibration == "range" and not fixed_scale:
        r1, r2 = c5.columns(2)
        value_range = (
            r1.number_input("Range min", key="quant_range_min", format="%.4g"),
            r2.number_input("Range max", key="quant_range_max", format="%.4g"),
        )
    formats = c6.multiselect(
        "Low-bit float formats",
        list(qz.FORMATS),
        format_func=lambda k: qz.FORMATS[k].name,
        key="quant_formats",
        help="; ".join(f"{f.name}: {f.note}" for f in qz.FORMATS.values()),
    )
    if rounding == "stochastic":
        c3.number_input("Stochastic rounding seed", 0, 2**31 - 1, step=1, key="quant_round_seed")
    if qz.SCHEME_REGISTRY[scheme].note:
        st.caption(qz.SCHEME_REGISTRY[scheme].note)

if values is None:
    st.stop()

per_channel = bool(st.session_state.get("quant_per_channel")) and source == "layer"
flat_values = values if per_channel else values.reshape(-1)
round_seed = int(st.session_state.get("quant_round_seed", 0))
try:
    result = _sweep(
        flat_values,
        tuple(bits),
        scheme=scheme,
        rounding=rounding,
        calibration=calibration,
        percentile=percentile,
        value_range=value_range,
        per_channel=per_channel,
        float_formats=tuple(formats),
        seed=round_seed,
    )
except ValueError as exc:
    show_error(exc, "Quantizer")
    st.stop()

integer_labels = [qz.label_for(b) for b in sorted(bits)]
n = result.count
st.subheader(":material/summarize: Summary", anchor=False)
st.caption(
    f"{_plural(n, 'value')} · scheme **{scheme}** · rounding **{result.rounding}** · calibration **{result.calibration}**"
    + (" · per-channel" if per_channel else "")
)
st.dataframe(
    result.summary,
    width="stretch",
    column_config={
        "scale (Δ)": st.column_config.NumberColumn(format="%.4g"),
        "MSE": st.column_config.NumberColumn(format="%.3e"),
        "max |error|": st.column_config.NumberColumn(format="%.3e"),
        "mean error": st.column_config.NumberColumn(format="%.2e"),
        "SQNR (dB)": st.column_config.NumberColumn(format="%.2f"),
        "Δ²/12": st.column_config.NumberColumn(format="%.3e"),
        "SQNR from Δ²/12 (dB)": st.column_config.NumberColumn(format="%.2f"),
    },
    key="quant_summary",
)

# ---- per-value table, paged
st.subheader(":material/table: Every value, every bitwidth", anchor=False)
c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
page_size = c1.selectbox("Rows per page", PAGE_SIZES, key="quant_page_size")
pages = max(1, math.ceil(n / page_size))
if st.session_state.get("quant_page", 1) > pages:
    st.session_state["quant_page"] = pages
page = c2.number_input(f"Page (of {pages:,})", 1, pages, step=1, key="quant_page")
start = (int(page) - 1) * page_size
size_mb = result.csv_size_estimate() / 1e6
c3.download_button(
    ("Download the row as CSV" if n == 1 else f"Download all {n:,} rows as CSV")
    + (f" (about {size_mb:,.0f} MB)" if size_mb >= 1 else ""),
    data=result.to_csv,
    file_name="quantization.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="quant_download",
)
st.dataframe(
    result.table(start, start + page_size),
    width="stretch",
    key="quant_table",
)
st.caption(f"Rows {start + 1:,} to {min(start + page_size, n):,} of {n:,}. Error = dequantized - value.")

# ---- charts
st.subheader(":material/grid_on: Error heatmap", anchor=False)
st.plotly_chart(_heatmap(result.error_heatmap(HEATMAP_ROWS), n), width="stretch", key="quant_heatmap")

if integer_labels:
    st.subheader(":material/stairs: Transfer curve and levels", anchor=False)
    if st.session_state.get("quant_focus") not in integer_labels:
        st.session_state["quant_focus"] = integer_labels[-1]
    focus = st.segmented_control("Bitwidth to draw", integer_labels, key="quant_focus", required=True)
    if per_channel:
        st.info(
            "Per-channel quantization has one staircase per output row; switch per-channel off to see the curve.",
            icon=":material/info:",
        )
    else:
        left, right = st.columns(2)
        left.plotly_chart(_transfer_figure(result, focus), width="stretch", key="quant_transfer")
        right.plotly_chart(histogram_figure(result, focus), width="stretch", key="quant_histogram")
        if n > MARKED_POINTS:
            st.caption(
                f"The curve marks {MARKED_POINTS:,} of the {n:,} values (every k-th, plus the smallest and largest)."
            )

    st.subheader(":material/show_chart: Error vs bits: measurement and theory", anchor=False)
    if per_channel:
        st.caption("Measured per tensor on the same values (the per-channel figures are in the summary).")
    try:
        curve = _error_vs_bits(
            flat_values.reshape(-1),
            scheme=scheme,
            rounding=rounding,
            calibration=calibration,
            percentile=percentile,
            value_range=value_range,
            seed=round_seed,
        )
    except ValueError as exc:
        show_error(exc, "Error vs bits")
    else:
        left, right = st.columns(2)
        mse_fig, sqnr_fig = _error_vs_bits_figures(curve, list(bits))
        left.plotly_chart(mse_fig, width="stretch", key="quant_mse_bits")
        right.plotly_chart(sqnr_fig, width="stretch", key="quant_sqnr_bits")
        st.caption(
            "Δ²/12 is the uniform-noise model: an error spread evenly over half a step either side. "
            "SQNR rises about 6.02 dB per bit; a full-range uniform input sits on that line. "
            "At low bits clipping and coarse steps break the model; percentile or MSE calibration helps "
            "for normal or Laplace data."
        )

# ---- the article's formula vs the correct one
st.subheader(":material/compare: The article's formula vs the correct one", anchor=False)
compare_bits = max(bits) if bits else 8
comparison = _article_comparison(flat_values.reshape(-1), compare_bits)
example = comparison.overflow_example
st.markdown(
    f"The article answers `quantize(value, bitwidth)` with `int(value * 2**(bitwidth-1))`. At **{compare_bits} bits** "
    f"it truncates toward zero instead of rounding, and never clamps: "
    f"`quantize(1.0, {compare_bits})` = **{example['code']}**, which does not fit in int{compare_bits} "
    f"[{example['qmin']}, {example['qmax']}]; stored in an int{compare_bits} it wraps to **{example['stored']}**, "
    "the opposite sign. The article's figures below score what an "
    f'int{compare_bits} really stores (wrapped); the row "article, unbounded int" scores the Python int, '
    f"which no int{compare_bits} can hold. The correct quantizer (restricted symmetric: scale = max|x| / (2^(b-1)-1), round "
    "half to even, clamp) on the same values:"
)
m = comparison.metrics
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    f"quantize(1.0, {compare_bits})",
    example["code"],
    f"does not fit int{compare_bits}",
    delta_color="red",
    delta_arrow="off",
)
c2.metric(
    "Overflowing codes (article)",
    f"{int(m.loc['article', 'overflow / clipped']):,}",
    f"of {_plural(n, 'value')}",
    delta_color="off",
    delta_arrow="off",
)
c3.metric(
    "Mean shrink toward 0 (article)",
    _fmt(float(m.loc["article", "mean shrink toward 0"])),
    "truncation bias",
    delta_color="off",
    delta_arrow="off",
)
c4.metric("Mean shrink toward 0 (correct)", _fmt(float(m.loc["correct", "mean shrink toward 0"])))
st.dataframe(
    m,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.4g") for c in m.columns if c != "overflow / clipped"},
    key="quant_seed_metrics",
)
with st.expander(
    "Value by value, the only value"
    if len(comparison.table) == 1
    else f"Value by value, the first {len(comparison.table):,} values",
    icon=":material/list:",
):
    st.dataframe(comparison.table, width="stretch", key="quant_seed_table")
st.caption(
    "Truncation moves every value toward zero by up to a whole step (half a step on average), so magnitudes "
    "shrink; rounding to nearest errs by at most half a step with no bias. The article's fixed scale also "
    "only covers [-1, 1): a value of 1.0 or more overflows."
)
