"""Exams: a seeded draw of questions with shuffled options, and the graded report.

Same seed, same questions in the same order with the same option order (``random.Random(seed)``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from compression.quiz.bank import TOPICS, Bank
from compression.quiz.grading import grade
from compression.quiz.text import topic_label


@dataclass(frozen=True)
class ExamItem:
    """One drawn question and the order its options are shown in (empty for true/false and numeric)."""

    question_id: str
    option_order: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    question_id: str
    topic: str
    answered: bool
    correct: bool
    response: Any


@dataclass(frozen=True)
class ExamReport:
    """Score = number of right answers; `by_topic` has columns topic, correct, total, percent."""

    results: tuple[ItemResult, ...]
    by_topic: pd.DataFrame

    @property
    def score(self) -> int:
        return sum(r.correct for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def percent(self) -> float:
        """100 * score / total (0 for an empty exam)."""
        return 100.0 * self.score / self.total if self.total else 0.0

    @property
    def missed(self) -> tuple[str, ...]:
        """Ids of the questions answered wrong or left unanswered, in exam order."""
        return tuple(r.question_id for r in self.results if not r.correct)

    @property
    def unanswered(self) -> int:
        return sum(not r.answered for r in self.results)


def draw_exam(bank: Bank, n: int, seed: int, pool: Sequence[str] | None = None) -> tuple[ExamItem, ...]:
    """Draw `n` distinct questions from `pool` (default: the whole bank) and shuffle each one's options.

    Deterministic: ``rng = random.Random(seed)``; ``rng.sample(pool, n)``, then ``rng.shuffle`` of each
    choice question's option ids, in draw order.
    """
    ids = list(bank.ids if pool is None else pool)
    unknown = [q for q in ids if q not in bank]
    if unknown:
        raise ValueError(f"No question with id {unknown[0]!r} in the bank.")
    if len(set(ids)) != len(ids):
        raise ValueError("The pool of questions lists a question twice.")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(ids):
        raise ValueError(f"An exam needs between 1 and {len(ids)} questions, got {n!r}.")
    rng = random.Random(seed)
    items = []
    for question_id in rng.sample(ids, n):
        order = list(bank.get(question_id).option_ids)
        rng.shuffle(order)
        items.append(ExamItem(question_id, tuple(order)))
    return tuple(items)


def grade_exam(bank: Bank, items: Sequence[ExamItem], responses: Mapping[str, Any]) -> ExamReport:
    """Grade every item; a missing or None response is unanswered and wrong."""
    results = []
    for item in items:
        question = bank.get(item.question_id)
        response = responses.get(item.question_id)
        answered = question.is_answered(response)
        results.append(ItemResult(question.id, question.topic, answered, grade(question, response), response))
    return ExamReport(tuple(results), topic_breakdown(results))


def topic_breakdown(results: Sequence[ItemResult], lang: str | None = None) -> pd.DataFrame:
    """One row per topic present, in TOPICS order: correct, total, percent = 100 * correct / total."""
    rows = []
    for topic in TOPICS:
        mine = [r for r in results if r.topic == topic]
        if mine:
            correct = sum(r.correct for r in mine)
            rows.append(
                {
                    "topic": topic if lang is None else topic_label(topic, lang),
                    "correct": correct,
                    "total": len(mine),
                    "percent": 100.0 * correct / len(mine),
                }
            )
    return pd.DataFrame(rows, columns=["topic", "correct", "total", "percent"])
