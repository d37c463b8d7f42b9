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
from pages._runs import follow_job
from pages._shared import show_error, t

JOB_STATE = "_ptq_job"


def tx(key: str, /, **fmt: object) -> str:
    return t(f"compress.ptq_job.{key}", **fmt)


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
    follow_job(manager, visitor, "ptq", tx)
    return None
