"""Grading one response, and saying answers in words.

Responses: single -> an option id; multiple -> a collection of option ids (right only when it equals the
answer set exactly: partially right is wrong); true_false -> a bool; numeric -> a number, right when
``|response - answer| <= tolerance`` (plus a hair of float slack). ``None`` means unanswered: wrong.

Options are named by the letter they are shown with: a, b, c ... by position in the order the visitor saw
(`option_letters`); in the bank's order (practice) that is the option's id. Explanations that point at options,
"(b)" or "（b）", are relabelled the same way (`explanation_text`), so feedback on a shuffled exam names the
options as the exam showed them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from typing import Any

from compression.quiz.bank import Question
from compression.quiz.text import ui_text

# Float slack so that 0.1 + 0.2 against 0.3 with tolerance 0 still counts as right.
_FLOAT_SLACK = 1e-9
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# "(b)" or "（b）" not right after an ASCII letter or digit ("f(a)" in code is no reference to option a).
_OPTION_REFERENCE = re.compile(r"(?<![A-Za-z0-9_])([(（])([a-z0-9_]{1,16})([)）])")


def _as_number(response: Any) -> float:
    if isinstance(response, bool):
        raise ValueError("A numeric answer must be a number, not true/false.")
    if isinstance(response, str):
        try:
            response = float(response.strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"{response!r} is not a number.") from None
    if not isinstance(response, int | float):
        raise ValueError(f"A numeric answer must be a number, got {type(response).__name__}.")
    return float(response)


def grade(question: Question, response: Any) -> bool:
    """True when `response` is right for `question` (see the module docstring for each type)."""
    if response is None:
        return False
    if question.type == "single":
        if not isinstance(response, str):
            raise ValueError(f"A single-choice answer is one option id, got {type(response).__name__}.")
        return response == question.answer
    if question.type == "multiple":
        if isinstance(response, str) or not isinstance(response, Collection):
            raise ValueError("A multiple-choice answer is a collection of option ids.")
        return frozenset(response) == question.answer
    if question.type == "true_false":
        if not isinstance(response, bool):
            raise ValueError(f"A true/false answer must be True or False, got {response!r}.")
        return response is question.answer
    value = _as_number(response)
    if not math.isfinite(value):
        return False
    answer = float(question.answer)  # type: ignore[arg-type]
    return abs(value - answer) <= question.tolerance + _FLOAT_SLACK * max(1.0, abs(answer))


def format_number(value: float) -> str:
    """64.0 -> '64', 0.731 -> '0.731', -5.0 -> '-5'."""
    return f"{value:.6g}"


def option_letters(question: Question, order: Sequence[str] | None = None) -> dict[str, str]:
    """Option id -> the letter it is shown with: 'a', 'b', ... by position in `order` (the order the visitor
    saw; default the bank's). ValueError when `order` is not an ordering of the question's options."""
    shown = tuple(question.option_ids if order is None else order)
    if sorted(shown) != sorted(question.option_ids):
        raise ValueError(f"{shown!r} is not an order of the options of question {question.id!r}.")
    if len(shown) > len(LETTERS):
        raise ValueError(f"Question {question.id!r} has more options than letters.")
    return {option: LETTERS[position] for position, option in enumerate(shown)}


def explanation_text(question: Question, lang: str, order: Sequence[str] | None = None) -> str:
    """The explanation, its option references "(b)" / "（b）" renamed to the letters of `order`."""
    letters = option_letters(question, order)

    def rename(match: re.Match[str]) -> str:
        opening, option, closing = match.groups()
        return f"{opening}{letters[option]}{closing}" if option in letters else match.group(0)

    return _OPTION_REFERENCE.sub(rename, question.explanation[lang])


def answer_text(question: Question, lang: str, order: Sequence[str] | None = None) -> str:
    """The right answer in words, e.g. 'b. Converts floats to low-bit integers' or '64 (± 0.5)'; options
    by their letter in `order` (see option_letters)."""
    return response_text(question, question.answer, lang, with_tolerance=True, order=order)


def response_text(
    question: Question, response: Any, lang: str, with_tolerance: bool = False, order: Sequence[str] | None = None
) -> str:
    """A response in words; '-' style text for unanswered. Options are named by their letter in `order` (the
    order shown; default the bank's) and, for several, listed in that order."""
    if response is None or (question.type == "multiple" and not response):
        return ui_text(lang, "no_answer")
    if question.type in ("single", "multiple"):
        letters = option_letters(question, order)
        chosen = [response] if question.type == "single" else [o for o in letters if o in set(response)]
        named = [f"{letters.get(o, o)}. {question.option_text(o, lang)}" for o in chosen]  # unknown id: ValueError
        return ("；" if lang == "zh" else "; ").join(named)
    if question.type == "true_false":
        return ui_text(lang, "true" if response else "false")
    text = format_number(_as_number(response))
    if with_tolerance and question.tolerance > 0:
        text += f" (± {format_number(question.tolerance)})"
    return text
