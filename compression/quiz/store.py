"""Exams in progress, kept on the server per visitor, so that a reload or a new tab of the same browser finds
the exam where it was: its seed, drawn questions and option order, answers, position, and whether it is graded.

Stored in the quiz's SQLite file (``Settings.from_env().quiz_db``, beside the room statistics), table ``exams``:
one row per visitor (``pages._shared.visitor_id()``, a hash of the browser's cookie, never the cookie itself)
with the exam as JSON and the time it was last saved. A row left untouched for ``ttl_s`` (default one day) is
stale: `load` ignores and deletes it, and every `save` deletes the stale rows of every visitor. Saving replaces
the visitor's row; `delete` drops it (a new exam started on purpose). A row whose questions are no longer in
the bank, or whose JSON does not describe a valid exam, is dropped too: the visitor starts afresh.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compression.i18n import LabError
from compression.quiz.bank import Bank
from compression.quiz.exam import ExamItem
from compression.quiz.room import _problem
from compression.quiz.session import MODES, ExamState

EXAM_TTL_S = 24 * 3600.0
"""An exam nobody touched for a day is dropped."""
MAX_VISITOR_CHARS = 128
FORMAT = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS exams (
    visitor TEXT PRIMARY KEY,
    saved_at REAL NOT NULL,
    state TEXT NOT NULL
)
"""
LOGGER = logging.getLogger("compression_lab")


@dataclass(frozen=True)
class SavedExam:
    """An exam as it was saved, and the quiz mode the visitor was in (practice, exam or room)."""

    exam: ExamState
    mode: str


