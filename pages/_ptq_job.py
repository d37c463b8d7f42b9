"""A PTQ sweep too large to quantize while the page waits: it goes through the job queue like training.

`queued_sweep(manager, config, estimate_s, visitor, privileged)` returns the stored frame of the newest finished
"ptq" job with the same run, models and configurations (any visitor's: the figures are the server's), or draws
the Quantize button, this session's job while it waits or runs (position, live status, Cancel) and returns None.
The job kind lives in compression/ptq/kind.py.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from compression.distillation.budget import human_duration
from compression.ptq.kind import PTQSweepConfig, frame_of, stored_result
from pages._shared import job_message, show_error, t

JOB_STATE = "_ptq_job"


def tx(key: str, /, **fmt: object) -> str:
    return t(f"compress.ptq_job.{key}", **fmt)


def job_progress(manager: Any, visitor: str) -> None:
    """Polled while this session's PTQ job waits or runs; when it ends, the page redraws with its result."""
    job_id = st.session_state.get(JOB_STATE)
    snap = manager.snapshot(job_id) if job_id else None
    if snap is None:
        return
    if snap.active:
        if snap.status == "queued":
            st.info(tx("waiting", job=snap.id, position=snap.position), icon=":material/hourglass_top:")
        else:
            st.progress(min(1.0, snap.fraction), text=job_message(snap))
        if snap.owner == visitor:
            st.button(
                tx("cancel"), key=f"ptq_cancel_{snap.id}", icon=":material/cancel:", disabled=snap.cancel_requested,
                on_click=manager.cancel, args=(snap.id, visitor),
            )  # fmt: skip
        st.session_state["_ptq_drawn_active"] = snap.id
        return
    if st.session_state.get("_ptq_drawn_active") == snap.id:  # it just ended: redraw the page with its result
        st.session_state.pop("_ptq_drawn_active", None)
        st.rerun(scope="app")
    if snap.status == "failed":
        st.error(tx("failed", error=snap.error or ""), icon=":material/error:")
    elif snap.status == "cancelled":
        st.info(tx("cancelled"), icon=":material/cancel:")


def queued_sweep(
    manager: Any, config: PTQSweepConfig, estimate_s: float, visitor: str, privileged: bool = False
) -> pd.DataFrame | None:
    try:
        stored = stored_result(manager.store, config)
    except ValueError as exc:  # StorageError
        show_error(exc, t("compress.error_sweep"))
        return None
    if stored is not None:
        return frame_of(stored)
    job_id = st.session_state.get(JOB_STATE)
    snap = manager.snapshot(job_id) if job_id else None
    mine = snap is not None and snap.active and snap.config == config
    st.info(
        tx("queued_note", configs=len(config.configs), models=len(config.roles), estimate=human_duration(estimate_s),
           job=snap.id if mine else "…"),
        icon=":material/queue:",
    )  # fmt: skip
    if not mine and st.button(tx("start"), key="ptq_start", icon=":material/play_arrow:", help=tx("start_help")):
        try:
            job = manager.submit(config, owner=visitor, privileged=privileged)
        except ValueError as exc:
            show_error(exc, tx("start"))
        else:
            st.session_state[JOB_STATE] = job.id
    poll = 1.0 if st.session_state.get(JOB_STATE) else None
    st.fragment(job_progress, run_every=poll)(manager, visitor)
    return None
