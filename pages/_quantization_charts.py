"""The playground's charts: the error heatmap, the transfer curve and histogram of one bitwidth, and error
against bits. Figures only (the numbers are compression.quantization's); each built once per sweep and language.

Part of pages/quantization.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression import quantization as qz
from pages._charts import histogram_figure
from pages._shared import lang, t

HEATMAP_ROWS = 120
CURVE_POINTS = 1500
MARKED_POINTS = 400
ERROR_BLUE, ERROR_RED, LEVEL_GREY = "#2f6fdf", "#d62728", "#8a94a6"


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
