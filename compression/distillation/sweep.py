"""A temperature × alpha grid of distilled students trained as one batched (vectorized) model.

Tiny students are bound by per-step overhead, not arithmetic, so K copies of one student architecture train
together: their weights are stacked along a first axis of size K, an MLP runs as `torch.bmm` over the
stack (a CNN through `torch.func.vmap` of `functional_call`), one loss per student (`kd_loss_stacked`) is
summed, and one fused Adam updates every stacked tensor. Adam and the losses act per element or per student,
so the batched step is mathematically K independent runs: student k gets exactly the gradient of its own loss.

What the students share: the teacher (trained or reused from the cache exactly as `trainer.train` does), the
data split, the architecture, and, within one seed replicate, the initial weights and the batch order.
Seed replicate r (r = 0 .. seeds − 1) initialises and shuffles its students as `trainer.train` does with
`seed + r`; replicate 0 is therefore the same run as `trainer.train(base)`: its distilled student at (T, α),
its baseline and label-smoothing students match the trainer's within float tolerance (tests check it).

Each replicate holds one student per grid cell plus two controls: "baseline" (cross-entropy only) and
"smoothing" (label-smoothed cross-entropy, no teacher), when `controls` is on.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from compression.device import resolve_device
from compression.distillation.data import DATASETS, TensorData, load_dataset
from compression.distillation.losses import kd_loss_stacked
from compression.distillation.models import build_model, count_params, parse_model
from compression.distillation.trainer import (
    ProgressEvent,
    TeacherCache,
    TrainConfig,
    TrainingError,
    _check_finite,
    _cosine,
    _logits,
    make_adam,
    prepare_teacher,
    validate_config,
)

DEFAULT_TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_ALPHAS = (0.1, 0.5, 0.9, 1.0)
DEFAULT_MAX_CELLS = 72
"""Most students one sweep may train at once (cells × seeds, controls included); COMPRESSION_LAB_MAX_SWEEP_CELLS."""
MAX_SEEDS = 5
MEMORY_SHARE = 0.5
"""A sweep may use at most this share of the device's free memory (measured when the sweep is checked)."""
EVAL_CHUNK = 1024


def max_sweep_cells() -> int:
    """The server's limit on students per sweep: COMPRESSION_LAB_MAX_SWEEP_CELLS (default 72)."""
    from compression.config import Settings

    return getattr(Settings.from_env(), "max_sweep_cells", DEFAULT_MAX_CELLS)


def parse_values(text: str, name: str) -> tuple[float, ...]:
    """ "1,2,4,8" -> (1.0, 2.0, 4.0, 8.0); ValueError names the bad entry. Duplicates are dropped, order kept."""
    values: list[float] = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError as exc:
            raise ValueError(f"{name}: {part[:20]!r} is not a number (give a list like 1,2,4,8).") from exc
        if value not in values:
            values.append(value)
    if not values:
        raise ValueError(f"{name}: give at least one value, e.g. 1,2,4,8.")
    return tuple(values)


