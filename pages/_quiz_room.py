"""The room view: how the room answered each question (refreshed on its own), and the presenter's reset.

Part of pages/quiz.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from compression.quiz import Bank, room_table
from pages._quiz_state import _room, _state, _tr
from pages._shared import error_text, is_presenter, presenter_login, presenter_text, show_error

ROOM_REFRESH_S = 15


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
