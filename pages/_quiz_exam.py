"""Exam mode: a seeded exam (its setup, the questions in a shuffled order, finishing) and its report.

Part of pages/quiz.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import secrets

import plotly.express as px
import streamlit as st

from compression.quiz import Bank, answer_text, explanation_text, option_letters, response_text, topic_breakdown
from pages._quiz_question import _answer_widget, _question_header, _response_from_widgets, _try_it_link
from pages._quiz_state import _record, _restore, _state, _tr
from pages._shared import error_text


def _exam_prefix() -> str:
    return f"quiz_e{_state().exam.run}"


def _save_exam_response(bank: Bank) -> None:
    state = _state()
    item = state.exam.current
    if item is not None:
        question = bank.get(item.question_id)
        saved = state.exam.responses.get(item.question_id)
        state.save_exam_response(_response_from_widgets(question, _exam_prefix(), saved))


def _start_exam(bank: Bank) -> None:
    state = _state()
    seed = int(st.session_state.get("quiz_exam_seed", state.exam.seed))
    size = int(st.session_state.get("quiz_exam_size", state.exam.size))
    try:
        state.start_exam(bank, seed, size)
    except ValueError as exc:
        state.message = error_text(exc)


def _on_exam_move(bank: Bank, step: int) -> None:
    _save_exam_response(bank)
    _state().exam_move(step)


def _on_finish(bank: Bank, confirmed: bool | None = None) -> None:
    """Finish: ask first when questions are unanswered (confirmed=None), grade (True) or keep going (False)."""
    _save_exam_response(bank)
    state = _state()
    if confirmed is False:
        state.cancel_finish()
    elif confirmed:
        _record(state.finish(bank))
    else:
        _record(state.request_finish(bank))


def _on_retry(bank: Bank) -> None:
    state = _state()
    try:
        state.retry_missed(bank)
    except ValueError as exc:
        state.message = error_text(exc)


def _on_new_exam() -> None:
    _state().new_exam(secrets.randbelow(10_000))
    st.session_state.pop("quiz_exam_seed", None)  # the setup form shows the new seed


def _exam_setup(bank: Bank) -> None:
    exam = _state().exam
    st.markdown(_tr("exam_intro"))
    _restore("quiz_exam_size", min(exam.size, len(bank)))
    _restore("quiz_exam_seed", exam.seed)
    left, right, _ = st.columns([1, 1, 2])
    exam.size = int(left.number_input(_tr("exam_size"), min_value=1, max_value=len(bank), step=1, key="quiz_exam_size"))
    exam.seed = int(
        right.number_input(
            _tr("exam_seed"), min_value=0, max_value=2**31 - 1, step=1, key="quiz_exam_seed", help=_tr("exam_seed_help")
        )
    )
    st.button(
        _tr("start_exam"),
        key="quiz_exam_start",
        type="primary",
        icon=":material/play_arrow:",
        on_click=_start_exam,
        args=(bank,),
    )


def _exam_running(bank: Bank) -> None:
    state = _state()
    exam = state.exam
    prefix = _exam_prefix()
    n = len(exam.items)
    item = exam.items[exam.position]
    question = bank.get(item.question_id)
    badge = _tr("exam_retry_badge", n=n) if exam.retry else _tr("seed_caption", seed=exam.seed, n=n)
    st.caption(badge)
    with st.container(border=True, key="quiz_exam_card"):
        _question_header(question, _tr("question_n", i=exam.position + 1, n=n))
        response = _answer_widget(question, prefix, item.option_order, exam.responses.get(question.id), disabled=False)
    exam.responses[question.id] = response
    answered = state.answered_count(bank)
    st.progress(answered / n, text=_tr("exam_progress", done=answered, n=n))
    row = st.container(horizontal=True, key="quiz_exam_buttons")
    row.button(
        _tr("previous"),
        key="quiz_exam_prev",
        icon=":material/arrow_back:",
        on_click=_on_exam_move,
        args=(bank, -1),
        disabled=exam.position == 0,
    )
    if exam.position < n - 1:
        row.button(
            _tr("next"),
            key="quiz_exam_next",
            type="primary",
            icon=":material/arrow_forward:",
            on_click=_on_exam_move,
            args=(bank, 1),
        )
    row.button(
        _tr("finish_exam"),
        key="quiz_exam_finish",
        type="primary" if exam.position == n - 1 else "secondary",
        icon=":material/grading:",
        on_click=_on_finish,
        args=(bank,),
    )
    if exam.confirm_finish:
        with st.container(border=True, key="quiz_exam_confirm"):
            st.warning(_tr("finish_confirm", k=n - answered, n=n), icon=":material/help:")
            confirm = st.container(horizontal=True)
            confirm.button(
                _tr("finish_yes"), key="quiz_exam_finish_yes", type="primary", on_click=_on_finish, args=(bank, True)
            )
            confirm.button(_tr("finish_no"), key="quiz_exam_finish_no", on_click=_on_finish, args=(bank, False))
    elif exam.position == n - 1 and answered < n:
        st.warning(_tr("unanswered_warning", k=n - answered), icon=":material/info:")
    st.button(
        _tr("abandon_exam"), key="quiz_exam_abandon", icon=":material/close:", on_click=_on_new_exam, type="tertiary"
    )


def _exam_report(bank: Bank) -> None:
    state = _state()
    exam, lang = state.exam, state.lang
    report = state.report(bank)
    st.caption(
        _tr("exam_retry_badge", n=report.total) if exam.retry else _tr("seed_caption", seed=exam.seed, n=report.total)
    )
    a, b, _ = st.columns([1, 1, 2])
    a.metric(_tr("score"), _tr("score_value", score=report.score, total=report.total))
    b.metric(_tr("percent"), f"{report.percent:.0f}%")
    st.progress(report.score / report.total if report.total else 0.0)

    st.subheader(_tr("by_topic"), anchor=False)
    table = topic_breakdown(report.results, lang).rename(
        columns={
            "topic": _tr("col_topic"),
            "correct": _tr("col_correct"),
            "total": _tr("col_total"),
            "percent": _tr("col_percent"),
        }
    )
    chart_col, table_col = st.columns(2, gap="medium")
    # The bars are the percentage right; each says its count in words ("2 of 3 right"), not a bare number.
    bars = table.assign(
        _label=[
            _tr("topic_bar_text", correct=int(c), total=int(n))
            for c, n in zip(table[_tr("col_correct")], table[_tr("col_total")], strict=True)
        ]
    )
    figure = px.bar(
        bars.iloc[::-1],  # plotly draws the first row at the bottom: reverse, to read like the table
        x=_tr("col_percent"),
        y=_tr("col_topic"),
        orientation="h",
        range_x=[0, 100],
        text="_label",
    )
    figure.update_traces(
        # inside a long bar, beside a short (or empty) one, so that a topic with none right still says so
        textposition=["inside" if x >= 50 else "outside" for x in bars.iloc[::-1][_tr("col_percent")]],
        textfont_size=12,
        hovertemplate="%{y}: %{text} (%{x:.0f}%)<extra></extra>",
        cliponaxis=False,
    )
    figure.update_layout(
        height=100 + 45 * len(table),
        margin={"l": 10, "r": 30, "t": 10, "b": 10},  # room for the "100%" tick
        yaxis_title=None,
        xaxis_title=_tr("topic_axis"),
        xaxis_ticksuffix="%",
    )
    chart_col.plotly_chart(figure, width="stretch", key="quiz_exam_topic_chart", config={"displayModeBar": False})
    table_col.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={_tr("col_percent"): st.column_config.NumberColumn(format="%.0f")},
    )

    st.subheader(_tr("missed"), anchor=False)
    if not report.missed:
        st.success(_tr("no_missed"), icon=":material/celebration:")
    for item, result in zip(exam.items, report.results, strict=True):
        if result.correct:
            continue
        question = bank.get(result.question_id)
        order = item.option_order  # as the exam showed them: the same letters, in feedback and explanation
        with st.container(border=True):
            st.markdown(f"**{question.prompt[lang]}**")
            if question.options:
                letters = option_letters(question, order)
                chosen = {result.response} if question.type == "single" else set(result.response or ())
                right = {question.answer} if question.type == "single" else set(question.answer)  # type: ignore[arg-type]
                st.markdown(
                    "\n".join(
                        f"- **{letters[o]}.** {question.option_text(o, lang)}"
                        + (" :green[:material/check:]" if o in right else "")
                        + (" :red[:material/close:]" if o in chosen and o not in right else "")
                        for o in order
                    )
                )
            st.markdown(
                f":red[{_tr('you_answered', answer=response_text(question, result.response, lang, order=order))}]"
                f"  \n:green[{_tr('correct_answer', answer=answer_text(question, lang, order=order))}]"
            )
            st.markdown(f"{_tr('explanation_heading')} {explanation_text(question, lang, order)}")
            _try_it_link(question)
    row = st.container(horizontal=True, key="quiz_report_buttons")
    if report.missed:
        row.button(
            _tr("retry_missed"),
            key="quiz_exam_retry",
            type="primary",
            icon=":material/replay:",
            on_click=_on_retry,
            args=(bank,),
        )
    row.button(_tr("new_exam"), key="quiz_exam_new", icon=":material/add:", on_click=_on_new_exam)


def exam_mode(bank: Bank) -> None:
    exam = _state().exam
    if exam.finished:
        _exam_report(bank)
    elif exam.items:
        _exam_running(bank)
    else:
        _exam_setup(bank)
