"""One distillation run: the teacher, then three students trained side by side from the same weights.

1. The teacher is trained with cross-entropy (or reused from a cache keyed by its configuration), then put
   in eval() and run under no_grad(). Its logits on the training set are computed once and indexed with the
   same shuffled indices as each batch.
2. Copies of one freshly initialised student train on the same batches for the same epochs, one per
   variant of `variants.VARIANTS`: "student" (distilled with `kd_loss`), "baseline" (cross-entropy only, the
   honest control) and, optionally, "smoothing" (cross-entropy with label smoothing and no teacher: is the
   gain the teacher's knowledge or just softer targets?). They train interleaved epoch by epoch, so a live
   chart grows all curves together.
3. A loss that turns NaN or infinite stops the run with a message (TrainingError), never trains on.

Progress goes to a callback; `should_stop` is checked between steps. Same seed, same numbers on the CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from compression.device import resolve_device
from compression.distillation.data import DATASETS, TensorData, load_dataset
from compression.distillation.engine import (  # noqa: F401 - the trainer's names for the engine's pieces
    Group,
    Progress,
    ProgressEvent,
    TrainingCancelled,
    TrainingError,
    batches,
    check_finite,
    cosine,
    evaluate,
    logits_of,
    make_adam,
    student_epoch,
    train_group,
)
from compression.distillation.models import (
    TEACHER_PRESETS,
    build_model,
    count_params,
    parse_model,
    shift_batch,
    size_bytes,
)
from compression.distillation.variants import VARIANTS, enabled_variants
from compression.i18n import LabError, Text

LOGGER = logging.getLogger("compression_lab.trainer")
MAX_BATCH_SIZE = 4096
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 100.0


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. `epochs` are the students'; `teacher_epochs=None` uses the preset's."""

    kind: ClassVar[str] = "run"
    """Its job kind in the queue (`job_kinds`; registered in `kinds`)."""
    dataset: str = "digits"
    teacher: str = "cnn-small"
    student: str = "article-student"
    epochs: int = 1000
    teacher_epochs: int | None = None
    batch_size: int = 64
    lr: float = 3e-3
    temperature: float = 4.0
    alpha: float = 0.9
    seed: int = 0
    device: str = "auto"
    train_fraction: float | None = None
    """Share of the data used for training; None: the dataset's default (0.2 of digits, the rest is the test set;
    all of the official training set for the torchvision datasets)."""
    label_smoothing: float = 0.1
    """Label smoothing of the third control student; 0 leaves that student out."""
    teacher_augment: bool | None = None
    """Random 1-pixel shifts while training the teacher; None uses the preset's choice."""
    student_augment: bool = False
    """Random 1-pixel shifts for the students too (teacher logits are then computed per epoch)."""

    def resolved_teacher_epochs(self) -> int:
        if self.teacher_epochs is not None:
            return self.teacher_epochs
        preset = TEACHER_PRESETS.get(self.teacher.strip().lower())
        return preset.teacher_epochs if preset else 100

    def resolved_teacher_augment(self) -> bool:
        if self.teacher_augment is not None:
            return self.teacher_augment
        preset = TEACHER_PRESETS.get(self.teacher.strip().lower())
        return preset.augment if preset else False

    def resolved_train_fraction(self) -> float:
        if self.train_fraction is not None:
            return self.train_fraction
        info = DATASETS.get(self.dataset)
        return info.default_train_fraction if info else 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["train_fraction"] = self.resolved_train_fraction()
        data["teacher_epochs"] = self.resolved_teacher_epochs()
        data["teacher_augment"] = self.resolved_teacher_augment()
        return data


DEFAULT_CONFIG = TrainConfig()


def default_config(dataset: str = "digits") -> TrainConfig:
    """The default run on `dataset`: its own epochs, batch size and teacher (`DatasetInfo`), the rest as DEFAULT_CONFIG.

    The page, its deep links and the CLI all start from this, so they agree.
    """
    info = DATASETS.get(dataset)
    if info is None:
        raise ValueError(f"Unknown dataset {dataset!r}. Choose one of: {', '.join(DATASETS)}.")
    return replace(
        DEFAULT_CONFIG,
        dataset=dataset,
        teacher=info.default_teacher,
        teacher_epochs=info.default_teacher_epochs,
        epochs=info.default_epochs,
        batch_size=info.default_batch_size,
    )


