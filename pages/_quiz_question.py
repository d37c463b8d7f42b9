"""Answering one question: its header, its answer widget (restored from the session's saved response), the
feedback with its explanation, and the "try it" link into the playground or Compress.

Part of pages/quiz.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from compression.quiz import (
    Question,
    answer_text,
    explanation_text,
    option_letters,
    response_text,
    source_label,
    topic_label,
)
from pages._quiz_state import _restore, _state, _tr
from pages._shared import FEATURE_PAGES, lang_query


def _widget_key(prefix: str, qid: str, option: str | None = None) -> str:
    """Keys carry the language: radios and selectboxes identify their value by its label, so a language
    switch gets fresh widgets, restored from the saved state."""
    key = f"{prefix}_{_state().lang}_{qid}"
    return key if option is None else f"{key}_{option}"


def _response_from_widgets(question: Question, prefix: str, saved: Any) -> Any:
    """The current response: the widgets' values when they exist (callbacks run before the script), else saved."""
    if question.type == "multiple":
        keys = {o: _widget_key(prefix, question.id, o) for o in question.option_ids}
        if any(k in st.session_state for k in keys.values()):
            return frozenset(o for o, k in keys.items() if st.session_state.get(k))
        return saved
    key = _widget_key(prefix, question.id)
    return st.session_state[key] if key in st.session_state else saved


def _answer_widget(question: Question, prefix: str, order: tuple[str, ...], saved: Any, disabled: bool) -> Any:
    """Draw the input for one question (options in `order`, lettered a, b, c ... as shown) and return the response."""
    lang = _state().lang
    letters = option_letters(question, order)

    def label(option: str) -> str:
        return f"**{letters[option]}.** {question.option_text(option, lang)}"

    if question.type == "single":
        key = _widget_key(prefix, question.id)
        _restore(key, saved)
        return st.radio(
            _tr("choose_one"),
            order,
            index=None,
            format_func=label,
            key=key,
            disabled=disabled,
        )
    if question.type == "multiple":
        st.markdown(_tr("choose_all"))
        chosen = set()
        for option in order:
            key = _widget_key(prefix, question.id, option)
            _restore(key, option in (saved or ()))
            if st.checkbox(label(option), key=key, disabled=disabled):
                chosen.add(option)
        return frozenset(chosen)
    if question.type == "true_false":
        key = _widget_key(prefix, question.id)
        _restore(key, saved)
        return st.radio(
            _tr("choose_one"),
            [True, False],
            index=None,
            format_func={True: _tr("true"), False: _tr("false")}.get,
            key=key,
            horizontal=True,
            disabled=disabled,
        )
    key = _widget_key(prefix, question.id)
    _restore(key, saved)
    whole = float(question.answer).is_integer() and question.tolerance < 1  # type: ignore[arg-type]
    return st.number_input(
        _tr("type_number"),
        value=None,
        step=1.0 if whole else 0.001,
        format="%g",
        key=key,
        disabled=disabled,
        placeholder=_tr("type_number"),
    )


def _question_header(question: Question, position: str) -> None:
    lang = _state().lang
    st.caption(
        _tr(
            "difficulty_line",
            position=position,
            topic=topic_label(question.topic, lang),
            level=_tr(f"difficulty_{question.difficulty}"),
            source=source_label(question.source, lang),
        )
    )
    st.markdown(f"#### {question.prompt[lang]}")


def _try_it_link(question: Question) -> None:
    """A link to the playground/trainer/compress preset (in the visitor's language), only when that page exists."""
    if question.try_it is None:
        return
    spec = next((s for s in FEATURE_PAGES if s.url_path == question.try_it.page), None)
    if spec is None or not spec.exists:
        return
    st.page_link(
        spec.file,
        label=_tr("try_it", page=_tr(f"page_{question.try_it.page}")),
        icon=":material/science:",
        query_params={**question.try_it.query, **lang_query()},
    )


def _feedback(question: Question, response: Any, correct: bool) -> None:
    lang = _state().lang
    if correct:
        st.success(_tr("right"), icon=":material/check_circle:")
    else:
        st.error(
            f"{_tr('wrong')} {_tr('you_answered', answer=response_text(question, response, lang))}  \n"
            f"{_tr('correct_answer', answer=answer_text(question, lang))}",
            icon=":material/cancel:",
        )
    st.markdown(f"{_tr('explanation_heading')} {explanation_text(question, lang)}")
    _try_it_link(question)
