"""Deploy speed: int8 against float32 in the same runtime, measured side by side in one run, as ratios.

For the default digits run (trained here, one thread; or --run RUN_ID from the store) and for an MNIST-shaped
784-1200-1200-10 MLP (the paper's teacher shape; untrained, random weights: speed only, since int8 kernels do
not depend on the values), it exports every model to ONNX (float32), quantizes it with ONNX Runtime (static QDQ
S8S8 per-channel, and dynamic), and times, in the same interleaved rounds after a warm-up (median):

    ORT float32, ORT int8 static, ORT int8 dynamic, torch float32, torch int8 (quantize_dynamic, Linear only)

at batch 1 and 256 with one thread each. It prints the int8 / float32 latency ratios within ORT and within
torch, the distilled student's int8 against the float32 teacher, torch against ORT in float32, and the file
bytes ratios beside them. Nothing is asserted: the figures move with the machine's load.

    .venv/bin/python benchmarks/deploy_speed.py                 # default digits run + the MNIST-shaped MLP
    .venv/bin/python benchmarks/deploy_speed.py --rounds 21 --json deploy_speed.json
    .venv/bin/python benchmarks/deploy_speed.py --run RUN_ID    # a stored run instead of training one
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression import ptq  # noqa: E402
from compression.config import Settings  # noqa: E402
from compression.deploy import environment  # noqa: E402
from compression.deploy.export import RunInputs, export_float32, run_inputs  # noqa: E402
from compression.deploy.measure import batch_of, interleaved_latency, median, ort_logits, ort_session  # noqa: E402
from compression.deploy.quantize import quantize_int8  # noqa: E402
from compression.distillation.models import build_model, parse_model  # noqa: E402
from compression.distillation.store import RunStore  # noqa: E402
from compression.distillation.trainer import DEFAULT_CONFIG, train  # noqa: E402

ROLES = ("teacher", "student", "baseline")
BATCHES = (1, 256)


def torch_int8(model: torch.nn.Module) -> torch.nn.Module | None:
    """torch's own dynamic int8 (Linear layers), or None where this torch build has no quantized engine."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ptq.torch_dynamic_int8(model)
    except Exception as exc:  # noqa: BLE001 - a guard: torch.ao.quantization is deprecated and may be absent
        print(f"(torch quantize_dynamic unavailable: {type(exc).__name__}: {exc})")
        return None


def contenders(
    name: str, model: torch.nn.Module, inputs: RunInputs, folder: Path, labels: torch.Tensor | None = None
) -> tuple[dict, dict]:
    """Files and callables-to-be for one model: ORT float32 / int8 static / int8 dynamic, torch float32 / int8."""
    f32 = export_float32(model, inputs, folder / f"{name}-float32.onnx")
    calibration = inputs.x_train[:256].numpy()
    static = quantize_int8(f32, folder / f"{name}-int8.onnx", "static", calibration).path
    dynamic = quantize_int8(f32, folder / f"{name}-int8-dynamic.onnx", "dynamic", None).path
    files = {"ort f32": f32, "ort int8 static": static, "ort int8 dynamic": dynamic}
    sessions = {kind: ort_session(path, threads=1) for kind, path in files.items()}
    standardised = model.eval()
    int8 = torch_int8(model)
    torch_models = {"torch f32": standardised, **({"torch int8 dynamic": int8} if int8 is not None else {})}
    x = inputs.x_test.numpy()
    y_ref = ort_logits(sessions["ort f32"], x).argmax(1)
    preds = {kind: ort_logits(s, x).argmax(1) for kind, s in sessions.items()}
    agreement = {kind: float((pred == y_ref).mean()) for kind, pred in preds.items()}
    accuracy = {} if labels is None else {kind: float((p == labels.numpy()).mean()) for kind, p in preds.items()}
    sizes = {kind: path.stat().st_size for kind, path in files.items()}
    return {"sessions": sessions, "torch": torch_models, "mean": inputs.mean, "std": inputs.std}, {
        "agreement_with_ort_f32": agreement, "bytes": sizes, "accuracy": accuracy,
    }  # fmt: skip


def measure(models: dict[str, dict], x: np.ndarray, rounds: int) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for batch in BATCHES:
        xb = batch_of(x, batch)
        runners = {}
        for name, parts in models.items():
            feed = {"input": xb}
            for kind, session in parts["sessions"].items():
                runners[f"{name} | {kind}"] = lambda s=session, feed=feed: s.run(None, feed)
            z = (torch.from_numpy(xb) - parts["mean"]) / parts["std"]  # torch sees the standardised batch
            for kind, model in parts["torch"].items():

                def run(m=model, z=z) -> None:
                    with torch.inference_mode():
                        m(z)

                runners[f"{name} | {kind}"] = run
        samples = interleaved_latency(runners, rounds)
        for key, values in samples.items():
            out.setdefault(key, {})[batch] = median(values)
    return out


