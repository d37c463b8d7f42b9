"""Distil, then quantize: what post-training quantization costs the default run's models, over seeds.

For each seed, trains the page's default digits run (small CNN teacher, the article's MLP student distilled,
the same student alone as baseline), then sweeps 2-8 bits × {per-channel, per-tensor} × {minmax, mse} over
the teacher, the distilled student and the baseline (weights only, symmetric). Prints:

- the table of test accuracy (mean ± std over seeds) per model and configuration;
- where per-channel starts to matter (per-channel minus per-tensor accuracy, min-max, per bitwidth);
- the smallest bitwidth within 1 point of float for each model (per seed, and for the mean);
- whether the distilled student stays ahead of the baseline after quantization (paired, per bitwidth);
- PyTorch's own int8 path (`torch.ao.quantization.quantize_dynamic`) against ours, on the MLP student;
- the time one page sweep takes (all three models, 2-8 bits, both granularities, min-max) on one thread.

When MNIST files are present under $COMPRESSION_LAB_DATA_DIR (default ./data), it runs the same on an MNIST
run (article teacher and student, 5 teacher and 5 student epochs), else says it skipped it.

    .venv/bin/python benchmarks/ptq.py                   # 3 seeds of the default digits run
    .venv/bin/python benchmarks/ptq.py --seeds 1 --json ptq.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression import ptq  # noqa: E402
from compression.config import Settings  # noqa: E402
from compression.distillation.data import expected_files  # noqa: E402
from compression.distillation.trainer import DEFAULT_CONFIG, TeacherCache, train  # noqa: E402

BASE = replace(DEFAULT_CONFIG, device="cpu", label_smoothing=0.0)
MNIST = replace(
    BASE, dataset="mnist", teacher="article-teacher", student="article-student", epochs=5, teacher_epochs=5,
    batch_size=256, train_fraction=1.0,
)  # fmt: skip
BITS = [8, 7, 6, 5, 4, 3, 2]
ROLES = ("teacher", "student", "baseline")


def sweep_one(config, cache: TeacherCache, data_dir: Path) -> tuple[pd.DataFrame, dict[str, float]]:  # noqa: ANN001
    result = train(config, data_dir=data_dir, teacher_cache=cache)
    weights = {role: result.weights[role] for role in ROLES}
    loaded = ptq.models_from_weights(result.config, weights, data_dir=data_dir)
    configs = ptq.configs_for(BITS, ["per-channel", "per-tensor"], calibrations=["minmax", "mse"])
    frame = ptq.sweep_models(loaded.models, loaded.x_test, loaded.y_test, configs, reference_size=loaded.teacher_size)
    # PyTorch's integer path on the MLP student against our int8 per-tensor weights (both per-tensor symmetric)
    student = loaded.models["student"]
    with torch.no_grad():
        torch_acc = float((ptq.torch_dynamic_int8(student)(loaded.x_test).argmax(1) == loaded.y_test).float().mean())
    ours = frame[(frame["model"] == "student") & (frame["config"] == "int8 per-tensor")]["test_accuracy"].iloc[0]
    # time of the page's default-sized sweep (3 models, 2-8 bits, both granularities, min-max)
    page_configs = ptq.configs_for(BITS, ["per-channel", "per-tensor"])
    started = time.perf_counter()
    ptq.sweep_models(loaded.models, loaded.x_test, loaded.y_test, page_configs, reference_size=loaded.teacher_size)
    seconds = time.perf_counter() - started
    return frame, {"quantize_dynamic": torch_acc, "ours_int8_per_tensor": float(ours), "sweep_seconds": seconds}


def pm(values: list[float], scale: float = 100.0) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.fmean(values):.2f} ± {scale * sd:.2f}"


def report(name: str, frames: list[pd.DataFrame], extras: list[dict[str, float]]) -> dict:
    seeds = len(frames)
    allf = pd.concat([f.assign(seed=i) for i, f in enumerate(frames)])
    print(f"\n## {name}: test accuracy %, mean ± std over {seeds} seed(s)\n")
    table = (
        allf.groupby(["model", "config"], sort=False)["test_accuracy"]
        .apply(lambda s: pm(list(s)))
        .unstack("model")[list(ROLES)]
    )
    sizes = allf[allf["seed"] == 0].groupby(["model", "config"], sort=False)["size_bytes"].first().unstack("model")
    table["student bytes"] = sizes["student"]
    table["teacher bytes"] = sizes["teacher"]
    print(table.to_markdown() if hasattr(table, "to_markdown") and _has_tabulate() else table.to_string())

    print("\nPer-channel minus per-tensor accuracy (points, min-max), mean over seeds:")
    gran = {}
    for role in ROLES:
        cells = []
        for b in BITS:
            diffs = []
            for f in frames:
                pc = f[(f["model"] == role) & (f["config"] == f"int{b} per-channel")]["test_accuracy"].iloc[0]
                pt = f[(f["model"] == role) & (f["config"] == f"int{b} per-tensor")]["test_accuracy"].iloc[0]
                diffs.append(100 * (pc - pt))
            gran[(role, b)] = statistics.fmean(diffs)
            cells.append(f"int{b} {statistics.fmean(diffs):+.2f}")
        print(f"  {role:9s} " + "  ".join(cells))

    print("\nSmallest bitwidth within 1 point of float (per-channel, min-max), per seed:")
    smallest = {}
    for role in ROLES:
        per_seed = [ptq.smallest_within(f[f["calibration"] != "mse"])[role] for f in frames]
        smallest[role] = per_seed
        print(f"  {role:9s} {per_seed}")

    print("\nDistilled student minus baseline (points, per-channel min-max), paired over seeds:")
    survive = {}
    for config in ["float32"] + [f"int{b} per-channel" for b in BITS]:
        gains = []
        for f in frames:
            s = f[(f["model"] == "student") & (f["config"] == config)]["test_accuracy"].iloc[0]
            b = f[(f["model"] == "baseline") & (f["config"] == config)]["test_accuracy"].iloc[0]
            gains.append(100 * (s - b))
        wins = sum(g > 0 for g in gains)
        survive[config] = gains
        print(f"  {config:18s} {pm(gains, 1.0)}  (distilled ahead on {wins} of {seeds})")

    print("\nPyTorch quantize_dynamic (int8 Linear) vs ours (int8 per-tensor weights), distilled MLP student:")
    for i, e in enumerate(extras):
        print(
            f"  seed {i}: quantize_dynamic {100 * e['quantize_dynamic']:.2f}%  ours {100 * e['ours_int8_per_tensor']:.2f}%"
            f"  difference {100 * (e['ours_int8_per_tensor'] - e['quantize_dynamic']):+.2f} points"
        )
    times = [e["sweep_seconds"] for e in extras]
    print(
        f"\nOne page sweep (3 models × 2-8 bits × 2 granularities, min-max): {statistics.fmean(times):.3f} s on one thread"
    )
    return {
        "table": allf.to_dict(orient="records"),
        "per_channel_minus_per_tensor": {f"{r} int{b}": v for (r, b), v in gran.items()},
        "smallest_within_1_point": smallest,
        "distilled_minus_baseline": survive,
        "quantize_dynamic": extras,
    }


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = Settings.from_env()
    cache = TeacherCache()
    out = {}
    print(f"default run: {BASE}\nseeds 0..{args.seeds - 1}, {args.threads} thread(s)", flush=True)
    frames, extras = [], []
    for seed in range(args.seeds):
        started = time.perf_counter()
        frame, extra = sweep_one(replace(BASE, seed=seed), cache, settings.data_dir)
        frames.append(frame)
        extras.append(extra)
        print(f"  seed {seed}: trained and swept in {time.perf_counter() - started:.0f} s", flush=True)
    out["digits"] = report("digits, default run", frames, extras)

    missing = [
        p
        for p in expected_files("mnist", settings.data_dir)
        if not p.exists() and not p.with_suffix(p.suffix + ".gz").exists()
    ]
    if missing:
        print(f"\nMNIST: skipped (no files under {settings.data_dir}/MNIST/raw; see the README's Datasets section).")
    else:
        frame, extra = sweep_one(MNIST, cache, settings.data_dir)
        out["mnist"] = report("MNIST, article teacher and student, 5 epochs each", [frame], [extra])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
