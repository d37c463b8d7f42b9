"""Practice mode: one question at a time, by topic, checked at once, with its explanation.

Part of pages/quiz.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import streamlit as st

from compression.quiz import TOPICS, Bank, topic_label
from pages._quiz_question import _answer_widget, _feedback, _question_header, _response_from_widgets
from pages._quiz_state import _record, _restore, _state, _tr


def _on_topic(widget_key: str) -> None:
    _state().set_topic(st.session_state[widget_key] or None)


def _on_check(bank: Bank, qid: str) -> None:
    state = _state()
    response = _response_from_widgets(bank.get(qid), "quiz_p", state.practice.responses.get(qid))
    _record(state.check(bank, qid, response))


def _on_again(qid: str) -> None:
    _state().answer_again(qid)


def _on_move(bank: Bank, step: int) -> None:
    _state().move(bank, step)


def practice_mode(bank: Bank) -> None:
    state = _state()
    practice = state.practice
    lang = state.lang
    topic_key = f"quiz_practice_topic_{lang}"
    _restore(topic_key, practice.topic or "")
    st.selectbox(
        _tr("topic"),
        ["", *TOPICS],
        format_func={"": _tr("all_topics"), **{topic: topic_label(topic, lang) for topic in TOPICS}}.get,
        key=topic_key,
        on_change=_on_topic,
        args=(topic_key,),
    )
    ids = state.practice_ids(bank)
    question = bank.get(state.practice_question_id(bank))
    done = [q for q in ids if q in practice.checked]
    right = sum(practice.checked[q] for q in done)
    st.progress(len(done) / len(ids), text=_tr("practice_progress", done=len(done), n=len(ids), right=right))

    qid = question.id
    checked = qid in practice.checked
    with st.container(border=True, key="quiz_practice_card"):
        _question_header(question, _tr("question_n", i=practice.index + 1, n=len(ids)))
        response = _answer_widget(
            question, "quiz_p", question.option_ids, practice.responses.get(qid), disabled=checked
        )
        if not checked:
            practice.responses[qid] = response
        if state.choose_first:
            st.warning(_tr("choose_first"), icon=":material/info:")
            state.choose_first = False
        if checked:
            _feedback(question, practice.responses.get(qid), practice.checked[qid])
    row = st.container(horizontal=True, key="quiz_practice_buttons")
    row.button(
        _tr("previous"),
        key="quiz_practice_prev",
        icon=":material/arrow_back:",
        on_click=_on_move,
        args=(bank, -1),
        disabled=practice.index == 0,
    )
    if checked:
        row.button(
            _tr("try_again"), key="quiz_practice_again", icon=":material/replay:", on_click=_on_again, args=(qid,)
        )
    else:
        row.button(
            _tr("check"),
            key="quiz_practice_check",
            type="primary",
            icon=":material/done:",
            on_click=_on_check,
            args=(bank, qid),
        )
    row.button(
        _tr("next"),
        key="quiz_practice_next",
        icon=":material/arrow_forward:",
        on_click=_on_move,
        args=(bank, 1),
        disabled=practice.index >= len(ids) - 1,
    )
