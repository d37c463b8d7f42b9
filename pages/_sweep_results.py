"""The sweep's charts and stored results: the live curves, the heatmaps, the cells table, the downloads and the
sweep history with "Reopen".

Part of pages/sweep.py (a module whose name starts with "_" is not a page). Tables are the library's
(compression.distillation.sweep: heatmap_frames, cells_frame); this says them in the visitor's language.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression.distillation.jobs import JobManager
from compression.distillation.report import metrics_csv
from compression.distillation.store import SweepRecord
from compression.distillation.sweep import cells_frame, heatmap_frames, summary_csv, sweep_history_frame
from compression.distillation.sweep import verdict_text as sweep_verdict_text
from pages._runs import (
    Download,
    download_row,
    status_banner,
    status_name,
    stored_weights,
)
from pages._runs import history_panel as shared_history_panel
from pages._shared import escape_markdown, lang, t, t_or

CONTROL_COLORS = {"baseline": "#e07b39", "smoothing": "#3a9d5d", "teacher": "#1c2333"}


def curves(history: list[dict] | pd.DataFrame, key: str, max_points: int | None) -> None:
    frame = sweep_history_frame(
        history.to_dict("records") if isinstance(history, pd.DataFrame) else history, max_points=max_points
    )
    if frame.empty:
        return
    fig = go.Figure()
    for model, group in frame.groupby("model", sort=False):
        name = str(model)
        kind = name.split(" ")[0]
        style = {"color": CONTROL_COLORS[kind], "dash": "dash" if kind != "teacher" else "dot", "width": 3} if (
            kind in CONTROL_COLORS) else {"width": 1.5}  # fmt: skip
        shown = name.replace(kind, t(f"sweep.kind.{kind}"), 1) if kind in CONTROL_COLORS else name
        fig.add_trace(go.Scatter(x=group["epoch"], y=group["test accuracy %"], name=shown, mode="lines", line=style))
    students = frame[frame["model"] != "teacher"]["test accuracy %"]
    low = float(students.quantile(0.1)) if not students.empty else 0.0
    fig.update_layout(height=420, margin={"t": 30, "b": 40}, legend={"orientation": "h", "y": -0.2}, hovermode="x")
    fig.update_xaxes(title=t("sweep.epoch_axis"))
    fig.update_yaxes(title=t("sweep.accuracy_axis"), range=[max(0.0, low - 5), 100.5])
    st.plotly_chart(fig, key=key, width="stretch")


def heatmap(pivot: pd.DataFrame, title: str, *, center: float | None, marks: dict[str, float], fmt: str) -> go.Figure:
    """T on the y axis, alpha on the x axis; the controls marked on the colour bar (and centred at 0 for gains)."""
    z = pivot.to_numpy()
    low, high = float(pd.DataFrame(z).min().min()), float(pd.DataFrame(z).max().max())
    for value in marks.values():
        low, high = min(low, value), max(high, value)
    colorbar: dict = {"title": {"text": ""}}
    if marks:
        colorbar.update(
            tickvals=list(marks.values()), ticktext=[f"{t(f'sweep.kind.{k}')} {v:{fmt}}" for k, v in marks.items()]
        )
    kwargs: dict = {"zmin": low, "zmax": high, "colorscale": "Viridis"}
    if center is not None:
        span = max(abs(low - center), abs(high - center), 1e-6)
        kwargs = {"zmid": center, "zmin": center - span, "zmax": center + span, "colorscale": "RdBu"}
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"α={a:g}" for a in pivot.columns],
            y=[f"T={temperature:g}" for temperature in pivot.index],
            text=[[("" if pd.isna(v) else f"{v:{fmt}}") for v in row] for row in z],
            texttemplate="%{text}",
            colorbar=colorbar,
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            **kwargs,
        )
    )
    fig.update_layout(title=title, height=360, margin={"t": 50, "b": 30, "l": 10, "r": 10})
    fig.update_yaxes(type="category")
    fig.update_xaxes(type="category")
    return fig


def control_title(kind: str) -> str | None:
    """A control's (or the teacher's) name in the visitor's language; None for a distilled cell (named T=… α=…)."""
    return t(f"sweep.kind.{kind}") if kind in CONTROL_COLORS else None


def heatmaps(sweep_id: str, accuracy: pd.DataFrame, gain: pd.DataFrame | None, controls: dict[str, float]) -> None:
    """Accuracy over T × alpha and, with a baseline, the gain over it, side by side; the controls on the bars."""
    if not accuracy.empty:
        left, right = st.columns(2)
        with left, st.container(key="sweep_heatmap_accuracy"):
            st.plotly_chart(
                heatmap(accuracy, t("sweep.heat_acc"), center=None, marks=controls, fmt=".1f"),
                key=f"sweep_heat_acc_{sweep_id}",
                width="stretch",
            )
        if gain is not None:
            marks = {"baseline": 0.0}
            if "smoothing" in controls:
                marks["smoothing"] = controls["smoothing"] - controls["baseline"]
            with right, st.container(key="sweep_heatmap_gain"):
                st.plotly_chart(
                    heatmap(gain, t("sweep.heat_gain"), center=0.0, marks=marks, fmt="+.1f"),
                    key=f"sweep_heat_gain_{sweep_id}",
                    width="stretch",
                )


