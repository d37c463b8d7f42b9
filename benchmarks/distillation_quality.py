"""Does distillation beat the same student trained alone? Teacher, distilled, baseline, label smoothing, over seeds.

Every student of one run starts from the same weights and sees the same batches for the same epochs;
teachers are trained once per seed and reused (teacher cache). Prints one markdown table with mean ± std
over seeds, the paired gain (distilled − baseline), how many seeds distillation won, and whether the gain
exceeds the seed-to-seed noise (mean gain > std of the gain, and won on at least 80% of seeds), and the
distilled student against the label-smoothing control (is the gain the teacher's knowledge?).

    .venv/bin/python benchmarks/distillation_quality.py            # the grid below, 5 seeds
    .venv/bin/python benchmarks/distillation_quality.py --seeds 3 --only default --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression.distillation.trainer import DEFAULT_CONFIG, TeacherCache, train  # noqa: E402

BASE = replace(DEFAULT_CONFIG, device="cpu", teacher="cnn-small", student="article-student", train_fraction=0.2)
GRID = {
    "default": {},
    "100 ep": {"epochs": 100},
    "300 ep": {"epochs": 300},
    "2000 ep": {"epochs": 2000},
    "1000 ep, T=8": {"epochs": 1000, "temperature": 8.0},
    "1000 ep, a=0.5": {"epochs": 1000, "alpha": 0.5},
    "1000 ep, student mlp-32": {"epochs": 1000, "student": "mlp-32"},
}


def mean_std(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.2f} ± {100 * sd:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--only", nargs="*", default=None, help="names from the grid to run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = TeacherCache()
    grid = {k: v for k, v in GRID.items() if args.only is None or k in args.only}
    seen_configs: set[str] = set()
    rows, raw = [], {}
    print(f"base config: {BASE}\nseeds 0..{args.seeds - 1}, {args.threads} thread(s)\n", flush=True)
    for name, changes in grid.items():
        config = replace(BASE, **changes)
        fingerprint = json.dumps(config.to_dict(), sort_keys=True)
        if fingerprint in seen_configs:
            continue
        seen_configs.add(fingerprint)
        acc: dict[str, list[float]] = {"teacher": [], "student": [], "baseline": [], "smoothing": []}
        seconds = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            result = train(replace(config, seed=seed), teacher_cache=cache)
            seconds.append(time.perf_counter() - started)
            for role in acc:
                acc[role].append(result.models[role].test_accuracy)
            print(
                f"  {name} seed {seed}: " + ", ".join(f"{r} {100 * v[-1]:.2f}" for r, v in acc.items()),
                f"({seconds[-1]:.1f} s{' , teacher cached' if result.teacher_from_cache else ''})",
                flush=True,
            )
        gains = [s - b for s, b in zip(acc["student"], acc["baseline"], strict=True)]
        over_ls = [s - b for s, b in zip(acc["student"], acc["smoothing"], strict=True)]
        ls_sd = statistics.stdev(over_ls) if len(over_ls) > 1 else 0.0
        wins = sum(g > 0 for g in gains)
        gain_sd = statistics.stdev(gains) if len(gains) > 1 else 0.0
        beats_noise = statistics.fmean(gains) > gain_sd and wins >= 0.8 * len(gains)
        rows.append(
            f"| {name} | {config.epochs} | {config.student} | {config.temperature:g} | {config.alpha:g} "
            f"| {mean_std(acc['teacher'])} | {mean_std(acc['student'])} | {mean_std(acc['baseline'])} "
            f"| {mean_std(acc['smoothing'])} | {100 * statistics.fmean(gains):+.2f} ± {100 * gain_sd:.2f} "
            f"| {wins}/{len(gains)} | {'yes' if beats_noise else 'no'} "
            f"| {100 * statistics.fmean(over_ls):+.2f} ± {100 * ls_sd:.2f} ({sum(g > 0 for g in over_ls)}/{len(over_ls)}) "
            f"| {statistics.fmean(seconds):.1f} |"
        )
        raw[name] = {"config": config.to_dict(), "accuracy": acc, "gains": gains, "seconds": seconds}
    print("\nTest accuracy (%) over seeds, mean ± std; gain = distilled − baseline, paired by seed.")
    print("Run time is per run, teacher cached after its first seed-run (first run of each seed trains it).\n")
    print(
        "| setting | student epochs | student | T | alpha | teacher | distilled | baseline | label smoothing 0.1 "
        "| gain | wins | beats noise | distilled − smoothing (wins) | s/run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
