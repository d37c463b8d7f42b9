"""The one run table: runs, sweeps and other job kinds in `runs` (with a kind), one students table, one metrics
table; a store written by the previous layout opens through a one-time migration kept by PRAGMA user_version."""

from __future__ import annotations

import json
import sqlite3

import pytest
import torch
from safetensors.torch import load_file, save_file

from compression.distillation.store import DB_NAME, SCHEMA_VERSION, JobStore, RunStore, StorageError

# The layout before the one run table (user_version 0), as the previous version of store.py created it.
OLD_LAYOUT = """
CREATE TABLE runs (id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL, status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '', config TEXT NOT NULL, results TEXT, error TEXT);
CREATE TABLE metrics (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, model TEXT NOT NULL,
    epoch INTEGER NOT NULL, train_loss REAL, test_loss REAL, test_accuracy REAL, agreement REAL,
    PRIMARY KEY (run_id, model, epoch));
CREATE TABLE sweeps (id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL, status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '', config TEXT NOT NULL, results TEXT, error TEXT);
CREATE TABLE sweep_cells (sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE, cell INTEGER NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, temperature REAL, alpha REAL, seed INTEGER, test_accuracy REAL,
    test_loss REAL, agreement REAL, PRIMARY KEY (sweep_id, cell));
CREATE TABLE sweep_metrics (sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE, model TEXT NOT NULL,
    cell INTEGER NOT NULL, epoch INTEGER NOT NULL, train_loss REAL, test_loss REAL, test_accuracy REAL,
    agreement REAL, PRIMARY KEY (sweep_id, model, epoch));
CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    status TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '', config TEXT NOT NULL,
    results TEXT, error TEXT);
"""


def _old_store(folder):
    folder.mkdir(parents=True)
    raw = sqlite3.connect(folder / DB_NAME)
    raw.executescript(OLD_LAYOUT)
    run_config = {"dataset": "digits", "teacher": "article-teacher", "student": "article-student", "seed": 7}
    raw.execute(
        "INSERT INTO runs VALUES ('oldrun1', 1.0, 2.0, 'done', 'alice', 'cpu', ?, ?, NULL)",
        (json.dumps(run_config), json.dumps({"student": {"test_accuracy": 0.9}, "config": run_config})),
    )
    raw.execute("INSERT INTO runs VALUES ('oldrun2', 3.0, 3.0, 'running', '', 'cpu', '{}', NULL, NULL)")
    raw.executemany(
        "INSERT INTO metrics VALUES ('oldrun1', ?, ?, 0.5, 0.6, ?, NULL)",
        [("student", 1, 0.8), ("student", 2, 0.9), ("teacher", 1, 0.95)],
    )
    raw.execute(
        "INSERT INTO sweeps VALUES ('oldsweep', 4.0, 5.0, 'done', 'bob', 'cpu', ?, ?, NULL)",
        (json.dumps({"cells": [[2, 0.5], [4, 0.9]], "seeds": 1}), json.dumps({"verdict": {"best": "T=4 α=0.9"}})),
    )
    raw.executemany(
        "INSERT INTO sweep_cells VALUES ('oldsweep', ?, ?, ?, ?, ?, 7, ?, 0.3, 0.9)",
        [(0, "distilled", "T=2 α=0.5", 2, 0.5, 0.91), (1, "distilled", "T=4 α=0.9", 4, 0.9, 0.93),
         (2, "baseline", "baseline", None, None, 0.89)],
    )  # fmt: skip
    raw.executemany(
        "INSERT INTO sweep_metrics VALUES ('oldsweep', ?, ?, ?, 0.4, 0.3, ?, NULL)",
        [("T=2 α=0.5", 0, 1, 0.9), ("T=4 α=0.9", 1, 1, 0.92)],
    )
    raw.execute("INSERT INTO jobs VALUES ('oldbench', 'benchmark', 6.0, 7.0, 'done', '', 'cpu', ?, ?, NULL)",
                (json.dumps({"run_id": "oldrun1"}), json.dumps({"rows": [1, 2]})))  # fmt: skip
    raw.commit()
    raw.close()
    for job_id, role in (("oldrun1", "student"), ("oldsweep", "best")):
        (folder / "weights" / job_id).mkdir(parents=True)
        save_file({"w": torch.full((2, 2), 3.0)}, str(folder / "weights" / job_id / f"{role}.safetensors"))


