"""A temperature × alpha grid of distilled students: one group of the engine (`engine.train_group`).

The group holds, per seed replicate, one distilled student per (T, alpha) cell plus the controls: every other
variant a run trains (the baseline, the label-smoothing student, any registered variant), each with the loss
terms its variant declares. They share the teacher (trained or reused from the cache exactly as `trainer.train`
does), the data split, the architecture and, within one replicate, the initial weights and the batch order.
Replicate r (0 .. seeds − 1) initialises and shuffles its students as `trainer.train` does with `seed + r`, so
replicate 0 is the same run as `trainer.train(base)`: its distilled student at (T, alpha) and its controls
match the trainer's within float tolerance (tests check it).

The group trains stacked (one batched model, `engine.StackedStudents`: tiny students are bound by per-step
overhead) when the student and the controls allow it, and looped otherwise (a student with dropout, a control
with a custom loss): the same numbers either way, only the speed differs.
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

from compression.device import resolve_device
from compression.distillation.data import DATASETS
from compression.distillation.engine import (  # noqa: F401 - StackedStudents: the sweep's batched model
    EVAL_CHUNK,
    Member,
    StackedStudents,
    stackable,
    train_group,
)
from compression.distillation.models import build_model, count_params, parse_model
from compression.distillation.trainer import (
    ProgressEvent,
    Runtime,
    TeacherCache,
    TrainConfig,
    device_errors,
    start_group,
    validate_config,
)
from compression.distillation.variants import VARIANTS, Variant, enabled_variants

DEFAULT_TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_ALPHAS = (0.1, 0.5, 0.9, 1.0)
DEFAULT_MAX_CELLS = 72
"""Most students one sweep may train at once (cells × seeds, controls included); COMPRESSION_LAB_MAX_SWEEP_CELLS."""
MAX_SEEDS = 5
MEMORY_SHARE = 0.5
"""A sweep may use at most this share of the device's free memory (measured when the sweep is checked)."""


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
        """One entry per trained student, in group order: cells then controls, replicate by replicate.

        The controls are every variant a run with the base configuration trains besides the distilled student
        (`variants.enabled_variants`: the baseline, label smoothing when base.label_smoothing > 0, and any
        registered variant), each with the loss terms it declares."""
        out = []
        for r in range(self.seeds):
            seed = self.base.seed + r
            for t, a in self.cells:
                out.append({"kind": "distilled", "name": cell_name(t, a), "temperature": t, "alpha": a, "seed": seed})
            if self.controls:
                for variant in control_variants(self.base):
                    terms = variant.terms(self.base) if variant.terms is not None else None
                    teacher = terms is not None and terms.uses_teacher
                    out.append({"kind": variant.name, "name": variant.name,
                                "temperature": terms.temperature if teacher else None,
                                "alpha": terms.alpha if teacher else 0.0, "seed": seed})  # fmt: skip
        for index, entry in enumerate(out):
            entry["index"] = index
            entry["replicate"] = entry["seed"] - self.base.seed
            entry["model"] = entry["name"] if self.seeds == 1 else f"{entry['name']} s{entry['seed']}"
        return out

    def members(self) -> list[Member]:
        """The group the engine trains: each student of `students()` with the loss terms of its variant."""
        out = []
        for s in self.students():
            if s["kind"] == "distilled":
                config, variant = (
                    replace(self.base, temperature=s["temperature"], alpha=s["alpha"]),
                    VARIANTS["student"],
                )
            else:
                config, variant = self.base, VARIANTS[s["kind"]]
            out.append(variant.member(config, s["model"], s["replicate"], s["index"], label=s["model"]))
        return out

    def mode(self) -> str:
        """ "stacked" (one batched model) when the student and every control allow it, else "looped"."""
        if stackable(self.base.student) is None and all(m.loss is None for m in self.members()):
            return "stacked"
        return "looped"

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


def control_variants(base: TrainConfig) -> list[Variant]:
    """The variants a sweep over `base` trains as controls: every enabled one but the distilled student."""
    return [v for v in enabled_variants(base) if v.name != "student"]


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
    """Raise ValueError when the student has no form a sweep can train (every model the lab builds has one:
    MLPs and CNNs stack, students with dropout train looped)."""
    parse_model(student, "student")


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
        for kind in dict.fromkeys(r["kind"] for r in self.cells if r["kind"] != "distilled"):
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
    device = resolve_device(sweep.base.device)
    with device_errors(device, f"The sweep trains {len(sweep.students())} students: use fewer cells or seeds."):
        runtime = Runtime.of(device, data_dir, allow_download, teacher_cache, on_event, should_stop)
        return _train_sweep(sweep, runtime)


def _train_sweep(sweep: SweepConfig, runtime: Runtime) -> SweepResult:
    started = time.perf_counter()
    config = sweep.base
    students = sweep.students()
    k = len(students)
    mode = sweep.mode()
    per_step = 1 if mode == "stacked" else k  # progress steps per optimisation step of the group
    start = start_group(config, runtime, lambda steps: steps * config.epochs * per_step)
    device, emit = runtime.device, runtime.emit
    teacher_rows, from_cache = start.teacher_rows, start.teacher_from_cache
    history: list[dict[str, Any]] = list(teacher_rows)
    key = "progress.sweep_students" if mode == "stacked" else "progress.sweep_students_looped"
    emit(ProgressEvent("status", "students", message=f"Training {k} students as one batch for {config.epochs} epochs"
                       if mode == "stacked" else f"Training {k} students side by side for {config.epochs} epochs",
                       key=key, params={"students": k, "epochs": config.epochs}))  # fmt: skip
    group = train_group(config, sweep.members(), start.data, start.teacher, start.progress, emit, mode=mode)
    history.extend(group.rows)
    per_student = group.histories

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
        weights={"best": group.state_dict(best_index)},
        stacked={name: torch.stack([group.state_dict(i)[name] for i in range(k)]) for name in group.state_dict(0)},
    )


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


CELLS_COLUMNS = ["name", "test accuracy %", "± std", "kind", "temperature", "alpha", "seeds", "agreement"]


def cells_frame(summary: list[dict[str, Any]]) -> Any:
    """The results table: one row per cell and control, best first; accuracy and its std over seeds in %.
    The "± std" column is left out when every row has one seed (no spread to show). Names and kinds are the
    library's (a page says them in its visitor's language); a control's temperature is None."""
    import pandas as pd

    table = pd.DataFrame(summary)
    if table.empty:
        return pd.DataFrame(columns=CELLS_COLUMNS)
    table = table.assign(**{"test accuracy %": 100 * table["test_accuracy"], "± std": 100 * table["std"].astype(float)})
    table = table[CELLS_COLUMNS].sort_values("test accuracy %", ascending=False)
    return table.drop(columns=["± std"]) if table["± std"].isna().all() else table
