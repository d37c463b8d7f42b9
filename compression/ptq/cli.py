"""Command line: quantize a stored run's models without retraining.

    python -m compression.ptq --list                                   # finished runs in the store
    python -m compression.ptq --run RUN_ID --bits 8,4,2 --json ptq.json
    python -m compression.ptq --bits 8,4,2 --granularity per-channel,per-tensor --calibration minmax,mse
    python -m compression.ptq --run RUN_ID --export DIR [--models ...] [--mode static|dynamic]   # ONNX + int8
    python -m compression.ptq --run RUN_ID --qat-bits 4,2 [--qat-epochs N] [--qat-save DIR] --json qat.json

Without --run, the newest finished run is used. The store is $COMPRESSION_LAB_RUNS_DIR (default ./runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from compression.config import Settings
from compression.ptq import core as ptq


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m compression.ptq",
        description="Post-training quantization of a stored distillation run: accuracy, agreement, size.",
    )
    p.add_argument("--run", default=None, help="run id (default: the newest finished run)")
    p.add_argument("--list", action="store_true", help="list the store's runs and exit")
    p.add_argument("--models", default="teacher,student,baseline", help=f"comma list of {', '.join(ptq.ROLES)}")
    p.add_argument("--bits", default="8,4,2", help=f"comma list, {ptq.MIN_BITS} to {ptq.MAX_BITS}")
    p.add_argument("--granularity", default="per-channel", help="per-channel, per-tensor, or both (comma list)")
    p.add_argument("--scheme", default="symmetric", choices=ptq.INTEGER_SCHEMES)
    p.add_argument("--calibration", default="minmax", help="minmax, percentile, mse (comma list)")
    p.add_argument("--formats", default="", help=f"float formats, comma list of {', '.join(ptq.FLOAT_SCHEMES)}")
    p.add_argument("--activations", action="store_true", help="also quantize layer inputs to 8 bits (static)")
    p.add_argument("--sensitivity", action="store_true", help="per-layer sensitivity at the lowest bitwidth")
    p.add_argument("--json", type=Path, default=None, help="write {run, config, ptq: [rows], sensitivity}")
    p.add_argument("--csv", type=Path, default=None, help="write the rows as CSV")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument(
        "--export", type=Path, default=None, metavar="DIR",
        help="write DIR/<model>-float32.onnx, DIR/<model>-int8.onnx and DIR/deploy.json (ONNX Runtime, measured)",
    )  # fmt: skip
    p.add_argument("--mode", default="static", choices=("static", "dynamic"), help="int8 mode of --export")
    p.add_argument(
        "--qat-bits", default=None,
        help="quantization-aware training of the distilled student and the baseline at these bits, without and "
        "with the teacher, instead of PTQ, e.g. 4,2",
    )  # fmt: skip
    p.add_argument("--qat-epochs", type=int, default=None, help="with --qat-bits: QAT epochs (default 10)")
    p.add_argument("--qat-lr", type=float, default=None, help="with --qat-bits: QAT learning rate (default 3e-3)")
    p.add_argument("--qat-seeds", type=int, default=1, help="with --qat-bits: batch-order replicates per model")
    p.add_argument("--qat-scale", default="minmax", help="with --qat-bits: minmax (from the weights) or lsq (learned)")
    p.add_argument("--qat-save", type=Path, default=None, metavar="DIR", help="with --qat-bits: write the QAT models")
    return p


def qat_run(store, run_id: str, args: argparse.Namespace, settings: Settings) -> int:  # noqa: ANN001
    """--qat-bits: QAT of a stored run's student and baseline (compression.ptq.qat), printed; --json, --qat-save."""
    from compression.ptq import qat

    granularities = ptq.parse_choice_list(args.granularity, ptq.GRANULARITIES, "granularity")
    plan = qat.QATPlan(
        bits=qat.parse_qat_bits(args.qat_bits),
        epochs=qat.DEFAULT_QAT_EPOCHS if args.qat_epochs is None else args.qat_epochs,
        lr=qat.DEFAULT_QAT_LR if args.qat_lr is None else args.qat_lr,
        seeds=args.qat_seeds, granularity=granularities[0], scale=args.qat_scale, activations=args.activations,
    ).check()  # fmt: skip
    roles = [*plan.models, "teacher"]
    run_config, states = qat.stored_states(store, run_id, roles)
    result = qat.qat_from_weights(
        run_config, states, plan, data_dir=settings.data_dir, allow_download=settings.allow_download
    )
    print(f"run {run_id}: {run_config.get('dataset')}, teacher {run_config.get('teacher')}, "
          f"student {run_config.get('student')}")  # fmt: skip
    qat.print_qat(result)
    if args.qat_save is not None:
        print(f"wrote {len(qat.save_models(result, args.qat_save))} QAT models in {args.qat_save}")
    if args.json:
        payload = {"run": run_id, "config": run_config, "qat": qat.cli_rows(result), "summary": result.summary,
                   "verdict": result.to_json()["verdict"]}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=1, default=float))
        print(f"wrote {args.json}")
    return 0


