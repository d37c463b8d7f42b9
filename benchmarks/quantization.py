"""Benchmark: our quantizer against torch.fake_quantize_per_tensor_affine, side by side in one run.

1. 10,000,000 float32 values, nearest, 8 bits, min-max: `quantize(...)` (calibration included; the summary
   figures are computed on first use, so they are timed separately) against torch's fused kernel with
   the same scale and zero point, and against MinMaxObserver + the fused kernel.
2. The page's full computation for 1,000,000 values x 8 bitwidths: `sweep` (codes, dequantized values,
   errors, clipped flags, summary), then error vs bits (1..16) and the article panel.
3. MSE calibration on 1,000,000 values x 8 bitwidths beside min-max (time ratio), and its quality beside the
   former search (one factor over both ends, on a 32,768-value sample) and a fine brute-force grid.

Run: .venv/bin/python benchmarks/quantization.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
from torch.ao.quantization import MinMaxObserver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression import quantization as qz  # noqa: E402

REPEATS = 7


def timed(function, repeats: int = REPEATS) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(x: torch.Tensor, threads: int) -> None:
    torch.set_num_threads(threads)
    ours = qz.quantize(x, 8, scheme="affine")
    scale, zero_point = ours.scale, ours.zero_point
    assert torch.equal(ours.dequantized, torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255))

    def torch_kernel() -> None:
        torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)

    def torch_observer_and_kernel() -> None:
        observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
        observer(x)
        s, z = observer.calculate_qparams()
        torch.fake_quantize_per_tensor_affine(x, float(s), int(z), 0, 255)

    def ours_quantize() -> None:
        qz.quantize(x, 8, scheme="affine")

    def ours_with_figures() -> None:
        r = qz.quantize(x, 8, scheme="affine")
        _ = (r.q, r.clipped, r.mse, r.max_abs_error, r.sqnr_db)

    # interleave the measurements so both sides see the same machine load
    rounds = {"torch": [], "torch_obs": [], "ours": [], "ours_full": []}
    for _ in range(3):
        rounds["torch"].append(timed(torch_kernel))
        rounds["torch_obs"].append(timed(torch_observer_and_kernel))
        rounds["ours"].append(timed(ours_quantize))
        rounds["ours_full"].append(timed(ours_with_figures))
    best = {k: min(v) for k, v in rounds.items()}
    print(f"  torch.set_num_threads({threads})")
    print(f"    torch.fake_quantize_per_tensor_affine        {best['torch'] * 1e3:8.1f} ms")
    print(f"    MinMaxObserver + fake_quantize               {best['torch_obs'] * 1e3:8.1f} ms")
    print(f"    quantize() (min-max included)                {best['ours'] * 1e3:8.1f} ms")
    print(f"    quantize() + q, clipped, MSE, max|e|, SQNR   {best['ours_full'] * 1e3:8.1f} ms")
    print(f"    ratio quantize / fused kernel                {best['ours'] / best['torch']:8.2f} x  (goal <= 1.5)")
    print(f"    ratio quantize / observer + kernel           {best['ours'] / best['torch_obs']:8.2f} x")
    print(f"    ratio quantize + figures / fused kernel      {best['ours_full'] / best['torch']:8.2f} x")


def page_computation() -> None:
    values = qz.generate_values("normal", 1_000_000, seed=0)
    bits = list(range(1, 9))
    sweep_s = timed(lambda: qz.sweep(values, bits), 5)
    curve_s = timed(lambda: qz.error_vs_bits(values), 5)
    seed_s = timed(lambda: qz.compare_with_article(values, 8), 5)
    result = qz.sweep(values, bits)
    table_s = timed(lambda: result.table(0, 100), 5)
    charts_s = timed(
        lambda: (
            result.error_heatmap(120),
            result.transfer_curve("8-bit"),
            result.histogram(80),
            result.levels("8-bit"),
        ),
        5,
    )
    csv_s = timed(result.to_csv, 1)
    print("  the page's computation, 1,000,000 normal values x 8 bitwidths (1..8), min-max, symmetric")
    print(f"    sweep (codes, dequantized, errors, clipped, summary)   {sweep_s * 1e3:8.1f} ms")
    print(f"    error vs bits, 16 bitwidths                            {curve_s * 1e3:8.1f} ms")
    print(f"    article vs correct panel                               {seed_s * 1e3:8.1f} ms")
    print(f"    one table page + downsampled chart data                {(table_s + charts_s) * 1e3:8.1f} ms")
    print(
        f"    total per new input                                    {(sweep_s + curve_s + seed_s + table_s + charts_s) * 1e3:8.1f} ms"
    )
    print(f"    CSV of every row (on download click only)              {csv_s * 1e3:8.1f} ms")


def _former_mse_search(x: torch.Tensor, bits: int, scheme: str) -> float:
    """The search this project used before: alpha·[min, max] on a 32,768-value sample; its MSE on every value."""
    qmin, qmax = qz.code_range(bits, scheme)
    low, high = torch.aminmax(x)
    sample = x[torch.randperm(x.numel(), generator=torch.Generator().manual_seed(0))[:32_768]].reshape(1, -1)
    alphas = torch.arange(1, 101, dtype=torch.float32) / 100
    scale, zp = qz.qparams_from_range(alphas * low, alphas * high, qmin, qmax, scheme != "affine")
    inv = (1 / scale).reshape(-1, 1)
    zpf = zp.to(torch.float32).reshape(-1, 1)
    deq = qz.round_codes(sample * inv, "nearest").add_(zpf).clamp_(qmin, qmax).sub_(zpf).mul_(scale.reshape(-1, 1))
    best = int(torch.argmin((deq - sample).square().mean(dim=1)))
    value_range = (float(alphas[best] * low), float(alphas[best] * high))
    return qz.quantize(x, bits, scheme=scheme, calibration="range", value_range=value_range).mse


def mse_calibration() -> None:
    values = qz.generate_values("normal", 1_000_000, seed=0)
    bits = list(range(1, 9))
    print("  MSE calibration, 1,000,000 normal values x 8 bitwidths (1..8), side by side with min-max")
    for scheme in ("symmetric", "affine"):
        rounds = {"minmax": [], "mse": []}
        for _ in range(2):
            rounds["minmax"].append(timed(lambda s=scheme: qz.sweep(values, bits, scheme=s), 3))
            rounds["mse"].append(timed(lambda s=scheme: qz.sweep(values, bits, scheme=s, calibration="mse"), 3))
        minmax, mse = min(rounds["minmax"]), min(rounds["mse"])
        print(
            f"    {scheme:<10} sweep min-max {minmax * 1e3:7.1f} ms   mse {mse * 1e3:7.1f} ms   "
            f"ratio mse / min-max {mse / minmax:5.2f} x"
        )
    print("  MSE found / lowest MSE of a fine brute-force grid of explicit ranges (1.000 = as good)")
    cases = [
        ("normal", 5_000, 2, 4, "affine"),
        ("outliers", 200_000, 0, 4, "symmetric"),
        ("laplace", 20_000, 0, 3, "affine"),
    ]
    for distribution, count, seed, b, scheme in cases:
        x = torch.from_numpy(qz.generate_values(distribution, count, seed))
        low, high = float(x.min()), float(x.max())
        steps = 60 if scheme == "affine" else 400
        factors = [i / steps for i in range(1, steps + 1)]
        pairs = (
            [(f * low, g * high) for f in factors for g in factors]
            if scheme == "affine"
            else [(f * low, f * high) for f in factors]
        )
        brute = min(qz.quantize(x, b, scheme=scheme, calibration="range", value_range=p).mse for p in pairs)
        now = qz.quantize(x, b, scheme=scheme, calibration="mse").mse
        former = _former_mse_search(x, b, scheme)
        print(
            f"    {distribution:<8} {count:>7,} values, {b} bits, {scheme:<9}  now {now / brute:6.4f}   "
            f"former search {former / brute:6.4f}"
        )


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads by default")
    default_threads = torch.get_num_threads()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10_000_000, generator=g)
    print("10,000,000 float32 values, 8 bits, nearest, min-max (affine), same scale/zero point")
    for threads in sorted({1, default_threads}):
        side_by_side(x, threads)
    torch.set_num_threads(default_threads)
    del x
    torch.set_num_threads(1)  # the page's computation runs on one thread (qz.single_threaded)
    page_computation()
    mse_calibration()


if __name__ == "__main__":
    main()
