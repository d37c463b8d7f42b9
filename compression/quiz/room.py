"""Room statistics: anonymous per-question answer counts shared by every visitor of the server.

Stored in SQLite (path from ``Settings.from_env().quiz_db``): one row per question id with the number of
answers and of right answers. Nothing else: no session, no name, no address, no time stamp.
Safe under concurrent sessions and processes: each write is one ``INSERT ... ON CONFLICT DO UPDATE``
inside a ``BEGIN IMMEDIATE`` transaction, with WAL journaling and a busy timeout.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from compression.i18n import LabError
from compression.quiz.bank import Bank
from compression.quiz.text import topic_label

_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    question_id TEXT PRIMARY KEY,
    answered INTEGER NOT NULL DEFAULT 0,
    correct INTEGER NOT NULL DEFAULT 0
)
"""
LOGGER = logging.getLogger("compression_lab")


def _problem(exc: BaseException) -> str:
    """What went wrong, in words, without the server's paths (those go to the server's log only)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "a folder is missing"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    return "the database is locked or read-only" if ("locked" in text or "readonly" in text) else type(exc).__name__


STATS_COLUMNS = ["question_id", "answered", "correct", "wrong", "wrong_rate"]


class RoomStats:
    """Per-question counts in one SQLite file; the parent folder is created when missing."""

    def __init__(self, path: Path | str, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            LOGGER.warning("Quiz room statistics at %s cannot be opened: %s", self.path, exc)
            raise LabError("room.open", problem=_problem(exc)) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            yield conn
        finally:
            conn.close()

    def record(self, results: Iterable[tuple[str, bool]]) -> int:
        """Add answers ``(question_id, correct)`` in one transaction; returns how many were recorded."""
        rows = [(qid, 1 if correct else 0) for qid, correct in results]
        for qid, _ in rows:
            if not isinstance(qid, str) or not _ID_RE.fullmatch(qid):
                raise ValueError(f"Not a question id: {qid!r}.")
        if not rows:
            return 0
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT INTO answers (question_id, answered, correct) VALUES (?, 1, ?) "
                        "ON CONFLICT(question_id) DO UPDATE SET answered = answered + 1, "
                        "correct = correct + excluded.correct",
                        rows,
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            LOGGER.warning("Could not record quiz answers in %s: %s", self.path, exc)
            raise LabError("room.record", problem=_problem(exc)) from exc
        return len(rows)

    def stats(self) -> pd.DataFrame:
        """Columns question_id, answered, correct, wrong, wrong_rate = wrong / answered; most wrong first."""
        try:
            with self._connect() as conn:
                rows = conn.execute(
                    "SELECT question_id, answered, correct FROM answers WHERE answered > 0 ORDER BY question_id"
                ).fetchall()
        except sqlite3.Error as exc:
            LOGGER.warning("Could not read the quiz room statistics in %s: %s", self.path, exc)
            raise LabError("room.read", problem=_problem(exc)) from exc
        frame = pd.DataFrame(rows, columns=["question_id", "answered", "correct"])
        frame["wrong"] = frame["answered"] - frame["correct"]
        frame["wrong_rate"] = (frame["wrong"] / frame["answered"]).astype(float)
        frame = frame.sort_values(["wrong_rate", "wrong", "question_id"], ascending=[False, False, True])
        return frame.reset_index(drop=True)[STATS_COLUMNS]

    def total_answers(self) -> int:
        stats = self.stats()
        return int(stats["answered"].sum()) if len(stats) else 0

    def reset(self) -> int:
        """Delete every count (the presenter's reset); returns how many answers were removed."""
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                (removed,) = conn.execute("SELECT COALESCE(SUM(answered), 0) FROM answers").fetchone()
                conn.execute("DELETE FROM answers")
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            LOGGER.warning("Could not reset the quiz room statistics in %s: %s", self.path, exc)
            raise LabError("room.reset", problem=_problem(exc)) from exc
        return int(removed)


def room_table(bank: Bank, stats: pd.DataFrame, lang: str, prompt_chars: int | None = None) -> pd.DataFrame:
    """The room's statistics joined with the bank, for the chart: questions no longer in the bank are
    dropped. Columns question_id, question (id and the prompt's start), topic, answered, correct, wrong,
    wrong_rate, wrong_percent = 100 * wrong_rate, right_percent = 100 - wrong_percent; most wrong first."""
    known = stats[stats["question_id"].isin(bank.ids)].copy()
    if prompt_chars is None:  # Chinese characters are about twice as wide
        prompt_chars = 32 if lang == "zh" else 60

    def label(qid: str) -> str:
        prompt = " ".join(bank.get(qid).prompt[lang].replace("`", "").replace("*", "").split())
        short = prompt if len(prompt) <= prompt_chars else prompt[: prompt_chars - 1].rstrip() + "…"
        return f"{qid}: {short}"

    known.insert(1, "question", known["question_id"].map(label))
    known.insert(2, "topic", known["question_id"].map(lambda q: topic_label(bank.get(q).topic, lang)))
    known["wrong_percent"] = 100.0 * known["wrong_rate"]
    known["right_percent"] = 100.0 - known["wrong_percent"]
    return known.reset_index(drop=True)