def export_run(store, run_id: str, args: argparse.Namespace, roles: list[str], settings: Settings) -> int:  # noqa: ANN001
    """--export: ONNX float32 and int8 files of every model, measured in ONNX Runtime, and DIR/deploy.json."""
    from compression.deploy.bench import BenchmarkRequest, run_benchmark_request
    from compression.deploy.report import deploy_json_rows, print_rows
    from compression.deploy.verdict import verdict_text

    request = BenchmarkRequest(run_id=run_id, models=tuple(roles), quant_mode=args.mode, threads=max(1, args.threads))
    result = run_benchmark_request(
        store, request, args.export, data_dir=settings.data_dir, allow_download=settings.allow_download
    )
    env = result["env"]
    print(f"run {run_id}: {result['dataset']}, teacher {result['teacher']}, student {result['student']}; "
          f"ONNX Runtime {env['onnxruntime']} on {env['cpu']} (VNNI: {'yes' if env['has_vnni'] else 'no'}), "
          f"{env['threads']} thread(s), int8 {result['quant_mode']}, median of {result['rounds']} rounds")  # fmt: skip
    print_rows(result)
    for item in result["verdicts"]:
        print(verdict_text(item, "en"))
    out = Path(args.export) / "deploy.json"
    out.write_text(json.dumps(deploy_json_rows(result), indent=1))
    print(f"wrote {', '.join(r['file'] for r in result['rows'] if r.get('file'))} and deploy.json in {args.export}")
    return 0


def _latest_done(store) -> str:  # noqa: ANN001 - a RunStore
    runs = store.list_runs(limit=500)
    done = runs[runs["status"] == "done"]
    if done.empty:
        raise ptq.PTQError(
            "The run store has no finished run. Train one first: python -m compression.distill "
            "(or the Distillation trainer page)."
        )
    return str(done.iloc[0]["id"])


def print_table(frame: pd.DataFrame) -> None:
    for _, r in frame.iterrows():
        print(
            f"{r['model']:10s} {r['config']:30s} acc {100 * r['test_accuracy']:6.2f}% "
            f"(drop {100 * r['accuracy_drop']:+5.2f})  agree {100 * r['agreement']:6.2f}%  "
            f"{r['size_bytes']:>10,d} B  ×{r['compression_ratio']:.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from compression.distillation.store import RunStore

    try:
        settings = Settings.from_env()
        torch.set_num_threads(max(1, args.threads))
        store = RunStore(settings.runs_dir)
        if args.list:
            print(store.list_runs(limit=50).drop(columns=["error"]).to_string(index=False))
            return 0
        bits = ptq.parse_bits_list(args.bits)
        granularities = ptq.parse_choice_list(args.granularity, ptq.GRANULARITIES, "granularity")
        calibrations = ptq.parse_choice_list(args.calibration, ptq.CALIBRATIONS, "calibration")
        formats = ptq.parse_choice_list(args.formats, ptq.FLOAT_SCHEMES, "format") if args.formats.strip() else []
        roles = ptq.parse_choice_list(args.models, ptq.ROLES, "model")
        run_id = args.run or _latest_done(store)
        if args.export is not None:
            return export_run(store, run_id, args, roles, settings)
        if args.qat_bits is not None:
            return qat_run(store, run_id, args, settings)
        loaded = ptq.load_run_models(
            store, run_id, roles=roles, data_dir=settings.data_dir, allow_download=settings.allow_download
        )
        configs = ptq.configs_for(
            bits, granularities, scheme=args.scheme, calibrations=calibrations, float_formats=formats,
            activations=args.activations,
        )  # fmt: skip
        frame = ptq.sweep_models(
            loaded.models, loaded.x_test, loaded.y_test, configs,
            calibration_inputs=loaded.calibration_inputs, reference_size=loaded.teacher_size,
        )  # fmt: skip
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"run {run_id}: {loaded.config.get('dataset')}, teacher {loaded.config.get('teacher')}, "
          f"student {loaded.config.get('student')}; {len(loaded.y_test)} test examples")  # fmt: skip
    if loaded.missing:
        print(f"(no weights for {', '.join(loaded.missing)} in this run)")
    print_table(frame)
    print(ptq.verdict(frame, granularities[0]))
    floats = sorted({name for cell in frame["float_layers"] if cell for name in cell.split(", ")})
    if floats:
        print(f"left in float32 (layer type not handled): {', '.join(floats)}")
    sens = None
    if args.sensitivity:
        role = "student" if "student" in loaded.models else next(iter(loaded.models))
        config = ptq.PTQConfig(bits=min(bits), granularity=granularities[0], scheme=args.scheme)
        sens = ptq.sensitivity(loaded.models[role], loaded.x_test, loaded.y_test, config)
        print(f"per-layer sensitivity of the {role} at {config.label}:")
        print(sens.to_string(index=False))
    if args.json:
        payload = {
            "run": run_id,
            "config": loaded.config,
            "ptq": frame.to_dict(orient="records"),
            "verdict": ptq.verdict(frame, granularities[0]),
        }
        if sens is not None:
            payload["sensitivity"] = sens.to_dict(orient="records")
        args.json.write_text(json.dumps(payload, indent=1, default=float))
        print(f"wrote {args.json}")
    if args.csv:
        args.csv.write_text(frame.to_csv(index=False))
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
