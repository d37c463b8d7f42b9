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

import secrets
from typing import Any

import plotly.express as px
import streamlit as st

from compression.config import Settings
from compression.quiz import (
    MODES,
    TOPICS,
    Bank,
    ExamStore,
    Question,
    QuizSession,
    RoomStats,
    answer_text,
    encode_exam,
    explanation_text,
    load_bank,
    option_letters,
    response_text,
    room_table,
    source_label,
    topic_breakdown,
    topic_label,
)
from pages._shared import (
    FEATURE_PAGES,
    error_text,
    is_presenter,
    lang,
    lang_query,
    presenter_login,
    presenter_text,
    query_param,
    require_router,
    show_error,
    t,
    visitor_id,
)

require_router()

STATE = "quiz_state"
EXAM_SAVED = "quiz_exam_saved"  # the encoded exam this session last wrote to or read from the store (None: none)
ROOM_REFRESH_S = 15


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


# ---------------------------------------------------------------- answering one question


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


# ---------------------------------------------------------------- practice mode


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


# ---------------------------------------------------------------- exam mode


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


# ---------------------------------------------------------------- room view


def _on_reset(confirm: bool | None) -> None:
    state = _state()
    if confirm is None:
        state.confirm_reset = True
        return
    state.confirm_reset = False
    if confirm and not is_presenter():  # checked again at the click: the buttons show only to the presenter
        state.message = presenter_text("wrong_key")
    elif confirm:
        try:
            removed = _room().reset()
        except ValueError as exc:
            state.message = error_text(exc)
        else:
            state.message = _tr("reset_done", n=removed)


@st.fragment(run_every=ROOM_REFRESH_S)
def _room_stats(bank: Bank) -> None:
    lang = _state().lang
    try:
        table = room_table(bank, _room().stats(), lang)
    except ValueError as exc:
        show_error(exc, _tr("room_error"))
        return
    answered = int(table["answered"].sum())
    wrong = int(table["wrong"].sum())
    a, b, c = st.columns(3)
    a.metric(_tr("room_total"), answered)
    b.metric(_tr("room_questions"), f"{len(table)} / {len(bank)}")
    c.metric(_tr("room_wrong_share"), f"{100 * wrong / answered:.0f}%" if answered else "–")
    if table.empty:
        st.info(_tr("room_empty"), icon=":material/groups:")
        return
    shown = table.rename(
        columns={
            "question": _tr("col_question"),
            "topic": _tr("col_topic"),
            "answered": _tr("col_answered"),
            "wrong": _tr("col_wrong"),
            "wrong_percent": _tr("col_wrong_percent"),
        }
    )
    st.subheader(_tr("room_chart_title"), anchor=False)
    wrong_label, right_label = _tr("col_wrong"), _tr("room_right")
    chart = table.iloc[::-1].rename(columns={"wrong_percent": wrong_label, "right_percent": right_label})
    figure = px.bar(
        chart,
        y="question",
        x=[wrong_label, right_label],
        orientation="h",
        range_x=[0, 100],
        color_discrete_map={wrong_label: "#d64545", right_label: "#3a9d5d"},
        hover_data={"answered": True, "topic": True},
        labels={"question": _tr("col_question"), "answered": _tr("col_answered"), "topic": _tr("col_topic")},
    )
    figure.update_layout(
        height=140 + 30 * len(chart),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis_title=None,
        xaxis_title=_tr("room_axis_wrong"),
        legend={"title": None, "orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
    )
    st.plotly_chart(figure, width="stretch", key="quiz_room_chart", config={"displayModeBar": False})
    st.dataframe(
        shown[[_tr("col_question"), _tr("col_topic"), _tr("col_answered"), _tr("col_wrong"), _tr("col_wrong_percent")]],
        hide_index=True,
        width="stretch",
        column_config={_tr("col_wrong_percent"): st.column_config.NumberColumn(format="%.0f")},
        key="quiz_room_table",
    )
    st.button(_tr("refresh"), key="quiz_room_refresh", icon=":material/refresh:")


def room_mode(bank: Bank) -> None:
    state = _state()
    st.caption(_tr("room_intro"))
    _room_stats(bank)
    with st.expander(_tr("presenter"), icon=":material/co_present:", expanded=state.confirm_reset):
        if not presenter_login("quiz_room"):
            state.confirm_reset = False
        elif not state.confirm_reset:
            st.button(
                _tr("reset_room"), key="quiz_room_reset", icon=":material/delete:", on_click=_on_reset, args=(None,)
            )
        else:
            st.warning(_tr("reset_confirm"), icon=":material/warning:")
            row = st.container(horizontal=True)
            row.button(_tr("reset_yes"), key="quiz_room_reset_yes", type="primary", on_click=_on_reset, args=(True,))
            row.button(_tr("reset_cancel"), key="quiz_room_reset_no", on_click=_on_reset, args=(False,))


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
