"""Command line: the page's trainer without the page.

    python -m compression.distill --dataset digits --json results.json

Every flag defaults to the page's default configuration, so the line above reproduces the page's default run.
`--epochs` sets the students' epochs; `--teacher-epochs` the teacher's (default: the preset's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from compression.config import Settings
from compression.distillation.data import dataset_names
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS
from compression.distillation.trainer import (
    DEFAULT_CONFIG,
    ProgressEvent,
    TeacherCache,
    TrainConfig,
    TrainingCancelled,
    TrainingError,
    train,
)


def build_parser() -> argparse.ArgumentParser:
    d = DEFAULT_CONFIG
    p = argparse.ArgumentParser(
        prog="python -m compression.distill",
        description="Train a teacher, distil a student from it, and train the same student without distillation.",
    )
    p.add_argument("--dataset", default=d.dataset, choices=dataset_names())
    p.add_argument("--teacher", default=d.teacher, help=f"preset ({', '.join(TEACHER_PRESETS)}) or mlp:H1,H2")
    p.add_argument("--student", default=d.student, help=f"preset ({', '.join(STUDENT_PRESETS)}) or mlp:H1,H2")
    p.add_argument("--epochs", type=int, default=d.epochs, help="student epochs")
    p.add_argument("--teacher-epochs", type=int, default=d.teacher_epochs, help="default: the teacher preset's")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--temperature", "-T", type=float, default=d.temperature)
    p.add_argument("--alpha", type=float, default=d.alpha, help="weight of the soft (teacher) term; 1 - alpha on CE")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--train-fraction", type=float, default=d.train_fraction)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="0 drops the smoothing control")
    p.add_argument("--student-augment", action="store_true", help="random 1-pixel shifts for the students too")
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default COMPRESSION_LAB_TRAIN_THREADS)"
    )
    p.add_argument(
        "--json", type=Path, default=None, help="write results (teacher, student, baseline, history, config)"
    )
    p.add_argument("--no-cache", action="store_true", help="always train the teacher (no teacher cache on disk)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    # --- sweep: a T × alpha grid trained as one batched job (compression/distillation/sweep.py) ---
    p.add_argument(
        "--sweep-temperature", default=None, metavar="T1,T2,...", help="train a grid over these temperatures"
    )
    p.add_argument("--sweep-alpha", default=None, metavar="A1,A2,...", help="train a grid over these alphas")
    p.add_argument("--sweep-seeds", type=int, default=1, help="seed replicates per cell (3 measures the noise)")
    p.add_argument(
        "--sweep-max-cells",
        type=int,
        default=None,
        help="most students at once (default COMPRESSION_LAB_MAX_SWEEP_CELLS)",
    )
    return p


class ProgressBar:
    """A one-line text progress bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.width = 30

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        if event.kind == "status":
            sys.stderr.write(f"\r\033[K{event.message}\n")
        elif event.kind in ("progress", "epoch"):
            filled = int(self.width * event.fraction)
            line = (
                f"\r[{'#' * filled}{'.' * (self.width - filled)}] {100 * event.fraction:5.1f}% "
                f"{event.phase} epoch {event.epoch}/{event.total_epochs} {time.monotonic() - self.started:6.1f}s"
            )
            if event.kind == "epoch" and event.rows:
                line += "  " + " ".join(f"{r['model']} {100 * r['test_accuracy']:.1f}%" for r in event.rows)
            sys.stderr.write("\033[K" + line)
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads or settings.train_threads)
    config = TrainConfig(
        dataset=args.dataset,
        teacher=args.teacher,
        student=args.student,
        epochs=args.epochs,
        teacher_epochs=args.teacher_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        temperature=args.temperature,
        alpha=args.alpha,
        seed=args.seed,
        device=args.device,
        train_fraction=args.train_fraction,
        label_smoothing=args.label_smoothing,
        student_augment=args.student_augment,
    )
    bar = ProgressBar(not args.quiet)
    cache = TeacherCache(None if args.no_cache else settings.runs_dir / "teachers")
    if args.sweep_temperature is not None or args.sweep_alpha is not None:
        return sweep_main(args, config, settings, bar, cache)
    try:
        result = train(
            config,
            data_dir=settings.data_dir,
            allow_download=settings.allow_download,
            max_epochs=settings.max_epochs,
            teacher_cache=cache,
            on_event=bar,
        )
    except (ValueError, TrainingError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, TrainingCancelled):
        print("\ncancelled", file=sys.stderr)
        return 130
    if bar.enabled:
        sys.stderr.write("\n")
    for role, model in result.models.items():
        agree = "" if model.agreement is None else f", agrees with teacher {100 * model.agreement:.1f}%"
        print(
            f"{role:10s} {model.architecture:18s} test accuracy {100 * model.test_accuracy:6.2f}%  "
            f"{model.params:>9,d} params  {model.size_bytes / 1024:8.1f} KiB  ×{model.compression_ratio:.1f} smaller"
            f"{agree}"
        )
    gap = result.gap_closed
    print(
        f"distilled − baseline: {100 * (result.models['student'].test_accuracy - result.models['baseline'].test_accuracy):+.2f} points; "
        f"gap closed: {'n/a (teacher not above baseline)' if gap is None else f'{100 * gap:.0f}%'}; {result.seconds:.1f} s on {result.device}"
    )
    if args.json:
        args.json.write_text(json.dumps(result.to_json(), indent=1))
        print(f"wrote {args.json}")
    return 0


def sweep_main(args: argparse.Namespace, config: TrainConfig, settings: Settings, bar: ProgressBar,
               cache: TeacherCache) -> int:  # fmt: skip
    """--sweep-temperature / --sweep-alpha: every (T, alpha) cell and the controls as one batched job."""
    from dataclasses import replace as dataclass_replace

    from compression.distillation.sweep import SweepConfig, parse_values, train_sweep

    try:
        temperatures = parse_values(args.sweep_temperature or str(config.temperature), "--sweep-temperature")
        alphas = parse_values(args.sweep_alpha or str(config.alpha), "--sweep-alpha")
        sweep = SweepConfig.grid(config, temperatures, alphas, seeds=args.sweep_seeds)
        result = train_sweep(
            sweep,
            data_dir=settings.data_dir,
            allow_download=settings.allow_download,
            max_epochs=settings.max_epochs,
            max_cells=args.sweep_max_cells,
            teacher_cache=cache,
            on_event=lambda event: bar(dataclass_replace(event, rows=event.rows[:4])),  # a readable line
        )
    except (ValueError, TrainingError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, TrainingCancelled):
        print("\ncancelled", file=sys.stderr)
        return 130
    if bar.enabled:
        sys.stderr.write("\n")
    data = result.to_json()
    baseline = data.get("baseline", {}).get("test_accuracy")
    print(
        f"teacher    {data['teacher']['architecture']:18s} test accuracy {100 * data['teacher']['test_accuracy']:6.2f}%"
    )
    for row in sorted(data["summary"], key=lambda r: -r["test_accuracy"]):
        spread = "" if row["std"] is None else f" ± {100 * row['std']:.2f}"
        gain = "" if baseline is None else f"  {100 * (row['test_accuracy'] - baseline):+6.2f} vs baseline"
        print(f"{row['name']:14s} test accuracy {100 * row['test_accuracy']:6.2f}%{spread} (n={row['seeds']}){gain}")
    print(data["verdict"]["headline"])
    print(f"{len(result.cells)} students in {result.seconds:.1f} s on {result.device}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
