"""Seeded exam draws, option shuffling, the graded report, and the try-it link contracts."""

from __future__ import annotations

import pytest

from compression.quiz import draw_exam, grade_exam, load_bank, make_try_it, topic_breakdown
from compression.quiz.text import TOPIC_LABELS, UI, source_label


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def test_same_seed_same_exam(bank):
    assert draw_exam(bank, 10, seed=42) == draw_exam(bank, 10, seed=42)


def test_different_seeds_differ(bank):
    draws = {draw_exam(bank, 10, seed=s) for s in range(5)}
    assert len(draws) == 5


def test_draw_has_distinct_questions_and_permuted_options(bank):
    items = draw_exam(bank, len(bank), seed=7)
    assert sorted(i.question_id for i in items) == sorted(bank.ids)
    shuffled = 0
    for item in items:
        question = bank.get(item.question_id)
        assert sorted(item.option_order) == sorted(question.option_ids)
        shuffled += item.option_order != question.option_ids
    assert shuffled >= 10  # options are really shuffled, not only the question order


def test_draw_from_a_pool(bank):
    pool = ("p1-half", "q3-roles-tf", "p2-bugs")
    items = draw_exam(bank, 3, seed=1, pool=pool)
    assert {i.question_id for i in items} == set(pool)
    assert draw_exam(bank, 3, seed=1, pool=pool) == items


@pytest.mark.parametrize("n", [0, -1, 10_000, True, 2.5])
def test_bad_exam_size(bank, n):
    with pytest.raises(ValueError, match="An exam needs between 1 and"):
        draw_exam(bank, n, seed=0)


def test_unknown_or_repeated_pool(bank):
    with pytest.raises(ValueError, match="No question with id 'nope'"):
        draw_exam(bank, 1, seed=0, pool=["nope"])
    with pytest.raises(ValueError, match="twice"):
        draw_exam(bank, 1, seed=0, pool=["p1-half", "p1-half"])


def test_grade_exam_scores_breaks_down_by_topic_and_lists_missed(bank):
    pool = ("p1-half", "p1-one-overflow", "q3-roles-tf", "p2-eval-no-grad")
    items = draw_exam(bank, 4, seed=3, pool=pool)
    responses = {
        "p1-half": 64.0,  # right
        "p1-one-overflow": "b",  # wrong
        "q3-roles-tf": False,  # right
        "p2-eval-no-grad": frozenset({"a"}),  # partially right: wrong
    }
    report = grade_exam(bank, items, responses)
    assert (report.score, report.total) == (2, 4)
    assert report.percent == 50.0
    assert set(report.missed) == {"p1-one-overflow", "p2-eval-no-grad"}
    assert report.missed == tuple(i.question_id for i in items if i.question_id in report.missed)  # exam order
    table = report.by_topic.set_index("topic")
    assert list(table.index) == ["distillation", "quantize_code", "distillation_code"]  # TOPICS order
    assert table.loc["quantize_code", "correct"] == 1 and table.loc["quantize_code", "total"] == 2
    assert table.loc["distillation", "percent"] == 100.0
    assert table.loc["distillation_code", "percent"] == 0.0


def test_unanswered_counts_as_wrong(bank):
    items = draw_exam(bank, 3, seed=0, pool=("p1-half", "q2-challenges", "q3-roles-tf"))
    report = grade_exam(bank, items, {"p1-half": 64, "q2-challenges": frozenset()})
    assert report.score == 1 and report.unanswered == 2
    assert not [r for r in report.results if r.question_id == "q2-challenges"][0].answered


def test_topic_breakdown_in_chinese(bank):
    items = draw_exam(bank, 2, seed=0, pool=("p1-half", "q3-roles-tf"))
    table = topic_breakdown(grade_exam(bank, items, {}).results, "zh")
    assert set(table["topic"]) == {"编程题：quantize()", "知识蒸馏"}


def test_ui_text_has_the_same_keys_in_both_languages():
    assert set(UI["en"]) == set(UI["zh"])
    assert set(TOPIC_LABELS["en"]) == set(TOPIC_LABELS["zh"])
    assert source_label("q4", "zh").startswith("原文第 4 题")


def test_try_it_links_use_the_servers_own_limits(monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_MAX_EPOCHS", "1500")
    with pytest.raises(ValueError, match="at most 1500"):
        make_try_it("distillation", {"dataset": "digits", "epochs": "1600"})
    assert make_try_it("distillation", {"dataset": "digits", "epochs": "1500"}).query["epochs"] == "1500"
    with pytest.raises(ValueError, match="temperature"):
        make_try_it("distillation", {"dataset": "digits", "temperature": "inf"})


def test_old_seed_scheme_name_still_works_in_links():
    link = make_try_it("quantization", {"values": "1", "bits": "8", "scheme": "seed"})
    assert link.query["scheme"] == "article"


def test_try_it_contracts():
    link = make_try_it("quantization", {"bits": "4,8", "values": "0.5,1.0,-0.3", "calibration": "mse"})
    assert link.url == "/quantization?values=0.5,1.0,-0.3&bits=4,8&calibration=mse"  # contract order
    assert link.query == {"values": "0.5,1.0,-0.3", "bits": "4,8", "calibration": "mse"}
    link = make_try_it("distillation", {"dataset": "digits", "temperature": 4, "alpha": 0.9, "epochs": 200})
    assert link.url == "/distillation?dataset=digits&temperature=4&alpha=0.9&epochs=200"
    for page, params, problem in [
        ("quantization", {"values": "0.5", "bits": "0"}, "bits"),
        ("quantization", {"values": "0.5,abc", "bits": "8"}, "values"),
        ("quantization", {"values": "0,5 1,0", "bits": "8"}, "decimal comma"),
        ("quantization", {"values": "0.5", "bits": "8", "calibration": "range"}, "range"),
        ("quantization", {"values": "0.5", "bits": "8", "calibration": "best"}, "range"),
        ("distillation", {"dataset": "digits", "epochs": "100000"}, "at most 2000"),
        ("quantization", {"values": "nan", "bits": "8"}, "finite"),
        ("quantization", {"values": "0.5", "bits": "8", "rounding": "up"}, "rounding"),
        ("quantization", {"values": "0.5", "bits": "8", "colour": "red"}, "unknown parameter 'colour'"),
        ("distillation", {"dataset": "digits", "temperature": "0"}, "temperature"),
        ("distillation", {"dataset": "digits", "epochs": "1.5"}, "epochs"),
        ("distillation", {"dataset": "../etc"}, "dataset"),
        ("distillation", {"dataset": True}, "text or a number"),
    ]:
        with pytest.raises(ValueError, match=problem):
            make_try_it(page, params)
