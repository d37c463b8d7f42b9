"""The trainer's stored results: a finished run's verdict, accuracy cards, summary table, charts and downloads,
and the run history with "Reopen"; the article's mistakes table.

Part of pages/distillation.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compression.distillation.jobs import JobManager
from compression.distillation.report import Verdict, metrics_csv, summary_frame, verdict
from compression.distillation.store import RunRecord
from compression.distillation.variants import VARIANTS
from pages._distillation_charts import draw_curves, model_names, size_chart
from pages._distillation_form import config_line
from pages._distillation_room import room_run_controls
from pages._runs import (
    Download,
    download_row,
    status_banner,
    status_name,
    stored_weights,
)
from pages._runs import history_panel as shared_history_panel
from pages._shared import lang, lang_query, t, t_or

# Rows of the "article's code vs this trainer" table: catalogue keys distillation.article.bug1..7 / fix1..7.
ARTICLE_ROWS = 7


def article_table() -> pd.DataFrame:
    """The article's mistakes and this trainer's fixes, in the visitor's language (shown with st.table: wrapped)."""
    return pd.DataFrame(
        {
            t("distillation.article.col_article"): [
                t(f"distillation.article.bug{i}") for i in range(1, ARTICLE_ROWS + 1)
            ],
            t("distillation.article.col_trainer"): [
                t(f"distillation.article.fix{i}") for i in range(1, ARTICLE_ROWS + 1)
            ],
        },
        index=pd.RangeIndex(1, ARTICLE_ROWS + 1),
    )


SUMMARY_COLUMNS = {
    "Model": "model",
    "architecture": "architecture",
    "test accuracy %": "test_accuracy",
    "parameters": "params",
    "size KiB": "size",
    "smaller than teacher ×": "smaller",
    "latency ms / batch": "latency",
    "agrees with teacher %": "agreement",
}


def translated_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """report.summary_frame with its column names and model names in the visitor's language."""
    names = model_names()
    out = summary.assign(Model=summary["Model"].map(lambda m: names.get(m, m)))
    return out.rename(columns={c: t_or(f"distillation.col.{k}", c) for c, k in SUMMARY_COLUMNS.items()})


def history_column_label(column: str) -> str:
    """A run-history accuracy column ("teacher %", "distilled %", ...) in the visitor's language."""
    key = column.removesuffix(" %").replace(" ", "_").replace("-", "_")
    return t_or(f"distillation.history.{key}", column)


def summary_columns() -> dict:
    """Short headers with fixed widths (the full name in each header's tooltip): the table fits a laptop."""
    number = st.column_config.NumberColumn

    def short(key: str) -> dict:
        return {"label": t(f"distillation.col_short.{key}"), "help": t(f"distillation.col.{key}")}

    return {
        t("distillation.col.model"): st.column_config.TextColumn(width=160, pinned=True),
        t("distillation.col.architecture"): st.column_config.TextColumn(width=115, **short("architecture")),
        t("distillation.col.test_accuracy"): number(format="%.2f", width=85, **short("test_accuracy")),
        t("distillation.col.params"): number(width=75, **short("params")),
        t("distillation.col.size"): number(format="%.1f", width=65, **short("size")),
        t("distillation.col.smaller"): number(format="%.1f", width=80, **short("smaller")),
        t("distillation.col.latency"): number(format="%.3f", width=85, **short("latency")),
        t("distillation.col.agreement"): number(format="%.1f", width=80, **short("agreement")),
    }


def history_columns() -> dict:
    """The run history's columns: what tells runs apart, with fixed widths so the table fits a laptop. The
    date and the teacher are in each run's "Reopen a run" label, teacher accuracy in the run itself; the seed is a
    column (two runs that differ only by it would look the same)."""
    text = st.column_config.TextColumn
    return {
        "id": text(width=100, pinned=True),
        "created": None,
        "status": text(t("distillation.history.status"), width=80),
        "dataset": text(t("distillation.history.dataset"), width=85),
        "teacher": None,
        "student": text(t("distillation.history.student"), width=110),
        "epochs": st.column_config.NumberColumn(t("distillation.history.epochs"), width=55),
        "T": st.column_config.NumberColumn(width=45, format="%g"),
        "alpha": st.column_config.NumberColumn(width=50, format="%g"),
        "seed": st.column_config.NumberColumn(t("distillation.history.seed"), width=45),
        "teacher %": None,
        **{
            v.history_column: st.column_config.NumberColumn(
                history_column_label(v.history_column), format="%.2f", width=80
            )
            for v in VARIANTS.values()
        },
    }


