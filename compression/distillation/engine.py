"""The one training engine: every job trains a *group* of students that share a teacher, the data, the batches
and (per seed replicate) the initial weights. A run is a group (one student per variant), a sweep is a group
(one student per T × alpha cell and seed, plus the controls), a QAT job is a group (one fake-quantized copy per
bitwidth and loss). They differ only in their members; the training happens here, in one of two ways:

- **looped**: K `nn.Module`s, one fused Adam over all their parameters, one cosine schedule, step-major (every
  member takes step s before any takes step s + 1). The members are independent (their own parameters, the
  gradient of the summed loss is each member's own), so this is K exact runs; it is the default for runs and
  the only way for students with dropout, for students that shift their inputs, and for arbitrary modules.
- **stacked**: K students of one MLP or CNN architecture as one batched model (`StackedStudents`: weights
  stacked along a first axis, `bmm` for an MLP, `vmap` of `functional_call` for a CNN), one loss per student
  (`kd_loss_stacked`), one fused Adam over the stacked tensors. Adam and the losses act per element or per
  student, so this is mathematically K runs too; it removes the per-step overhead K times over (the sweep).

What a member minimises is its `LossTerms` (soft term at T with weight alpha, cross-entropy with weight
1 − alpha and label smoothing ε); a variant declares its terms (`variants.Variant.terms`), so any registered
variant trains in both forms. One finite-loss check, one evaluation, one progress counter with cancellation.
Seed replicate r initialises its students with `torch.manual_seed(seed + r + 1)` and shuffles with a generator
seeded `seed + r + 2`, so replicate 0 of every group is the same run as `trainer.train`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from compression.distillation.data import TensorData
from compression.distillation.losses import kd_loss, kd_loss_stacked, soft_term
from compression.distillation.models import build_model, parse_model, shift_batch


class GroupConfig(Protocol):
    """What a group reads of its configuration (a `trainer.TrainConfig`; the engine never imports the trainer,
    which imports it). `student_augment` is read when present."""

    student: str
    epochs: int
    batch_size: int
    lr: float
    seed: int

MODES = ("looped", "stacked")
EVAL_CHUNK = 1024
"""Test examples per forward pass of the stacked evaluation (K students at once)."""


class TrainingCancelled(Exception):  # noqa: N818 - reads as what happened
    """Raised inside the engine when `should_stop()` turns true."""


class TrainingError(RuntimeError):
    """A run failed for a reason the learner can act on (e.g. the GPU ran out of memory, a loss became NaN)."""


@dataclass
class ProgressEvent:
    """kind: "status" (a message), "progress" (fraction done, phase, epoch, step) or "epoch" (metrics rows)."""

    kind: str
    phase: str
    fraction: float = 0.0
    epoch: int = 0
    total_epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    message: str = ""
    """The status in English (the CLI, logs); `key` and `params` say it in any language (compression/i18n)."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)


# --- what a member minimises -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossTerms:
    """loss = alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · CE_ε(student, y)."""

    alpha: float = 0.0
    """Weight of the soft (teacher) term; 0 trains on the labels alone."""
    temperature: float = 1.0
    """T of the soft term (unused when alpha is 0)."""
    label_smoothing: float = 0.0
    """ε of the hard cross-entropy term."""

    @property
    def uses_teacher(self) -> bool:
        return self.alpha > 0


def terms_loss(
    logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor | None, terms: LossTerms
) -> torch.Tensor:
    """One student's loss on one batch: `kd_loss` with a teacher, PyTorch's (label-smoothed) cross-entropy without."""
    if not terms.uses_teacher:
        if terms.label_smoothing:
            return F.cross_entropy(logits, targets, label_smoothing=terms.label_smoothing)
        return F.cross_entropy(logits, targets)
    if teacher_logits is None:
        raise ValueError("This student learns from the teacher, but the group has no teacher logits.")
    if terms.label_smoothing:  # kd_loss's form with a label-smoothed hard term
        if not (math.isfinite(terms.temperature) and terms.temperature > 0 and terms.alpha <= 1):
            raise ValueError(f"Bad loss terms: {terms}.")
        hard = F.cross_entropy(logits, targets, label_smoothing=terms.label_smoothing)
        return terms.alpha * soft_term(logits, teacher_logits, terms.temperature) + (1.0 - terms.alpha) * hard
    return kd_loss(logits, teacher_logits, targets, terms.temperature, terms.alpha)


