"""The run store: every job's config, status, results, students and per-epoch metrics in SQLite, and its
trained weights as safetensors beside the database.

One run table for every kind of job (`runs.kind`: "run", "sweep", "benchmark", ...), one students table (a
job's trained students and their final figures), one metrics table (per epoch; `cell` names a sweep's student).
`RunStore` reads and writes the kind "run"; `SweepStore` and `JobStore` are views of the same tables for the
other kinds, with the same writing methods, so the job queue records every kind the same way. A store written
by an older version (separate `sweeps`, `sweep_cells`, `sweep_metrics` and `jobs` tables) is migrated once
when it is opened, in one transaction, kept by `PRAGMA user_version`; its ids and weights still open.

SQLite in WAL mode (readers never block the writer), one connection per thread. On server start,
`mark_interrupted()` turns runs left "queued" or "running" by a previous process into "interrupted":
never lost, never shown as finished.

Storage failures (a read-only runs folder, a full disk, a damaged database) raise `StorageError`, a
ValueError whose message says what happened and what the server's owner can do. The store opens lazily
and retries: once the owner fixes the folder, it works again without a restart.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from compression.distillation.variants import VARIANTS

DB_NAME = "distillation.sqlite"
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
METRIC_COLUMNS = ["model", "epoch", "train_loss", "test_loss", "test_accuracy", "agreement"]

SCHEMA_VERSION = 2
"""`PRAGMA user_version` of the store: 0/1 = separate run, sweep and job tables; 2 = one run table."""

_SCHEMA_STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'run',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    results TEXT,
    error TEXT
)""",
    """CREATE TABLE IF NOT EXISTS students (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    cell INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    temperature REAL,
    alpha REAL,
    seed INTEGER,
    test_accuracy REAL,
    test_loss REAL,
    agreement REAL,
    PRIMARY KEY (run_id, cell)
)""",
    """CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    train_loss REAL,
    test_loss REAL,
    test_accuracy REAL,
    agreement REAL,
    cell INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (run_id, model, epoch)
)""",
)
_INDEX = "CREATE INDEX IF NOT EXISTS runs_by_kind ON runs (kind, created_at)"
_ROW_COLUMNS = "id, kind, created_at, updated_at, status, owner, device, config, results, error"
STUDENT_COLUMNS = ["cell", "kind", "name", "temperature", "alpha", "seed", "test_accuracy", "test_loss", "agreement"]


def _columns(raw: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in raw.execute(f"PRAGMA table_info({table})")}


def migrate(raw: sqlite3.Connection) -> int:
    """Bring a store to `SCHEMA_VERSION` in one transaction (a fresh one is created at it). From version 0/1:
    `runs` gains `kind` and `metrics` gains `cell`; the rows of `sweeps` / `sweep_cells` / `sweep_metrics` and of
    `jobs` move into `runs` / `students` / `metrics` with their ids unchanged; the old tables are dropped.
    Returns the version found. Safe to call from several connections at once (the check runs inside the lock)."""
    if raw.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return SCHEMA_VERSION
    raw.execute("BEGIN IMMEDIATE")
    try:
        found = raw.execute("PRAGMA user_version").fetchone()[0]
        if found >= SCHEMA_VERSION:  # another connection migrated while this one waited
            raw.execute("COMMIT")
            return found
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "runs" in tables and "kind" not in _columns(raw, "runs"):
            raw.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'")
        if "metrics" in tables and "cell" not in _columns(raw, "metrics"):
            raw.execute("ALTER TABLE metrics ADD COLUMN cell INTEGER NOT NULL DEFAULT -1")
        for statement in (*_SCHEMA_STATEMENTS, _INDEX):
            raw.execute(statement)
        common = "created_at, updated_at, status, owner, device, config, results, error"
        if "sweeps" in tables:
            raw.execute(f"INSERT OR IGNORE INTO runs (id, kind, {common}) SELECT id, 'sweep', {common} FROM sweeps")
            if "sweep_cells" in tables:
                raw.execute(
                    f"INSERT OR IGNORE INTO students (run_id, {', '.join(STUDENT_COLUMNS)}) "
                    f"SELECT sweep_id, {', '.join(STUDENT_COLUMNS)} FROM sweep_cells"
                )
            if "sweep_metrics" in tables:
                raw.execute(
                    "INSERT OR IGNORE INTO metrics (run_id, model, cell, epoch, train_loss, test_loss, test_accuracy, "
                    "agreement) SELECT sweep_id, model, cell, epoch, train_loss, test_loss, test_accuracy, agreement "
                    "FROM sweep_metrics"
                )
        if "jobs" in tables:
            raw.execute(f"INSERT OR IGNORE INTO runs (id, kind, {common}) SELECT id, kind, {common} FROM jobs")
        for old in ("sweep_metrics", "sweep_cells", "sweeps", "jobs"):
            raw.execute(f"DROP TABLE IF EXISTS {old}")
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    return found


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


