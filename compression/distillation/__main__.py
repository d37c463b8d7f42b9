"""Command line: the page's trainer without the page.

    python -m compression.distill --dataset digits --json results.json

Every flag defaults to the page's default configuration for the chosen dataset (`default_config`), so the
line above reproduces the page's default run. `--epochs` sets the students' epochs; `--teacher-epochs` the
teacher's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from compression.config import Settings
from compression.distillation.data import DATASETS, dataset_names
from compression.distillation.models import STUDENT_PRESETS, TEACHER_PRESETS
from compression.distillation.trainer import (
    DEFAULT_CONFIG,
    ProgressEvent,
    TeacherCache,
    TrainConfig,
    TrainingCancelled,
    TrainingError,
    default_config,
    train,
)
from compression.distillation.variants import VARIANTS


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" after each flag's help, except for switches and per-dataset defaults."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or isinstance(action.default, bool):
            return action.help or ""
        return super()._get_help_string(action)


def _per_dataset(field: str) -> str:
    """'digits 1000, mnist 20, ...': a default that depends on the dataset (DatasetInfo)."""
    return ", ".join(f"{name} {getattr(default_config(name), field)}" for name in DATASETS)


def build_parser() -> argparse.ArgumentParser:
    d = DEFAULT_CONFIG
    p = argparse.ArgumentParser(
        prog="python -m compression.distill",
        description="Train a teacher, distil a student from it, and train the same student without distillation. "
        "Epochs, batch size and teacher default to the dataset's own defaults, the same as the page's.",
        formatter_class=_DefaultsHelp,
    )
    variants = ", ".join(VARIANTS)
    p.add_argument("--dataset", default=d.dataset, choices=dataset_names(), help="what to train on")
    p.add_argument(
        "--teacher", default=None, help=f"preset ({', '.join(TEACHER_PRESETS)}) or mlp:H1,H2; per dataset: "
        f"{_per_dataset('teacher')}"
    )  # fmt: skip
    p.add_argument("--student", default=d.student, help=f"preset ({', '.join(STUDENT_PRESETS)}) or mlp:H1,H2")
    p.add_argument("--epochs", type=int, default=None, help=f"student epochs; per dataset: {_per_dataset('epochs')}")
    p.add_argument(
        "--teacher-epochs", type=int, default=None,
        help="teacher epochs; per dataset: " + ", ".join(
            f"{name} {default_config(name).resolved_teacher_epochs()}" for name in DATASETS
        ),
    )  # fmt: skip
    p.add_argument("--batch-size", type=int, default=None, help=f"per dataset: {_per_dataset('batch_size')}")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (cosine schedule)")
    p.add_argument(
        "--temperature", "-T", type=float, default=d.temperature, help="softmax temperature T, at least 0.05"
    )
    p.add_argument("--alpha", type=float, default=d.alpha, help="weight of the soft (teacher) term; 1 - alpha on CE")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split, the initial weights and the batches")
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--train-fraction", type=float, default=None,
        help="share of the training pool used; per dataset: " + ", ".join(
            f"{name} {info.default_train_fraction}" for name, info in DATASETS.items()
        ),
    )  # fmt: skip
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="0 drops the smoothing control")
    p.add_argument("--student-augment", action="store_true", help="random 1-pixel shifts for the students too")
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: COMPRESSION_LAB_TRAIN_THREADS)"
    )
    p.add_argument(
        "--json", type=Path, default=None,
        help=f"write results: teacher, {variants} (one entry per model), history, config",
    )  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="always train the teacher (no teacher cache on disk)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--ptq-bits", default=None, help="after training, quantize every model's weights at these bits, e.g. 8,4,2"
    )
    p.add_argument("--ptq-granularity", default="per-channel", help="with --ptq-bits: per-channel, per-tensor, or both")
    p.add_argument(
        "--qat-bits", default=None,
        help="after training, fine-tune the distilled student and the baseline with weights fake-quantized at these "
        "bits, without and with the teacher (quantization-aware training), e.g. 4,2",
    )  # fmt: skip
    p.add_argument("--qat-epochs", type=int, default=None, help="with --qat-bits: QAT epochs (default 10)")
    p.add_argument("--qat-seeds", type=int, default=1, help="with --qat-bits: batch-order replicates per model")
    p.add_argument("--qat-save", type=Path, default=None, metavar="DIR",
                   help="with --qat-bits: write DIR/<model>-int<b>-qat[-teacher].safetensors (codes and scales)")  # fmt: skip
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


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run the flags describe: the dataset's defaults (`default_config`), overridden by each flag given."""
    base = default_config(args.dataset)
    given = {
        "teacher": args.teacher,
        "student": args.student,
        "epochs": args.epochs,
        "teacher_epochs": args.teacher_epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "temperature": args.temperature,
        "alpha": args.alpha,
        "seed": args.seed,
        "device": args.device,
        "train_fraction": args.train_fraction,
        "label_smoothing": args.label_smoothing,
        "student_augment": args.student_augment,
    }
    return replace(base, **{k: v for k, v in given.items() if v is not None})


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
    ptq_bits: list[int] = []
    ptq_granularities: list[str] = []
    if args.ptq_bits is not None:
        from compression import ptq

        try:
            ptq_bits = ptq.parse_bits_list(args.ptq_bits)
            ptq_granularities = ptq.parse_choice_list(args.ptq_granularity, ptq.GRANULARITIES, "granularity")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    qat_plan = None
    if args.qat_bits is not None:
        from compression.ptq import qat

        try:
            qat_plan = qat.QATPlan(
                bits=qat.parse_qat_bits(args.qat_bits), seeds=args.qat_seeds,
                epochs=qat.DEFAULT_QAT_EPOCHS if args.qat_epochs is None else args.qat_epochs,
            ).check()  # fmt: skip
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    config = config_from_args(args)
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
    payload = result.to_json()
    if ptq_bits:
        from compression import ptq

        loaded = ptq.models_from_weights(
            result.config, result.weights, data_dir=settings.data_dir, allow_download=settings.allow_download
        )
        frame = ptq.sweep_models(
            loaded.models, loaded.x_test, loaded.y_test, ptq.configs_for(ptq_bits, ptq_granularities),
            reference_size=loaded.teacher_size,
        )  # fmt: skip
        frame = frame[frame["bits"] < 32]
        keep = ["model", "bits", "granularity", "scheme", "calibration", "test_accuracy", "agreement", "size_bytes",
                "compression_ratio"]  # fmt: skip
        payload["ptq"] = frame[keep].to_dict(orient="records")
        print("post-training quantization (weights):")
        for row in payload["ptq"]:
            print(
                f"  {row['model']:10s} int{row['bits']} {row['granularity']:11s} test accuracy "
                f"{100 * row['test_accuracy']:6.2f}%  agrees with float {100 * row['agreement']:6.2f}%  "
                f"{row['size_bytes']:>9,d} B  ×{row['compression_ratio']:.1f} smaller than the teacher"
            )
    if qat_plan is not None:
        from compression.ptq import qat

        try:
            qat_result = qat.qat_from_weights(
                result.config, result.weights, qat_plan, data_dir=settings.data_dir,
                allow_download=settings.allow_download, device=config.device, emit=bar,
            )  # fmt: skip
        except (ValueError, TrainingError) as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            return 2
        except (KeyboardInterrupt, TrainingCancelled):
            print("\ncancelled", file=sys.stderr)
            return 130
        if bar.enabled:
            sys.stderr.write("\n")
        payload["qat"] = qat.cli_rows(qat_result)
        qat.print_qat(qat_result)
        if args.qat_save is not None:
            print(f"wrote {len(qat.save_models(qat_result, args.qat_save))} QAT models in {args.qat_save}")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=1))
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