@dataclass(frozen=True)
class Member:
    """One student of a group."""

    name: str
    """Its "model" key in history rows."""
    kind: str
    """What it is: a variant's name ("student", "baseline", ...), or any label of the job ("qat")."""
    terms: LossTerms
    replicate: int = 0
    """Seed replicate: initial weights and batch order from seed + replicate."""
    cell: int | None = None
    """Written as "cell" in its history rows when set (a sweep's student index)."""
    title: str = ""
    """How messages name it ("distilled student (T=4 α=0.9)"); default: its name."""
    loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None
    """A custom loss(logits, targets, teacher logits or None) instead of `terms` (looped form only)."""
    reads_teacher: bool = False
    """Whether the custom `loss` reads the teacher's logits."""

    @property
    def uses_teacher(self) -> bool:
        return self.reads_teacher if self.loss is not None else self.terms.uses_teacher

    def loss_of(self, logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor | None) -> torch.Tensor:
        if self.loss is not None:
            return self.loss(logits, targets, teacher_logits)
        return terms_loss(logits, targets, teacher_logits, self.terms)


# --- shared pieces ----------------------------------------------------------------------------------------------
def make_adam(params: Any, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam; the fused kernel on CPU and CUDA (one kernel for all parameters: same update, less Python per step)."""
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError):
            pass
    return torch.optim.Adam(params, lr=lr)


def cosine(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """lr(t) = lr0 · ½(1 + cos(π t / total_steps))."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))
    )


class Progress:
    """Counts optimisation steps over the whole job, throttles progress events and checks for cancellation."""

    def __init__(self, total_steps: int, emit: Callable[[ProgressEvent], None], should_stop: Callable[[], bool]):
        self.total = max(1, total_steps)
        self.done = 0
        self.emit = emit
        self.should_stop = should_stop
        self._last = 0.0

    def step(self, phase: str, epoch: int, total_epochs: int, step: int, steps_per_epoch: int, count: int = 1) -> None:
        """`count` steps done (a group step of K members counts K, as K runs would)."""
        self.done += count
        if self.should_stop():
            raise TrainingCancelled
        now = time.monotonic()
        if now - self._last >= 0.25:
            self._last = now
            self.emit(
                ProgressEvent("progress", phase, self.done / self.total, epoch, total_epochs, step + 1, steps_per_epoch)
            )


def batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> list[torch.Tensor]:
    """One epoch's shuffled index batches (the permutation drawn on the CPU generator, then moved)."""
    perm = torch.randperm(n, generator=generator).to(device)
    return list(torch.split(perm, batch_size))


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def check_finite(mean_loss: float, title: str, epoch: int) -> None:
    """Stop the job when a model's training loss is no longer a number (NaN or infinite): never train on NaN."""
    if not math.isfinite(mean_loss):
        raise TrainingError(
            f"Training stopped: the {title}'s loss became {mean_loss} at epoch {epoch}, so further steps would "
            "only train on NaN. Try a lower learning rate, a temperature nearer 1-20, or another seed."
        )