def accuracy_cards(results: dict, v: Verdict) -> None:
    """The four models' test accuracy and the gap distillation closed, in five boxes."""
    acc = {
        r: 100 * results[r]["test_accuracy"] for r in ("teacher", "student", "baseline", "smoothing") if r in results
    }
    # Five boxes share a laptop's width: "Label smoothing" without "student", deltas in points.
    cols = st.columns(5)
    missing = "—"  # a stored result without that model (damaged or written by another tool): no traceback
    cols[0].metric(t("distillation.model.teacher"), f"{acc['teacher']:.2f}%" if "teacher" in acc else missing,
                   border=True)  # fmt: skip
    cols[1].metric(
        t("distillation.model.student"),
        f"{acc['student']:.2f}%" if "student" in acc else missing,
        delta=None if v.gain_points is None else t("distillation.run.vs_baseline", gain=v.gain_points),
        border=True,
        help=t("distillation.run.vs_baseline_help"),
    )
    cols[2].metric(t("distillation.model.baseline"), f"{acc['baseline']:.2f}%" if "baseline" in acc else missing,
                   border=True)  # fmt: skip
    if "smoothing" in acc:
        cols[3].metric(t("distillation.live.smoothing"), f"{acc['smoothing']:.2f}%", border=True)
    cols[4].metric(
        t("distillation.run.gap_closed"),
        t("distillation.run.not_applicable") if v.gap_closed is None else f"{100 * v.gap_closed:.0f}%",
        help=t("distillation.run.gap_closed_help"),
        border=True,
    )


def run_downloads(record: RunRecord, manager: JobManager) -> None:
    """The run's metrics CSV and student weights, and the link to compress the finished run."""
    weights = stored_weights(manager, record.id, "student")
    metrics = Download(
        t("distillation.run.download_metrics"), metrics_csv(record.history),
        f"distillation-{record.id}-metrics.csv", "text/csv", "distill_download_csv",
    )  # fmt: skip
    student = None if weights is None else Download(
        t("distillation.run.download_weights"), weights, f"distillation-{record.id}-student.safetensors",
        "application/octet-stream", "distill_download_weights",
    )  # fmt: skip
    download_row([metrics, student], columns=2)
    if record.status == "done" and weights is not None:
        st.page_link(
            "pages/compress.py",
            label=t("distillation.run.compress_link"),
            icon=":material/compress:",
            query_params={"run": record.id, **lang_query()},
        )


def stored_results(record: RunRecord, manager: JobManager) -> None:
    """A stored run: its status, verdict, accuracy cards, summary table, curves, size chart and downloads."""
    status = status_name(record.status)
    st.subheader(t("distillation.run.heading", run=record.id, status=status), anchor=False)
    room_run_controls(record, manager)
    created = t("distillation.run.created", when=f"{pd.Timestamp(record.created_at, unit='s'):%Y-%m-%d %H:%M}")
    st.caption(f"{config_line(record.config)} · {created}")
    status_banner(record.status, record.error, "distillation.run")
    if record.results:
        results = record.results
        v = verdict(results)
        headline, details = v.text(lang())  # catalogue keys with their figures, in the visitor's language
        (st.success if v.kind == "success" else st.warning)(headline, icon=":material/balance:")
        st.caption(details)
        accuracy_cards(results, v)
        summary = summary_frame(results)
        st.dataframe(
            translated_summary(summary),
            hide_index=True,
            width="stretch",
            key="distill_summary",
            placeholder="–",
            column_config=summary_columns(),
        )
        st.caption(
            t(
                "distillation.run.latency",
                batch_size=record.config.get("batch_size"),
                device=results.get("device", record.device),
                seconds=results.get("seconds", 0),
                cached=t("distillation.run.teacher_cached") if results.get("teacher_from_cache") else "",
            )
        )
    if not record.history.empty:
        if record.results:
            left, right = st.columns([2, 1])
            with left:
                draw_curves(record.history, key=f"run_{record.id}", max_points=600, version=len(record.history))
            right.plotly_chart(size_chart(summary_frame(record.results)), key=f"run_{record.id}_size")
        else:
            draw_curves(record.history, key=f"run_{record.id}", max_points=600, version=len(record.history))
        run_downloads(record, manager)


def history_panel(manager: JobManager) -> None:
    """The run history with "Reopen": an opened run stays on screen (it is chosen, not followed)."""
    choice = shared_history_panel(
        t("distillation.history.heading"),
        lambda: manager.store.list_runs(limit=50),
        t("distillation.history.empty"),
        lambda row: t(
            "distillation.history.option", run=row.id, created=f"{row.created:%m-%d %H:%M}", dataset=row.dataset
        ),
        prefix="distill",
        columns=history_columns(),
        select_label=t("distillation.history.reopen"),
        open_label=t("distillation.history.open"),
    )
    if choice is not None:
        st.session_state["distill_job"] = choice
        st.session_state["distill_job_chosen"] = True
        st.rerun()