@dataclass(frozen=True)
class SweepConfig:
    """A grid of (temperature, alpha) cells over one base configuration (its T and alpha are ignored)."""

    kind: ClassVar[str] = "sweep"
    """Its job kind in the queue (`job_kinds`; registered in `kinds`)."""
    base: TrainConfig
    cells: tuple[tuple[float, float], ...]
    seeds: int = 1
    """Seed replicates per cell: 3 measures the seed-to-seed noise."""
    controls: bool = True
    """Add the baseline (and, when base.label_smoothing > 0, the label-smoothing) control students."""

    @classmethod
    def grid(
        cls,
        base: TrainConfig,
        temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES,
        alphas: tuple[float, ...] = DEFAULT_ALPHAS,
        seeds: int = 1,
        controls: bool = True,
    ) -> SweepConfig:
        cells = tuple((float(t), float(a)) for t in temperatures for a in alphas)
        return cls(base, cells, seeds, controls)

    def students(self) -> list[dict[str, Any]]:
        """One entry per trained student, in stacking order: cells then controls, replicate by replicate."""
        out = []
        for r in range(self.seeds):
            seed = self.base.seed + r
            for t, a in self.cells:
                out.append({"kind": "distilled", "name": cell_name(t, a), "temperature": t, "alpha": a, "seed": seed})
            if self.controls:
                out.append({"kind": "baseline", "name": "baseline", "temperature": None, "alpha": 0.0, "seed": seed})
                if self.base.label_smoothing > 0:
                    out.append(
                        {"kind": "smoothing", "name": "smoothing", "temperature": None, "alpha": 0.0, "seed": seed}
                    )
        for index, entry in enumerate(out):
            entry["index"] = index
            entry["replicate"] = entry["seed"] - self.base.seed
            entry["model"] = entry["name"] if self.seeds == 1 else f"{entry['name']} s{entry['seed']}"
        return out

    def to_dict(self) -> dict[str, Any]:
        data = self.base.to_dict()
        data.pop("temperature", None)
        data.pop("alpha", None)
        data.update(
            kind="sweep",
            cells=[list(c) for c in self.cells],
            temperatures=sorted({t for t, _ in self.cells}),
            alphas=sorted({a for _, a in self.cells}),
            seeds=self.seeds,
            controls=self.controls,
        )
        return data


def cell_name(temperature: float, alpha: float) -> str:
    return f"T={temperature:g} α={alpha:g}"


def sweep_sample_passes(sweep: SweepConfig) -> int:
    """n_train × (teacher epochs + students × epochs), as `trainer.sample_passes` counts a run."""
    base = sweep.base
    n_train = round(DATASETS[base.dataset].train_pool * base.resolved_train_fraction())
    return n_train * (base.resolved_teacher_epochs() + len(sweep.students()) * base.epochs)


def validate_sweep(
    sweep: SweepConfig,
    max_epochs: int = 100_000,
    max_cells: int | None = None,
    memory_limit_bytes: int | None = None,
) -> SweepConfig:
    """Check the base config, the grid, the student architecture, the cell limit and the memory estimate."""
    if not isinstance(sweep.base, TrainConfig):
        raise ValueError("A sweep needs a TrainConfig as its base.")
    if not sweep.cells:
        raise ValueError("The sweep has no cells: choose at least one temperature and one alpha.")
    for t, a in sweep.cells:
        validate_config(replace(sweep.base, temperature=t, alpha=a), max_epochs)
    if len(set(sweep.cells)) != len(sweep.cells):
        raise ValueError("The sweep lists a (T, alpha) cell twice.")
    if not isinstance(sweep.seeds, int) or isinstance(sweep.seeds, bool) or not 1 <= sweep.seeds <= MAX_SEEDS:
        raise ValueError(f"Seeds per cell must be a whole number from 1 to {MAX_SEEDS}, got {sweep.seeds!r}.")
    if sweep.base.seed + sweep.seeds > 2**31:
        raise ValueError("The seed is too large for this many replicates.")
    if sweep.base.student_augment:
        raise ValueError(
            "A sweep cannot shift the students' inputs (student augment): the batched students share one "
            "input stream. Turn student augmentation off."
        )
    check_architecture(sweep.base.student)
    limit = max_sweep_cells() if max_cells is None else max_cells
    count = len(sweep.students())
    if count > limit:
        raise ValueError(
            f"This sweep trains {count} students ({len(sweep.cells)} cells"
            f"{' + controls' if sweep.controls else ''} × {sweep.seeds} seed(s)); this server allows at most "
            f"{limit} at once (COMPRESSION_LAB_MAX_SWEEP_CELLS). Choose fewer temperatures, alphas or seeds."
        )
    needed = estimate_memory_bytes(sweep)
    available = memory_limit_bytes if memory_limit_bytes is not None else memory_budget_bytes(sweep.base.device)
    if available is not None and needed > available:
        raise ValueError(
            f"This sweep needs about {needed / 2**20:,.0f} MiB for its {count} students (weights, gradients, "
            f"Adam state and activations); this device can give a sweep about {available / 2**20:,.0f} MiB "
            "right now. Choose fewer cells or seeds, a smaller student, or a smaller batch."
        )
    return sweep


