from __future__ import annotations

import pytest

from compression.article import comparison_table
from compression.config import Settings


def test_settings_defaults(monkeypatch):
    for key in ("DATA_DIR", "RUNS_DIR", "QUIZ_DB", "DEVICE", "MAX_QUEUE", "ALLOW_DOWNLOAD"):
        monkeypatch.delenv("COMPRESSION_LAB_" + key, raising=False)
    s = Settings.from_env()
    assert str(s.data_dir) == "data"
    assert str(s.quiz_db) == "runs/quiz.sqlite"
    assert s.device == "auto" and s.allow_download is False and s.max_queue >= 1


def test_settings_reject_bad_numbers(monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_MAX_QUEUE", "lots")
    with pytest.raises(ValueError, match="COMPRESSION_LAB_MAX_QUEUE must be a whole number"):
        Settings.from_env()
    monkeypatch.setenv("COMPRESSION_LAB_MAX_QUEUE", "0")
    with pytest.raises(ValueError, match="at least 1"):
        Settings.from_env()
    monkeypatch.setenv("COMPRESSION_LAB_MAX_QUEUE", "3")
    monkeypatch.setenv("COMPRESSION_LAB_ALLOW_DOWNLOAD", "maybe")
    with pytest.raises(ValueError, match="ALLOW_DOWNLOAD"):
        Settings.from_env()


def test_comparison_table_both_languages():
    en, zh = comparison_table("en"), comparison_table("zh")
    assert en.shape == zh.shape == (5, 2)
    assert zh.loc["目标", "量化"] == "减小模型大小和计算量"
    assert en.loc["Goal", "Quantization"] == "Reduce model size and computation"
    with pytest.raises(ValueError, match="Unknown language"):
        comparison_table("fr")


def test_work_limit_settings_have_defaults_and_refuse_bad_values(monkeypatch):
    for key in ("MAX_JOB_MINUTES", "TRAIN_GFLOPS", "MAX_PARAMS", "MAX_JOB_MEMORY_MB", "MAX_JOBS_PER_VISITOR",
                "MAX_SAMPLE_PASSES"):  # fmt: skip
        monkeypatch.delenv("COMPRESSION_LAB_" + key, raising=False)
    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "3")
    s = Settings.from_env()
    assert (s.max_job_seconds, s.train_gflops, s.max_params) == (600.0, 150.0, 20_000_000)
    assert (s.max_job_memory_mb, s.max_jobs_per_visitor, s.max_sample_passes) == (3072, 2, None)
    monkeypatch.setenv("COMPRESSION_LAB_MAX_JOB_MINUTES", "forever")
    with pytest.raises(ValueError, match="COMPRESSION_LAB_MAX_JOB_MINUTES must be a number"):
        Settings.from_env()
    monkeypatch.setenv("COMPRESSION_LAB_MAX_JOB_MINUTES", "inf")
    with pytest.raises(ValueError, match="finite"):
        Settings.from_env()
