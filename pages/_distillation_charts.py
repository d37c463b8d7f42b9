"""The trainer's charts: a run's accuracy and loss curves (shared by every tab watching it) and its size chart.

Part of pages/distillation.py (a module whose name starts with "_" is not a page). Figures only: the numbers come
from compression.distillation.report.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from compression.distillation.report import accuracy_axis_range, history_frame, log_ticks
from compression.distillation.variants import TEACHER_TITLE, VARIANTS, colours
from pages._charts import LiveFigureClock
from pages._shared import lang, t, t_or

LIVE_POINTS = 300


def model_names() -> dict[str, str]:
    """English model titles (report frames, chart colours) -> their names in the visitor's language."""
    return {
        TEACHER_TITLE: t("distillation.model.teacher"),
        **{v.title: t_or(f"distillation.model.{name}", v.title) for name, v in VARIANTS.items()},
    }


def line_chart(history: pd.DataFrame, column: str, title: str, height: int, axis: str) -> go.Figure:
    """One line per model (plotly graph_objects: about 15× cheaper than plotly express on every poll); legend
    names in the visitor's language, colours by the models' English titles."""
    names = model_names()
    fig = go.Figure(
        [
            go.Scatter(
                x=group["epoch"],
                y=group[column],
                name=names.get(str(model), str(model)),
                mode="lines",
                line={"color": colours().get(str(model))},
            )
            for model, group in history.groupby("Model", sort=False)
        ]
    )
    fig.update_layout(
        title=title,
        height=height,
        margin={"t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25, "title": {"text": t("distillation.model.legend")}},
        hovermode="x",
    )
    fig.update_xaxes(title=t("distillation.chart.epoch_axis"))
    fig.update_yaxes(title=axis)
    return fig


def accuracy_chart(history: pd.DataFrame, title: str) -> go.Figure:
    fig = line_chart(history, "test accuracy %", title, 380, t("distillation.chart.accuracy_axis"))
    fig.update_yaxes(range=list(accuracy_axis_range(history)))
    teacher = history[history["Model"] == TEACHER_TITLE]
    if not teacher.empty and (history["Model"] != TEACHER_TITLE).any():
        final = float(teacher["test accuracy %"].iloc[-1])
        fig.add_hline(
            y=final,
            line_dash="dot",
            line_color=colours()[TEACHER_TITLE],
            annotation_text=t("distillation.chart.teacher_line", accuracy=final),
            annotation_position="bottom right",
        )
    return fig


def loss_chart(history: pd.DataFrame, column: str, title: str, log_y: bool, axis: str) -> go.Figure:
    fig = line_chart(history, column, title, 320, axis)
    if log_y:
        values = history[column].astype(float)
        positive = values[values > 0]
        ticks = log_ticks(float(positive.min()), float(positive.max())) if not positive.empty else []
        # Explicit ticks with their full values: plotly's own log ticks read "2, 1, 5, 2, 0.1, 5, 2".
        fig.update_yaxes(type="log", tickvals=ticks or None, ticktext=[f"{tick:g}" for tick in ticks] or None)
    return fig


def size_chart(summary: pd.DataFrame) -> go.Figure:
    summary = summary.assign(Model=summary["Model"].map(lambda m: model_names().get(m, m)))
    palette = {model_names().get(m, m): c for m, c in colours().items()}
    fig = px.scatter(
        summary,
        x="size KiB",
        y="test accuracy %",
        color="Model",
        color_discrete_map=palette,
        log_x=True,
        title=t("distillation.chart.size_title"),
    )
    # A legend, not labels beside the points: the students share one size, and their labels overlapped.
    fig.update_traces(marker={"size": 14})
    fig.update_layout(
        height=420, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25, "title": {"text": ""}}
    )
    fig.update_yaxes(title=t("distillation.chart.accuracy_axis"))
    low, high = float(summary["size KiB"].min()), float(summary["size KiB"].max())
    sizes = sorted(set(summary["size KiB"].round(1)))
    fig.update_xaxes(
        title=t("distillation.chart.size_axis"),
        range=[math.log10(low / 2), math.log10(high * 8)],
        tickvals=sizes,  # one tick per model size, not plotly's 2-5-10 minor labels
        ticktext=[f"{size:,.1f}" for size in sizes],
    )
    accuracy = summary["test accuracy %"]
    fig.update_yaxes(range=[float(accuracy.min()) - 1.5, float(accuracy.max()) + 1.5])
    return fig


@st.cache_resource(show_spinner=False, max_entries=16)
def curve_figures(
    key: str,
    version: int,
    lang_code: str,
    _history_rows,
    max_points: int | None,  # noqa: ANN001
) -> tuple[go.Figure, ...] | None:
    """The three curve figures of a run at one version in one language (`lang_code`, the visitor's: their
    text comes from t()), built once and shared by every session watching it (each poll of each open tab
    reuses them instead of rebuilding). Never mutated after building."""
    history = history_frame(_history_rows, max_points=max_points)
    if history.empty:
        return None
    return (
        accuracy_chart(history, t("distillation.chart.accuracy_title")),
        loss_chart(
            history,
            "train loss",
            t("distillation.chart.train_loss_title"),
            True,
            t("distillation.chart.train_loss_axis"),
        ),
        loss_chart(
            history, "test loss", t("distillation.chart.test_loss_title"), False, t("distillation.chart.test_loss_axis")
        ),
    )


@st.cache_resource(show_spinner=False)
def live_figure_clock() -> LiveFigureClock:
    return LiveFigureClock()


def draw_live_curves(history_rows: list, key: str, every_s: float) -> None:
    """A running job's charts: the state every tab at this pace shares now (LiveFigureClock)."""
    rows = live_figure_clock().rows(key, lang(), len(history_rows), every_s)
    draw_curves(history_rows[:rows], key=key, max_points=LIVE_POINTS, version=rows)


def draw_curves(history_rows, key: str, max_points: int | None = None, version: int = -1) -> None:  # noqa: ANN001
    """`version` identifies the history's state (its number of rows)."""
    figures = curve_figures(key, version if version >= 0 else len(history_rows), lang(), history_rows, max_points)
    if figures is None:
        st.caption(t("distillation.chart.no_epoch"))
        return
    accuracy, train_loss, test_loss = figures
    st.plotly_chart(accuracy, key=f"{key}_acc", width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(train_loss, key=f"{key}_train_loss")
    right.plotly_chart(test_loss, key=f"{key}_test_loss")
