"""AppTest of the concept quiz through the real router: practice, exam, language, room view, state kept (across
page switches, and across sessions of one browser: a reload or a new tab)."""

from __future__ import annotations

import json

import pytest
from streamlit.runtime.context import ContextProxy, StreamlitCookies

from compression.access import new_visitor_token
from compression.quiz import ExamStore, RoomStats, draw_exam, explanation_text, load_bank, option_letters
from pages._shared import FEATURE_PAGES, VISITOR_COOKIE
from tests.app.conftest import assert_no_exception

PAGE = "pages/quiz.py"
BANK = load_bank()


@pytest.fixture(autouse=True)
def own_room(tmp_path, monkeypatch):
    """Each test gets its own room database."""
    path = tmp_path / "room" / "quiz.sqlite"
    monkeypatch.setenv("COMPRESSION_LAB_QUIZ_DB", str(path))
    return path


@pytest.fixture
def browser_cookie(monkeypatch):
    """Pretend every session's browser sent `cookies` when it connected (AppTest has no browser)."""
    cookies: dict[str, str] = {}
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: StreamlitCookies(dict(cookies))))
    return cookies


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def right_answer(question_id: str):
    return BANK.get(question_id).answer


def answer(at, prefix: str, question_id: str, response) -> None:
    """Set the widget(s) of one question to `response`."""
    question = BANK.get(question_id)
    if question.type == "multiple":
        for option in question.option_ids:
            at.checkbox(key=f"{prefix}_{question_id}_{option}").set_value(option in response)
    elif question.type == "numeric":
        at.number_input(key=f"{prefix}_{question_id}").set_value(response)
    else:
        at.radio(key=f"{prefix}_{question_id}").set_value(response)


def test_practice_right_answer_shows_feedback_and_explanation(open_page, own_room):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert at.title[0].value == "Concept quiz"
    assert f"Question 1 of {len(BANK)}" in texts(at.caption)
    answer(at, "quiz_p_en", "q1-definition", "a")
    at.button(key="quiz_practice_check").click().run()
    assert_no_exception(at)
    assert texts(at.success) == "Right."
    assert "low-rank factorisation" in texts(at.markdown)  # the explanation
    assert at.radio(key="quiz_p_en_q1-definition").disabled  # the answer is locked until "Answer again"
    assert f"1 of {len(BANK)} answered in this topic, 1 right" in at.get("progress")[0].proto.text
    assert RoomStats(own_room).total_answers() == 1


def test_practice_wrong_answer_shows_the_right_one(open_page):
    at = open_page(PAGE, query={"question": "q1-exact-tf"})
    assert_no_exception(at)
    assert "Quantization keeps every weight exactly" in texts(at.markdown)
    answer(at, "quiz_p_en", "q1-exact-tf", True)
    at.button(key="quiz_practice_check").click().run()
    assert_no_exception(at)
    error = texts(at.error)
    assert "Not quite." in error and "You answered: True" in error and "The right answer: False" in error
    assert "Δ²/12" in texts(at.markdown)
    # Answer again, right this time.
    at.button(key="quiz_practice_again").click().run()
    answer(at, "quiz_p_en", "q1-exact-tf", False)
    at.button(key="quiz_practice_check").click().run()
    assert texts(at.success) == "Right."


def test_practice_numeric_and_partial_multiple_choice(open_page):
    at = open_page(PAGE)
    at.selectbox(key="quiz_practice_topic_en").set_value("quantize_code").run()
    assert "Question 1 of 6" in texts(at.caption)
    answer(at, "quiz_p_en", "p1-half", 64.0)
    at.button(key="quiz_practice_check").click().run()
    assert texts(at.success) == "Right."
    assert "scale = 2^(8−1) = 128" in texts(at.markdown)

    at = open_page(PAGE, query={"question": "q2-challenges"})
    assert "Which of these does the article list as challenges" in texts(at.markdown)
    answer(at, "quiz_p_en", "q2-challenges", {"a", "b"})  # two of the three right ones: wrong
    at.button(key="quiz_practice_check").click().run()
    assert "Not quite." in texts(at.error)


