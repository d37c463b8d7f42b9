"""The Compress page's "Deploy" part: real int8 in ONNX Runtime, measured on this server's CPU.

`deploy_section(run_id, start_benchmark, latest_result)` draws a button that asks `start_benchmark(payload)`
to queue a "benchmark" job (compression.deploy.job; the caller routes it through the job queue and returns
the job's id, or None when it was not queued), then, from `latest_result` (that job's result dict, or None),
the verdict, a chart of accuracy against latency at the smallest and largest batch and against file size,
the table, the environment the figures were measured in, and a download of every .onnx file with a snippet
that runs it. Numerics live in compression/deploy; this module only draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from compression.config import Settings
from compression.deploy import runtime_problem
from compression.deploy.bench import DEFAULT_BATCH_SIZES, DEFAULT_FORMATS, DEFAULT_MODELS, DEFAULT_ROUNDS
from compression.deploy.job import export_bytes
from compression.deploy.report import onnx_snippet, result_frame
from compression.deploy.verdict import verdict_text
from pages._runs import follow_job
from pages._shared import error_text, escape_markdown, lang, model_title, show_error, t

MODEL_COLORS = {"teacher": "#444b59", "student": "#2f6fdf", "baseline": "#e07b00", "smoothing": "#2a9d5b"}
FORMAT_SYMBOLS = {"float32": "circle", "int8": "diamond"}
QUANT_MODES = ("static", "dynamic")


def tx(key: str, /, **fmt: object) -> str:
    return t(f"deploy.{key}", **fmt)


role_title = model_title


def benchmark_payload(run_id: str, quant_mode: str) -> dict[str, Any]:
    """The job's plain payload (server settings only: nothing here comes from the browser but the choices)."""
    return {
        "run_id": run_id,
        "runs_dir": str(Settings.from_env().runs_dir),
        "models": list(DEFAULT_MODELS),
        "modes": list(DEFAULT_FORMATS),
        "quant_mode": quant_mode,
        "threads": 1,
        "rounds": DEFAULT_ROUNDS,
        "batch_sizes": list(DEFAULT_BATCH_SIZES),
    }


def deploy_figure(result: dict[str, Any]) -> go.Figure:
    frame = result_frame(result)
    frame = frame[frame["file_bytes"].notna()]
    batches = result.get("batch_sizes", [1])
    titles = [tx("chart.latency", batch=batches[0]), tx("chart.latency", batch=batches[-1]), tx("chart.size")]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=titles, horizontal_spacing=0.04)
    for (role, fmt), group in frame.groupby(["model", "format"], sort=False):
        name = f"{role_title(str(role))} {fmt}"
        marker = {
            "color": MODEL_COLORS.get(str(role), "#888"),
            "size": 12,
            "symbol": FORMAT_SYMBOLS.get(str(fmt), "square"),
        }
        for col, x in enumerate(("latency_ms_small", "latency_ms_large", "file_bytes"), start=1):
            fig.add_trace(
                go.Scatter(
                    x=group[x], y=group["test_accuracy"], mode="markers", name=name, marker=marker,
                    legendgroup=name, showlegend=col == 1, hovertemplate=f"{name}<br>%{{y:.2f}}% · %{{x:,.4g}}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text=tx("chart.ms"), row=1, col=1)
    fig.update_xaxes(title_text=tx("chart.ms"), row=1, col=2)
    fig.update_xaxes(title_text=tx("chart.bytes"), row=1, col=3)
    fig.update_yaxes(title_text=tx("chart.accuracy"), row=1, col=1)
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.3})
    return fig


def show_table(result: dict[str, Any]) -> None:
    """Every model × format measured; the runtime is the caption's (one for all). Fixed widths fit a laptop;
    a figure that does not apply (float32's agreement with the int8 simulation) is a dash, never "None"."""
    frame = result_frame(result).drop(columns=["file", "runtime"], errors="ignore")
    frame["model"] = frame["model"].map(role_title)
    batches = result.get("batch_sizes", [1])
    number = st.column_config.NumberColumn
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="deploy_table",
        placeholder="–",
        column_config={
            "model": st.column_config.TextColumn(tx("col.model"), width=110, pinned=True),
            "format": st.column_config.TextColumn(tx("col.format"), width=60),
            "test_accuracy": number(tx("col.accuracy"), format="%.2f", width=85),
            "agreement_float32": number(
                tx("col.agreement_float32"), format="%.2f", width=80, help=tx("col_help.agreement_float32")
            ),
            "agreement_fakequant": number(
                tx("col.agreement_fakequant"), format="%.2f", width=80, help=tx("col_help.agreement_fakequant")
            ),
            "latency_ms_small": number(
                tx("col.latency", batch=batches[0]),
                format="%.4f",
                width=80,
                help=tx("col_help.latency", batch=batches[0]),
            ),
            "latency_ms_large": number(
                tx("col.latency", batch=batches[-1]),
                format="%.3f",
                width=85,
                help=tx("col_help.latency", batch=batches[-1]),
            ),
            "throughput": number(tx("col.throughput"), format="%.0f", width=85, help=tx("col_help.throughput")),
            "file_bytes": number(tx("col.bytes"), format="%d", width=80, help=tx("col_help.bytes")),
        },
    )