def _encode_response(value: Any) -> Any:
    """JSON for one response: a multiple choice (a set of option ids) as {"set": [sorted ids]}; others as is."""
    if isinstance(value, set | frozenset):
        return {"set": sorted(value)}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode_exam(exam: ExamState, mode: str) -> str:
    """The exam and the mode as canonical JSON (sorted keys): equal exams give equal text."""
    record = {
        "format": FORMAT,
        "mode": mode,
        "seed": exam.seed,
        "size": exam.size,
        "items": [[item.question_id, list(item.option_order)] for item in exam.items],
        "position": exam.position,
        "responses": {qid: _encode_response(value) for qid, value in exam.responses.items()},
        "finished": exam.finished,
        "run": exam.run,
        "retry": exam.retry,
        "confirm_finish": exam.confirm_finish,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _int(record: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _flag(record: Mapping[str, Any], name: str) -> bool:
    value = record.get(name)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _decode_response(bank: Bank, question_id: str, raw: Any) -> Any:
    """A stored response back in the form the page and grading use, checked against the question."""
    if raw is None:
        return None
    question = bank.get(question_id)
    if question.type == "single" and isinstance(raw, str) and raw in question.option_ids:
        return raw
    if question.type == "multiple" and isinstance(raw, Mapping) and isinstance(raw.get("set"), list):
        chosen = frozenset(raw["set"])
        if all(isinstance(o, str) for o in chosen) and chosen <= set(question.option_ids):
            return chosen
    if question.type == "true_false" and isinstance(raw, bool):
        return raw
    if question.type == "numeric" and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    raise ValueError(f"not a {question.type} response to {question_id!r}: {raw!r}")


def decode_exam(text: str, bank: Bank) -> SavedExam:
    """`encode_exam`'s JSON back into an exam; ValueError when it is not one, or not one of this bank."""
    record = json.loads(text)
    if not isinstance(record, Mapping) or record.get("format") != FORMAT:
        raise ValueError("not a saved exam of this format")
    mode = record.get("mode")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    raw_items = record.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ValueError("a saved exam has questions")
    items = []
    for raw in raw_items:
        if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], list)):
            raise ValueError(f"not an exam item: {raw!r}")
        question_id, order = raw[0], tuple(raw[1])
        if question_id not in bank:
            raise ValueError(f"question {question_id!r} is no longer in the bank")
        if sorted(order) != sorted(bank.get(question_id).option_ids):
            raise ValueError(f"the options of {question_id!r} changed")
        items.append(ExamItem(question_id, order))
    ids = [item.question_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("a question is drawn twice")
    raw_responses = record.get("responses")
    if not isinstance(raw_responses, Mapping) or not set(raw_responses) <= set(ids):
        raise ValueError("responses must answer the exam's questions")
    exam = ExamState(
        seed=_int(record, "seed", 0, 2**63),
        size=_int(record, "size", 1, len(bank)),
        items=tuple(items),
        position=_int(record, "position", 0, len(items) - 1),
        responses={qid: _decode_response(bank, qid, raw) for qid, raw in raw_responses.items()},
        finished=_flag(record, "finished"),
        run=_int(record, "run", 0, 2**31),
        retry=_flag(record, "retry"),
        confirm_finish=_flag(record, "confirm_finish"),
    )
    return SavedExam(exam, mode)


def _check_visitor(visitor: str) -> str:
    if not isinstance(visitor, str) or not 1 <= len(visitor) <= MAX_VISITOR_CHARS:
        raise ValueError(f"Not a visitor id: {visitor!r}.")
    return visitor


class ExamStore:
    """Each visitor's exam in progress, in one SQLite file (WAL, busy timeout; the folder is created)."""

    def __init__(
        self,
        path: Path | str,
        ttl_s: float = EXAM_TTL_S,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not ttl_s > 0:
            raise ValueError(f"An exam's time to live must be positive, got {ttl_s!r}.")
        self.path = Path(path)
        self.ttl_s = float(ttl_s)
        self.timeout_s = timeout_s
        self.clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            LOGGER.warning("Quiz exams at %s cannot be opened: %s", self.path, exc)
            raise LabError("quiz.exam_open", problem=_problem(exc)) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            yield conn
        finally:
            conn.close()

    def save(self, visitor: str, exam: ExamState, mode: str) -> None:
        """Keep `exam` (and `mode`) as the visitor's exam, replacing the one saved before; drop stale rows."""
        self.save_encoded(visitor, encode_exam(exam, mode))

    def save_encoded(self, visitor: str, text: str) -> None:
        """`save` for an exam already encoded by `encode_exam`."""
        _check_visitor(visitor)
        now = self.clock()
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("DELETE FROM exams WHERE saved_at < ?", (now - self.ttl_s,))
                    conn.execute(
                        "INSERT INTO exams (visitor, saved_at, state) VALUES (?, ?, ?) "
                        "ON CONFLICT(visitor) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state",
                        (visitor, now, text),
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            LOGGER.warning("Could not save a quiz exam in %s: %s", self.path, exc)
            raise LabError("quiz.exam_save", problem=_problem(exc)) from exc

    def load(self, visitor: str, bank: Bank) -> SavedExam | None:
        """The visitor's saved exam, or None: none saved, stale (older than ttl_s) or no longer valid for
        `bank` (those two are deleted)."""
        _check_visitor(visitor)
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT saved_at, state FROM exams WHERE visitor = ?", (visitor,)).fetchone()
        except sqlite3.Error as exc:
            LOGGER.warning("Could not read a quiz exam in %s: %s", self.path, exc)
            raise LabError("quiz.exam_read", problem=_problem(exc)) from exc
        if row is None:
            return None
        saved_at, text = row
        if saved_at < self.clock() - self.ttl_s:
            self.delete(visitor)
            return None
        try:
            return decode_exam(text, bank)
        except (ValueError, TypeError) as exc:
            LOGGER.info("Dropping a saved quiz exam that no longer fits the bank: %s", exc)
            self.delete(visitor)
            return None

    def delete(self, visitor: str) -> bool:
        """Forget the visitor's exam; returns whether there was one."""
        _check_visitor(visitor)
        try:
            with self._connect() as conn:
                removed = conn.execute("DELETE FROM exams WHERE visitor = ?", (visitor,)).rowcount
        except sqlite3.Error as exc:
            LOGGER.warning("Could not delete a quiz exam in %s: %s", self.path, exc)
            raise LabError("quiz.exam_save", problem=_problem(exc)) from exc
        return removed > 0

    def count(self) -> int:
        """How many exams are kept (stale ones included until the next save)."""
        with self._connect() as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM exams").fetchone()
        return int(n)
