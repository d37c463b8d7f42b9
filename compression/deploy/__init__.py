"""Deploy what you compressed: export a stored run's models to ONNX, quantize them to real int8 with ONNX
Runtime's tools, and measure accuracy, agreement, size and latency on this server's CPU.

    export    float32 ONNX, one self-contained file, input float32 [N, C, H, W] in [0, 1], dynamic batch
    quantize  ONNX Runtime's quant_pre_process + quantize_static (QDQ, S8S8, per-channel) or quantize_dynamic
    measure   ONNX Runtime sessions with pinned threads; warm-up, then the median of interleaved rounds
    bench     the pipeline over a run (the CLI's --export and the "benchmark" job both call it)
    verdict   what the table says, as data ({"tone", "key", "params"}), rendered in any language
    job       the job seam: run_benchmark(payload, on_event, should_stop), estimate_benchmark(payload)

onnxruntime, onnx and onnxscript are imported only when used: `runtime_problem()` says, in a sentence, what
is missing on a server without them.
"""

from compression.deploy.runtime import DeployError, cpu_model, environment, runtime_problem, vnni_flags

__all__ = ["DeployError", "cpu_model", "environment", "runtime_problem", "vnni_flags"]
