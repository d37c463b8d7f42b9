"""Reading a deploy benchmark's result: a table, the CLI's deploy.json rows, a printout, a snippet."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE_COLUMNS = [
    "model", "format", "runtime", "test_accuracy", "agreement_float32", "agreement_fakequant", "latency_ms_small",
    "latency_ms_large", "throughput", "file_bytes", "file",
]  # fmt: skip


def result_frame(result: dict[str, Any]) -> pd.DataFrame:
    """One row per model × format: accuracy and agreements in %, latency (ms) at the smallest and largest batch,
    throughput (examples/s) at the largest, file bytes. Rows without a kernel have no latency and no file."""
    batches = [str(b) for b in result.get("batch_sizes", [])] or ["1"]
    rows = []
    for row in result.get("rows", []):
        latency = row.get("latency_ms") or {}
        rows.append(
            {
                "model": row["model"],
                "format": row["format"],
                "runtime": row.get("runtime", ""),
                "test_accuracy": 100 * row["test_accuracy"],
                "agreement_float32": 100 * row["agreement_float32"],
                "agreement_fakequant": None
                if row.get("agreement_fakequant") is None
                else 100 * row["agreement_fakequant"],
                "latency_ms_small": latency.get(batches[0]),
                "latency_ms_large": latency.get(batches[-1]),
                "throughput": row.get("throughput"),
                "file_bytes": row.get("file_bytes"),
                "file": row.get("file"),
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def deploy_json_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The CLI's DIR/deploy.json: model, precision, file, bytes, test_accuracy, agreement (top-1 with the float32
    torch model), latency_ms keyed by batch size as a string, throughput, runtime and cpu; and a few more."""
    env = result.get("env", {})
    out = []
    for row in result.get("rows", []):
        if row.get("no_kernel"):
            continue
        out.append(
            {
                "model": row["model"],
                "precision": row["precision"],
                "file": row["file"],
                "bytes": row["file_bytes"],
                "test_accuracy": row["test_accuracy"],
                "agreement": row["agreement_float32"],
                "agreement_fakequant": row.get("agreement_fakequant"),
                "latency_ms": dict(row.get("latency_ms") or {}),
                "throughput": row.get("throughput"),
                "runtime": f"onnxruntime {env.get('onnxruntime', '')}".strip(),
                "cpu": env.get("cpu", ""),
                "has_vnni": env.get("has_vnni"),
                "threads": env.get("threads"),
                "quant_mode": result.get("quant_mode") if row["precision"] == "int8" else None,
            }
        )
    return out


def print_rows(result: dict[str, Any]) -> None:
    """The CLI's table: one line per model × format, then the same-runtime int8 / float32 ratios."""
    batches = [str(b) for b in result.get("batch_sizes", [])]
    for row in result.get("rows", []):
        latency = row.get("latency_ms") or {}
        times = "  ".join(f"b{b} {latency[b]:8.3f} ms" for b in batches if b in latency) or "no ONNX CPU kernel"
        size = f"{row['file_bytes']:>10,d} B" if row.get("file_bytes") else f"{'-':>12s}"
        print(
            f"{row['model']:10s} {row['format']:8s} acc {100 * row['test_accuracy']:6.2f}%  "
            f"agree {100 * row['agreement_float32']:6.2f}%  {size}  {times}"
        )


def onnx_snippet(file: str, input_shape: list[int]) -> str:
    """A few lines that run an exported file with onnxruntime on a batch of inputs in [0, 1]."""
    shape = ", ".join(str(d) for d in [4, *input_shape[1:]])
    return (
        "import numpy as np\n"
        "import onnxruntime as ort\n\n"
        "options = ort.SessionOptions()\n"
        "options.intra_op_num_threads = 1\n"
        f'session = ort.InferenceSession("{file}", options, providers=["CPUExecutionProvider"])\n'
        f"x = np.random.rand({shape}).astype(np.float32)  # images in [0, 1], any batch size\n"
        'logits = session.run(None, {"input": x})[0]\n'
        "print(logits.argmax(1))\n"
    )
