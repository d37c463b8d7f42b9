"""The Compress page's "Train to win it back" part: quantization-aware training (QAT) of a stored run.

`qat_section(run_id, manager, visitor, privileged, open_weights)` draws a bitwidth choice and a Train button that
queues a "qat" job (compression/ptq/qat_kind.py) on the shared JobManager, polls it in a fragment (position, live
progress, Cancel), then draws the newest finished QAT job of this run: one chart of accuracy against bits and
against size (float, PTQ, QAT, QAT + teacher for the distilled student and the baseline, with the seed spread),
the verdict in the visitor's language, the table, and per QAT model a download and "open in playground"
(`open_weights(values, bits, scheme, calibration)`, the page's). Numerics live in compression/ptq; this only draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from compression.config import Settings
from compression.ptq.core import MAX_BITS, MIN_BITS
from compression.ptq.qat import DEFAULT_QAT_BITS, QATPlan
from compression.ptq.qat_verdict import verdict_text
from pages._runs import follow_job
from pages._shared import escape_markdown, lang, model_title, show_error, t

MODEL_COLORS = {"student": "#2f6fdf", "baseline": "#e07b00"}
SERIES = (("ptq", "dot", "circle"), ("qat", "dash", "diamond"), ("qat_teacher", "solid", "star"))
SEEDS = 3
"""Batch-order replicates per model, bitwidth and loss: the page's verdict weighs the teacher against this noise."""
JOB_STATE = "_qat_job"


def tx(key: str, /, **fmt: object) -> str:
    return t(f"qat.{key}", **fmt)


def latest_stored(manager: Any, run_id: str) -> tuple[str, dict[str, Any] | None] | None:
    """(job id, result) of the newest finished QAT job of this run (any visitor's), or None."""
    from compression.distillation.store import JobStore

    return JobStore(manager.store, "qat").latest_with_id(run_id=run_id)