def show_downloads(result: dict[str, Any]) -> None:
    """One column per model with its .onnx files (bytes read on the server by name), then the snippet."""
    by_model: dict[str, list[str]] = {}
    for row in result.get("rows", []):
        if row.get("file"):
            by_model.setdefault(row["model"], []).append(row["file"])
    if not by_model:
        return
    for column, (role, names) in zip(st.columns(len(by_model)), by_model.items(), strict=True):
        column.caption(role_title(role))
        for name in names:
            try:
                data = export_bytes(result, name)
            except ValueError as exc:
                column.caption(error_text(exc))
                continue
            column.download_button(
                name, data, file_name=name, mime="application/octet-stream", icon=":material/download:",
                key=f"deploy_download_{name}",
            )  # fmt: skip
    files = [name for names in by_model.values() for name in names]
    example = "student-int8.onnx" if "student-int8.onnx" in files else files[-1]
    st.caption(tx("snippet"))
    st.code(onnx_snippet(example, result.get("input_shape", [-1])), language="python")


JOB_STATE = "_deploy_job"


def queue_starter(manager: Any, visitor: str, privileged: bool) -> Callable[[dict[str, Any]], str | None]:
    """`start_benchmark` through the job queue: a "benchmark" job (compression.deploy.kind), budgeted, queued
    behind any training (latency must not share the cores), cancellable, recorded in the store."""
    from compression.deploy.kind import BenchmarkConfig

    def start(payload: dict[str, Any]) -> str | None:
        job = manager.submit(BenchmarkConfig.from_payload(payload), owner=visitor, privileged=privileged)
        st.session_state[JOB_STATE] = job.id
        return job.id

    return start


def latest_stored(manager: Any, run_id: str) -> dict[str, Any] | None:
    """The newest finished benchmark of this run in the store (any visitor's: the figures are the server's)."""
    from compression.distillation.store import JobStore

    return JobStore(manager.store, "benchmark").latest(run_id=run_id)


def deploy_section(run_id: str, manager: Any, visitor: str, privileged: bool = False) -> None:
    """The Deploy part of the Compress page for `run_id` (see the module doc): the benchmark runs as a job of
    the queue; the newest stored result of this run is drawn."""
    start_benchmark = queue_starter(manager, visitor, privileged)
    try:
        latest_result = latest_stored(manager, run_id)
    except ValueError as exc:  # StorageError: the store says what the owner can do
        show_error(exc, tx("title"))
        latest_result = None
    st.subheader(tx("title"), anchor=False)
    st.caption(tx("intro"))
    problem = runtime_problem()
    if problem is not None:
        show_error(problem, tx("runtime"))
        return
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    quant_mode = (
        c1.segmented_control(
            tx("mode"), QUANT_MODES, default="static", format_func=lambda m: tx(f"mode_option.{m}"), key="deploy_mode"
        )
        or "static"
    )
    if c2.button(tx("run"), icon=":material/speed:", key="deploy_run", help=tx("run_help")):
        try:
            job_id = start_benchmark(benchmark_payload(run_id, quant_mode))
        except ValueError as exc:
            show_error(exc, tx("run"))
        else:
            if job_id:
                st.caption(tx("queued", job=job_id))
    follow_job(manager, visitor, "deploy", tx)
    if not latest_result or latest_result.get("run_id") != run_id:
        st.info(tx("none_yet"), icon=":material/info:")
        return
    items = latest_result.get("verdicts", [])
    if items:  # the first sentence stands out in its own colour; the rest, each marked by its tone, below it
        show = {"good": st.success, "warn": st.warning}.get(items[0].get("tone"), st.info)
        show(escape_markdown(verdict_text(items[0], lang())), icon=":material/speed:")
        marks = {"good": ":material/check_circle:", "warn": ":material/warning:", "info": ":material/info:"}
        st.markdown(
            "\n".join(f"- {marks.get(v.get('tone'), '')} {escape_markdown(verdict_text(v, lang()))}" for v in items[1:])
        )
    env = latest_result.get("env", {})
    st.caption(
        tx(
            "env",
            cpu=env.get("cpu", "?"),
            vnni=tx("yes") if env.get("has_vnni") else tx("no"),
            threads=env.get("threads", 1),
            version=env.get("onnxruntime", "?"),
            rounds=latest_result.get("rounds", 0),
            mode=tx(f"mode_option.{latest_result.get('quant_mode', 'static')}"),
        )
    )
    st.plotly_chart(deploy_figure(latest_result), width="stretch", key="deploy_chart")
    show_table(latest_result)
    show_downloads(latest_result)