def test_an_old_store_opens_through_one_migration_with_its_ids_and_weights(tmp_path):
    folder = tmp_path / "runs"
    _old_store(folder)
    store = RunStore(folder)
    run = store.get_run("oldrun1")
    assert run.status == "done" and run.owner == "alice" and run.results["student"]["test_accuracy"] == 0.9
    assert run.history["test_accuracy"].tolist() == [0.8, 0.9, 0.95]
    assert store.run_status("oldrun2") == "running"  # opening migrates; it marks nothing
    sweep = store.sweeps.get_sweep("oldsweep")
    assert sweep.owner == "bob" and sweep.results["verdict"]["best"] == "T=4 α=0.9"
    assert sweep.cells["name"].tolist() == ["T=2 α=0.5", "T=4 α=0.9", "baseline"]
    assert sweep.history["cell"].tolist() == [0, 1]
    assert JobStore(store, "benchmark").get("oldbench")["results"] == {"rows": [1, 2]}
    assert JobStore(store, "benchmark").latest(run_id="oldrun1") == {"rows": [1, 2]}
    assert load_file(str(store.weights_path("oldrun1", "student")))["w"].sum() == 12.0
    assert load_file(str(store.weights_path("oldsweep", "best")))["w"].sum() == 12.0
    assert list(store.list_runs()["id"]) == ["oldrun2", "oldrun1"]  # runs only, newest first
    assert list(store.sweeps.list_sweeps()["id"]) == ["oldsweep"]
    store.close()

    raw = sqlite3.connect(folder / DB_NAME)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"runs", "students", "metrics"}
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    kinds = dict(raw.execute("SELECT id, kind FROM runs").fetchall())
    assert kinds == {"oldrun1": "run", "oldrun2": "run", "oldsweep": "sweep", "oldbench": "benchmark"}
    raw.close()
    again = RunStore(folder)  # a second open changes nothing
    assert again.sweeps.get_sweep("oldsweep").cells.shape[0] == 3 and again.get_run("oldrun1").status == "done"
    again.close()


def test_runs_sweeps_and_jobs_share_one_table_and_one_restart_marks_every_kind(tmp_path):
    from compression.distillation.jobs import JobManager

    store = RunStore(tmp_path / "runs")
    store.create_run("r1", {"seed": 1})
    store.sweeps.create_run("s1", {"cells": []})
    JobStore(store, "benchmark").create_run("b1", {"run_id": "r1"})
    store.add_metrics("r1", [{"model": "student", "epoch": 1, "train_loss": 1, "test_loss": 1, "test_accuracy": 0.5}])
    store.sweeps.add_metrics(
        "s1", [{"model": "T=1 α=0.5", "cell": 3, "epoch": 1, "train_loss": 1, "test_loss": 1, "test_accuracy": 0.4}]
    )
    assert store.get_run("s1") is None and store.sweeps.get_sweep("r1") is None  # a kind sees only its own
    assert store.sweeps.get_sweep("s1").history["cell"].tolist() == [3]
    store.finish("r1", {"student": {"test_accuracy": 0.5, "test_loss": 1.0, "agreement": 0.7}, "config": {"seed": 1}})
    store.close()
    manager = JobManager(RunStore(tmp_path / "runs"), data_dir=tmp_path)
    try:
        assert manager.recovered == 2  # the sweep and the benchmark; the finished run is kept
        assert manager.store.sweeps.get_sweep("s1").status == "interrupted"
        assert JobStore(manager.store, "benchmark").get("b1")["status"] == "interrupted"
        raw = sqlite3.connect(tmp_path / "runs" / DB_NAME)
        students = raw.execute("SELECT run_id, kind, test_accuracy, agreement FROM students").fetchall()
        assert students == [("r1", "student", 0.5, 0.7)]
        raw.close()
    finally:
        manager.shutdown()


def test_a_sweep_on_a_broken_runs_folder_is_a_storage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = RunStore(blocker / "runs")
    with pytest.raises(StorageError, match="runs folder"):
        store.sweeps.list_sweeps()
    with pytest.raises(StorageError, match="runs folder"):
        store.sweeps.get_sweep("abc")
    with pytest.raises(StorageError, match="runs folder"):
        JobStore(store, "benchmark").latest(run_id="x")
