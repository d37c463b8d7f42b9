"""Concept quiz: practice one question at a time, take a seeded exam, or watch the room's statistics.

All of the learner's progress lives in ``st.session_state[STATE]``, a `compression.quiz.QuizSession`
(plain data under a non-widget key, with the exam's moves unit-tested in the library): Streamlit drops the
state of widgets that are not rendered, so every widget is restored from it before it is drawn, and nothing
is lost when the learner switches pages and comes back. The exam (and the mode) is also kept on the server
for this browser's visitor (`compression.quiz.ExamStore`, written at the end of a run whenever it changed),
and a new session of the same browser (a reload, a new tab) starts from it.

Options are lettered a, b, c ... in the order shown (shuffled in an exam), and the exam's feedback and
explanations name them by those letters (`compression.quiz.option_letters`, `explanation_text`).

Deep links: ``/quiz?lang=zh&mode=exam`` (``practice``, ``exam``, ``room``); ``/quiz?question=<id>``
opens practice at that question.
"""

from __future__ import annotations

import streamlit as st

from compression.quiz import MODES
from pages._quiz_exam import exam_mode
from pages._quiz_practice import practice_mode
from pages._quiz_room import room_mode
from pages._quiz_state import _bank, _keep_exam, _restore, _state, _tr
from pages._shared import lang, require_router, show_error, visitor_id

require_router()


# ---------------------------------------------------------------- the page


def _on_mode(widget_key: str) -> None:
    state = _state()
    state.mode = st.session_state[widget_key] or state.mode


visitor = visitor_id()
state = _state(visitor)
state.lang = lang()  # one language for the whole app: the sidebar's switch and ?lang=
st.title(_tr("title"), anchor=False)
st.markdown(_tr("intro"))

try:
    bank = _bank()
except ValueError as exc:
    show_error(exc, _tr("bank_error"))
    st.stop()

mode_key = f"quiz_mode_{state.lang}"  # the labels are the value's identity: one widget per language
_restore(mode_key, state.mode)
st.segmented_control(
    _tr("mode"),
    MODES,
    format_func={m: _tr(f"mode_{m}") for m in MODES}.get,
    key=mode_key,
    required=True,
    on_change=_on_mode,
    args=(mode_key,),
    label_visibility="collapsed",
)
message = state.take_message()
if message:
    st.info(message, icon=":material/info:")

if state.mode == "practice":
    practice_mode(bank)
elif state.mode == "exam":
    exam_mode(bank)
else:
    room_mode(bank)
_keep_exam(state, visitor)