def validate_config(config: TrainConfig, max_epochs: int = 2000) -> TrainConfig:
    """Check every field; raise ValueError with a learner-readable message for the first bad one."""
    if config.dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {config.dataset!r}. Choose one of: {', '.join(DATASETS)}.")
    parse_model(config.teacher, "teacher")
    parse_model(config.student, "student")
    for name, value, limit in (
        (Text("errors.config.student_epochs"), config.epochs, max_epochs),
        (Text("errors.config.teacher_epochs"), config.resolved_teacher_epochs(), max_epochs),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise LabError("config.epochs_min", name=name, value=repr(value))
        if value > limit:
            raise LabError("config.epochs_max", name=name, limit=limit, value=value)
    if not isinstance(config.batch_size, int) or not 1 <= config.batch_size <= MAX_BATCH_SIZE:
        raise LabError("config.batch_size", limit=MAX_BATCH_SIZE, value=repr(config.batch_size))
    if not (math.isfinite(config.lr) and 0 < config.lr <= 1):
        raise LabError("config.lr", value=config.lr)
    if not (math.isfinite(config.temperature) and config.temperature > 0):
        raise LabError("config.temperature_positive", value=config.temperature)
    if config.temperature < MIN_TEMPERATURE:
        raise LabError("config.temperature_min", limit=MIN_TEMPERATURE, value=config.temperature)
    if config.temperature > MAX_TEMPERATURE:
        raise LabError("config.temperature_max", limit=MAX_TEMPERATURE, value=config.temperature)
    if not (math.isfinite(config.alpha) and 0 <= config.alpha <= 1):
        raise LabError("config.alpha", value=config.alpha)
    if not (0 <= config.label_smoothing < 1):
        raise LabError("config.label_smoothing", value=config.label_smoothing)
    if not isinstance(config.seed, int) or not 0 <= config.seed < 2**31:
        raise LabError("config.seed", value=repr(config.seed))
    upper = DATASETS[config.dataset].max_train_fraction
    fraction = config.resolved_train_fraction()
    if not (math.isfinite(fraction) and 0.05 <= fraction <= upper):
        raise LabError("config.train_fraction", limit=upper, value=fraction)
    resolve_device(config.device)  # ValueError for an unknown or absent device
    return config


def sample_passes(config: TrainConfig) -> int:
    """How many training samples one run pushes through its models: n_train × (teacher epochs + students × epochs).

    Counts the teacher even when a cached one would be reused: the bound must hold before the job starts.
    """
    n_train = round(DATASETS[config.dataset].train_pool * config.resolved_train_fraction())
    return n_train * (config.resolved_teacher_epochs() + len(enabled_variants(config)) * config.epochs)


@dataclass
class ModelResult:
    role: str
    architecture: str
    test_accuracy: float
    test_loss: float
    params: int
    size_bytes: int
    compression_ratio: float
    """Teacher size / this model's size."""
    latency_ms: float
    """Median time of one forward pass over a batch of `batch_size` test inputs on the training device."""
    agreement: float | None
    """Share of test inputs where this model's top-1 class equals the teacher's (None for the teacher)."""


@dataclass
class TrainResult:
    config: dict[str, Any]
    models: dict[str, ModelResult]
    history: list[dict[str, Any]]
    """Rows {model, epoch, train_loss, test_loss, test_accuracy, agreement}."""
    device: str
    teacher_from_cache: bool
    seconds: float
    threads: int = 1
    """torch's intra-op CPU threads while it trained."""
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)

    @property
    def gap_closed(self) -> float | None:
        """(student − baseline) / (teacher − baseline) in accuracy; None when the teacher is not above the baseline."""
        return gap_closed(self.models)

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON: "teacher", "student", "baseline" (and "smoothing"), "history", "config"."""
        out: dict[str, Any] = {role: asdict(result) for role, result in self.models.items()}
        out["history"] = self.history
        out["config"] = self.config
        out["device"] = self.device
        out["teacher_from_cache"] = self.teacher_from_cache
        out["seconds"] = self.seconds
        out["threads"] = self.threads
        out["gap_closed"] = self.gap_closed
        return out


def gap_closed(models: dict[str, ModelResult]) -> float | None:
    """(student − baseline) / (teacher − baseline) test accuracy; None when teacher ≤ baseline."""
    try:
        t, s, b = (models[r].test_accuracy for r in ("teacher", "student", "baseline"))
    except KeyError:
        return None
    if t - b <= 1e-12:
        return None
    return (s - b) / (t - b)


class TeacherCache:
    """Trained teachers keyed by everything that determines them; in memory, and on disk when `folder` is set."""

    def __init__(self, folder: Path | None = None, capacity: int = 8) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.capacity = capacity
        self._memory: dict[str, tuple[dict[str, torch.Tensor], list[dict[str, Any]]]] = {}

    @staticmethod
    def key(config: TrainConfig, device: torch.device) -> str:
        spec = parse_model(config.teacher, "teacher")
        parts = {
            "dataset": config.dataset,
            "train_fraction": config.resolved_train_fraction(),
            "seed": config.seed,
            "teacher": spec.name,
            "dropout": spec.dropout,
            "epochs": config.resolved_teacher_epochs(),
            "augment": config.resolved_teacher_augment(),
            "batch_size": config.batch_size,
            "lr": config.lr,
            "device": device.type,
            "version": 1,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]

    def get(self, key: str) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]] | None:
        if key in self._memory:
            return self._memory[key]
        if self.folder is not None:
            weights, meta = self.folder / f"{key}.safetensors", self.folder / f"{key}.json"
            if weights.is_file() and meta.is_file():
                from safetensors.torch import load_file

                try:
                    entry = (load_file(str(weights)), json.loads(meta.read_text()))
                except (OSError, ValueError, RuntimeError):
                    return None
                self._remember(key, entry)
                return entry
        return None

    def put(self, key: str, state: dict[str, torch.Tensor], history: list[dict[str, Any]]) -> str | None:
        """Remember a trained teacher; returns None, or why it could not be saved on disk (the cache is an
        optimisation: a read-only folder or a full disk is logged and the run goes on)."""
        state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        self._remember(key, (state, history))
        if self.folder is None:
            return None
        tmp = self.folder / f"{key}.safetensors.tmp"
        try:
            from safetensors.torch import save_file

            self.folder.mkdir(parents=True, exist_ok=True)
            save_file(state, str(tmp))
            (self.folder / f"{key}.json").write_text(json.dumps(history))
            tmp.replace(self.folder / f"{key}.safetensors")
        except Exception as exc:  # noqa: BLE001 - OSError, safetensors' SafetensorError: never fail the run
            LOGGER.warning("Could not save the teacher cache in %s: %s", self.folder, exc)
            for leftover in (tmp, self.folder / f"{key}.json"):
                try:
                    leftover.unlink(missing_ok=True)
                except OSError:
                    pass
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            return f"the teacher could not be cached on disk ({reason}); the run goes on without the cache"
        return None

    def _remember(self, key: str, entry: tuple[dict[str, torch.Tensor], list[dict[str, Any]]]) -> None:
        self._memory[key] = entry
        while len(self._memory) > self.capacity:
            self._memory.pop(next(iter(self._memory)))


@torch.no_grad()
def _latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 15) -> float:
    model.eval()
    batch = x[: max(1, len(x))]
    device = batch.device
    for _ in range(3):
        model(batch)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        model(batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    times.sort()
    return 1000.0 * times[len(times) // 2]


_logits = logits_of
_cosine = cosine
_Progress = Progress
_batches = batches


def train(
    config: TrainConfig,
    *,
    data_dir: Path | str = "data",
    allow_download: bool = False,
    max_epochs: int = 100_000,
    teacher_cache: TeacherCache | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Run teacher → distilled student, baseline student (and label-smoothing student); see the module doc.

    Raises ValueError for a bad configuration or missing dataset, TrainingCancelled when stopped,
    TrainingError when the device fails (e.g. CUDA out of memory).
    """
    validate_config(config, max_epochs)
    device = resolve_device(config.device)
    with device_errors(device, "Try a smaller batch size, a smaller model, or the CPU."):
        return _train(config, Runtime.of(device, data_dir, allow_download, teacher_cache, on_event, should_stop))


