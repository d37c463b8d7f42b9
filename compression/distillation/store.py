"""The run store: every distillation run's config, per-epoch metrics, results and status in SQLite,
and its trained weights as safetensors beside the database.

SQLite in WAL mode (readers never block the writer), one connection per thread. On server start,
`mark_interrupted()` turns runs left "queued" or "running" by a previous process into "interrupted":
never lost, never shown as finished.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

DB_NAME = "distillation.sqlite"
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
METRIC_COLUMNS = ["model", "epoch", "train_loss", "test_loss", "test_accuracy", "agreement"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    results TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    train_loss REAL,
    test_loss REAL,
    test_accuracy REAL,
    agreement REAL,
    PRIMARY KEY (run_id, model, epoch)
);
"""


@dataclass
class RunRecord:
    """One stored run. `results` is the trainer's JSON (models, gap_closed, ...) once done, else None."""

    id: str
    created_at: float
    updated_at: float
    status: str
    owner: str
    device: str
    config: dict[str, Any]
    results: dict[str, Any] | None
    error: str | None
    history: pd.DataFrame


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"Not a run id: {str(run_id)[:40]!r}.")
    return run_id


class RunStore:
    """SQLite database `runs_dir/distillation.sqlite` plus `runs_dir/weights/<run id>/<role>.safetensors`."""

    def __init__(self, runs_dir: Path | str) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.runs_dir / DB_NAME
        self.weights_dir = self.runs_dir / "weights"
        self._local = threading.local()
        self._conn().raw.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = _Transaction(conn)
            conn = self._local.conn
        return conn

    # --- writing -------------------------------------------------------------------------------------------
    def create_run(self, run_id: str, config: dict[str, Any], owner: str = "", device: str = "") -> None:
        now = time.time()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO runs (id, created_at, updated_at, status, owner, device, config) VALUES (?,?,?,?,?,?,?)",
                (check_run_id(run_id), now, now, "queued", owner, device, json.dumps(config)),
            )

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}.")
        with self._conn() as conn:
            conn.execute(
                "UPDATE runs SET status=?, error=COALESCE(?, error), updated_at=? WHERE id=?",
                (status, error, time.time(), run_id),
            )

    def add_metrics(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._conn() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, model, epoch, train_loss, test_loss, test_accuracy, agreement) "
                "VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        run_id,
                        r["model"],
                        r["epoch"],
                        r["train_loss"],
                        r["test_loss"],
                        r["test_accuracy"],
                        r.get("agreement"),
                    )
                    for r in rows
                ],
            )

    def finish(
        self, run_id: str, results: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]] | None = None
    ) -> None:
        """Save weights first, then mark the run done with its results (a crash in between leaves it 'running')."""
        if weights:
            self.save_weights(run_id, weights, results.get("config"))
        with self._conn() as conn:
            conn.execute(
                "UPDATE runs SET status='done', results=?, updated_at=? WHERE id=?",
                (json.dumps(results), time.time(), run_id),
            )

    def save_weights(
        self, run_id: str, weights: dict[str, dict[str, torch.Tensor]], config: dict[str, Any] | None = None
    ) -> None:
        from safetensors.torch import save_file

        folder = self.weights_dir / check_run_id(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"run_id": run_id, "config": json.dumps(config or {})}
        for role, state in weights.items():
            tmp = folder / f"{role}.safetensors.tmp"
            save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata={**meta, "role": role})
            tmp.replace(folder / f"{role}.safetensors")

    def mark_interrupted(self) -> int:
        """Runs a previous server left queued or running become "interrupted". Returns how many."""
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='interrupted', updated_at=?, "
                "error=COALESCE(error, 'The server stopped before this run finished.') "
                "WHERE status IN ('queued', 'running')",
                (time.time(),),
            )
            return cur.rowcount

    # --- reading -------------------------------------------------------------------------------------------
    def weights_path(self, run_id: str, role: str = "student") -> Path | None:
        path = self.weights_dir / check_run_id(run_id) / f"{role}.safetensors"
        return path if path.is_file() else None

    def list_runs(self, limit: int = 50) -> pd.DataFrame:
        """Newest first: id, created (UTC), status, dataset, teacher, student, epochs, T, alpha, seed, accuracies."""
        rows = (
            self._conn()
            .execute(
                "SELECT id, created_at, status, config, results, error FROM runs ORDER BY created_at DESC LIMIT ?",
                (int(limit),),
            )
            .fetchall()
        )
        records = []
        for row in rows:
            config = json.loads(row["config"])
            results = json.loads(row["results"]) if row["results"] else {}

            def acc(role: str, results: dict[str, Any] = results) -> float | None:
                model = results.get(role)
                return None if not model else 100.0 * model["test_accuracy"]

            records.append(
                {
                    "id": row["id"],
                    "created": pd.Timestamp(row["created_at"], unit="s"),
                    "status": row["status"],
                    "dataset": config.get("dataset"),
                    "teacher": config.get("teacher"),
                    "student": config.get("student"),
                    "epochs": config.get("epochs"),
                    "T": config.get("temperature"),
                    "alpha": config.get("alpha"),
                    "seed": config.get("seed"),
                    "teacher %": acc("teacher"),
                    "distilled %": acc("student"),
                    "baseline %": acc("baseline"),
                    "smoothing %": acc("smoothing"),
                    "error": row["error"],
                }
            )
        return pd.DataFrame.from_records(
            records,
            columns=[
                "id", "created", "status", "dataset", "teacher", "student", "epochs", "T", "alpha", "seed",
                "teacher %", "distilled %", "baseline %", "smoothing %", "error",
            ],
        )  # fmt: skip

    def get_run(self, run_id: str) -> RunRecord | None:
        conn = self._conn()
        row = conn.execute("SELECT * FROM runs WHERE id=?", (check_run_id(run_id),)).fetchone()
        if row is None:
            return None
        metrics = conn.execute(
            "SELECT model, epoch, train_loss, test_loss, test_accuracy, agreement FROM metrics "
            "WHERE run_id=? ORDER BY model, epoch",
            (run_id,),
        ).fetchall()
        history = pd.DataFrame([dict(m) for m in metrics], columns=METRIC_COLUMNS)
        return RunRecord(
            id=row["id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            status=row["status"],
            owner=row["owner"],
            device=row["device"],
            config=json.loads(row["config"]),
            results=json.loads(row["results"]) if row["results"] else None,
            error=row["error"],
            history=history,
        )

    def run_status(self, run_id: str) -> str | None:
        """The run's status, or None when no such run is stored."""
        row = self._conn().execute("SELECT status FROM runs WHERE id=?", (check_run_id(run_id),)).fetchone()
        return None if row is None else str(row["status"])

    def latest_run_id(self, status: str = "done") -> str | None:
        """The newest run with this status (one indexed-size query: cheap enough for a poll), or None."""
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}.")
        row = (
            self._conn()
            .execute("SELECT id FROM runs WHERE status=? ORDER BY created_at DESC LIMIT 1", (status,))
            .fetchone()
        )
        return None if row is None else str(row["id"])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.raw.close()
            self._local.conn = None


class _Transaction:
    """A connection whose `with` block is one transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    def __enter__(self) -> sqlite3.Connection:
        self.raw.execute("BEGIN IMMEDIATE")
        return self.raw

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self.raw.execute("ROLLBACK" if exc_type else "COMMIT")

    def execute(self, *args: Any) -> sqlite3.Cursor:
        return self.raw.execute(*args)
