"""Options are named by the letter they are shown with (a, b, c ... in the order the visitor saw), in the answer,
the response and the explanation's "(b)" references."""

from __future__ import annotations

import re

import pytest

from compression.quiz import answer_text, draw_exam, explanation_text, load_bank, option_letters, response_text

BANK = load_bank()


def test_letters_follow_the_order_shown():
    question = BANK.get("q1-definition")
    assert option_letters(question) == {"a": "a", "b": "b", "c": "c", "d": "d"}  # the bank's order: the ids
    assert option_letters(question, ("c", "a", "d", "b")) == {"c": "a", "a": "b", "d": "c", "b": "d"}
    with pytest.raises(ValueError, match="not an order"):
        option_letters(question, ("a", "b"))


def test_feedback_names_options_by_the_letters_shown():
    question = BANK.get("q1-definition")  # answer a
    order = ("c", "a", "d", "b")  # shown: a. <c>, b. <a>, c. <d>, d. <b>
    text_a = question.option_text("a", "en")
    assert answer_text(question, "en", order) == f"b. {text_a}"
    assert response_text(question, "d", "en", order=order) == f"c. {question.option_text('d', 'en')}"
    assert answer_text(question, "en") == f"a. {text_a}"  # practice: the bank's order, unchanged


def test_several_chosen_options_are_listed_in_the_order_shown():
    question = BANK.get("q2-challenges")
    order = tuple(reversed(question.option_ids))
    chosen = frozenset(question.option_ids[:2])  # a and b, shown last and second to last
    n = len(order)
    first, second = question.option_ids[1], question.option_ids[0]
    expected = (
        f"{'abcde'[n - 2]}. {question.option_text(first, 'en')}; {'abcde'[n - 1]}. {question.option_text(second, 'en')}"
    )
    assert response_text(question, chosen, "en", order=order) == expected


def test_explanations_point_at_the_letters_shown_in_both_languages():
    question = BANK.get("p1-fix")  # "(a) rounds to nearest ... (b) overflows ... (c) ... (d)"
    order = ("d", "c", "b", "a")
    en = explanation_text(question, "en", order)
    zh = explanation_text(question, "zh", order)
    original = question.explanation["en"]
    assert original.index("(a)") < original.index("(d)")
    # What the bank calls (a) is shown fourth: the explanation now says (d), and (d) became (a).
    assert en.index("(d) rounds to nearest") >= 0
    assert "(a) rounds" not in en
    assert "（d）" in zh and zh.index("（c）溢出更严重") >= 0  # bank (b), shown third
    assert explanation_text(question, "en") == original  # the bank's order: unchanged


def test_only_option_references_are_relabelled():
    question = BANK.get("q1-definition")
    zh = explanation_text(question, "zh", ("b", "a", "c", "d"))
    assert "剪枝（a）" in zh  # a full-width reference right after 汉字 is a reference
    q3 = BANK.get("q3-definition")
    assert "(2015)" in explanation_text(q3, "en", tuple(reversed(q3.option_ids)))  # a year is not an option


def test_every_explanation_reference_names_an_option_of_its_question():
    """Each lone "(x)" the explanations use names one of the question's options, so relabelling misses none."""
    reference = re.compile(r"(?<![A-Za-z0-9_])[(（]([a-z])[)）]")
    for question in BANK.questions:
        for lang in ("en", "zh"):
            for letter in reference.findall(question.explanation[lang]):
                assert letter in question.option_ids, (question.id, lang, letter)


def test_relabelling_is_a_permutation_of_the_references():
    reference = re.compile(r"[(（]([a-e])[)）]")
    for item in draw_exam(BANK, len(BANK), 3):
        question = BANK.get(item.question_id)
        if not question.options:
            continue
        letters = option_letters(question, item.option_order)
        for lang in ("en", "zh"):
            before = reference.findall(question.explanation[lang])
            after = reference.findall(explanation_text(question, lang, item.option_order))
            assert after == [letters[o] for o in before], (question.id, lang)