def qat_figure(result: dict[str, Any]) -> go.Figure:
    """Accuracy (%) against bits and against stored bytes: PTQ, QAT, QAT + teacher per model, float as a line."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=[tx("chart.bits"), tx("chart.size")],
                        horizontal_spacing=0.05)  # fmt: skip
    summary = result.get("summary", [])
    models = list(dict.fromkeys(row["model"] for row in summary))
    for model in models:
        rows = sorted((r for r in summary if r["model"] == model), key=lambda r: -int(r["bits"]))
        color = MODEL_COLORS.get(model, "#888")
        first = rows[0]
        fig.add_hline(y=100 * first["float_accuracy"], line_width=6, line_color=color, opacity=0.25)
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="lines", line={"color": color, "width": 6}, opacity=0.25,
                       name=f"{model_title(model)} {tx('series.float')}"),
            row=1, col=1,
        )  # fmt: skip
        for series, dash, symbol in SERIES:
            if series == "ptq":
                picked = list({int(r["bits"]): r for r in rows}.values())
                y = [100 * r["ptq_accuracy"] for r in picked]
                err = None
            else:
                picked = [r for r in rows if bool(r["teacher"]) == (series == "qat_teacher")]
                y = [100 * r["test_accuracy"] for r in picked]
                err = [100 * (r["std"] or 0.0) for r in picked]
            if not picked:
                continue
            name = f"{model_title(model)} {tx(f'series.{series}')}"
            for col, x in ((1, [int(r["bits"]) for r in picked]), (2, [int(r["size_bytes"]) for r in picked])):
                fig.add_trace(
                    go.Scatter(
                        x=x, y=y, mode="lines+markers", name=name, legendgroup=name, showlegend=col == 1,
                        line={"color": color, "dash": dash}, marker={"symbol": symbol, "size": 10},
                        error_y=None if err is None else {"type": "data", "array": err, "visible": True},
                        hovertemplate=f"{name}<br>%{{x}} · %{{y:.2f}}%<extra></extra>",
                    ),
                    row=1, col=col,
                )  # fmt: skip
    fig.update_xaxes(title_text=tx("chart.bits_axis"), dtick=1, autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text=tx("chart.bytes_axis"), type="log", row=1, col=2)
    fig.update_yaxes(title_text=tx("chart.accuracy"), row=1, col=1)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.3})
    return fig


def show_verdict(result: dict[str, Any]) -> None:
    items = result.get("verdict", [])
    if not items:
        return
    show = {"good": st.success, "warn": st.warning}.get(items[0].get("tone"), st.info)
    show(escape_markdown(verdict_text(items[0], lang())), icon=":material/school:")
    marks = {"good": ":material/check_circle:", "warn": ":material/warning:", "info": ":material/info:"}
    if items[1:]:
        st.markdown(
            "\n".join(f"- {marks.get(v.get('tone'), '')} {escape_markdown(verdict_text(v, lang()))}" for v in items[1:])
        )


def show_table(result: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.DataFrame(result.get("summary", []))
    if frame.empty:
        return
    frame["model"] = frame["model"].map(model_title)
    frame["teacher"] = frame["teacher"].map({True: tx("answer_yes"), False: tx("answer_no")})
    for col in ("test_accuracy", "std", "ptq_accuracy", "float_accuracy"):
        frame[col] = 100 * frame[col].astype(float)
    columns = ["model", "bits", "teacher", "test_accuracy", "std", "seeds", "ptq_accuracy", "float_accuracy",
               "size_bytes"]  # fmt: skip
    number = st.column_config.NumberColumn
    st.dataframe(
        frame[columns], hide_index=True, width="stretch", key="qat_table", placeholder="–",
        column_config={c: number(tx(f"col.{c}"), format="%.2f") if c in ("test_accuracy", "std", "ptq_accuracy",
                       "float_accuracy") else st.column_config.Column(tx(f"col.{c}")) for c in columns},
    )  # fmt: skip


def show_models(manager: Any, job_id: str, result: dict[str, Any], open_weights: Callable[..., None]) -> None:
    """One QAT model at a time: its safetensors (codes and scales) to download, its first layer to the playground."""
    from safetensors.torch import load_file

    from compression.distillation.store import JobStore
    from compression.ptq.qat import decode_state

    rows = [r for r in result.get("qat", []) if r.get("seed", 0) == 0]
    names = [r["name"] for r in rows]
    if not names:
        return
    titles = {
        r[
            "name"
        ]: f"{model_title(r['model'])} int{r['bits']} {tx('series.qat_teacher' if r['teacher'] else 'series.qat')}"
        for r in rows
    }
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = c1.selectbox(tx("pick"), names, format_func=titles.get, key="qat_model")
    path = JobStore(manager.store, "qat").weights_path(job_id, name)
    if path is None:
        st.caption(tx("gone"))
        return
    data = path.read_bytes()
    c2.download_button(tx("download"), data, file_name=f"{name}.safetensors", mime="application/octet-stream",
                       icon=":material/download:", key="qat_download")  # fmt: skip
    if c3.button(tx("playground"), icon=":material/open_in_new:", key="qat_to_playground", help=tx("playground_help")):
        state = decode_state(load_file(str(path)))
        first = next(k for k in state if k.endswith(".weight"))
        bits = next(int(r["bits"]) for r in rows if r["name"] == name)
        open_weights(state[first].numpy().astype(np.float64).ravel(), bits, "symmetric", "minmax")
    st.caption(tx("files", job=job_id))


def qat_section(run_id: str, manager: Any, visitor: str, privileged: bool, open_weights: Callable[..., None]) -> None:
    """The "Train to win it back" part of the Compress page for `run_id` (see the module doc)."""
    from compression.ptq.qat_kind import QATConfig

    st.subheader(tx("title"), anchor=False)
    st.caption(tx("intro"))
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    bits = c1.multiselect(tx("bits"), list(range(MAX_BITS, MIN_BITS - 1, -1)), default=list(DEFAULT_QAT_BITS),
                          format_func=lambda b: f"int{b}", key="qat_bits")  # fmt: skip
    if c2.button(tx("train"), icon=":material/model_training:", key="qat_train", help=tx("train_help")):
        try:
            plan = QATPlan(bits=tuple(sorted(bits, reverse=True)), seeds=SEEDS).check()
            config = QATConfig(run_id=run_id, runs_dir=str(Settings.from_env().runs_dir), plan=plan)
            job = manager.submit(config, owner=visitor, privileged=privileged)
        except ValueError as exc:
            show_error(exc, tx("train"))
        else:
            st.session_state[JOB_STATE] = job.id
            st.caption(tx("queued", job=job.id))
    follow_job(manager, visitor, "qat", tx)
    try:
        latest = latest_stored(manager, run_id)
    except ValueError as exc:
        show_error(exc, tx("title"))
        return
    if latest is None or not latest[1]:
        st.info(tx("none_yet"), icon=":material/info:")
        return
    job_id, result = latest
    show_verdict(result)
    st.plotly_chart(qat_figure(result), width="stretch", key="qat_chart")
    plan = result.get("plan", {})
    st.caption(tx("caption", epochs=plan.get("epochs", 0), lr=plan.get("lr", 0), seeds=plan.get("seeds", 1)))
    show_table(result)
    if result.get("float_layers"):
        st.caption(tx("float_layers", layers=", ".join(result["float_layers"])))
    show_models(manager, job_id, result, open_weights)