@torch.no_grad()
def evaluate(
    name: str,
    model: nn.Module,
    data: TensorData,
    epoch: int,
    train_loss: float,
    teacher_test_pred: torch.Tensor | None,
    cell: int | None = None,
) -> dict[str, Any]:
    """One history row: test loss (mean cross-entropy), accuracy, and agreement with the teacher's top-1."""
    logits = logits_of(model, data.x_test)
    pred = logits.argmax(1)
    row = {
        "model": name,
        "epoch": epoch,
        "train_loss": float(train_loss),
        "test_loss": float(F.cross_entropy(logits, data.y_test)),
        "test_accuracy": float((pred == data.y_test).float().mean()),
        "agreement": None if teacher_test_pred is None else float((pred == teacher_test_pred).float().mean()),
    }
    if cell is not None:
        row = {"model": name, "cell": cell, **{k: v for k, v in row.items() if k != "model"}}
    return row


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def student_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    x: torch.Tensor,
    y: torch.Tensor,
    epoch_batches: list[torch.Tensor],
    loss_fn: LossFn,
    after_step: Callable[[int], None] | None = None,
) -> float:
    """One model, one epoch over `epoch_batches` (index tensors into x, y; the data never leave the device).

    `loss_fn(logits, targets, idx)` receives the batch's indices, so cached teacher logits are indexed with exactly
    the batch's shuffled indices. Returns the mean training loss per example. (The teacher's training and the
    benchmarks use this; a group trains its members together in `train_group`.)
    """
    model.train()
    total = torch.zeros((), device=x.device)  # summed on the device: no host sync per step on a GPU
    for step, idx in enumerate(epoch_batches):
        logits = model(x[idx])
        loss = loss_fn(logits, y[idx], idx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach() * len(idx)
        if after_step is not None:
            after_step(step)
    return float(total) / len(x)


# --- the group ---------------------------------------------------------------------------------------------------
@dataclass
class Group:
    """A trained group: its members, each one's history rows, and the trained weights."""

    members: list[Member]
    histories: list[list[dict[str, Any]]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Every member's rows, epoch by epoch, in member order."""
    modules: list[nn.Module] | None = None
    """Looped: the trained modules."""
    stacked: StackedStudents | None = None
    """Stacked: the batched model."""

    def module(self, i: int) -> nn.Module:
        if self.modules is not None:
            return self.modules[i]
        assert self.stacked is not None
        model = copy.deepcopy(self.stacked.template)
        model.load_state_dict({k: v.to(next(iter(self.stacked.params.values())).device)
                               for k, v in self.stacked.state_dict(i).items()})  # fmt: skip
        return model

    def state_dict(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's trained weights on the CPU."""
        if self.modules is not None:
            return {k: v.detach().cpu().contiguous() for k, v in self.modules[i].state_dict().items()}
        assert self.stacked is not None
        return self.stacked.state_dict(i)


def initial_students(config: GroupConfig, data: TensorData, replicates: int, device: torch.device) -> list[nn.Module]:
    """One fresh `config.student` per seed replicate: `torch.manual_seed(seed + r + 1)` before building each."""
    spec = parse_model(config.student, "student")
    out = []
    for r in range(replicates):
        torch.manual_seed(config.seed + r + 1)
        out.append(build_model(spec, data.input_shape, data.num_classes).to(device))
    return out


def stackable(student: str) -> str | None:
    """None when `student` can train in the stacked form; else why not (dropout needs a random mask stream per
    student; only MLPs and CNNs have a batched forward)."""
    spec = parse_model(student, "student")
    if spec.dropout > 0:
        return "dropout"
    if spec.kind not in ("mlp", "cnn"):
        return "kind"
    return None


def train_group(
    config: GroupConfig,
    members: Sequence[Member],
    data: TensorData,
    teacher: nn.Module | None,
    progress: Progress,
    emit: Callable[[ProgressEvent], None],
    *,
    mode: str = "looped",
    modules: list[nn.Module] | None = None,
    phase: str = "students",
) -> Group:
    """Train `members` for `config.epochs` on `data` (see the module doc); returns the trained group.

    `modules` (looped only): each member's starting module on the data's device; default a fresh `config.student`
    per replicate, copied for each of its members. Raises TrainingCancelled, TrainingError (non-finite loss).
    """
    members = list(members)
    if not members:
        raise ValueError("A group needs at least one student.")
    if mode not in MODES:
        raise ValueError(f"Unknown group mode {mode!r}; choose one of {', '.join(MODES)}.")
    if any(m.uses_teacher for m in members) and teacher is None:
        raise ValueError("A student of this group learns from the teacher, but there is no teacher.")
    if mode == "stacked":
        if any(m.loss is not None for m in members):
            raise ValueError("A student with a custom loss trains in the looped form only.")
        if modules is not None:
            raise ValueError("The stacked form builds its own students; pass modules only to the looped form.")
        return _train_stacked(config, members, data, teacher, progress, emit, phase)
    return _train_looped(config, members, data, teacher, progress, emit, modules, phase)


def _teacher_views(teacher: nn.Module | None, data: TensorData) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if teacher is None:
        return None, None
    return logits_of(teacher, data.x_test).argmax(1), logits_of(teacher, data.x_train)


def _train_looped(
    config: GroupConfig,
    members: list[Member],
    data: TensorData,
    teacher: nn.Module | None,
    progress: Progress,
    emit: Callable[[ProgressEvent], None],
    modules: list[nn.Module] | None,
    phase: str,
) -> Group:
    device = data.x_train.device
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    replicates = 1 + max(m.replicate for m in members)
    augment = bool(getattr(config, "student_augment", False))
    if augment and replicates > 1:
        raise ValueError("Students that shift their inputs train one seed replicate per group.")
    teacher_test_pred = logits_of(teacher, data.x_test).argmax(1) if teacher is not None else None
    teacher_train_logits = None if augment or teacher is None else logits_of(teacher, data.x_train)
    if modules is None:
        initial = initial_students(config, data, replicates, device)
        modules = [copy.deepcopy(initial[m.replicate]) for m in members]
    elif len(modules) != len(members):
        raise ValueError(f"{len(modules)} modules for {len(members)} students.")
    optimizer = make_adam([p for module in modules for p in module.parameters()], config.lr, device)
    scheduler = cosine(optimizer, config.epochs * steps_per_epoch)
    orders = [torch.Generator().manual_seed(config.seed + r + 2) for r in range(replicates)]
    jitter = torch.Generator().manual_seed(config.seed + 3)
    histories: list[list[dict[str, Any]]] = [[] for _ in members]
    all_rows: list[dict[str, Any]] = []
    k = len(members)

    for epoch in range(1, config.epochs + 1):
        epoch_batches = [batches(n_train, config.batch_size, g, device) for g in orders]
        x_epoch, teacher_logits = data.x_train, teacher_train_logits
        if augment:
            x_epoch = shift_batch(data.x_train, jitter, data.background)
            teacher_logits = logits_of(teacher, x_epoch) if teacher is not None else None
        for module in modules:
            module.train()
        totals = [torch.zeros((), device=device) for _ in members]
        for step in range(steps_per_epoch):
            losses = []
            for i, (member, module) in enumerate(zip(members, modules, strict=True)):
                idx = epoch_batches[member.replicate][step]
                teacher_batch = teacher_logits[idx] if member.uses_teacher else None
                loss = member.loss_of(module(x_epoch[idx]), data.y_train[idx], teacher_batch)
                losses.append(loss)
                totals[i] += loss.detach() * len(idx)
            optimizer.zero_grad(set_to_none=True)
            (losses[0] if k == 1 else torch.stack(losses).sum()).backward()
            optimizer.step()
            scheduler.step()
            progress.step(phase, epoch, config.epochs, step, steps_per_epoch, count=k)
        rows = []
        for i, (member, module) in enumerate(zip(members, modules, strict=True)):
            mean_loss = float(totals[i]) / n_train
            check_finite(mean_loss, member.title or member.name, epoch)
            row = evaluate(member.name, module, data, epoch, mean_loss, teacher_test_pred, member.cell)
            histories[i].append(row)
            rows.append(row)
        all_rows.extend(rows)
        emit(ProgressEvent("epoch", phase, progress.done / progress.total, epoch, config.epochs, rows=rows))
    return Group(members, histories, all_rows, modules=modules)


def _train_stacked(
    config: GroupConfig,
    members: list[Member],
    data: TensorData,
    teacher: nn.Module | None,
    progress: Progress,
    emit: Callable[[ProgressEvent], None],
    phase: str,
) -> Group:
    why = stackable(config.student)
    if why is not None:
        raise ValueError(f"The student {config.student!r} cannot train in the stacked form ({why}).")
    if getattr(config, "student_augment", False):
        raise ValueError("Stacked students share one input stream: they cannot shift their inputs.")
    device = data.x_train.device
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    k = len(members)
    replicates = 1 + max(m.replicate for m in members)
    teacher_test_pred, teacher_train_logits = _teacher_views(teacher, data)
    if teacher_train_logits is None:  # no member reads it (checked above); a stand-in of the right shape
        teacher_train_logits = torch.zeros(n_train, data.num_classes, device=device)
    initial = initial_students(config, data, replicates, device)
    model = StackedStudents.from_models([initial[m.replicate] for m in members])
    optimizer = make_adam(list(model.params.values()), config.lr, device)
    scheduler = cosine(optimizer, config.epochs * steps_per_epoch)
    orders = [torch.Generator().manual_seed(config.seed + r + 2) for r in range(replicates)]
    replicate = torch.tensor([m.replicate for m in members], device=device)
    temperature = torch.tensor([float(m.terms.temperature) for m in members], device=device)
    alpha = torch.tensor([float(m.terms.alpha) for m in members], device=device)
    smoothing = torch.tensor([float(m.terms.label_smoothing) for m in members], device=device)
    histories: list[list[dict[str, Any]]] = [[] for _ in members]
    all_rows: list[dict[str, Any]] = []
    shared = replicates == 1  # one batch order: every student sees the same inputs

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
            progress.step(phase, epoch, config.epochs, step, steps_per_epoch)
        mean_losses = (total / n_train).tolist()
        for member, mean_loss in zip(members, mean_losses, strict=True):
            check_finite(mean_loss, member.title or member.name, epoch)
        rows = _evaluate_stacked(model, data, members, epoch, mean_losses, teacher_test_pred)
        for i, row in enumerate(rows):
            histories[i].append(row)
        all_rows.extend(rows)
        emit(ProgressEvent("epoch", phase, progress.done / progress.total, epoch, config.epochs, rows=rows))
    return Group(members, histories, all_rows, stacked=model)


@torch.no_grad()
def _evaluate_stacked(
    model: StackedStudents,
    data: TensorData,
    members: list[Member],
    epoch: int,
    train_losses: list[float],
    teacher_test_pred: torch.Tensor | None,
) -> list[dict[str, Any]]:
    """`evaluate` for K stacked students at once."""
    k = len(members)
    n = len(data.y_test)
    device = data.x_test.device
    loss_sum, correct, agree = (torch.zeros(k, device=device) for _ in range(3))
    for start in range(0, n, EVAL_CHUNK):
        x = data.x_test[start : start + EVAL_CHUNK]
        y = data.y_test[start : start + EVAL_CHUNK]
        logits = model(x, shared=True)
        loss_sum += F.cross_entropy(logits.transpose(1, 2), y.expand(k, -1), reduction="none").sum(1)
        pred = logits.argmax(2)
        correct += (pred == y).sum(1)
        if teacher_test_pred is not None:
            agree += (pred == teacher_test_pred[start : start + EVAL_CHUNK]).sum(1)
    losses, accs, agrees = (loss_sum / n).tolist(), (correct / n).tolist(), (agree / n).tolist()
    rows = []
    for i, member in enumerate(members):
        row: dict[str, Any] = {"model": member.name}
        if member.cell is not None:
            row["cell"] = member.cell
        row.update(
            epoch=epoch,
            train_loss=float(train_losses[i]),
            test_loss=float(losses[i]),
            test_accuracy=float(accs[i]),
            agreement=None if teacher_test_pred is None else float(agrees[i]),
        )
        rows.append(row)
    return rows


# --- the batched model -------------------------------------------------------------------------------------------
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
