"""The work budget (compression/distillation/budget.py) against the measured time of the students it budgets.

For a few groups on digits (a run: 3 students looped; sweeps of K students stacked and looped) it trains the
students with a cached teacher on one thread and prints the budget's estimate of the students' part, the measured
CPU time (this process's: steadier than wall time on a busy machine) and their ratio. It also prints the stacked
form's batching factor: the measured CPU time per student-epoch stacked over looped, the figure that
`budget.STACKED_ARITHMETIC` keeps (the stacked form pays the per-step overhead once per group step; its
arithmetic is then cheaper or dearer per student than K separate models, as measured here).

    .venv/bin/python benchmarks/work_estimate.py [--epochs 30] [--ks 4,16]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression.distillation import budget  # noqa: E402
from compression.distillation.sweep import SweepConfig, train_sweep  # noqa: E402
from compression.distillation.trainer import DEFAULT_CONFIG, TeacherCache, train  # noqa: E402

CELLS = [(t, a) for t in (1.0, 2.0, 4.0, 8.0) for a in (0.1, 0.5, 0.9, 1.0)] * 4


def students_estimate(config, students: int, stacked: bool) -> float:  # noqa: ANN001
    """The budget's seconds for the students alone (the same estimate minus its teacher-only part)."""
    full = budget.estimate_work(config, students=students, stacked=stacked).seconds
    return full - budget.estimate_work(config, students=0).seconds


def measure(fn) -> float:  # noqa: ANN001
    cpu = time.process_time()
    fn()
    return time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--ks", default="4,16")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = replace(DEFAULT_CONFIG, device="cpu", teacher="article-teacher", teacher_epochs=20, epochs=args.epochs)
    cache = TeacherCache()
    train(replace(base, epochs=1), teacher_cache=cache)  # the teacher once; every group below reuses it
    print(f"digits, student {base.student}, batch {base.batch_size}, {args.epochs} epochs, 1 thread, teacher cached; "
          f"load average {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| group | students | form | estimate s | measured CPU s | measured / estimate |")
    print("|---|---|---|---|---|---|")
    rows = []
    run_s = measure(lambda: train(base, teacher_cache=cache))
    est = students_estimate(base, 3, False)
    print(f"| run | 3 | looped | {est:.2f} | {run_s:.2f} | {run_s / est:.2f} |")
    for k in (int(x) for x in args.ks.split(",")):
        sweep = SweepConfig(replace(base, label_smoothing=0.0), tuple(dict.fromkeys(CELLS))[:k], controls=False)
        per_form = {}
        for form in ("stacked", "looped"):
            original = SweepConfig.mode
            SweepConfig.mode = lambda self, form=form: form  # noqa: B023 - the form of this measurement
            try:
                seconds = measure(lambda s=sweep: train_sweep(s, teacher_cache=cache, max_cells=1000))
            finally:
                SweepConfig.mode = original
            est = students_estimate(base, k, form == "stacked")
            per_form[form] = seconds
            print(f"| sweep | {k} | {form} | {est:.2f} | {seconds:.2f} | {seconds / est:.2f} |")
        rows.append((k, per_form["stacked"] / per_form["looped"]))
    print("\nBatching factor (CPU time stacked / looped, same students, same epochs):")
    for k, factor in rows:
        print(f"  K = {k}: {factor:.2f}")
    print(f"budget.STACKED_ARITHMETIC = {budget.STACKED_ARITHMETIC} (the share of the looped arithmetic the stacked "
          "form is charged; its per-step overhead is paid once per group step)")  # fmt: skip


if __name__ == "__main__":
    main()
