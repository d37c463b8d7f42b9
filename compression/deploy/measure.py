"""Measure deployed models fairly: pinned threads, warm-up, then the median of interleaved rounds.

A latency figure on a shared CPU moves with whatever else runs. Two rules keep a comparison honest:

* every contender is timed in the same rounds, one after another, in a rotating order (round r starts
  with contender r mod n), so a burst of load hits all of them alike; the figure is the median over rounds;
* each contender runs with the same, explicit thread count: ONNX Runtime's intra-op threads (inter-op 1,
  sequential execution), and torch.set_num_threads for torch (restored afterwards).

One sample of a round is `calls` back-to-back calls (enough for about `sample_s` seconds, found during the
warm-up), and its latency is the sample's time / calls. Throughput is batch / latency, examples per second.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compression.deploy.export import INPUT_NAME

WARMUP_S = 0.05
SAMPLE_S = 0.02
MAX_CALLS = 2000


class Cancelled(Exception):  # noqa: N818 - reads as what happened
    """should_stop() turned true between two samples."""


def ort_session(path: Path | str, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with `threads` intra-op threads, one inter-op thread, sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_logits(session: Any, x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The session's logits for every row of `x` (float32, in chunks)."""
    outs = [session.run(None, {INPUT_NAME: np.ascontiguousarray(x[i : i + chunk])})[0] for i in range(0, len(x), chunk)]
    return np.concatenate(outs, axis=0)


def batch_of(x: np.ndarray, batch: int) -> np.ndarray:
    """`batch` inputs taken from `x` (repeated when `x` has fewer), contiguous float32."""
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps, axis=0)[:batch], dtype=np.float32)


def _calls_for(run: Callable[[], object], warmup_s: float, sample_s: float) -> int:
    """Warm `run` up for about `warmup_s` (at least 3 calls), and return how many calls fill `sample_s`."""
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < warmup_s:
        run()
        calls += 1
        if calls >= MAX_CALLS:
            break
    per_call = (time.perf_counter() - start) / calls
    return int(min(MAX_CALLS, max(1, round(sample_s / max(per_call, 1e-9)))))


def interleaved_latency(
    runners: dict[str, Callable[[], object]],
    rounds: int,
    *,
    warmup_s: float = WARMUP_S,
    sample_s: float = SAMPLE_S,
    should_stop: Callable[[], bool] = lambda: False,
    on_round: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Per contender: its latency in ms per call in each of `rounds` interleaved rounds (see the module doc)."""
    names = list(runners)
    calls = {}
    for name in names:
        if should_stop():
            raise Cancelled
        calls[name] = _calls_for(runners[name], warmup_s, sample_s)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(max(1, int(rounds))):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if should_stop():
                raise Cancelled
            run, n = runners[name], calls[name]
            start = time.perf_counter()
            for _ in range(n):
                run()
            samples[name].append(1000 * (time.perf_counter() - start) / n)
        if on_round is not None:
            on_round(r + 1)
    return samples


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))
