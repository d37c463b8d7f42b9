"""Shared test setup: every test run gets its own data, runs and quiz folders (never the user's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def isolated_lab_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Point COMPRESSION_LAB_* folders at a temporary place for the whole session."""
    base = tmp_path_factory.mktemp("lab")
    dirs = {"DATA_DIR": base / "data", "RUNS_DIR": base / "runs", "QUIZ_DB": base / "runs" / "quiz.sqlite"}
    dirs["DATA_DIR"].mkdir()
    dirs["RUNS_DIR"].mkdir()
    saved = {k: os.environ.get("COMPRESSION_LAB_" + k) for k in dirs}
    for key, value in dirs.items():
        os.environ["COMPRESSION_LAB_" + key] = str(value)
    os.environ.setdefault("COMPRESSION_LAB_ALLOW_DOWNLOAD", "0")
    yield dirs
    for key, value in saved.items():
        if value is None:
            os.environ.pop("COMPRESSION_LAB_" + key, None)
        else:
            os.environ["COMPRESSION_LAB_" + key] = value


@pytest.fixture
def one_torch_thread():
    """torch on one intra-op thread for this test (a 2-core machine shared with the tests' own servers),
    restored afterwards so the setting never leaks into other tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
