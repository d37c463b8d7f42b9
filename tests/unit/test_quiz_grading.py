"""Grading of every question type, and answers in words."""

from __future__ import annotations

import pytest

from compression.quiz import answer_text, grade, load_bank, response_text
from compression.quiz.bank import Option, Question


def make(qtype, answer, options=("a", "b", "c", "d"), tolerance=0.0):
    opts = () if qtype in ("true_false", "numeric") else tuple(Option(o, {"en": o.upper(), "zh": o}) for o in options)
    return Question(
        id="q-test",
        topic="quantization",
        type=qtype,
        difficulty=1,
        source="new",
        prompt={"en": "?", "zh": "？"},
        options=opts,
        answer=answer,
        tolerance=tolerance,
        explanation={"en": "because", "zh": "因为"},
        try_it=None,
        file="test.yaml",
    )


def test_single_choice():
    q = make("single", "b")
    assert grade(q, "b") is True
    assert grade(q, "a") is False
    assert grade(q, None) is False
    with pytest.raises(ValueError, match="one option id"):
        grade(q, ["b"])


def test_multiple_choice_needs_exactly_the_right_set():
    q = make("multiple", frozenset({"a", "c"}))
    assert grade(q, {"a", "c"}) is True
    assert grade(q, ["c", "a"]) is True
    assert grade(q, frozenset({"a"})) is False  # partially right is wrong
    assert grade(q, {"a", "c", "d"}) is False  # one extra is wrong
    assert grade(q, set()) is False
    assert grade(q, None) is False
    with pytest.raises(ValueError, match="collection"):
        grade(q, "ac")


def test_true_false():
    q = make("true_false", False)
    assert grade(q, False) is True
    assert grade(q, True) is False
    with pytest.raises(ValueError, match="True or False"):
        grade(q, 0)


def test_numeric_with_tolerance():
    q = make("numeric", 0.731, tolerance=0.002)
    assert grade(q, 0.731) is True
    assert grade(q, 0.7329) is True
    assert grade(q, 0.733) is True  # the edge counts
    assert grade(q, 0.7335) is False
    assert grade(q, 0.729) is True
    assert grade(q, 0.7285) is False
    assert grade(q, "0,731") is True  # a decimal comma is read as a point
    assert grade(q, float("nan")) is False
    assert grade(q, float("inf")) is False
    with pytest.raises(ValueError, match="not a number"):
        grade(q, "seven")
    with pytest.raises(ValueError, match="not true/false"):
        grade(q, True)


def test_numeric_exact_has_only_float_slack():
    q = make("numeric", 0.3)
    assert grade(q, 0.1 + 0.2) is True
    assert grade(q, 0.3001) is False
    q64 = make("numeric", 64.0)
    assert grade(q64, 64) is True and grade(q64, 63) is False and grade(q64, 64.5) is False


def test_answer_and_response_text_in_both_languages():
    bank = load_bank()
    single = bank.get("p1-one-overflow")
    assert answer_text(single, "en").startswith("a. 128")
    assert answer_text(single, "zh").startswith("a. 128，")
    multiple = bank.get("p2-eval-no-grad")
    assert answer_text(multiple, "en").count("; ") == 1
    assert answer_text(multiple, "zh").count("；") == 1
    assert response_text(multiple, frozenset(), "zh") == "未作答"
    assert answer_text(bank.get("q3-roles-tf"), "en") == "False"
    assert answer_text(bank.get("q3-roles-tf"), "zh") == "错"
    assert answer_text(bank.get("p1-half"), "en") == "64"
    assert answer_text(bank.get("q4-soft-probability"), "en") == "0.731 (± 0.002)"
    assert response_text(bank.get("p1-half"), None, "en") == "no answer"
