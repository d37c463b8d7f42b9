"""Does splitting one sweep across devices pay? One T × alpha sweep trained as one stacked group on one device
with all the threads, against the same cells split in two halves trained at the same time on two devices of half
the threads each (two processes: what two CPU workers, or two GPUs, would do), side by side, best of N, in turns.

Printed: the wall time of each form and split / whole. A ratio below 1 means splitting pays here. The shared
teacher is trained in each process (the cache is off), as it would be on a device without the cached teacher;
a second figure subtracts it (both halves train it at the same time, so it costs one teacher's time).

    .venv/bin/python benchmarks/sweep_split.py [--epochs 60] [--temperatures 1,2,4,8] [--alphas 0.3,0.5,0.7,0.9]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(temperatures: str, alphas: str, epochs: int, threads: int, teacher_epochs: int) -> list[str]:
    return [sys.executable, "-m", "compression.distill", "--dataset", "digits", "--teacher", "article-teacher",
            "--epochs", str(epochs), "--teacher-epochs", str(teacher_epochs), "--device", "cpu", "--threads",
            str(threads), "--no-cache", "--quiet", "--sweep-temperature", temperatures, "--sweep-alpha", alphas,
            "--json", os.devnull]  # fmt: skip


def wall(commands: list[list[str]]) -> float:
    start = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(err.decode()[-2000:])
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--teacher-epochs", type=int, default=20)
    ap.add_argument("--temperatures", default="1,2,4,8")
    ap.add_argument("--alphas", default="0.3,0.5,0.7,0.9")
    ap.add_argument("--threads", type=int, default=2, help="threads of the whole; each half gets half")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    alphas = args.alphas.split(",")
    half = len(alphas) // 2
    halves = [",".join(alphas[:half]), ",".join(alphas[half:])]
    each = max(1, args.threads // 2)
    whole_cmd = [cli(args.temperatures, args.alphas, args.epochs, args.threads, args.teacher_epochs)]
    split_cmd = [cli(args.temperatures, h, args.epochs, each, args.teacher_epochs) for h in halves]
    teacher_cmd = [cli("1", "0.5", 1, args.threads, args.teacher_epochs)]  # the teacher and one tiny cell
    times: dict[str, list[float]] = {"whole": [], "split": [], "teacher": []}
    for r in range(args.repeats):
        order = [("whole", whole_cmd), ("split", split_cmd), ("teacher", teacher_cmd)]
        for name, commands in order if r % 2 == 0 else order[::-1]:
            times[name].append(wall(commands))
    best = {k: min(v) for k, v in times.items()}
    cells = len(args.temperatures.split(",")) * len(alphas)
    print(f"sweep of {cells} cells + controls, {args.epochs} epochs, digits; whole: 1 process × {args.threads} "
          f"threads; split: 2 processes × {each} thread(s), at once; best of {args.repeats}, in turns")  # fmt: skip
    print(f"  whole   {best['whole']:7.2f} s")
    print(f"  split   {best['split']:7.2f} s   split / whole = {best['split'] / best['whole']:.2f}")
    t = best["teacher"]
    print(f"  without the teacher's share ({t:.2f} s): split / whole = {(best['split'] - t) / (best['whole'] - t):.2f}")
    print(f"  machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