def test_check_without_an_answer_asks_for_one(open_page, own_room):
    at = open_page(PAGE)
    at.button(key="quiz_practice_check").click().run()
    assert_no_exception(at)
    assert "Choose an answer first." in texts(at.warning)
    assert RoomStats(own_room).total_answers() == 0


def test_try_it_link_only_when_the_target_page_exists(open_page):
    at = open_page(PAGE)
    at.selectbox(key="quiz_practice_topic_en").set_value("quantize_code").run()
    answer(at, "quiz_p_en", "p1-half", 64.0)
    at.button(key="quiz_practice_check").click().run()
    links = [e for e in at.get("page_link") if "Try it" in e.proto.label]
    quantization_page = next(s for s in FEATURE_PAGES if s.url_path == "quantization")
    if quantization_page.exists:
        assert len(links) == 1
        assert (
            links[0].proto.query_string
            == "values=0.5%2C1.0%2C-0.3&bits=4%2C8&scheme=article&rounding=truncate&calibration=minmax"
        )
    else:
        assert links == []


def wrong_answer(question_id: str):
    question = BANK.get(question_id)
    if question.type == "single":
        return next(o for o in question.option_ids if o != question.answer)
    if question.type == "multiple":
        return frozenset(sorted(question.answer)[:-1] or [o for o in question.option_ids if o not in question.answer])
    if question.type == "true_false":
        return not question.answer
    return question.answer + question.tolerance + 1


def finish_exam(at, seed: int, wrong_last: bool = True):
    """Start a 3-question exam with `seed` and answer it: all right, except the last one when `wrong_last`."""
    at.segmented_control(key="quiz_mode_en").set_value("exam").run()
    at.number_input(key="quiz_exam_size").set_value(3)
    at.number_input(key="quiz_exam_seed").set_value(seed)
    at.button(key="quiz_exam_start").click().run()
    items = draw_exam(BANK, 3, seed)
    for position, item in enumerate(items):
        question = BANK.get(item.question_id)
        response = question.answer
        if wrong_last and position == 2:
            response = wrong_answer(question.id)
        answer(at, "quiz_e1_en", item.question_id, response)
        at.run()
        if position < 2:
            at.button(key="quiz_exam_next").click().run()
    at.button(key="quiz_exam_finish").click().run()
    return items


def test_exam_is_graded_with_score_topics_and_missed(open_page, own_room):
    at = open_page(PAGE)
    items = finish_exam(at, seed=11)
    assert_no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Score"] == "2 / 3"
    assert metrics["Percent right"] == "67%"
    assert "Seed 11 · 3 questions" in texts(at.caption)
    breakdown = at.dataframe[0].value
    assert breakdown["Questions"].sum() == 3 and breakdown["Right"].sum() == 2
    missed = BANK.get(items[2].question_id)
    # the explanation, its "(a)" references in the letters the exam showed
    assert explanation_text(missed, "en", items[2].option_order)[:60] in texts(at.markdown)
    assert RoomStats(own_room).total_answers() == 3  # the room counts the exam's answers

    at.button(key="quiz_exam_retry").click().run()
    assert_no_exception(at)
    assert "Retry of 1 missed question" in texts(at.caption)
    assert "question(s)" not in texts(at.caption)
    assert missed.prompt["en"] in texts(at.markdown)


