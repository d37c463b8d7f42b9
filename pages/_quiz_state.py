"""The quiz's state: this session's `QuizSession`, the exam kept on the server for this browser, the room's
counts, and the quiz's catalogue lookup (with its singular forms).

Part of pages/quiz.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import secrets
from typing import Any

import streamlit as st

from compression.config import Settings
from compression.quiz import MODES, Bank, ExamStore, QuizSession, RoomStats, encode_exam, load_bank
from pages._shared import error_text, lang, query_param, t

STATE = "quiz_state"
EXAM_SAVED = "quiz_exam_saved"  # the encoded exam this session last wrote to or read from the store (None: none)


def _parse_mode(raw: str) -> str:
    if raw not in MODES:
        raise ValueError(f"choose mode={', mode='.join(MODES)}")
    return raw


@st.cache_resource(show_spinner=False)
def _bank() -> Bank:
    return load_bank()


def _room() -> RoomStats:
    return RoomStats(Settings.from_env().quiz_db)


def _exams() -> ExamStore:
    return ExamStore(Settings.from_env().quiz_db)


def _state(visitor: str | None = None) -> QuizSession:
    """This session's quiz. A new session (`visitor` given: the page's first run) starts from the exam the
    visitor left in another session of this browser, in the mode they were in unless the link names one."""
    if STATE not in st.session_state:
        session = QuizSession.new(
            lang=lang(),  # the shared switch (app.py reads ?lang= once per run)
            mode=query_param("mode", _parse_mode, "practice"),
            seed=secrets.randbelow(10_000),
        )
        st.session_state[STATE] = session
        try:
            bank = _bank()
        except ValueError:
            return session  # the page shows the bank's error
        if visitor is not None:
            _restore_exam(session, bank, visitor, keep_mode="mode" in st.query_params)
        question = query_param("question", lambda raw: bank.get(raw).id, None)
        if question is not None:
            session.go_to(bank, question)
    return st.session_state[STATE]


def _restore_exam(session: QuizSession, bank: Bank, visitor: str, keep_mode: bool) -> None:
    try:
        saved = _exams().load(visitor, bank)
    except ValueError as exc:
        session.message = error_text(exc)
        return
    if saved is None:
        return
    session.exam = saved.exam
    if not keep_mode:
        session.mode = saved.mode
    st.session_state[EXAM_SAVED] = encode_exam(saved.exam, saved.mode)


def _keep_exam(state: QuizSession, visitor: str) -> None:
    """Write the exam (with the mode) to the server when it changed since this session last wrote or read it;
    an exam back at its setup (a new exam on purpose) is deleted. A store that fails is a warning."""
    encoded = encode_exam(state.exam, state.mode) if state.exam.items else None
    if encoded == st.session_state.get(EXAM_SAVED):
        return
    st.session_state[EXAM_SAVED] = encoded  # a failing store is not retried until the exam changes again
    try:
        store = _exams()
        if encoded is None:
            store.delete(visitor)
        else:
            store.save_encoded(visitor, encoded)
    except ValueError as exc:
        st.warning(error_text(exc), icon=":material/cloud_off:")


def _record(answers: list[tuple[str, bool]]) -> None:
    """Count answers in the room; a room that cannot be written is a message, never an error."""
    if not answers:
        return
    try:
        _room().record(answers)
    except ValueError as exc:
        _state().message = error_text(exc)


def _restore(widget_key: str, value: Any) -> None:
    """Give a widget its saved value when Streamlit has dropped its state (page switch, question change)."""
    if widget_key not in st.session_state and value is not None:
        st.session_state[widget_key] = value


PLURAL_COUNTS = ("n", "k", "total")
PLURAL_ONE = {"unanswered_warning": "k", "finish_confirm": "k", "exam_retry_badge": "n", "seed_caption": "n",
              "reset_done": "n"}  # fmt: skip


def _tr(key: str, **values: object) -> str:
    """The quiz's UI text `key` from the catalogue (quiz.<key>), in the visitor's language; keys with a
    singular form use quiz.<key>_one when their count is 1."""
    count_name = PLURAL_ONE.get(key)
    if count_name is not None and values.get(count_name) == 1:
        key = f"{key}_one"
    return t(f"quiz.{key}", **values)