class StorageError(ValueError):
    """The run store could not read or write its folder. The message is for the visitor and the owner."""


def storage_message(exc: BaseException, folder: Path) -> str:
    """What went wrong with the runs folder, and what the server's owner can do about it."""
    text = str(exc).lower()
    errno = getattr(exc, "errno", None)
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
        free_text = f"{free / 2**20:,.0f} MiB free"
    except OSError:
        free_text = "free space unknown"
    if errno == 28 or "full" in text or "no space" in text:
        what = f"the disk holding the runs folder is full ({free_text})"
        fix = "free some space on that disk or point COMPRESSION_LAB_RUNS_DIR at a bigger one"
    elif errno in (13, 30) or "readonly" in text or "read-only" in text or "permission" in text:
        what = "the runs folder is read-only for the server"
        fix = "make it writable for the server's user or point COMPRESSION_LAB_RUNS_DIR at a writable folder"
    elif "unable to open" in text or isinstance(exc, FileNotFoundError | NotADirectoryError | FileExistsError):
        what = "the runs folder cannot be opened"
        fix = "check that it is a folder the server can create and write, or set COMPRESSION_LAB_RUNS_DIR"
    else:
        what = f"the run store failed ({type(exc).__name__}; {free_text})"
        fix = "check the folder, its free space and the database file distillation.sqlite in it"
    return (
        f"The run history cannot be saved or read right now: {what}. Runs folder: {folder}. "
        f"The server's owner can {fix}; your settings are kept, and the other pages work."
    )


def _guarded(method: Callable) -> Callable:
    """Turn the store's SQLite and OS errors into StorageError with a readable message."""

    @functools.wraps(method)
    def wrapper(self: RunStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except StorageError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self._forget_connection()
            raise StorageError(storage_message(exc, self.runs_dir)) from exc

    return wrapper


def history_columns() -> list[str]:
    """Columns of `RunStore.list_runs`: the run's settings, then each model's test accuracy (one per variant)."""
    accuracy = ["teacher %", *(v.history_column for v in VARIANTS.values())]
    return [
        "id",
        "created",
        "status",
        "dataset",
        "teacher",
        "student",
        "epochs",
        "T",
        "alpha",
        "seed",
        *accuracy,
        "error",
    ]


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"Not a run id: {str(run_id)[:40]!r}.")
    return run_id