@contextmanager
def device_errors(device: torch.device, advice: str) -> Iterator[None]:
    """The one translation of a device failure into a TrainingError the learner can act on (CUDA out of memory)."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise TrainingError(
            f"The GPU ran out of memory ({device}). {advice} Details: {str(exc).splitlines()[0][:200]}"
        ) from exc


@dataclass(frozen=True)
class Runtime:
    """Where and how a job trains: the device, the data folder, the teacher cache, progress and cancellation."""

    device: torch.device
    data_dir: Path | str = "data"
    allow_download: bool = False
    teacher_cache: TeacherCache | None = None
    emit: Callable[[ProgressEvent], None] = lambda event: None
    stop: Callable[[], bool] = lambda: False

    @classmethod
    def of(cls, device: torch.device, data_dir: Path | str, allow_download: bool, teacher_cache: TeacherCache | None,
           on_event: Callable[[ProgressEvent], None] | None, should_stop: Callable[[], bool] | None) -> Runtime:  # fmt: skip
        return cls(device, data_dir, allow_download, teacher_cache, on_event or (lambda event: None),
                   should_stop or (lambda: False))  # fmt: skip


@dataclass
class GroupStart:
    """What every group of students starts from: the device, the data, the frozen teacher and the progress counter."""

    device: torch.device
    data: TensorData
    teacher: nn.Module
    teacher_rows: list[dict[str, Any]]
    teacher_from_cache: bool
    progress: Progress
    steps_per_epoch: int


def start_group(config: TrainConfig, runtime: Runtime, group_steps: Callable[[int], int]) -> GroupStart:
    """Load the data on `device` and prepare the teacher (`prepare_teacher`); `group_steps(steps_per_epoch)` is how
    many progress steps the students will take (K per step looped, 1 per step stacked)."""
    device, emit = runtime.device, runtime.emit
    emit(ProgressEvent("status", "data", message=f"Loading {config.dataset} on {device}",
                       key="progress.loading", params={"dataset": config.dataset, "device": str(device)}))  # fmt: skip
    data = load_dataset(
        config.dataset,
        seed=config.seed,
        train_fraction=config.resolved_train_fraction(),
        data_dir=runtime.data_dir,
        allow_download=runtime.allow_download,
        device=device,
    )
    steps_per_epoch = math.ceil(len(data.y_train) / config.batch_size)
    teacher, rows, from_cache, progress = prepare_teacher(
        config, data, device, steps_per_epoch, runtime.teacher_cache, group_steps(steps_per_epoch), emit, runtime.stop
    )
    return GroupStart(device, data, teacher, rows, from_cache, progress, steps_per_epoch)


def prepare_teacher(
    config: TrainConfig,
    data: TensorData,
    device: torch.device,
    steps_per_epoch: int,
    teacher_cache: TeacherCache | None,
    student_steps: int,
    emit: Callable[[ProgressEvent], None],
    stop: Callable[[], bool],
) -> tuple[nn.Module, list[dict[str, Any]], bool, _Progress]:
    """The one teacher preparation of every group of students (a run, a sweep): reused from the cache by the
    same key, or trained and cached (saying so when the cache cannot keep it); then frozen (eval mode, no
    gradients). Returns the teacher, its history rows, whether it came from the cache, and the progress
    counter over the teacher's steps plus `student_steps`."""
    cache_key = TeacherCache.key(config, device)
    cached = teacher_cache.get(cache_key) if teacher_cache is not None else None
    teacher_epochs = config.resolved_teacher_epochs()
    progress = _Progress(student_steps + (0 if cached else teacher_epochs * steps_per_epoch), emit, stop)
    torch.manual_seed(config.seed)
    teacher = build_model(parse_model(config.teacher, "teacher"), data.input_shape, data.num_classes).to(device)
    if cached is not None:
        teacher.load_state_dict({k: v.to(device) for k, v in cached[0].items()})
        rows = list(cached[1])
        emit(ProgressEvent("status", "teacher", message="Reusing a cached teacher with this configuration",
                           key="progress.teacher_cached"))  # fmt: skip
        emit(ProgressEvent("epoch", "teacher", rows=list(rows)))
    else:
        emit(ProgressEvent("status", "teacher", message=f"Training the teacher for {teacher_epochs} epochs",
                           key="progress.teacher", params={"epochs": teacher_epochs}))  # fmt: skip
        rows = _train_teacher(teacher, data, config, teacher_epochs, steps_per_epoch, device, progress, emit)
        if teacher_cache is not None:
            problem = teacher_cache.put(cache_key, teacher.state_dict(), rows)
            if problem:  # the run goes on without the cache, and says so
                emit(ProgressEvent("status", "teacher", message=problem[0].upper() + problem[1:] + ".",
                                   key="progress.teacher_not_cached", params={"reason": problem}))  # fmt: skip
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher, rows, cached is not None, progress


