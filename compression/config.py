"""Settings read from environment variables, each with a safe default.

Every variable is documented in the README's "Configuration" section.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "COMPRESSION_LAB_"


def _env(name: str, default: str) -> str:
    value = os.environ.get(ENV_PREFIX + name, "").strip()
    return value or default


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be a whole number, got {raw!r}.") from exc
    if value < minimum:
        raise ValueError(f"{ENV_PREFIX}{name} must be at least {minimum}, got {value}.")
    return value


def _env_float(name: str, default: float, minimum: float) -> float:
    raw = _env(name, repr(default))
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be a number, got {raw!r}.") from exc
    if not value >= minimum or value == float("inf"):
        raise ValueError(f"{ENV_PREFIX}{name} must be a finite number of at least {minimum}, got {raw}.")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{ENV_PREFIX}{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}.")


@dataclass(frozen=True)
class Settings:
    """Server-wide settings. Read them with `Settings.from_env()`."""

    data_dir: Path
    """Folder holding MNIST / Fashion-MNIST / CIFAR-10 files (COMPRESSION_LAB_DATA_DIR)."""
    runs_dir: Path
    """Folder of the run store: SQLite database and safetensors weights (COMPRESSION_LAB_RUNS_DIR)."""
    quiz_db: Path
    """SQLite file of the quiz room statistics (COMPRESSION_LAB_QUIZ_DB)."""
    device: str
    """Training device: auto, cpu, cuda, cuda:N or mps (COMPRESSION_LAB_DEVICE)."""
    allow_download: bool
    """Whether torchvision may try to download a missing dataset (COMPRESSION_LAB_ALLOW_DOWNLOAD)."""
    max_queue: int
    """Most jobs waiting in the training queue (COMPRESSION_LAB_MAX_QUEUE)."""
    max_epochs: int
    """Most student epochs one job may ask for (COMPRESSION_LAB_MAX_EPOCHS)."""
    max_sample_passes: int | None
    """Most training-sample passes one job may ask for, all its models together (COMPRESSION_LAB_MAX_SAMPLE_PASSES);
    None (the default): only the estimated time below bounds the work."""
    train_threads: int
    """CPU threads a training job may use (COMPRESSION_LAB_TRAIN_THREADS)."""
    max_job_seconds: float = 600.0
    """Most estimated training time of one job (COMPRESSION_LAB_MAX_JOB_MINUTES, in minutes; default 10)."""
    train_gflops: float = 50.0
    """Training throughput the estimate assumes, GFLOP/s (COMPRESSION_LAB_TRAIN_GFLOPS; default 50 per thread)."""
    max_params: int = 20_000_000
    """Most parameters of the teacher or the student (COMPRESSION_LAB_MAX_PARAMS)."""
    max_job_memory_mb: int = 3072
    """Most estimated memory of one job in MiB (COMPRESSION_LAB_MAX_JOB_MEMORY_MB)."""
    max_jobs_per_visitor: int = 2
    """Most queued or running jobs one visitor may have; the presenter is exempt (COMPRESSION_LAB_MAX_JOBS_PER_VISITOR)."""
    presenter_key: str | None = None
    """Secret that makes a visitor the presenter (COMPRESSION_LAB_PRESENTER_KEY); None: only localhost is."""
    max_sweep_cells: int = 72
    """Most students one sweep trains at once, cells × seeds with controls (COMPRESSION_LAB_MAX_SWEEP_CELLS)."""
    cpu_workers: int = 1
    """Jobs that run side by side on the CPU, each in its own worker process of `train_threads` threads
    (COMPRESSION_LAB_CPU_WORKERS); a 32-core server might use 8 workers of 4 threads."""
    ptq_inline_seconds: float = 5.0
    """A Compress page PTQ sweep estimated at most this many seconds is quantized at once on the server;
    a larger one goes through the job queue (COMPRESSION_LAB_PTQ_INLINE_SECONDS)."""
    ray_address: str | None = None
    """A Ray cluster that runs every job as a task (COMPRESSION_LAB_RAY_ADDRESS): "auto" (the cluster this machine
    belongs to, after `ray start`), "host:6379", "ray://host:10001", or "local" (a cluster of this machine alone,
    started by the server with cpu_workers × train_threads CPUs). None (the default): the local workers."""
    ray_ship_code: bool = True
    """Ship the `compression` package to the Ray workers with each job's runtime environment
    (COMPRESSION_LAB_RAY_SHIP_CODE); 0 when every node has the project installed."""

    def __repr__(self) -> str:  # never print the presenter key
        fields = {k: v for k, v in self.__dict__.items() if k != "presenter_key"}
        key = "set" if self.presenter_key else "unset"
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in fields.items())}, presenter_key=<{key}>)"

    @classmethod
    def from_env(cls) -> Settings:
        cpu_count = os.cpu_count() or 1
        runs_dir = Path(_env("RUNS_DIR", "runs")).expanduser()
        train_threads = _env_int("TRAIN_THREADS", max(1, cpu_count - 1))
        return cls(
            data_dir=Path(_env("DATA_DIR", "data")).expanduser(),
            runs_dir=runs_dir,
            quiz_db=Path(_env("QUIZ_DB", str(runs_dir / "quiz.sqlite"))).expanduser(),
            device=_env("DEVICE", "auto"),
            allow_download=_env_bool("ALLOW_DOWNLOAD", False),
            max_queue=_env_int("MAX_QUEUE", 8),
            max_epochs=_env_int("MAX_EPOCHS", 2000),
            max_sample_passes=_env_int("MAX_SAMPLE_PASSES", 0, minimum=0) or None,
            # Leave one core to the web server so pages stay responsive while training.
            train_threads=train_threads,
            # No single job holds the room's queue for long: the work estimate (FLOPs / throughput) is bounded.
            max_job_seconds=60.0 * _env_float("MAX_JOB_MINUTES", 10.0, minimum=0.1),
            train_gflops=_env_float("TRAIN_GFLOPS", 50.0 * train_threads, minimum=0.001),
            max_params=_env_int("MAX_PARAMS", 20_000_000),
            max_job_memory_mb=_env_int("MAX_JOB_MEMORY_MB", 3072),
            max_jobs_per_visitor=_env_int("MAX_JOBS_PER_VISITOR", 2),
            presenter_key=os.environ.get(ENV_PREFIX + "PRESENTER_KEY", "").strip() or None,
            max_sweep_cells=_env_int("MAX_SWEEP_CELLS", 72),
            cpu_workers=_env_int("CPU_WORKERS", 1),
            ptq_inline_seconds=_env_float("PTQ_INLINE_SECONDS", 5.0, minimum=0.0),
            ray_address=_env("RAY_ADDRESS", "") or None,
            ray_ship_code=_env_bool("RAY_SHIP_CODE", True),
        )