class RunStore:
    """SQLite database `runs_dir/distillation.sqlite` plus `runs_dir/weights/<run id>/<role>.safetensors`."""

    def __init__(self, runs_dir: Path | str) -> None:
        """Never fails on a bad folder: the first use raises StorageError, and later uses retry."""
        self.runs_dir = Path(runs_dir)
        self.path = self.runs_dir / DB_NAME
        self.weights_dir = self.runs_dir / "weights"
        self._local = threading.local()
        self._schema_ready = False
        try:
            self._conn()
        except (sqlite3.Error, OSError):
            self._forget_connection()

    @property
    def problem(self) -> str | None:
        """None when the store can be opened now, else the StorageError message."""
        try:
            self._open_checked()
        except StorageError as exc:
            return str(exc)
        return None

    @_guarded
    def _open_checked(self) -> None:
        self._conn()
        if not os.access(self.runs_dir, os.W_OK):
            raise PermissionError(13, "read-only folder")

    def _conn(self) -> _Transaction:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            raw = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                raw.execute("PRAGMA journal_mode=WAL")
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute("PRAGMA foreign_keys=ON")
                raw.execute("PRAGMA busy_timeout=30000")
                raw.row_factory = sqlite3.Row
                if not self._schema_ready:
                    migrate(raw)
                    self._schema_ready = True
            except sqlite3.Error:
                raw.close()
                raise
            self._local.conn = _Transaction(raw)
            conn = self._local.conn
        return conn

    def _forget_connection(self) -> None:
        """Drop this thread's connection after a failure, so the next call opens a fresh one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.raw.close()
            except sqlite3.Error:
                pass

    # --- writing (every kind: the views below call these with their kind) --------------------------------------
    KIND = "run"

    @property
    def runs(self) -> RunStore:
        return self

    @_guarded
    def create_run(self, run_id: str, config: dict[str, Any], owner: str = "", device: str = "") -> None:
        self._insert(self.KIND, run_id, config, owner, device)

    @_guarded
    def _insert_guarded(self, kind: str, run_id: str, config: dict[str, Any], owner: str, device: str) -> None:
        self._insert(kind, run_id, config, owner, device)

    def _insert(self, kind: str, run_id: str, config: dict[str, Any], owner: str, device: str) -> None:
        now = time.time()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO runs (id, kind, created_at, updated_at, status, owner, device, config) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (check_run_id(run_id), kind, now, now, "queued", owner, device, json.dumps(config)),
            )

    @_guarded
    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Any job's status, whatever its kind (ids are unique across kinds)."""
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}.")
        with self._conn() as conn:
            conn.execute(
                "UPDATE runs SET status=?, error=COALESCE(?, error), updated_at=? WHERE id=?",
                (status, error, time.time(), run_id),
            )

    @_guarded
    def add_metrics(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Per-epoch rows of any job that trains (a run's models, a sweep's students: `cell` names those)."""
        if not rows:
            return
        with self._conn() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, model, cell, epoch, train_loss, test_loss, test_accuracy, "
                "agreement) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (run_id, r["model"], r.get("cell", -1), r["epoch"], r["train_loss"], r["test_loss"],
                     r["test_accuracy"], r.get("agreement"))
                    for r in rows
                ],
            )  # fmt: skip

    @_guarded
    def finish(
        self, run_id: str, results: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]] | None = None
    ) -> None:
        """Save weights first, then mark the run done with its results (a crash in between leaves it 'running')."""
        if weights:
            self.save_weights(run_id, weights, results.get("config"))
        config = results.get("config") or {}
        students = [
            {"kind": role, "name": role, "seed": config.get("seed"), **{k: model.get(k) for k in
             ("test_accuracy", "test_loss", "agreement")}}
            for role, model in results.items()
            if role in VARIANTS and isinstance(model, dict)
        ]  # fmt: skip
        self._finish_row(run_id, results, students)

    def _finish_row(self, run_id: str, results: dict[str, Any], students: list[dict[str, Any]]) -> None:
        """The job's students and its results, and status "done", in one transaction."""
        with self._conn() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO students (run_id, {', '.join(STUDENT_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (run_id, i, row.get("kind", "distilled"), row.get("name", ""), row.get("temperature"),
                     row.get("alpha"), row.get("seed"), row.get("test_accuracy"), row.get("test_loss"),
                     row.get("agreement"))
                    for i, row in enumerate(students)
                ],
            )  # fmt: skip
            conn.execute(
                "UPDATE runs SET status='done', results=?, updated_at=? WHERE id=?",
                (json.dumps(results), time.time(), run_id),
            )

    @_guarded
    def save_weights(
        self,
        run_id: str,
        weights: dict[str, dict[str, torch.Tensor]],
        config: dict[str, Any] | None = None,
        extra: dict[str, dict[str, str]] | None = None,
        kind: str | None = None,
    ) -> None:
        """weights/<id>/<name>.safetensors per name (atomic rename), with the job's id, config and role as
        metadata, `extra[name]` (strings) added, and the job's kind for kinds other than a run."""
        from safetensors.torch import save_file

        folder = self.weights_dir / check_run_id(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"run_id": run_id, "config": json.dumps(config or {})}
        if kind is not None:
            meta |= {"job_id": run_id, "kind": kind}
        for role, state in weights.items():
            check_run_id(role)  # a file name of its own folder, never a path
            tmp = folder / f"{role}.safetensors.tmp"
            own = {**meta, "role": role, "name": role, **{k: str(v) for k, v in (extra or {}).get(role, {}).items()}}
            save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata=own)
            tmp.replace(folder / f"{role}.safetensors")

    @_guarded
    def mark_interrupted(self) -> int:
        """Jobs of every kind a previous server left queued or running become "interrupted". Returns how many.
        Called once per server process, by the job manager when it starts (`jobs.JobManager`)."""
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='interrupted', updated_at=?, "
                "error=COALESCE(error, CASE kind WHEN 'run' THEN 'The server stopped before this run finished.' "
                "WHEN 'sweep' THEN 'The server stopped before this sweep finished.' "
                "ELSE 'The server stopped before this job finished.' END) "
                "WHERE status IN ('queued', 'running')",
                (time.time(),),
            )
            return cur.rowcount

    def _row(self, kind: str, run_id: str) -> sqlite3.Row | None:
        return (
            self._conn()
            .execute(f"SELECT {_ROW_COLUMNS} FROM runs WHERE id=? AND kind=?", (check_run_id(run_id), kind))
            .fetchone()
        )

    # --- reading -------------------------------------------------------------------------------------------
    @_guarded
    def weights_path(self, run_id: str, role: str = "student") -> Path | None:
        path = self.weights_dir / check_run_id(run_id) / f"{role}.safetensors"
        return path if path.is_file() else None

    @_guarded
    def list_runs(self, limit: int = 50) -> pd.DataFrame:
        """Newest first: id, created (UTC), status, dataset, teacher, student, epochs, T, alpha, seed, accuracies."""
        rows = (
            self._conn()
            .execute(
                "SELECT id, created_at, status, config, results, error FROM runs WHERE kind=? ORDER BY created_at DESC "
                "LIMIT ?",
                (self.KIND, int(limit)),
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
                    **{v.history_column: acc(v.name) for v in VARIANTS.values()},
                    "error": row["error"],
                }
            )
        return pd.DataFrame.from_records(records, columns=history_columns())

    @_guarded
    def get_run(self, run_id: str) -> RunRecord | None:
        conn = self._conn()
        row = self._row(self.KIND, run_id)
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

    @property
    def sweeps(self) -> SweepStore:
        """The sweeps of this store (the same tables, kind "sweep")."""
        view = self.__dict__.get("_sweeps")
        if view is None:
            view = self.__dict__["_sweeps"] = SweepStore(self)
        return view

    @_guarded
    def run_status(self, run_id: str) -> str | None:
        """The run's status, or None when no such run is stored."""
        row = self._row(self.KIND, run_id)
        return None if row is None else str(row["status"])

    @_guarded
    def find_done_run(self, config: dict[str, Any], scan: int = 500) -> str | None:
        """The newest finished ("done") run whose stored configuration equals `config` (a `to_dict()`: the same
        seed, data, models and hyperparameters), among the newest `scan` runs; None when there is none.
        The device is part of the configuration: "cpu" and "auto" are different runs."""
        rows = (
            self._conn()
            .execute(
                "SELECT id, config FROM runs WHERE kind=? AND status='done' ORDER BY created_at DESC LIMIT ?",
                (self.KIND, int(scan)),
            )
            .fetchall()
        )
        for row in rows:
            try:
                if json.loads(row["config"]) == config:
                    return str(row["id"])
            except ValueError:
                continue
        return None

    @_guarded
    def latest_run_id(self, status: str = "done") -> str | None:
        """The newest run with this status (one indexed-size query: cheap enough for a poll), or None."""
        if status not in STATUSES:
            raise ValueError(f"Unknown status {status!r}.")
        row = (
            self._conn()
            .execute(
                "SELECT id FROM runs WHERE kind=? AND status=? ORDER BY created_at DESC LIMIT 1", (self.KIND, status)
            )
            .fetchone()
        )
        return None if row is None else str(row["id"])

    def close(self) -> None:  # noqa: D102
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