def _train(config: TrainConfig, runtime: Runtime) -> TrainResult:
    started = time.perf_counter()
    threads = torch.get_num_threads()
    variants = enabled_variants(config)
    start = start_group(config, runtime, lambda steps: steps * config.epochs * len(variants))
    device, emit = runtime.device, runtime.emit
    data, teacher = start.data, start.teacher
    teacher_spec = parse_model(config.teacher, "teacher")
    student_spec = parse_model(config.student, "student")
    history: list[dict[str, Any]] = list(start.teacher_rows)
    emit(ProgressEvent("status", "students", message=f"Training the students for {config.epochs} epochs",
                       key="progress.students", params={"epochs": config.epochs}))  # fmt: skip
    members = [variant.member(config) for variant in variants]
    group = train_group(config, members, data, teacher, start.progress, emit, mode="looped")
    history.extend(group.rows)
    students = {member.name: group.module(i) for i, member in enumerate(members)}

    emit(ProgressEvent("status", "measure", message="Measuring size and latency", key="progress.measure"))
    latency_batch = data.x_test[: config.batch_size]
    teacher_size = size_bytes(teacher)
    final: dict[str, ModelResult] = {}
    all_models = {"teacher": teacher, **students}
    for role, model in all_models.items():
        last = [r for r in history if r["model"] == role][-1]
        final[role] = ModelResult(
            role=role,
            architecture=(teacher_spec if role == "teacher" else student_spec).name,
            test_accuracy=last["test_accuracy"],
            test_loss=last["test_loss"],
            params=count_params(model),
            size_bytes=size_bytes(model),
            compression_ratio=teacher_size / size_bytes(model),
            latency_ms=_latency_ms(model, latency_batch),
            agreement=last.get("agreement"),
        )
    weights = {
        role: {k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()} for role, m in all_models.items()
    }
    return TrainResult(
        config=config.to_dict(),
        models=final,
        history=history,
        device=str(device),
        teacher_from_cache=start.teacher_from_cache,
        seconds=time.perf_counter() - started,
        threads=threads,
        weights=weights,
    )


