"""Win back what quantization cost: float / PTQ / QAT / QAT + teacher over seeds (compression/ptq/qat.py).

For each seed, trains the page's default digits run (small CNN teacher, the article's MLP student distilled, the
same student alone as baseline), then, at 8, 4, 3 and 2 bits (per-channel symmetric weights, min-max), measures
PTQ and trains QAT (labels only) and QAT + teacher (the run's KD loss, T and alpha) for the distilled student and
the baseline, with the default short schedule (10 epochs, lr 3e-3, cosine), as one group on the engine.
The seed changes everything (the run's split, initial weights, batches), so the spread is the real seed noise.

Prints, mean ± std over seeds (points of test accuracy):
- the table: float, PTQ, QAT, QAT + teacher per model and bitwidth;
- how much of PTQ's loss QAT wins back per bitwidth (QAT − PTQ, and as a share of float − PTQ);
- whether the teacher helps beyond the noise (paired difference QAT + teacher − QAT, mean ± std over seeds);
- PyTorch's own QAT (torch.ao.quantization.prepare_qat, per-channel symmetric weight fake-quant, activations off,
  PerChannelMinMaxObserver) on the same student, batches and schedule, against ours;
- the seconds one QAT job takes.

With MNIST files under $COMPRESSION_LAB_DATA_DIR, the same on an MNIST run (1 seed), else it says it skipped it.

    .venv/bin/python benchmarks/qat.py                 # 3 seeds of the default digits run (about 6 min, 1 thread)
    .venv/bin/python benchmarks/qat.py --seeds 1 --json qat.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression.config import Settings  # noqa: E402
from compression.distillation.data import expected_files, load_dataset  # noqa: E402
from compression.distillation.engine import LossTerms, Member, Progress, train_group  # noqa: E402
from compression.distillation.kinds import train_config_from_payload  # noqa: E402
from compression.distillation.trainer import DEFAULT_CONFIG, TeacherCache, train  # noqa: E402
from compression.ptq import qat  # noqa: E402
from compression.ptq.core import build_from_state  # noqa: E402

BASE = replace(DEFAULT_CONFIG, device="cpu", label_smoothing=0.0)
MNIST = replace(
    BASE, dataset="mnist", teacher="article-teacher", student="article-student", epochs=5, teacher_epochs=5,
    batch_size=256, train_fraction=1.0,
)  # fmt: skip
BITS = (8, 4, 3, 2)
ROLES = ("student", "baseline")


def torch_reference(run_config: dict, state: dict, data, bits: int, plan: qat.QATPlan) -> float:  # noqa: ANN001
    """PyTorch's own QAT of the student on the same data, batches and schedule (the engine, labels only)."""
    qmin, qmax = qat.weight_code_range(bits)
    model = build_from_state(run_config["student"], state, data.input_shape, data.num_classes)
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in torch 2.14: an oracle only
        warnings.simplefilter("ignore")
        from torch.ao.quantization import FakeQuantize, PerChannelMinMaxObserver, QConfig, prepare_qat

        weight = FakeQuantize.with_args(observer=PerChannelMinMaxObserver, quant_min=qmin, quant_max=qmax,
                                        dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)  # fmt: skip
        reference = copy.deepcopy(model).train()
        reference.qconfig = QConfig(activation=nn.Identity, weight=weight)
        reference = prepare_qat(reference, inplace=False)
        config = replace(train_config_from_payload(run_config), epochs=plan.epochs, lr=plan.lr)
        steps = plan.epochs * -(-len(data.y_train) // config.batch_size)
        group = train_group(config, [Member("torch", "qat", LossTerms())], data, None,
                            Progress(steps, lambda e: None, lambda: False), lambda e: None, modules=[reference],
                            phase="qat")  # fmt: skip
    return group.histories[0][-1]["test_accuracy"]


def one_seed(config, cache: TeacherCache, data_dir: Path) -> dict:  # noqa: ANN001
    result = train(config, data_dir=data_dir, teacher_cache=cache)
    plan = qat.QATPlan(models=ROLES, bits=BITS, seeds=1)
    started = time.perf_counter()
    out = qat.qat_from_weights(result.config, result.weights, plan, data_dir=data_dir)
    seconds = time.perf_counter() - started
    assert all(row["test_accuracy"] == row["trained_accuracy"] for row in out.rows)  # reported = PTQ path
    data = load_dataset(config.dataset, seed=config.seed, train_fraction=result.config["train_fraction"],
                        data_dir=data_dir)  # fmt: skip
    reference = {b: torch_reference(result.config, result.weights["student"], data, b, plan) for b in BITS}
    return {"rows": out.rows, "torch": reference, "seconds": seconds, "members": plan.members}


def pm(values: list[float], scale: float = 100.0) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.fmean(values):6.2f} ± {scale * sd:4.2f}"