# --- the other kinds: views of the same tables ----------------------------------------------------------------
SWEEP_CELL_COLUMNS = STUDENT_COLUMNS
SWEEP_METRIC_COLUMNS = ["model", "cell", "epoch", "train_loss", "test_loss", "test_accuracy", "agreement"]


@dataclass
class SweepRecord:
    """One stored sweep: its config, status, results JSON (without histories), cells and per-epoch metrics."""

    id: str
    created_at: float
    updated_at: float
    status: str
    owner: str
    device: str
    config: dict[str, Any]
    results: dict[str, Any] | None
    error: str | None
    cells: pd.DataFrame
    history: pd.DataFrame


class _KindView:
    """The run store's tables seen for one kind of job (`KIND`): the run store's connection, storage guard and
    writers (create_run, set_status, add_metrics), so the queue records every kind of job the same way."""

    KIND = ""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs

    @property
    def runs_dir(self) -> Path:
        return self.runs.runs_dir

    def _forget_connection(self) -> None:
        self.runs._forget_connection()

    def create_run(self, run_id: str, config: dict[str, Any], owner: str = "", device: str = "") -> None:
        self.runs._insert_guarded(self.KIND, run_id, config, owner, device)

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        self.runs.set_status(run_id, status, error)

    def add_metrics(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        self.runs.add_metrics(run_id, rows)

    def mark_interrupted(self) -> int:
        """One statement for every kind (`RunStore.mark_interrupted`)."""
        return self.runs.mark_interrupted()


class SweepStore(_KindView):
    """Sweeps (kind "sweep"): the result JSON without histories, one students row per trained student (cell),
    per-epoch metrics; the best student's weights under weights/<sweep id>/best.safetensors."""

    KIND = "sweep"

    @_guarded
    def finish(
        self, run_id: str, results: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]] | None = None
    ) -> None:
        """Weights of the best student first, then the students and the results (histories stay in metrics)."""
        if weights:
            self.runs.save_weights(run_id, weights, results.get("config"))
        slim = dict(results)
        slim.pop("history", None)
        cells = [*slim.get("sweep", [])]
        for kind in ("baseline", "smoothing"):
            if kind in slim:
                cells += [{**row, "kind": kind, "name": kind} for row in slim[kind].get("per_seed", [])]
        slim["sweep"] = [{k: v for k, v in row.items() if k != "history"} for row in slim.get("sweep", [])]
        for kind in ("baseline", "smoothing"):
            if kind in slim:
                slim[kind] = {
                    **slim[kind],
                    "per_seed": [{k: v for k, v in r.items() if k != "history"} for r in slim[kind]["per_seed"]],
                }
        self.runs._finish_row(run_id, slim, cells)

    @_guarded
    def list_sweeps(self, limit: int = 50) -> pd.DataFrame:
        """Newest first: id, created (UTC), status, dataset, student, epochs, cells, seeds, best cell, its accuracy."""
        rows = (
            self.runs._conn()
            .execute(
                "SELECT id, created_at, status, config, results, error FROM runs WHERE kind=? ORDER BY created_at DESC "
                "LIMIT ?",
                (self.KIND, int(limit)),
            )
            .fetchall()
        )
        records = []
        for row in rows:
            config = json.loads(row["config"])
            results = json.loads(row["results"]) if row["results"] else {}
            verdict = results.get("verdict") or {}
            records.append(
                {
                    "id": row["id"],
                    "created": pd.Timestamp(row["created_at"], unit="s"),
                    "status": row["status"],
                    "dataset": config.get("dataset"),
                    "student": config.get("student"),
                    "epochs": config.get("epochs"),
                    "cells": len(config.get("cells", [])),
                    "seeds": config.get("seeds"),
                    "best cell": verdict.get("best"),
                    "best %": None if verdict.get("best_accuracy") is None else 100 * verdict["best_accuracy"],
                    "baseline %": None if "baseline" not in results else 100 * results["baseline"]["test_accuracy"],
                    "error": row["error"],
                }
            )
        return pd.DataFrame.from_records(
            records,
            columns=["id", "created", "status", "dataset", "student", "epochs", "cells", "seeds", "best cell",
                     "best %", "baseline %", "error"],
        )  # fmt: skip

    @_guarded
    def latest_finished(self) -> str | None:
        """The id of the newest finished sweep, or None."""
        row = (
            self.runs._conn()
            .execute(
                "SELECT id FROM runs WHERE kind=? AND status='done' ORDER BY created_at DESC LIMIT 1", (self.KIND,)
            )
            .fetchone()
        )
        return None if row is None else row[0]

    @_guarded
    def get_sweep(self, sweep_id: str) -> SweepRecord | None:
        conn = self.runs._conn()
        row = self.runs._row(self.KIND, sweep_id)
        if row is None:
            return None
        cells = conn.execute(
            f"SELECT {', '.join(SWEEP_CELL_COLUMNS)} FROM students WHERE run_id=? ORDER BY cell", (sweep_id,)
        ).fetchall()
        metrics = conn.execute(
            f"SELECT {', '.join(SWEEP_METRIC_COLUMNS)} FROM metrics WHERE run_id=? ORDER BY cell, epoch",
            (sweep_id,),
        ).fetchall()
        return SweepRecord(
            id=row["id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            status=row["status"],
            owner=row["owner"],
            device=row["device"],
            config=json.loads(row["config"]),
            results=json.loads(row["results"]) if row["results"] else None,
            error=row["error"],
            cells=pd.DataFrame([dict(c) for c in cells], columns=SWEEP_CELL_COLUMNS),
            history=pd.DataFrame([dict(m) for m in metrics], columns=SWEEP_METRIC_COLUMNS),
        )


class JobStore(_KindView):
    """Jobs of another kind (a deploy benchmark, QAT, ...): configuration, status and JSON result in the run table,
    their weights (if any) under weights/<job id>/<name>.safetensors; `latest` finds the newest finished one."""

    def __init__(self, runs: RunStore, kind: str) -> None:
        super().__init__(runs)
        self.KIND = kind
        self.kind = kind

    @_guarded
    def finish(self, run_id: str, results: dict[str, Any], weights: dict[str, Any] | None = None) -> None:
        """Weights first (name -> state dict, as safetensors under weights/<job id>/<name>.safetensors, with the
        metadata `results["weights_metadata"][name]` when given), then the students and the result."""
        if weights:
            self.runs.save_weights(
                run_id, weights, results.get("config"), extra=results.get("weights_metadata", {}), kind=self.KIND
            )
        self.runs._finish_row(run_id, results, list(results.get("students", [])))

    def weights_path(self, job_id: str, name: str) -> Path | None:
        """The safetensors file of one model a job stored, or None."""
        return self.runs.weights_path(job_id, name)

    @_guarded
    def get(self, job_id: str) -> dict[str, Any] | None:
        row = self.runs._row(self.KIND, job_id)
        if row is None:
            return None
        out = dict(row)
        out["config"] = json.loads(out["config"])
        out["results"] = json.loads(out["results"]) if out["results"] else None
        return out

    @_guarded
    def latest(self, **match: Any) -> dict[str, Any] | None:
        """The newest finished job of this kind whose configuration has these values (e.g. run_id=...)."""
        found = self.latest_with_id(**match)
        return None if found is None else found[1]

    @_guarded
    def latest_with_id(self, **match: Any) -> tuple[str, dict[str, Any] | None] | None:
        """`latest`, with the job's id: (id, result)."""
        rows = (
            self.runs._conn()
            .execute(
                "SELECT id, config, results FROM runs WHERE kind=? AND status='done' ORDER BY created_at DESC LIMIT 200",
                (self.KIND,),
            )
            .fetchall()
        )
        for row in rows:
            config = json.loads(row["config"])
            if all(config.get(k) == v for k, v in match.items()):
                return row["id"], (json.loads(row["results"]) if row["results"] else None)
        return None
