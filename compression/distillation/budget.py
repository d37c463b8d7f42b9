"""How much work a run asks for, before it is queued: FLOPs, estimated seconds, parameters and memory.

A shared server refuses a run that would hold the trainer for hours or exhaust its memory, and says why
with the estimate ("about 11 h on this server; the limit is 10 min"). The estimate counts, per model,

    training FLOPs  = 6 · MACs per sample · samples         (forward 2·MACs, backward about 4·MACs)
    evaluation      = 2 · MACs · test examples, every epoch
    optimizer       = 12 · parameters, every step           (Adam: a few reads and writes per parameter)

and seconds = FLOPs / throughput + steps · per-step overhead. The throughput is the server's setting
(COMPRESSION_LAB_TRAIN_GFLOPS, default 50 GFLOP/s per training thread, measured on a 2-core CPU by
benchmarks/work_estimate.py, which prints the estimate next to the measured time for runs and sweeps, and
the stacked form's batching factor).
"""

from __future__ import annotations

from dataclasses import dataclass

from compression.distillation.data import DATASETS
from compression.distillation.models import ModelSpec, parse_model
from compression.distillation.variants import enabled_variants
from compression.i18n import LabError, Text

STEP_OVERHEAD_S = 0.3e-3
"""Python and kernel-launch time per optimisation step, measured for tiny models (one CPU thread)."""
EVAL_CHUNK = 4096
"""Examples per forward pass when evaluating (the trainer's `_logits` chunk)."""
DEFAULT_GFLOPS_PER_THREAD = 50.0
STACKED_ARITHMETIC = 1.5
"""The stacked (batched) form's arithmetic per student, as a share of K separate models' (measured by
benchmarks/work_estimate.py on digits, article-student, 1 thread: stacked / looped CPU time 0.58 at K = 4 and
0.65 at K = 16, which this share reproduces (0.69, 0.56)); its per-step overhead is paid once per group step."""


@dataclass(frozen=True)
class ModelCost:
    """Per example: multiply-accumulates of one forward pass and activation values kept; and the parameters."""

    macs: int
    activations: int
    params: int


def model_cost(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int = 10) -> ModelCost:
    """MACs, activations and parameters of `spec` by formula (3×3 convs with padding 1, one 2×2 pool, Linear layers)."""
    c, h, w = input_shape
    macs = activations = params = 0
    width = c * h * w
    if spec.kind == "cnn":
        channels = c
        for out in spec.channels:
            macs += h * w * out * channels * 9
            params += out * channels * 9 + out
            activations += 2 * h * w * out  # conv output and its ReLU
            channels = out
        width = channels * (h // 2) * (w // 2)
        activations += width
    for units in (*spec.hidden, num_classes):
        macs += width * units
        params += width * units + units
        activations += 2 * units
        width = units
    return ModelCost(macs, activations, params)


@dataclass(frozen=True)
class WorkEstimate:
    """What one run asks of the server."""

    samples: int
    """Training examples pushed through all its models: n_train × (teacher epochs + students × epochs)."""
    steps: int
    flops: float
    seconds: float
    teacher_params: int
    student_params: int
    memory_bytes: int
    """Peak memory of the training process for this run (data, models with Adam state, activations), roughly."""


def estimate_work(
    config,  # noqa: ANN001 - a TrainConfig
    gflops: float = DEFAULT_GFLOPS_PER_THREAD,
    *,
    students: int | None = None,
    stacked: bool = False,
) -> WorkEstimate:
    """The work of `config` (a TrainConfig), with a cached teacher counted as trained: the bound must hold anyway.

    `students`: how many students the job trains (default: the run's variants; a sweep counts every cell,
    control and seed). `stacked`: they train as one batched model, so the per-step overhead is paid once per
    batch for the whole group while the arithmetic still grows with every student.
    """
    info = DATASETS[config.dataset]
    teacher = model_cost(parse_model(config.teacher, "teacher"), info.input_shape, info.num_classes)
    student = model_cost(parse_model(config.student, "student"), info.input_shape, info.num_classes)
    fraction = config.resolved_train_fraction()
    n_train = max(1, round(info.train_pool * fraction))
    n_test = max(1, info.train_pool - n_train if info.test_from_pool else info.test_size)
    students = len(enabled_variants(config)) if students is None else students
    t_epochs, s_epochs = config.resolved_teacher_epochs(), config.epochs
    steps_per_epoch = -(-n_train // config.batch_size)
    steps = steps_per_epoch * (t_epochs + (1 if stacked else students) * s_epochs)
    share = STACKED_ARITHMETIC if stacked else 1.0
    flops = (
        6.0 * teacher.macs * n_train * t_epochs
        + 6.0 * student.macs * n_train * s_epochs * students * share
        + 2.0 * n_test * (teacher.macs * t_epochs + student.macs * s_epochs * students * share)
        + 2.0 * teacher.macs * n_train  # the teacher's logits on the training set
        + 12.0 * steps_per_epoch * (teacher.params * t_epochs + student.params * s_epochs * students * share)
    )
    seconds = flops / (gflops * 1e9) + steps * STEP_OVERHEAD_S
    values = info.input_shape[0] * info.input_shape[1] * info.input_shape[2]
    data_bytes = 2 * 4 * values * (n_train + n_test)  # raw and standardised copies while loading
    chunk = max(config.batch_size, min(EVAL_CHUNK, max(n_train, n_test)))
    models_bytes = max(16 * teacher.params, 4 * teacher.params + 16 * student.params * students)
    activation_bytes = 2 * 4 * chunk * max(teacher.activations, student.activations)
    return WorkEstimate(
        samples=n_train * (t_epochs + students * s_epochs),
        steps=steps,
        flops=flops,
        seconds=seconds,
        teacher_params=teacher.params,
        student_params=student.params,
        memory_bytes=data_bytes + models_bytes + activation_bytes,
    )


def human_duration(seconds: float) -> str:
    """'40 s', '12 min', '10.7 h', '3.2 days'."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.1f} days"


def check_budget(
    config,  # noqa: ANN001 - a TrainConfig
    *,
    gflops: float = DEFAULT_GFLOPS_PER_THREAD,
    max_seconds: float | None = None,
    max_params: int | None = None,
    max_memory_bytes: int | None = None,
    students: int | None = None,
    stacked: bool = False,
) -> WorkEstimate:
    """Raise ValueError with the estimate when `config` exceeds a limit; return the estimate otherwise.

    `students` and `stacked` as in `estimate_work`: a sweep is budgeted for every student it trains."""
    work = estimate_work(config, gflops, students=students, stacked=stacked)
    if max_seconds is not None and work.seconds > max_seconds:
        raise LabError("budget.too_long", estimate=human_duration(work.seconds), limit=human_duration(max_seconds))
    if max_params is not None:
        for role, params in (("teacher", work.teacher_params), ("student", work.student_params)):
            if params > max_params:
                raise LabError(
                    "budget.too_many_params", role=Text(f"errors.model.{role}"), params=params, limit=max_params
                )
    if max_memory_bytes is not None and work.memory_bytes > max_memory_bytes:
        raise LabError("budget.too_much_memory", need=work.memory_bytes / 2**20, limit=max_memory_bytes / 2**20)
    return work
