"""compression.quiz.session: the learner's practice and exam moves, without streamlit."""

from __future__ import annotations

import re

import pytest

from compression.quiz import LANGUAGES, QuizSession, draw_exam, load_bank, ui_text

BANK = load_bank()


def right(qid: str):
    return BANK.get(qid).answer


def wrong(qid: str):
    question = BANK.get(qid)
    if question.type == "single":
        return next(o for o in question.option_ids if o != question.answer)
    if question.type == "multiple":
        return frozenset(o for o in question.option_ids if o not in question.answer) or frozenset()
    if question.type == "true_false":
        return not question.answer
    return question.answer + question.tolerance + 1


def test_is_answered_is_one_rule():
    multiple = next(q for q in BANK.questions if q.type == "multiple")
    numeric = next(q for q in BANK.questions if q.type == "numeric")
    assert not multiple.is_answered(None) and not multiple.is_answered(frozenset())
    assert multiple.is_answered(frozenset({"a"}))
    assert numeric.is_answered(0.0) and not numeric.is_answered(None)


def test_practice_check_records_a_first_answer_once():
    session = QuizSession.new()
    qid = session.practice_question_id(BANK)
    assert session.check(BANK, qid, None) == [] and session.choose_first
    assert session.check(BANK, qid, wrong(qid)) == [(qid, False)]
    session.answer_again(qid)
    assert session.check(BANK, qid, right(qid)) == []  # the room counts the first answer only
    assert session.practice.checked[qid] is True


def test_practice_moves_stay_inside_the_topic():
    session = QuizSession.new()
    session.set_topic("quantize_code")
    ids = session.practice_ids(BANK)
    session.move(BANK, -1)
    assert session.practice.index == 0
    for _ in range(len(ids) + 3):
        session.move(BANK, 1)
    assert session.practice_question_id(BANK) == ids[-1]
    session.go_to(BANK, BANK.ids[3])
    assert session.practice.topic is None and session.practice_question_id(BANK) == BANK.ids[3]
    with pytest.raises(ValueError, match="No question"):
        session.go_to(BANK, "nope")


def test_exam_asks_before_grading_unanswered_questions():
    session = QuizSession.new(mode="exam", seed=11)
    session.start_exam(BANK, seed=11, size=3)
    items = draw_exam(BANK, 3, 11)
    assert session.exam.items == items and session.exam.run == 1
    assert session.request_finish(BANK) == [] and session.exam.confirm_finish and not session.exam.finished
    session.cancel_finish()
    session.save_exam_response(right(items[0].question_id))
    session.exam_move(1)
    session.save_exam_response(wrong(items[1].question_id))
    assert session.answered_count(BANK) == 2
    assert session.request_finish(BANK) == []  # still one unanswered: asks again
    recorded = session.finish(BANK)
    assert recorded == [(items[0].question_id, True), (items[1].question_id, False)]  # unanswered not counted
    report = session.report(BANK)
    assert (report.score, report.total, report.unanswered) == (1, 3, 1)
    assert report.missed == (items[1].question_id, items[2].question_id)


def test_fully_answered_exam_is_graded_at_once_and_missed_ones_retried():
    session = QuizSession.new(seed=5)
    session.start_exam(BANK, seed=5, size=2)
    first, second = session.exam.items
    session.save_exam_response(right(first.question_id))
    session.exam_move(1)
    session.save_exam_response(wrong(second.question_id))
    assert len(session.request_finish(BANK)) == 2 and session.exam.finished
    session.retry_missed(BANK)
    assert [i.question_id for i in session.exam.items] == [second.question_id]
    assert session.exam.retry and session.exam.run == 2 and not session.exam.finished
    session.new_exam(seed=99)
    assert session.exam.items == () and session.exam.seed == 99
    with pytest.raises(ValueError, match="between 1 and"):
        session.start_exam(BANK, size=len(BANK) + 1)


def test_plural_forms_and_no_stray_spaces_in_chinese():
    assert ui_text("en", "exam_retry_badge", n=1) == "Retry of 1 missed question"
    assert ui_text("en", "exam_retry_badge", n=2) == "Retry of 2 missed questions"
    assert ui_text("en", "reset_done", n=1).endswith("1 answer deleted.")
    assert ui_text("zh", "explanation") == "解析：" and ui_text("en", "explanation") == "Explanation."
    stray = re.compile(r"[。，、；：！？）][ \t]")
    for question in BANK.questions:
        texts = [question.prompt["zh"], question.explanation["zh"], *(o.text["zh"] for o in question.options)]
        for text in texts:
            assert not stray.search(text), (question.id, text[:80])
    assert "zh" in LANGUAGES