def check_architecture(student: str) -> None:
    """Raise ValueError when the student cannot be trained in the batched form (dropout: per-student randomness)."""
    spec = parse_model(student, "student")
    if spec.dropout > 0:
        raise ValueError(
            f"The student {student!r} uses dropout, which a batched sweep cannot reproduce student by student "
            "(each would need its own random mask stream). Choose a student without dropout "
            "(article-student, mlp-32, cnn-tiny or mlp:H1,H2)."
        )
    if spec.kind not in ("mlp", "cnn"):
        raise ValueError(f"The student kind {spec.kind!r} has no batched form.")


def estimate_memory_bytes(sweep: SweepConfig) -> int:
    """4 bytes × K × (4 × params [weights, gradients, Adam m and v] + 3 × batch × activations + eval chunk ×
    widest layer × 2), plus the teacher's cached logits per replicate; for an MLP or CNN student."""
    from compression.distillation.data import DATASETS

    info = DATASETS[sweep.base.dataset]
    spec = parse_model(sweep.base.student, "student")
    with torch.device("meta"):
        model = build_model(spec, info.input_shape, info.num_classes)
    params = count_params(model)
    c, h, w = info.input_shape
    if spec.kind == "cnn":
        widths = [ch * h * w for ch in spec.channels] + [spec.channels[-1] * (h // 2) * (w // 2)]
    else:
        widths = [c * h * w]
    widths += list(spec.hidden) + [info.num_classes]
    activations = sum(widths)
    k = len(sweep.students())
    per_student = 4 * params + 3 * sweep.base.batch_size * activations + 2 * min(EVAL_CHUNK, 10_000) * max(widths)
    n_train = round(DATASETS[sweep.base.dataset].train_pool * sweep.base.resolved_train_fraction())
    return 4 * (k * per_student + n_train * info.num_classes)


def memory_budget_bytes(device: str) -> int | None:
    """MEMORY_SHARE of the free memory of the device (CUDA: mem_get_info; CPU: MemAvailable); None if unknown."""
    try:
        resolved = resolve_device(device)
    except ValueError:
        return None
    if resolved.type == "cuda":
        free, _ = torch.cuda.mem_get_info(resolved)
        return int(MEMORY_SHARE * free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(MEMORY_SHARE * int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        return int(MEMORY_SHARE * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


# --- results ------------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    config: dict[str, Any]
    teacher: dict[str, Any]
    """test_accuracy and test_loss of the teacher, and its architecture."""
    cells: list[dict[str, Any]]
    """One row per trained student: kind, name, temperature, alpha, seed, test_accuracy, test_loss, agreement,
    history (its per-epoch rows)."""
    history: list[dict[str, Any]]
    """Teacher rows and every student's rows {model, cell, epoch, train_loss, test_loss, test_accuracy, agreement}."""
    device: str
    teacher_from_cache: bool
    seconds: float
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)
    """"best": the state_dict of the best distilled student (highest mean accuracy over seeds, its first seed)."""
    stacked: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    """Every student's final weights, stacked along the first axis in `cells` order (CPU)."""

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON: "sweep" (one row per student), "teacher", "baseline", "smoothing", "best", "verdict"."""
        grouped = summarize(self.cells)
        out: dict[str, Any] = {
            "sweep": [row for row in self.cells if row["kind"] == "distilled"],
            "teacher": self.teacher,
        }
        for kind in ("baseline", "smoothing"):
            rows = [r for r in self.cells if r["kind"] == kind]
            if rows:
                out[kind] = {
                    "test_accuracy": statistics.fmean(r["test_accuracy"] for r in rows),
                    "test_loss": statistics.fmean(r["test_loss"] for r in rows),
                    "agreement": statistics.fmean(r["agreement"] for r in rows),
                    "seeds": [r["seed"] for r in rows],
                    "per_seed": [
                        {k: r[k] for k in ("seed", "test_accuracy", "test_loss", "agreement", "history")} for r in rows
                    ],
                }
        out["summary"] = grouped
        out["verdict"] = verdict(grouped).__dict__
        out["history"] = self.history
        out["config"] = self.config
        out["device"] = self.device
        out["teacher_from_cache"] = self.teacher_from_cache
        out["seconds"] = self.seconds
        return out


def summarize(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (kind, T, alpha): mean and sample std of test accuracy over seeds, n seeds, mean loss and agreement."""
    groups: dict[tuple[str, Any, Any], list[dict[str, Any]]] = {}
    for row in cells:
        groups.setdefault((row["kind"], row["temperature"], row["alpha"]), []).append(row)
    out = []
    for (kind, t, a), rows in groups.items():
        accs = [r["test_accuracy"] for r in rows]
        out.append(
            {
                "kind": kind,
                "name": rows[0]["name"],
                "temperature": t,
                "alpha": a,
                "seeds": len(rows),
                "test_accuracy": statistics.fmean(accs),
                "std": statistics.stdev(accs) if len(accs) > 1 else None,
                "test_loss": statistics.fmean(r["test_loss"] for r in rows),
                "agreement": statistics.fmean(r["agreement"] for r in rows),
            }
        )
    return out


@dataclass
class SweepVerdict:
    """Whether the best cell's lead is larger than the seed noise.

    noise: pooled seed-to-seed std of one student's accuracy, sqrt(mean of the per-cell variances);
    the lead of one mean of n seeds over another counts when it exceeds 2 · noise · sqrt(2 / n)
    (two standard errors of a difference). With one seed the noise is unknown and nothing counts.
    """

    kind: str
    """"clear" (the lead exceeds the noise), "within-noise", "unknown" (one seed) or "empty"."""
    headline: str
    best: str | None = None
    best_accuracy: float | None = None
    lead_over_next: float | None = None
    gain_over_baseline: float | None = None
    gain_over_smoothing: float | None = None
    noise: float | None = None
    threshold: float | None = None
    seeds: int | None = None


def verdict_text(v: dict[str, Any], lang: str = "en", seeds: int | None = None) -> str:
    """A stored sweep verdict (`SweepVerdict.__dict__`, as the JSON and the store keep it) in `lang`, from its
    figures and the catalogue (compression/i18n `sweep.verdict.*`); its English is the CLI's headline.
    `seeds` is used when the stored verdict predates its `seeds` field (the sweep's own config knows it)."""
    from compression.i18n import t

    def say(key: str, **figures: Any) -> str:
        return t(f"sweep.verdict.{key}", lang, **figures)

    if v.get("kind") == "empty" or v.get("best") is None:
        return say("empty")
    against = []
    for field_name, key in (("gain_over_baseline", "over_baseline"), ("gain_over_smoothing", "over_smoothing"),
                            ("lead_over_next", "over_next")):  # fmt: skip
        if v.get(field_name) is not None:
            against.append(say(key, points=100 * v[field_name]))
    figures = {"best": v["best"], "accuracy": 100 * v["best_accuracy"], "against": say("join").join(against)}
    if v.get("kind") == "unknown" or v.get("noise") is None:
        return say("one_seed", **figures)
    threshold = v["threshold"]
    controls = []
    for field_name, name in (("gain_over_baseline", "baseline"), ("gain_over_smoothing", "smoothing")):
        gain = v.get(field_name)
        if gain is None:
            continue
        verb = "beats" if gain > threshold else ("loses_to" if gain < -threshold else "within")
        controls.append(say(verb, control=say(f"control_{name}")))
    lead = v.get("lead_over_next")
    lead_text = "" if lead is None else say("lead_clear" if v.get("kind") == "clear" else "lead_noise")
    return say(
        "seeds",
        **figures,
        seeds=v.get("seeds") or seeds or 0,
        noise=100 * v["noise"],
        threshold=100 * threshold,
        lead=lead_text,
        controls=say("and").join(controls) if controls else say("no_control"),
    )


def verdict(summary: list[dict[str, Any]]) -> SweepVerdict:
    """Compare the best distilled cell with the runner-up and the controls; see `SweepVerdict`."""
    distilled = sorted((r for r in summary if r["kind"] == "distilled"), key=lambda r: -r["test_accuracy"])
    if not distilled:
        return SweepVerdict("empty", "No distilled cell finished.")
    best = distilled[0]
    by_kind = {r["kind"]: r for r in summary if r["kind"] != "distilled"}
    lead = best["test_accuracy"] - distilled[1]["test_accuracy"] if len(distilled) > 1 else None
    gain_b = best["test_accuracy"] - by_kind["baseline"]["test_accuracy"] if "baseline" in by_kind else None
    gain_s = best["test_accuracy"] - by_kind["smoothing"]["test_accuracy"] if "smoothing" in by_kind else None
    variances = [r["std"] ** 2 for r in summary if r["std"] is not None]
    n = best["seeds"]
    result = SweepVerdict("unknown", "", best["name"], best["test_accuracy"], lead, gain_b, gain_s, seeds=n)
    pct = lambda v: f"{100 * v:+.2f} points"  # noqa: E731
    parts = []
    if gain_b is not None:
        parts.append(f"{pct(gain_b)} over the baseline")
    if gain_s is not None:
        parts.append(f"{pct(gain_s)} over label smoothing")
    if lead is not None:
        parts.append(f"{pct(lead)} over the next cell")
    against = "; ".join(parts)
    if not variances or n < 2:
        result.headline = (
            f"Best cell {best['name']} at {100 * best['test_accuracy']:.2f}% ({against}). With one seed per cell "
            "the seed-to-seed noise is unknown: run 3 seeds per cell to tell a real lead from luck."
        )
        return result
    noise = math.sqrt(statistics.fmean(variances))
    threshold = 2 * noise * math.sqrt(2 / n)
    result.noise, result.threshold = noise, threshold
    beats_next = lead is None or lead > threshold
    result.kind = "clear" if beats_next else "within-noise"

    def against_control(gain: float, name: str) -> str:
        if gain > threshold:
            return f"beats {name}"
        if gain < -threshold:
            return f"loses to {name}"
        return f"is within the noise of {name}"

    controls = [against_control(g, name) for g, name in ((gain_b, "the baseline"), (gain_s, "label smoothing"))
                if g is not None]  # fmt: skip
    lead_text = (
        "" if lead is None else
        "its lead over the next cell is larger than the noise; " if beats_next else
        "its lead over the next cell is within the noise (several cells are equally good); "
    )  # fmt: skip
    result.headline = (
        f"Best cell {best['name']} at {100 * best['test_accuracy']:.2f}% over {n} seeds ({against}). "
        f"Seed noise: ±{100 * noise:.2f} points per student, so a difference counts above {100 * threshold:.2f} "
        f"points: {lead_text}it {' and '.join(controls) if controls else 'has no control to compare with'}."
    )
    return result


# --- the batched model ----------------------------------------------------------------------------------------
class StackedStudents:
    """K students of one architecture as stacked parameters {name: (K, ...)} with a batched forward."""

    def __init__(self, template: nn.Sequential, params: dict[str, torch.Tensor]) -> None:
        self.template = template
        self.params = params
        kinds = {type(m) for m in template}
        self.is_mlp = kinds <= {nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout}
        if not self.is_mlp:
            from torch.func import functional_call, vmap

            def one(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
                return functional_call(template, p, (x,))

            self._vmapped = vmap(one, in_dims=(0, 0))

    @classmethod
    def from_models(cls, models: list[nn.Sequential]) -> StackedStudents:
        params = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_(True)
            for name, _ in models[0].named_parameters()
        }
        return cls(models[0], params)

    def __call__(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        """x: (K, B, C, H, W) -> logits (K, B, classes). `shared`: every student gets the same input, x is
        (B, C, H, W), and an MLP's first layer is one matrix product with all K weight matrices side by side."""
        k = next(iter(self.params.values())).shape[0]
        if not self.is_mlp:
            return self._vmapped(self.params, x.expand(k, *x.shape) if shared else x)
        h = x.flatten(1) if shared else x.flatten(2)
        for name, module in self.template.named_children():
            if isinstance(module, nn.Linear):
                weight, bias = self.params[f"{name}.weight"], self.params[f"{name}.bias"]
                if h.dim() == 2:  # (B, in) @ (in, K·out): one GEMM for the K students
                    out = weight.shape[1]
                    h = F.linear(h, weight.reshape(k * out, -1), bias.reshape(-1)).view(-1, k, out).transpose(0, 1)
                else:
                    h = torch.bmm(h, weight.transpose(1, 2)) + bias.unsqueeze(1)  # faster than baddbmm here
            elif isinstance(module, nn.ReLU):
                h = torch.relu(h)
        return h

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        return {name: p[k].detach().cpu().clone().contiguous() for name, p in self.params.items()}


# --- training -----------------------------------------------------------------------------------------------
def train_sweep(
    sweep: SweepConfig,
    *,
    data_dir: Path | str = "data",
    allow_download: bool = False,
    max_epochs: int = 100_000,
    max_cells: int | None = None,
    teacher_cache: TeacherCache | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SweepResult:
    """Train every student of the sweep as one batched model; see the module doc.

    Raises ValueError for a bad sweep, TrainingCancelled when stopped, TrainingError when the device fails.
    """
    validate_sweep(sweep, max_epochs, max_cells)
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    device = resolve_device(sweep.base.device)
    try:
        return _train_sweep(sweep, device, data_dir, allow_download, teacher_cache, emit, stop)
    except torch.cuda.OutOfMemoryError as exc:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise TrainingError(
            f"The GPU ran out of memory ({device}) with {len(sweep.students())} students. Use fewer cells or seeds."
        ) from exc


def _train_sweep(
    sweep: SweepConfig,
    device: torch.device,
    data_dir: Path | str,
    allow_download: bool,
    teacher_cache: TeacherCache | None,
    emit: Callable[[ProgressEvent], None],
    stop: Callable[[], bool],
) -> SweepResult:
    started = time.perf_counter()
    config = sweep.base
    students = sweep.students()
    k = len(students)
    emit(ProgressEvent("status", "data", message=f"Loading {config.dataset} on {device}",
                       key="progress.loading", params={"dataset": config.dataset, "device": str(device)}))  # fmt: skip
    data = load_dataset(
        config.dataset,
        seed=config.seed,
        train_fraction=config.resolved_train_fraction(),
        data_dir=data_dir,
        allow_download=allow_download,
        device=device,
    )
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    teacher, teacher_rows, from_cache, progress = prepare_teacher(
        config, data, device, steps_per_epoch, teacher_cache, config.epochs * steps_per_epoch, emit, stop
    )
    history: list[dict[str, Any]] = list(teacher_rows)
    teacher_train_logits = _logits(teacher, data.x_train)
    teacher_test_pred = _logits(teacher, data.x_test).argmax(1)

    emit(ProgressEvent("status", "students", message=f"Training {k} students as one batch for {config.epochs} epochs",
                       key="progress.sweep_students", params={"students": k, "epochs": config.epochs}))  # fmt: skip
    spec = parse_model(config.student, "student")
    initial = []
    for r in range(sweep.seeds):
        torch.manual_seed(config.seed + r + 1)  # as trainer.train with seed + r
        initial.append(build_model(spec, data.input_shape, data.num_classes).to(device))
    model = StackedStudents.from_models([initial[s["replicate"]] for s in students])
    params = list(model.params.values())
    optimizer = make_adam(params, config.lr, device)
    scheduler = _cosine(optimizer, config.epochs * steps_per_epoch)
    orders = [torch.Generator().manual_seed(config.seed + r + 2) for r in range(sweep.seeds)]
    replicate = torch.tensor([s["replicate"] for s in students], device=device)

    def column(key: str, default: float) -> torch.Tensor:
        values = [default if s[key] is None else float(s[key]) for s in students]
        return torch.tensor(values, device=device)

    temperature = column("temperature", 1.0)
    alpha = column("alpha", 0.0)
    smoothing = torch.tensor(
        [config.label_smoothing if s["kind"] == "smoothing" else 0.0 for s in students], device=device
    )
    per_student: list[list[dict[str, Any]]] = [[] for _ in students]
    shared = sweep.seeds == 1  # one batch order: every student sees the same inputs

    for epoch in range(1, config.epochs + 1):
        perms = torch.stack([torch.randperm(n_train, generator=g) for g in orders]).to(device)  # (R, N)
        total = torch.zeros(k, device=device)
        for step, start in enumerate(range(0, n_train, config.batch_size)):
            idx = perms[:, start : start + config.batch_size][replicate]  # (K, B): each student's batch
            logits = model(data.x_train[idx[0]], shared=True) if shared else model(data.x_train[idx])
            losses = kd_loss_stacked(
                logits, teacher_train_logits[idx], data.y_train[idx], temperature, alpha, smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            scheduler.step()
            total += losses.detach() * idx.shape[1]
            progress.step("students", epoch, config.epochs, step, steps_per_epoch)
        mean_losses = (total / n_train).tolist()
        for s, mean_loss in zip(students, mean_losses, strict=True):  # as the trainer: never train on NaN
            _check_finite(mean_loss, s["kind"] if s["kind"] != "distilled" else "student", epoch, s["model"])
        rows = _evaluate_stacked(model, data, students, epoch, mean_losses, teacher_test_pred)
        for i, row in enumerate(rows):
            per_student[i].append(row)
        history.extend(rows)
        emit(ProgressEvent("epoch", "students", progress.done / progress.total, epoch, config.epochs, rows=rows))

    teacher_last = teacher_rows[-1]
    cells = []
    for s, rows in zip(students, per_student, strict=True):
        last = rows[-1]
        cells.append(
            {
                "index": s["index"],
                "kind": s["kind"],
                "name": s["name"],
                "model": s["model"],
                "temperature": s["temperature"],
                "alpha": s["alpha"],
                "seed": s["seed"],
                "test_accuracy": last["test_accuracy"],
                "test_loss": last["test_loss"],
                "agreement": last["agreement"],
                "history": [
                    {key: r[key] for key in ("epoch", "train_loss", "test_loss", "test_accuracy", "agreement")}
                    for r in rows
                ],
            }
        )
    best_name = next((r["name"] for r in sorted(summarize(cells), key=lambda r: -r["test_accuracy"])
                      if r["kind"] == "distilled"), None)  # fmt: skip
    best_index = next(c["index"] for c in cells if c["name"] == best_name)
    return SweepResult(
        config=sweep.to_dict(),
        teacher={
            "architecture": parse_model(config.teacher, "teacher").name,
            "test_accuracy": teacher_last["test_accuracy"],
            "test_loss": teacher_last["test_loss"],
        },
        cells=cells,
        history=history,
        device=str(device),
        teacher_from_cache=from_cache,
        seconds=time.perf_counter() - started,
        weights={"best": model.state_dict(best_index)},
        stacked={name: p.detach().cpu().clone() for name, p in model.params.items()},
    )


@torch.no_grad()
def _evaluate_stacked(
    model: StackedStudents,
    data: TensorData,
    students: list[dict[str, Any]],
    epoch: int,
    train_losses: list[float],
    teacher_test_pred: torch.Tensor,
) -> list[dict[str, Any]]:
    """Test loss (mean cross-entropy), accuracy and agreement with the teacher's top-1, per student."""
    k = len(students)
    n = len(data.y_test)
    loss_sum = torch.zeros(k, device=data.x_test.device)
    correct = torch.zeros(k, device=data.x_test.device)
    agree = torch.zeros(k, device=data.x_test.device)
    for start in range(0, n, EVAL_CHUNK):
        x = data.x_test[start : start + EVAL_CHUNK]
        y = data.y_test[start : start + EVAL_CHUNK]
        logits = model(x, shared=True)
        loss_sum += F.cross_entropy(logits.transpose(1, 2), y.expand(k, -1), reduction="none").sum(1)
        pred = logits.argmax(2)
        correct += (pred == y).sum(1)
        agree += (pred == teacher_test_pred[start : start + EVAL_CHUNK]).sum(1)
    losses, accs, agrees = (loss_sum / n).tolist(), (correct / n).tolist(), (agree / n).tolist()
    return [
        {
            "model": s["model"],
            "cell": s["index"],
            "epoch": epoch,
            "train_loss": float(train_losses[i]),
            "test_loss": float(losses[i]),
            "test_accuracy": float(accs[i]),
            "agreement": float(agrees[i]),
        }
        for i, s in enumerate(students)
    ]


# --- for pages: the room's submissions and the frames to draw -------------------------------------------------
class SweepRoom:
    """Cells submitted by a room of learners (one per visitor; a new one replaces theirs), thread-safe.

    The presenter starts one sweep with every distinct cell submitted; `started` records that job for every
    visitor to watch and empties the submissions for the next round.
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._cells: dict[str, tuple[float, float]] = {}
        self.job_id: str | None = None
        self.round = 0

    def submit(self, visitor: str, temperature: float, alpha: float) -> tuple[float, float]:
        """Check and record this visitor's cell (T rounded to 0.01, alpha to 0.01); ValueError for a bad value."""
        t, a = round(float(temperature), 2), round(float(alpha), 2)
        validate_config(replace(TrainConfig(device="cpu"), temperature=t, alpha=a))
        with self._lock:
            self._cells[visitor] = (t, a)
        return t, a

    def withdraw(self, visitor: str) -> None:
        with self._lock:
            self._cells.pop(visitor, None)

    def mine(self, visitor: str) -> tuple[float, float] | None:
        with self._lock:
            return self._cells.get(visitor)

    def cells(self) -> list[dict[str, Any]]:
        """Distinct cells sorted by T then alpha, with how many learners chose each."""
        with self._lock:
            chosen = list(self._cells.values())
        counts: dict[tuple[float, float], int] = {}
        for cell in chosen:
            counts[cell] = counts.get(cell, 0) + 1
        return [{"temperature": t, "alpha": a, "learners": n} for (t, a), n in sorted(counts.items())]

    def started(self, job_id: str) -> None:
        with self._lock:
            self.job_id = job_id
            self.round += 1
            self._cells.clear()

    def clear(self) -> None:
        with self._lock:
            self._cells.clear()


def sweep_history_frame(rows: list[dict[str, Any]], max_points: int | None = None) -> Any:
    """Rows {model, epoch, test_accuracy, ...} -> DataFrame [model, epoch, test accuracy %, test loss], at most
    about `max_points` epochs per model (evenly spaced, always the last)."""
    import pandas as pd

    from compression.distillation.report import thin_per_model

    frame = pd.DataFrame(rows, columns=["model", "epoch", "train_loss", "test_loss", "test_accuracy", "agreement"])
    if frame.empty:
        return pd.DataFrame(columns=["model", "epoch", "test accuracy %", "test loss"])
    if max_points:
        frame = thin_per_model(frame, max_points)
    frame = frame.assign(**{"test accuracy %": 100 * frame["test_accuracy"], "test loss": frame["test_loss"]})
    return frame[["model", "epoch", "test accuracy %", "test loss"]].reset_index(drop=True)


def heatmap_frames(summary: list[dict[str, Any]]) -> tuple[Any, Any, dict[str, float]]:
    """(accuracy %, gain over the baseline in points) as T × alpha pivots (rows T, columns alpha), and the
    controls' accuracies {"baseline": %, "smoothing": %}; gain = cell − baseline (None without a baseline)."""
    import pandas as pd

    cells = pd.DataFrame([r for r in summary if r["kind"] == "distilled"])
    controls = {r["kind"]: 100 * r["test_accuracy"] for r in summary if r["kind"] != "distilled"}
    if cells.empty:
        empty = pd.DataFrame()
        return empty, empty, controls
    accuracy = cells.pivot_table(index="temperature", columns="alpha", values="test_accuracy", aggfunc="mean") * 100
    accuracy = accuracy.sort_index().sort_index(axis=1)
    gain = accuracy - controls["baseline"] if "baseline" in controls else None
    return accuracy, gain, controls


def summary_csv(summary: list[dict[str, Any]]) -> str:
    """One line per cell and control: kind, T, alpha, seeds, mean test accuracy, its std over seeds, loss, agreement."""
    import pandas as pd

    columns = ["kind", "name", "temperature", "alpha", "seeds", "test_accuracy", "std", "test_loss", "agreement"]
    return pd.DataFrame(summary, columns=columns).to_csv(index=False)
