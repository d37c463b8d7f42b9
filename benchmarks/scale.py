"""N short distillation runs (N = 1, 2, 4) three ways, side by side in one run:

- one after another: the local backend with one CPU worker (today's default);
- local, 2 workers: the local backend with COMPRESSION_LAB_CPU_WORKERS=2;
- Ray, 2 slots: a local Ray cluster of 2 CPUs (`ray.init(address="local", num_cpus=2)`), one task per job.

Every job trains with 1 thread. Printed: the wall time of the N runs and its ratio to one after another; the
start-to-first-epoch time per job (the backend's overhead: a worker process, or a Ray task with its mailbox) for
a warm backend and for its first, cold job; the server process's RSS before and after Ray joins, and the RSS of
Ray's own processes (GCS, raylet, workers, the mailbox actor).

    .venv/bin/python benchmarks/scale.py [--teacher-epochs 20] [--epochs 60] [--n 1 2 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression.distillation.jobs import JobManager  # noqa: E402
from compression.distillation.store import RunStore  # noqa: E402
from compression.distillation.trainer import TrainConfig  # noqa: E402


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def worker_pids(managers: dict[str, JobManager]) -> set[int]:
    """The local backends' worker processes (children of this process too, but not Ray's)."""
    pids = set()
    for manager in managers.values():
        for runner in manager._runners.values():
            process = getattr(runner, "process", None)
            if process is not None and process.pid:
                pids.add(process.pid)
    return pids


def run_batch(manager: JobManager, config: TrainConfig, seeds: list[int]) -> tuple[float, list[float]]:
    """Submit one job per seed at once; wall time until all are done, and each job's start-to-first-epoch."""
    started = time.perf_counter()
    jobs = [manager.submit(replace(config, seed=seed), privileged=True) for seed in seeds]
    first_epoch: dict[str, float] = {}
    while any(manager.snapshot(j.id).active for j in jobs):
        for job in jobs:
            snap = manager.snapshot(job.id)
            if job.id not in first_epoch and snap.history and snap.started_at:
                first_epoch[job.id] = time.time() - snap.started_at
        threading.Event().wait(0.02)
    wall = time.perf_counter() - started
    for job in jobs:
        snap = manager.snapshot(job.id)
        assert snap.status == "done", snap.error
    return wall, [first_epoch[j.id] for j in jobs if j.id in first_epoch]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--teacher-epochs", type=int, default=20)
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = TrainConfig(
        teacher="article-teacher", teacher_epochs=args.teacher_epochs, epochs=args.epochs, device="cpu"
    )
    folder = Path(tempfile.mkdtemp(prefix="scale-"))
    print(f"{os.cpu_count()} CPUs here; {sum(args.n)} runs per backend of {config.teacher_epochs} teacher + "
          f"{config.epochs} student epochs on digits, 1 thread each")  # fmt: skip
    rows: dict[str, dict[int, float]] = {}
    overhead: dict[str, tuple[float, list[float]]] = {}
    seed = [100]

    def seeds(n: int) -> list[int]:  # a new teacher for every job: no backend gets the teacher cache
        seed[0] += n
        return list(range(seed[0] - n, seed[0]))

    def warm_up(name: str, manager: JobManager) -> None:
        """Not counted: starts every slot's worker process (or Ray worker), which imports torch."""
        _, firsts = run_batch(manager, config, seeds(manager.slots("ray" if manager.ray else "cpu")))
        rows[name] = {}
        overhead[name] = (max(firsts) if firsts else float("nan"), [])

    managers: dict[str, JobManager] = {}
    for name, workers in (("one after another", 1), ("local, 2 workers", 2)):
        managers[name] = JobManager(RunStore(folder / f"local{workers}"), data_dir=folder / "data", train_threads=1,
                                    executor="process", cpu_workers=workers, max_queue=16)  # fmt: skip
        warm_up(name, managers[name])
    rss_local = rss_mb()

    import ray

    started = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    init_s = time.perf_counter() - started
    managers["Ray, 2 slots"] = JobManager(RunStore(folder / "ray"), data_dir=folder / "data", train_threads=1,
                                          ray_address="local", max_queue=16)  # fmt: skip
    try:
        cluster = managers["Ray, 2 slots"].ray
        assert cluster.wait_ready(300) and cluster.state == "connected", cluster.error
        warm_up("Ray, 2 slots", managers["Ray, 2 slots"])
        rss_ray = rss_mb()
        ray_processes = sum(rss_mb(pid) for pid in descendants(os.getpid()) if pid not in worker_pids(managers))
        # Interleaved (N, then each backend in turn), best of `repeats`: a shared machine's load drifts.
        for _ in range(args.repeats):
            for n in args.n:
                for name, manager in managers.items():
                    wall, firsts = run_batch(manager, config, seeds(n))
                    rows[name][n] = min(rows[name].get(n, float("inf")), wall)
                    overhead[name][1].extend(firsts)
    finally:
        for manager in managers.values():
            manager.shutdown()
        ray.shutdown()

    base = rows["one after another"]
    print(f"\n{'N':>3} | " + " | ".join(f"{name:>22}" for name in rows))
    for n in args.n:
        cells = [f"{rows[name][n]:6.1f} s ({rows[name][n] / base[n]:4.2f}x)" for name in rows]
        print(f"{n:>3} | " + " | ".join(f"{c:>22}" for c in cells))
    print(f"(best of {args.repeats}, interleaved)\n\nstart to first epoch (a teacher epoch included), per job:")
    for name, (cold, warm) in overhead.items():
        median = statistics.median(warm) if warm else float("nan")
        print(f"  {name:>18}: cold (worker start) {cold:5.1f} s; warm median {median:5.2f} s over {len(warm)} jobs")
    print(f"\nray.init(local, 2 CPUs): {init_s:.1f} s")
    print(f"server RSS: {rss_local:.0f} MB without Ray, {rss_ray:.0f} MB with Ray joined "
          f"(+{rss_ray - rss_local:.0f} MB); Ray's own processes: {ray_processes:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