def report(name: str, seeds: list[dict]) -> dict:
    n = len(seeds)

    def values(model: str, bits: int, field: str, teacher: bool | None = False) -> list[float]:
        out = []
        for s in seeds:
            for r in s["rows"]:
                if r["model"] == model and r["bits"] == bits and (teacher is None or r["teacher"] == teacher):
                    out.append(r[field])
                    break
        return out

    print(f"\n## {name}: test accuracy %, mean ± std over {n} seed(s)\n")
    print(f"{'model':9s} {'bits':>4s}  {'float':>13s}  {'PTQ':>13s}  {'QAT':>13s}  {'QAT + teacher':>13s}")
    table = []
    for model in ROLES:
        for bits in BITS:
            row = {
                "model": model, "bits": bits, "float": values(model, bits, "float_accuracy"),
                "ptq": values(model, bits, "ptq_accuracy"), "qat": values(model, bits, "test_accuracy"),
                "qat_teacher": values(model, bits, "test_accuracy", True),
            }  # fmt: skip
            table.append(row)
            print(
                f"{model:9s} {bits:>4d}  {pm(row['float'])}  {pm(row['ptq'])}  {pm(row['qat'])}  {pm(row['qat_teacher'])}"
            )
    print("\nQAT won back (QAT − PTQ, points; share of float − PTQ):")
    for row in table:
        won = [100 * (q - p) for q, p in zip(row["qat"], row["ptq"], strict=True)]
        lost = statistics.fmean(row["float"]) - statistics.fmean(row["ptq"])
        share = (
            ""
            if lost < 0.005
            else f"  ({100 * (statistics.fmean(row['qat']) - statistics.fmean(row['ptq'])) / lost:.0f}% of {100 * lost:.2f})"
        )
        print(f"  {row['model']:9s} int{row['bits']}: {pm(won, 1.0)}{share}")
    print("\nThe teacher's effect (QAT + teacher − QAT, paired per seed; 'beyond noise' when |mean| > 2 std/√n):")
    for row in table:
        diff = [100 * (a - b) for a, b in zip(row["qat_teacher"], row["qat"], strict=True)]
        mean = statistics.fmean(diff)
        sd = statistics.stdev(diff) if n > 1 else float("nan")
        beyond = "one seed: unknown" if n < 2 else ("beyond noise" if abs(mean) > 2 * sd / n**0.5 else "within noise")
        print(f"  {row['model']:9s} int{row['bits']}: {mean:+5.2f} ± {sd:4.2f}  {beyond}")
    print("\nPyTorch's prepare_qat (per-channel symmetric weights, activations off) vs ours, student, QAT:")
    reference = {}
    for bits in BITS:
        theirs = [s["torch"][bits] for s in seeds]
        ours = values("student", bits, "test_accuracy")
        gap = [100 * (a - b) for a, b in zip(ours, theirs, strict=True)]
        reference[bits] = {"ours": ours, "torch": theirs}
        print(f"  int{bits}: ours {pm(ours)}  torch.ao {pm(theirs)}  ours − torch {pm(gap, 1.0)} points")
    secs = [s["seconds"] for s in seeds]
    print(f"\none QAT job ({seeds[0]['members']} models, {len(BITS)} bitwidths): {statistics.fmean(secs):.1f} s "
          f"on {torch.get_num_threads()} thread(s)")  # fmt: skip
    return {"table": table, "reference": reference, "seconds": secs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = Settings.from_env()
    cache = TeacherCache()
    print(f"default run: {BASE}\nQAT: {qat.DEFAULT_QAT_EPOCHS} epochs at lr {qat.DEFAULT_QAT_LR:g}; seeds 0..{args.seeds - 1}",
          flush=True)  # fmt: skip
    seeds = []
    for seed in range(args.seeds):
        started = time.perf_counter()
        seeds.append(one_seed(replace(BASE, seed=seed), cache, settings.data_dir))
        print(f"  seed {seed}: trained, quantized and QAT-trained in {time.perf_counter() - started:.0f} s", flush=True)
    out = {"digits": report("digits, default run", seeds)}
    missing = [
        p for p in expected_files("mnist", settings.data_dir) if not p.exists() and not p.with_suffix(p.suffix + ".gz").exists()
    ]  # fmt: skip
    if missing:
        print(f"\nMNIST: skipped (no files under {settings.data_dir}/MNIST/raw; see the README's Datasets section).")
    else:
        out["mnist"] = report(
            "MNIST, article teacher and student, 5 epochs each", [one_seed(MNIST, cache, settings.data_dir)]
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