def test_exam_draw_is_seeded_and_options_shuffled(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quiz_mode_en").set_value("exam").run()
    at.number_input(key="quiz_exam_size").set_value(len(BANK))
    at.number_input(key="quiz_exam_seed").set_value(3)
    at.button(key="quiz_exam_start").click().run()
    items = draw_exam(BANK, len(BANK), 3)
    for item in items:
        question = BANK.get(item.question_id)
        if question.type == "single":
            radio = at.radio(key=f"quiz_e1_en_{item.question_id}")
            # shuffled, and lettered a, b, c ... in the order shown
            assert radio.options == [
                f"**{'abcde'[i]}.** {question.option_text(o, 'en')}" for i, o in enumerate(item.option_order)
            ]
            break
        at.button(key="quiz_exam_next").click().run()
    else:
        pytest.fail("no single-choice question in the draw")


def test_unanswered_exam_questions_count_as_wrong(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quiz_mode_en").set_value("exam").run()
    at.number_input(key="quiz_exam_size").set_value(2)
    at.button(key="quiz_exam_start").click().run()
    at.button(key="quiz_exam_finish").click().run()  # on question 1, nothing answered: it asks first
    assert_no_exception(at)
    assert not at.metric
    assert "2 of 2 questions are still unanswered" in texts(at.warning)
    at.button(key="quiz_exam_finish_no").click().run()
    assert not at.metric and "Question 1 of 2" in texts(at.caption)
    at.button(key="quiz_exam_finish").click().run()
    at.button(key="quiz_exam_finish_yes").click().run()
    assert {m.label: m.value for m in at.metric}["Score"] == "0 / 2"


def test_a_question_link_opens_practice_there_and_a_bad_one_warns(open_page):
    last = BANK.ids[-1]
    at = open_page(PAGE, query={"question": last, "mode": "exam"})
    assert_no_exception(at)
    assert BANK.get(last).prompt["en"] in texts(at.markdown)
    assert f"Question {len(BANK)} of {len(BANK)}" in texts(at.caption)
    at = open_page(PAGE, query={"question": "no-such-question"})
    assert_no_exception(at)
    assert "question=no-such-question" in texts(at.warning)


def test_language_switch_and_it_is_remembered(open_page):
    at = open_page(PAGE)
    answer(at, "quiz_p_en", "q1-definition", "b")
    at.run()
    at.segmented_control(key="lang_switch").set_value("zh").run()  # the sidebar's switch, the only one
    assert_no_exception(at)
    assert at.radio(key="quiz_p_zh_q1-definition").value == "b"  # the pending answer survives the switch
    assert at.title[0].value == "概念测验"
    assert "按照原文的说法，量化的基本概念是什么？" in texts(at.markdown)
    assert at.button(key="quiz_practice_check").label == "提交"
    assert at.radio(key="quiz_p_zh_q1-definition").options[0].startswith("**a.** 把模型中的浮点数参数")
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.title[0].value == "概念测验"
    assert at.segmented_control(key="lang_switch").value == "zh"


def test_nothing_is_lost_when_switching_pages(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quiz_mode_en").set_value("exam").run()
    at.number_input(key="quiz_exam_size").set_value(3)
    at.number_input(key="quiz_exam_seed").set_value(5)
    at.button(key="quiz_exam_start").click().run()
    first, second, _ = draw_exam(BANK, 3, 5)
    answer(at, "quiz_e1_en", first.question_id, right_answer(first.question_id))
    at.run()
    at.button(key="quiz_exam_next").click().run()
    at.switch_page("pages/home.py").run()
    assert at.title[0].value == "Compression Lab"
    at.switch_page(PAGE).run()
    assert_no_exception(at)
    assert at.segmented_control(key="quiz_mode_en").value == "exam"
    assert "Question 2 of 3" in texts(at.caption)
    at.button(key="quiz_exam_prev").click().run()
    question = BANK.get(first.question_id)
    if question.type == "multiple":
        restored = {o for o in question.option_ids if at.checkbox(key=f"quiz_e1_en_{first.question_id}_{o}").value}
        assert restored == set(question.answer)
    elif question.type == "numeric":
        assert at.number_input(key=f"quiz_e1_en_{first.question_id}").value == question.answer
    else:
        assert at.radio(key=f"quiz_e1_en_{first.question_id}").value == question.answer
    assert "1 of 3 answered" in at.get("progress")[0].proto.text


PRESENTER_KEY = "room-key-7f3a"


def test_room_view_chart_and_reset_with_confirmation(open_page, own_room, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", PRESENTER_KEY)
    RoomStats(own_room).record([("p1-one-overflow", False), ("p1-one-overflow", False), ("q3-roles-tf", True)])
    at = open_page(PAGE, query={"mode": "room"})
    assert_no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers recorded"] == "3"
    assert metrics["Wrong overall"] == "67%"
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert table.iloc[0]["Question"].startswith("p1-one-overflow")
    assert table.iloc[0]["% wrong"] == 100.0

    at.text_input(key="presenter_key_quiz_room").input(PRESENTER_KEY).run()
    assert_no_exception(at)
    at.button(key="quiz_room_reset").click().run()
    assert "cannot be undone" in texts(at.warning)
    at.button(key="quiz_room_reset_no").click().run()
    assert RoomStats(own_room).total_answers() == 3
    at.button(key="quiz_room_reset").click().run()
    at.button(key="quiz_room_reset_yes").click().run()
    assert_no_exception(at)
    assert "3 answers deleted" in texts(at.info)
    assert RoomStats(own_room).total_answers() == 0
    assert "No answers recorded yet" in texts(at.info)


def _reset_buttons(at) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("quiz_room_reset")]


def test_without_the_presenter_key_nobody_can_reset_the_room(open_page, own_room, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", PRESENTER_KEY)
    RoomStats(own_room).record([("q3-roles-tf", True)])
    at = open_page(PAGE, query={"mode": "room"})
    assert _reset_buttons(at) == []
    at.text_input(key="presenter_key_quiz_room").input(PRESENTER_KEY[:-1]).run()
    assert_no_exception(at)
    assert "That is not the presenter key." in texts(at.error)
    assert _reset_buttons(at) == []
    # The key is never echoed back: not in any text the page shows.
    shown = texts([*at.markdown, *at.caption, *at.error, *at.info, *at.warning])
    assert PRESENTER_KEY[:-1] not in shown
    assert RoomStats(own_room).total_answers() == 1


def test_no_key_configured_a_visitor_from_another_machine_cannot_reset(open_page, own_room, monkeypatch):
    monkeypatch.delenv("COMPRESSION_LAB_PRESENTER_KEY", raising=False)
    at = open_page(PAGE, query={"mode": "room"})  # AppTest has no client address: not the server's machine
    assert _reset_buttons(at) == []
    assert not [w for w in at.text_input if w.key == "presenter_key_quiz_room"]
    assert "Set COMPRESSION_LAB_PRESENTER_KEY" in texts(at.caption)


def test_no_key_configured_the_servers_own_machine_is_the_presenter(open_page, own_room, monkeypatch):
    from streamlit.runtime.context import ContextProxy

    monkeypatch.delenv("COMPRESSION_LAB_PRESENTER_KEY", raising=False)
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda self: "127.0.0.1"))
    RoomStats(own_room).record([("q3-roles-tf", True)])
    at = open_page(PAGE, query={"mode": "room"})
    assert "quiz_room_reset" in _reset_buttons(at)
    assert "no presenter key is set" in texts(at.caption)
    at.button(key="quiz_room_reset").click().run()
    at.button(key="quiz_room_reset_yes").click().run()
    assert RoomStats(own_room).total_answers() == 0


def test_deep_link_language_and_bad_parameters(open_page):
    at = open_page(PAGE, query={"lang": "zh", "mode": "exam"})
    assert_no_exception(at)
    assert at.button(key="quiz_exam_start").label == "开始测验"
    at = open_page(PAGE, query={"lang": "klingon", "mode": "<script>"})
    assert_no_exception(at)
    assert at.title[0].value == "Concept quiz"
    warnings = texts(at.warning)
    # a bad ?lang= warns once per session, on the first page the router draws (tests/app/test_language.py)
    assert "mode=<script>" in warnings


def test_a_malformed_bank_is_a_message_not_a_crash(open_page, monkeypatch, tmp_path):
    import compression.quiz.bank as bank_module

    broken = tmp_path / "bank"
    broken.mkdir()
    (broken / "bad.yaml").write_text("questions:\n  - id: q-x\n    topic: pruning\n", encoding="utf-8")
    monkeypatch.setattr(bank_module, "QUESTIONS_DIR", broken)
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "bad.yaml, question 'q-x', field 'type': is missing" in texts(at.error)


def test_lang_zh_chrome_comes_from_the_shared_switch(open_page):
    """?lang=zh: the title, mode control and the difficulty line (full-width colon) in Chinese; the sidebar's
    switch is the page's one language switch, and switching back to English drops ?lang= from the URL."""
    at = open_page(PAGE, query={"lang": "zh"})
    assert_no_exception(at)
    assert at.title[0].value == "概念测验"
    assert "难度：" in texts(at.caption) and "Difficulty" not in texts(at.caption)
    switches = [s.key for s in at.segmented_control if "中文" in s.options]
    assert switches == ["lang_switch"]  # one language switch (the sidebar's): no second one beside the title
    assert at.segmented_control(key="lang_switch").value == "zh"
    at.segmented_control(key="lang_switch").set_value("en").run()
    assert_no_exception(at)
    assert at.title[0].value == "Concept quiz"
    assert "lang" not in at.query_params


@pytest.mark.parametrize(
    ("question_id", "lang", "label", "query"),
    [
        ("q6-combine-tf", "en", "Try it in the model compressor", "bits=8%2C4%2C2&granularity=per-channel"),
        ("q2-tradeoff-tf", "zh", "在模型压缩页中动手试试", "bits=8%2C6%2C4%2C3%2C2&granularity=both&lang=zh"),
    ],
)
def test_a_try_it_link_opens_the_compress_page_with_the_questions_query(
    open_page, tmp_path, monkeypatch, question_id, lang, label, query
):
    """The link carries the question's bits/granularity (no run) and the language; on a server without runs
    the compress page it opens says to train one first."""
    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page(PAGE, query={"question": question_id, "lang": lang})
    assert_no_exception(at)
    assert BANK.get(question_id).prompt[lang] in texts(at.markdown)
    answer(at, f"quiz_p_{lang}", question_id, right_answer(question_id))
    at.button(key="quiz_practice_check").click().run()
    assert_no_exception(at)
    links = [e for e in at.get("page_link") if e.proto.label == label]
    assert len(links) == 1, [e.proto.label for e in at.get("page_link")]
    assert links[0].proto.page == "compress"
    assert links[0].proto.query_string == query
    target = open_page("pages/compress.py", query={**BANK.get(question_id).try_it.query, "lang": lang})
    assert_no_exception(target)
    assert not target.warning  # the link's parameters are ones the page reads
    assert len(target.info) == 1  # empty store: "train a run first", with a link to the trainer
    assert [e.proto.page for e in target.get("page_link")] == ["distillation"]


# ---------------------------------------------------------------- the exam kept across sessions of one browser


def start_exam(at, size: int, seed: int) -> None:
    at.segmented_control(key="quiz_mode_en").set_value("exam").run()
    at.number_input(key="quiz_exam_size").set_value(size)
    at.number_input(key="quiz_exam_seed").set_value(seed)
    at.button(key="quiz_exam_start").click().run()


def answer_and_move_on(at, items, count: int, prefix: str = "quiz_e1_en") -> None:
    """Answer the first `count` items right, clicking Next after each."""
    for item in items[:count]:
        answer(at, prefix, item.question_id, right_answer(item.question_id))
        at.run()
        at.button(key="quiz_exam_next").click().run()


def restored_response(at, prefix: str, question_id: str):
    question = BANK.get(question_id)
    if question.type == "multiple":
        return frozenset(o for o in question.option_ids if at.checkbox(key=f"{prefix}_{question_id}_{o}").value)
    if question.type == "numeric":
        return at.number_input(key=f"{prefix}_{question_id}").value
    return at.radio(key=f"{prefix}_{question_id}").value


def test_a_reload_restores_the_exam_in_progress_for_the_same_browser_only(open_page, own_room, browser_cookie):
    first = open_page(PAGE)
    # A first visit: no cookie yet, so the page offers one; the next session of this browser sends it.
    token = first.session_state["_visitor_token"]
    assert any(token in h.value for h in first.html)
    start_exam(first, 10, 42)
    items = draw_exam(BANK, 10, 42)
    answer_and_move_on(first, items, 3)
    assert "Question 4 of 10" in texts(first.caption)

    browser_cookie[VISITOR_COOKIE] = token  # the reload (or a new tab) sends the cookie the script set
    reloaded = open_page(PAGE)
    assert_no_exception(reloaded)
    assert reloaded.segmented_control(key="quiz_mode_en").value == "exam"
    assert "Seed 42 · 10 questions" in texts(reloaded.caption)
    assert "Question 4 of 10" in texts(reloaded.caption)
    assert BANK.get(items[3].question_id).prompt["en"] in texts(reloaded.markdown)
    assert "3 of 10 answered" in reloaded.get("progress")[0].proto.text
    reloaded.button(key="quiz_exam_prev").click().run()
    assert "Question 3 of 10" in texts(reloaded.caption)
    assert restored_response(reloaded, "quiz_e1_en", items[2].question_id) == right_answer(items[2].question_id)

    # An answer given after the reload is kept too: a third session sees 4 answered.
    reloaded.button(key="quiz_exam_next").click().run()
    answer(reloaded, "quiz_e1_en", items[3].question_id, right_answer(items[3].question_id))
    reloaded.run()
    third = open_page(PAGE)
    assert "4 of 10 answered" in third.get("progress")[0].proto.text

    # Another browser (another cookie) has no exam: practice, as on any first visit.
    browser_cookie[VISITOR_COOKIE] = new_visitor_token()
    stranger = open_page(PAGE)
    assert_no_exception(stranger)
    assert stranger.segmented_control(key="quiz_mode_en").value == "practice"
    stranger.segmented_control(key="quiz_mode_en").set_value("exam").run()
    assert [b.key for b in stranger.button if b.key == "quiz_exam_start"] == ["quiz_exam_start"]


def test_a_link_with_a_mode_keeps_its_mode_and_the_exam_waits_in_exam_mode(open_page, browser_cookie):
    browser_cookie[VISITOR_COOKIE] = new_visitor_token()
    at = open_page(PAGE)
    start_exam(at, 3, 8)
    answer_and_move_on(at, draw_exam(BANK, 3, 8), 1)
    room = open_page(PAGE, query={"mode": "room"})
    assert room.segmented_control(key="quiz_mode_en").value == "room"
    room.segmented_control(key="quiz_mode_en").set_value("exam").run()
    assert "Question 2 of 3" in texts(room.caption) and "1 of 3 answered" in room.get("progress")[0].proto.text


def test_a_finished_exam_shows_its_result_after_a_reload_and_a_new_exam_replaces_it(
    open_page, own_room, browser_cookie
):
    browser_cookie[VISITOR_COOKIE] = new_visitor_token()
    at = open_page(PAGE)
    finish_exam(at, seed=11)  # 2 of 3 right
    assert RoomStats(own_room).total_answers() == 3
    reloaded = open_page(PAGE)
    assert_no_exception(reloaded)
    assert {m.label: m.value for m in reloaded.metric}["Score"] == "2 / 3"
    assert "Seed 11 · 3 questions" in texts(reloaded.caption)
    assert RoomStats(own_room).total_answers() == 3  # shown again, not counted again

    reloaded.button(key="quiz_exam_new").click().run()  # a new exam on purpose: the result is let go
    assert [b.key for b in reloaded.button if b.key == "quiz_exam_start"] == ["quiz_exam_start"]
    again = open_page(PAGE)
    assert not again.metric
    assert again.segmented_control(key="quiz_mode_en").value == "practice"
    start_exam(again, 2, 77)
    newest = open_page(PAGE)
    assert "Seed 77 · 2 questions" in texts(newest.caption) and "Question 1 of 2" in texts(newest.caption)
    assert ExamStore(own_room).count() == 1  # one exam per visitor: the new one replaced the old


def test_an_abandoned_exam_is_not_restored(open_page, own_room, browser_cookie):
    browser_cookie[VISITOR_COOKIE] = new_visitor_token()
    at = open_page(PAGE)
    start_exam(at, 3, 5)
    assert ExamStore(own_room).count() == 1
    at.button(key="quiz_exam_abandon").click().run()
    assert ExamStore(own_room).count() == 0
    assert open_page(PAGE).segmented_control(key="quiz_mode_en").value == "practice"


def _seed_with_a_moved_answer() -> tuple[int, str, str]:
    """A seed whose first exam item is a single-choice question shown with its right answer under another
    letter than its bank id, and an option to answer wrong with, also under another letter."""
    for seed in range(1000):
        item = draw_exam(BANK, 3, seed)[0]
        question = BANK.get(item.question_id)
        if question.type != "single":
            continue
        letters = option_letters(question, item.option_order)
        wrong = next((o for o in item.option_order if o != question.answer and letters[o] != o), None)
        if letters[question.answer] != question.answer and wrong is not None:
            return seed, item.question_id, wrong
    raise AssertionError("no such seed")


def test_the_exams_feedback_uses_the_letters_the_exam_showed(open_page):
    seed, qid, wrong = _seed_with_a_moved_answer()
    question = BANK.get(qid)
    item = draw_exam(BANK, 3, seed)[0]
    letters = option_letters(question, item.option_order)
    at = open_page(PAGE)
    start_exam(at, 3, seed)
    shown = at.radio(key=f"quiz_e1_en_{qid}").options
    assert shown[list(item.option_order).index(wrong)] == f"**{letters[wrong]}.** {question.option_text(wrong, 'en')}"
    answer(at, "quiz_e1_en", qid, wrong)
    at.run()
    at.button(key="quiz_exam_finish").click().run()
    at.button(key="quiz_exam_finish_yes").click().run()
    shown_text = texts(at.markdown)
    assert f"You answered: {letters[wrong]}. {question.option_text(wrong, 'en')}" in shown_text
    assert f"The right answer: {letters[question.answer]}. {question.option_text(question.answer, 'en')}" in shown_text
    assert f"You answered: {wrong}. " not in shown_text  # never the bank's letter, which the exam did not show
    # The options listed under the question: in the exam's order, with its letters.
    listed = next(
        m.value for m in at.markdown if m.value.startswith("- **a.**") and question.option_text(wrong, "en") in m.value
    )
    lines = listed.splitlines()
    assert [line.split("**")[1] for line in lines] == [f"{letter}." for letter in "abcde"[: len(lines)]]
    assert question.option_text(item.option_order[0], "en") in lines[0]


def test_the_by_topic_chart_plots_percentages_and_says_the_counts(open_page):
    at = open_page(PAGE)
    finish_exam(at, seed=11)  # 2 of 3 right
    (chart,) = [c for c in at.get("plotly_chart") if "quiz_exam_topic_chart" in c.proto.id]
    spec = json.loads(chart.proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "Share of the topic's questions answered right"
    assert spec["layout"]["xaxis"]["ticksuffix"] == "%"
    bar = spec["data"][0]
    table = at.dataframe[0].value
    expected = {
        row["Topic"]: (row["% right"], f"{row['Right']} of {row['Questions']} right") for _, row in table.iterrows()
    }
    assert dict(zip(bar["y"], zip(plotly_array(bar["x"]), bar["text"], strict=True), strict=True)) == expected


def plotly_array(values) -> list:
    """A plotly JSON array: a list, or {"dtype", "bdata"} (base64 of the raw numbers) as plotly 6 writes them."""
    if isinstance(values, dict):
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