def _check_finite(mean_loss: float, role: str, epoch: int) -> None:
    """Stop when a model's training loss is no longer a number (the engine's check, named by the role's title)."""
    check_finite(mean_loss, "teacher" if role == "teacher" else VARIANTS[role].title.lower(), epoch)


_evaluate = evaluate


def _train_teacher(
    teacher: nn.Module,
    data: TensorData,
    config: TrainConfig,
    epochs: int,
    steps_per_epoch: int,
    device: torch.device,
    progress: _Progress,
    emit: Callable[[ProgressEvent], None],
) -> list[dict[str, Any]]:
    """Cross-entropy training with Adam and a cosine schedule; random 1-pixel shifts when augmenting."""
    optimizer = make_adam(list(teacher.parameters()), config.lr, device)
    scheduler = _cosine(optimizer, epochs * steps_per_epoch)
    order = torch.Generator().manual_seed(config.seed + 4)
    jitter = torch.Generator().manual_seed(config.seed + 5)
    augment = config.resolved_teacher_augment()
    n_train = len(data.y_train)
    rows = []
    for epoch in range(1, epochs + 1):
        teacher.train()
        total_loss = torch.zeros((), device=device)
        for step, idx in enumerate(_batches(n_train, config.batch_size, order, device)):
            xb = data.x_train[idx]
            if augment:
                xb = shift_batch(xb, jitter, data.background)
            loss = nn.functional.cross_entropy(teacher(xb), data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.detach() * len(idx)
            progress.step("teacher", epoch, epochs, step, steps_per_epoch)
        _check_finite(float(total_loss) / n_train, "teacher", epoch)
        row = _evaluate("teacher", teacher, data, epoch, float(total_loss) / n_train, None)
        rows.append(row)
        emit(ProgressEvent("epoch", "teacher", progress.done / progress.total, epoch, epochs, rows=[row]))
    return rows


LINK_FIELDS: dict[str, type] = {
    "dataset": str,
    "teacher": str,
    "student": str,
    "epochs": int,
    "temperature": float,
    "alpha": float,
    "seed": int,
    "lr": float,
    "batch_size": int,
}
"""Deep-link parameters (/distillation?dataset=digits&temperature=4&alpha=0.9&epochs=200) and their types."""


def parse_field(name: str, raw: str, max_epochs: int = 2000) -> Any:
    """Parse one deep-link / form value and check it alone; ValueError says what is allowed."""
    kind = LINK_FIELDS.get(name)
    if kind is None:
        raise ValueError(f"Unknown setting {name!r}.")
    text = str(raw).strip()
    if kind is int:
        try:
            value: Any = int(text)
        except ValueError as exc:
            raise LabError("config.whole_number", name=name) from exc
    elif kind is float:
        try:
            value = float(text)
        except ValueError as exc:
            raise LabError("config.number", name=name) from exc
    else:
        value = text.lower()
    validate_config(replace(DEFAULT_CONFIG, device="cpu", **{name: value}), max_epochs)
    return value