def ratio_lines(latency: dict[str, dict[int, float]], info: dict[str, dict], names: list[str]) -> list[str]:
    lines = []
    for name in names:
        lat = lambda kind, b, name=name: latency.get(f"{name} | {kind}", {}).get(b)  # noqa: E731
        sizes = info[name]["bytes"]
        for b in BATCHES:
            parts = [f"{name:18s} b{b:<4d}"]
            for kind in ("ort int8 static", "ort int8 dynamic"):
                parts.append(f"ORT {kind[4:]}: {lat('ort f32', b) / lat(kind, b):5.2f}x")
            if lat("torch int8 dynamic", b):
                parts.append(f"torch int8 dyn: {lat('torch f32', b) / lat('torch int8 dynamic', b):5.2f}x")
            parts.append(f"torch f32 / ORT f32 time: {lat('torch f32', b) / lat('ort f32', b):5.2f}")
            lines.append("  ".join(parts))
        lines.append(
            f"{'':18s} bytes int8 static / float32 {sizes['ort int8 static'] / sizes['ort f32']:.2f} "
            f"({sizes['ort f32']:,} -> {sizes['ort int8 static']:,}); agreement with ORT float32: "
            + ", ".join(
                f"{k[4:]} {100 * v:.2f}%" for k, v in info[name]["agreement_with_ort_f32"].items() if k != "ort f32"
            )
        )
        if info[name]["accuracy"]:
            lines.append(
                f"{'':18s} test accuracy: "
                + ", ".join(f"{k[4:]} {100 * v:.2f}%" for k, v in info[name]["accuracy"].items())
            )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=None, help="a stored run id (default: train the default digits run here)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--no-mlp", action="store_true", help="skip the MNIST-shaped 1200-1200 MLP")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    settings = Settings.from_env()
    started = time.perf_counter()
    if args.run:
        loaded = ptq.load_run_models(RunStore(settings.runs_dir), args.run, roles=ROLES, data_dir=settings.data_dir)
    else:
        config = replace(DEFAULT_CONFIG, device="cpu")
        print(f"training the default run ({config.dataset}: {config.teacher} -> {config.student}) on one thread ...")
        result = train(config, data_dir=settings.data_dir)
        loaded = ptq.models_from_weights(
            result.config, {r: result.weights[r] for r in ROLES}, data_dir=settings.data_dir
        )
    inputs = run_inputs(loaded, data_dir=settings.data_dir)
    env = environment(1)
    print(f"ONNX Runtime {env['onnxruntime']}, torch {env['torch']} on {env['cpu']} "
          f"(VNNI: {', '.join(env['vnni_flags']) or 'no'}), {env['cores']} cores, 1 thread each, "
          f"median of {args.rounds} interleaved rounds")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="deploy-speed-") as tmp:
        folder = Path(tmp)
        models, info = {}, {}
        for role in ROLES:
            name = f"digits {role}"
            models[name], info[name] = contenders(
                name.replace(" ", "-"), loaded.models[role], inputs, folder, loaded.y_test
            )
        names = list(models)
        if not args.no_mlp:
            torch.manual_seed(0)
            mlp = build_model(parse_model("mlp-1200x2"), (1, 28, 28), 10).eval()
            rng = np.random.default_rng(0)
            fake = RunInputs(0.13, 0.31, torch.from_numpy(rng.random((512, 1, 28, 28), dtype=np.float32)),
                             torch.from_numpy(rng.random((512, 1, 28, 28), dtype=np.float32)))  # fmt: skip
            models["mnist mlp-1200x2*"], info["mnist mlp-1200x2*"] = contenders("mlp-1200x2", mlp, fake, folder)
        latency = measure({n: models[n] for n in names}, inputs.x_test.numpy(), args.rounds)
        if not args.no_mlp:
            latency.update(
                measure({"mnist mlp-1200x2*": models["mnist mlp-1200x2*"]}, fake.x_test.numpy(), args.rounds)
            )
    print("\nlatency, ms per batch (median):")
    for key, by_batch in latency.items():
        print(f"  {key:45s} " + "  ".join(f"b{b} {ms:9.4f}" for b, ms in by_batch.items()))
    print("\nspeed-up = float32 time / int8 time in the same runtime (above 1: int8 is faster):")
    for line in ratio_lines(latency, info, list(models)):
        print("  " + line)
    print("\nthe int8 distilled student against the float32 teacher (ORT, static):")
    for b in BATCHES:
        teacher = latency["digits teacher | ort f32"][b]
        student = latency["digits student | ort int8 static"][b]
        print(f"  b{b:<4d} {teacher / student:6.1f}x faster; bytes "
              f"{info['digits teacher']['bytes']['ort f32'] / info['digits student']['bytes']['ort int8 static']:.1f}x smaller")  # fmt: skip
    if not args.no_mlp:
        print("\n* untrained weights (speed only); with MNIST files, --run a stored MNIST run for its accuracy")
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    if args.json:
        payload = {"env": env, "rounds": args.rounds, "latency_ms": {k: {str(b): v for b, v in d.items()} for k, d in latency.items()},
                   "files": info}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
