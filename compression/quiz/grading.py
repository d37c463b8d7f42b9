"""Grading one response, and saying answers in words.

Responses: single -> an option id; multiple -> a collection of option ids (right only when it equals the
answer set exactly: partially right is wrong); true_false -> a bool; numeric -> a number, right when
``|response - answer| <= tolerance`` (plus a hair of float slack). ``None`` means unanswered: wrong.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from compression.quiz.bank import Question
from compression.quiz.text import ui_text

# Float slack so that 0.1 + 0.2 against 0.3 with tolerance 0 still counts as right.
_FLOAT_SLACK = 1e-9


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


def answer_text(question: Question, lang: str) -> str:
    """The right answer in words, e.g. 'b. Converts floats to low-bit integers' or '64 (± 0.5)'."""
    return response_text(question, question.answer, lang, with_tolerance=True)


def response_text(question: Question, response: Any, lang: str, with_tolerance: bool = False) -> str:
    """A response in words; '-' style text for unanswered."""
    if response is None or (question.type == "multiple" and not response):
        return ui_text(lang, "no_answer")
    if question.type == "single":
        return f"{response}. {question.option_text(response, lang)}"
    if question.type == "multiple":
        chosen = [o for o in question.option_ids if o in set(response)]
        return ("；" if lang == "zh" else "; ").join(f"{o}. {question.option_text(o, lang)}" for o in chosen)
    if question.type == "true_false":
        return ui_text(lang, "true" if response else "false")
    text = format_number(_as_number(response))
    if with_tolerance and question.tolerance > 0:
        text += f" (± {format_number(question.tolerance)})"
    return text