def cells_table(summary: list[dict]) -> None:
    """Every cell and control, best first (`sweep.cells_frame`), its names, kinds and dashes in the visitor's
    language."""
    table = cells_frame(summary)
    if not table.empty:
        table = table.assign(
            # The library names a control by its role ("baseline", "smoothing"): shown in the visitor's language.
            name=[control_title(k) or n for k, n in zip(table["kind"], table["name"], strict=True)],
            kind=table["kind"].map(lambda k: t_or(f"sweep.kind.{k}", k)),
            # A control has no temperature: a dash, not the grid's "None".
            temperature=[t("sweep.no_value") if pd.isna(v) else f"{v:g}" for v in table["temperature"]],
        )
        st.markdown(f"**{t('sweep.table')}**")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            key="sweep_cells_table",
            column_config={
                "name": st.column_config.TextColumn(t("sweep.col.name"), pinned=True),
                "kind": t("sweep.col.kind"),
                "temperature": st.column_config.TextColumn(t("sweep.col.temperature")),
                "alpha": st.column_config.NumberColumn(t("sweep.col.alpha"), format="%g"),
                "seeds": t("sweep.col.seeds"),
                "test accuracy %": st.column_config.NumberColumn(t("sweep.col.test_accuracy"), format="%.2f"),
                "± std": st.column_config.NumberColumn(t("sweep.col.std"), format="%.2f"),
                "agreement": st.column_config.NumberColumn(t("sweep.col.agreement"), format="percent"),
            },
        )


def stored_results(record: SweepRecord, manager: JobManager) -> None:
    """A stored sweep: its status, verdict, controls, heatmaps, cells table, curves and downloads."""
    st.subheader(t("sweep.results", id=record.id, status=status_name(record.status)), anchor=False)
    status_banner(record.status, record.error, "sweep")
    results = record.results
    if not results:
        return
    verdict = results.get("verdict", {})
    # The verdict is data (its figures); it is said in the visitor's language (sweep.verdict_text).
    seeds = (results.get("config") or {}).get("seeds") or (record.config or {}).get("seeds")
    (st.success if verdict.get("kind") == "clear" else st.warning)(
        escape_markdown(sweep_verdict_text(verdict, lang(), seeds=seeds)), icon=":material/balance:"
    )
    summary = results.get("summary", [])
    accuracy, gain, controls = heatmap_frames(summary)
    teacher = 100 * results["teacher"]["test_accuracy"]
    st.caption(
        t(
            "sweep.controls",
            baseline=f"{controls['baseline']:.2f}%" if "baseline" in controls else t("sweep.not_trained"),
            smoothing=f"{controls['smoothing']:.2f}%" if "smoothing" in controls else t("sweep.not_trained"),
            teacher=f"{teacher:.2f}%",
        )
    )
    heatmaps(record.id, accuracy, gain, controls)
    cells_table(summary)
    st.caption(
        t(
            "sweep.seconds",
            students=len(record.cells),
            seconds=results.get("seconds", 0.0),
            device=results.get("device", record.device),
            cache=t("sweep.cache") if results.get("teacher_from_cache") else "",
        )
    )
    if not record.history.empty:
        curves(record.history, key=f"sweep_run_{record.id}", max_points=300)
    best = stored_weights(manager, record.id, "best")
    download_row(
        [
            Download(t("sweep.download_csv"), summary_csv(summary), f"sweep-{record.id}-cells.csv", "text/csv",
                     "sweep_download_cells"),
            Download(t("sweep.download_metrics"), metrics_csv(record.history), f"sweep-{record.id}-metrics.csv",
                     "text/csv", "sweep_download_metrics"),
            None if best is None else Download(t("sweep.download_best"), best, f"sweep-{record.id}-best.safetensors",
                                               "application/octet-stream", "sweep_download_best"),
        ]
    )  # fmt: skip


def history_columns() -> dict:
    """Sweep history columns with fixed widths, so the table fits a laptop; the date is in the Reopen label."""
    text, number = st.column_config.TextColumn, st.column_config.NumberColumn
    return {
        "id": text(t("sweep.hist.id"), width=105, pinned=True),
        "created": None,
        "status": text(t("sweep.hist.status"), width=80),
        "dataset": text(t("sweep.hist.dataset"), width=95),
        "student": text(t("sweep.hist.student"), width=110),
        "epochs": number(t("sweep.hist.epochs"), width=55),
        "cells": number(t("sweep.hist.cells"), width=55),
        "seeds": number(t("sweep.hist.seeds"), width=55),
        "best cell": text(t("sweep.hist.best_cell"), width=90),
        "best %": number(t("sweep.hist.best"), format="%.2f", width=70),
        "baseline %": number(t("sweep.hist.baseline"), format="%.2f", width=80),
    }


def history_panel(manager: JobManager) -> None:
    """The sweep history with "Reopen"."""
    choice = shared_history_panel(
        t("sweep.history"),
        lambda: manager.store.sweeps.list_sweeps(limit=50),
        t("sweep.no_history"),
        lambda row: t(
            "sweep.reopen_option",
            id=row.id,
            created=f"{row.created:%Y-%m-%d %H:%M}",
            dataset=row.dataset,
            cells=row.cells,
        ),
        prefix="sweep",
        columns=history_columns(),
        select_label=t("sweep.reopen"),
        open_label=t("sweep.open"),
        placeholder=None,
    )
    if choice is not None:
        st.session_state["sweep_job"] = choice
        st.rerun()
