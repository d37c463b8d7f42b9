"""The one training engine: a group of students, looped or stacked (compression/distillation/engine.py)."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from compression.distillation import variants as variants_module
from compression.distillation.data import load_dataset
from compression.distillation.engine import (
    LossTerms,
    Member,
    Progress,
    TrainingCancelled,
    TrainingError,
    cosine,
    make_adam,
    student_epoch,
    terms_loss,
    train_group,
)
from compression.distillation.losses import kd_loss
from compression.distillation.models import build_model, parse_model
from compression.distillation.sweep import SweepConfig, train_sweep
from compression.distillation.trainer import TeacherCache, TrainConfig, train

torch.set_num_threads(1)

BASE = TrainConfig(teacher="article-teacher", teacher_epochs=2, epochs=2, temperature=4.0, alpha=0.9, device="cpu")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", seed=BASE.seed, train_fraction=BASE.resolved_train_fraction(), device="cpu")


@pytest.fixture(scope="module")
def teacher(data):
    torch.manual_seed(0)
    model = build_model(parse_model("article-teacher"), data.input_shape, data.num_classes)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _progress():
    return Progress(1, lambda event: None, lambda: False)


def test_loss_terms_equal_the_losses_they_name_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(16, 10, generator=g), torch.randn(16, 10, generator=g)
    y = torch.randint(0, 10, (16,), generator=g)
    assert torch.equal(terms_loss(s, y, t, LossTerms(0.9, 4.0)), kd_loss(s, t, y, 4.0, 0.9))
    assert torch.equal(terms_loss(s, y, None, LossTerms()), F.cross_entropy(s, y))
    assert torch.equal(
        terms_loss(s, y, None, LossTerms(label_smoothing=0.1)), F.cross_entropy(s, y, label_smoothing=0.1)
    )
    mixed = terms_loss(s, y, t, LossTerms(0.5, 2.0, 0.1))
    expected = 0.5 * kd_loss(s, t, y, 2.0, 1.0) + 0.5 * F.cross_entropy(s, y, label_smoothing=0.1)
    torch.testing.assert_close(mixed, expected)
    with pytest.raises(ValueError, match="teacher logits"):
        terms_loss(s, y, None, LossTerms(0.5, 2.0))


def test_the_looped_group_is_k_exact_runs_step_major(data, teacher):
    """K modules under one fused Adam, stepped together, equal K models trained one after another bit for bit."""
    config = replace(BASE, student="mlp:32", batch_size=64)
    members = [Member("a", "student", LossTerms(0.9, 4.0)), Member("b", "baseline", LossTerms()),
               Member("c", "smoothing", LossTerms(label_smoothing=0.1))]  # fmt: skip
    group = train_group(config, members, data, teacher, _progress(), lambda e: None)

    teacher_logits = teacher(data.x_train)
    torch.manual_seed(config.seed + 1)
    initial = build_model(parse_model(config.student), data.input_shape, data.num_classes)
    steps = -(-len(data.y_train) // config.batch_size)
    for i, member in enumerate(members):
        model = copy.deepcopy(initial)
        optimizer = make_adam(list(model.parameters()), config.lr, torch.device("cpu"))
        scheduler = cosine(optimizer, config.epochs * steps)
        order = torch.Generator().manual_seed(config.seed + 2)
        losses = []
        for _ in range(config.epochs):
            batches = list(torch.split(torch.randperm(len(data.y_train), generator=order), config.batch_size))
            losses.append(student_epoch(model, optimizer, scheduler, data.x_train, data.y_train, batches,
                                        lambda lg, yb, idx, m=member: terms_loss(lg, yb, teacher_logits[idx], m.terms)))  # fmt: skip
        for name, tensor in model.state_dict().items():
            assert torch.equal(tensor, group.state_dict(i)[name]), (member.name, name)
        assert [r["train_loss"] for r in group.histories[i]] == losses


def test_stacked_and_looped_groups_agree(data, teacher):
    config = replace(BASE, student="mlp:32")
    members = [Member(f"m{i}", "student", LossTerms(a, t), replicate=r, cell=i)
               for i, (a, t, r) in enumerate([(0.9, 4.0, 0), (0.5, 2.0, 0), (0.0, 1.0, 1)])]  # fmt: skip
    looped = train_group(config, members, data, teacher, _progress(), lambda e: None, mode="looped")
    stacked = train_group(config, members, data, teacher, _progress(), lambda e: None, mode="stacked")
    for i in range(len(members)):
        for name, tensor in looped.state_dict(i).items():
            torch.testing.assert_close(tensor, stacked.state_dict(i)[name], rtol=1e-4, atol=1e-5)
        assert [r["cell"] for r in looped.histories[i]] == [i, i] == [r["cell"] for r in stacked.histories[i]]
    # the replicate-1 member started from other weights and saw other batches
    assert not torch.equal(looped.state_dict(0)["1.weight"], looped.state_dict(2)["1.weight"])


def test_a_group_trains_the_modules_it_is_given_and_only_them(data, teacher):
    """The seam of later job kinds (QAT): any modules, one per member; the caller's originals stay untouched."""
    config = replace(BASE, student="mlp:16", epochs=1)
    torch.manual_seed(3)
    original = build_model(parse_model("mlp:16"), data.input_shape, data.num_classes)
    before = {k: v.clone() for k, v in original.state_dict().items()}
    modules = [copy.deepcopy(original), copy.deepcopy(original)]
    members = [Member("hard", "qat", LossTerms()), Member("soft", "qat", LossTerms(0.9, 4.0))]
    group = train_group(config, members, data, teacher, _progress(), lambda e: None, modules=modules)
    assert group.module(0) is modules[0]
    assert all(torch.equal(v, original.state_dict()[k]) for k, v in before.items())
    assert not torch.equal(group.state_dict(0)["1.weight"], group.state_dict(1)["1.weight"])
    with pytest.raises(ValueError, match="modules for"):
        train_group(config, members, data, teacher, _progress(), lambda e: None, modules=modules[:1])
    with pytest.raises(ValueError, match="no teacher"):
        train_group(config, members, data, None, _progress(), lambda e: None)


def test_cancel_and_a_non_finite_loss_stop_the_group(data, teacher):
    config = replace(BASE, student="mlp:16", epochs=1)
    calls = [0]

    def stop():
        calls[0] += 1
        return calls[0] > 2

    with pytest.raises(TrainingCancelled):
        train_group(config, [Member("a", "baseline", LossTerms())], data, teacher, Progress(10, lambda e: None, stop),
                    lambda e: None)  # fmt: skip
    nan = Member(
        "bad",
        "custom",
        LossTerms(),
        title="custom student",
        loss=lambda lg, y, t: F.cross_entropy(lg, y) * float("nan"),
    )
    with pytest.raises(TrainingError, match="custom student's loss became nan at epoch 1"):
        train_group(config, [nan], data, teacher, _progress(), lambda e: None)


SOFT_ONLY = variants_module.Variant(
    "softonly", "Soft-target-only student", "#8844cc",
    terms=lambda config: LossTerms(alpha=1.0, temperature=config.temperature), column="soft-only %",
)  # fmt: skip


def test_a_registered_variant_trains_in_the_run_and_as_a_control_of_the_stacked_sweep(monkeypatch):
    """Issue 16: the sweep hard-coded its controls; a variant declaring its loss terms now reaches it."""
    monkeypatch.setitem(variants_module.VARIANTS, "softonly", SOFT_ONLY)
    cache = TeacherCache()
    run = train(replace(BASE, epochs=2), teacher_cache=cache)
    assert "softonly" in run.models and "softonly" in run.weights
    sweep = SweepConfig.grid(replace(BASE, epochs=2), (4.0,), (0.9,))
    assert sweep.mode() == "stacked"
    result = train_sweep(sweep, teacher_cache=cache)
    assert [c["kind"] for c in result.cells] == ["distilled", "baseline", "smoothing", "softonly"]
    soft = next(c for c in result.cells if c["kind"] == "softonly")
    assert (soft["temperature"], soft["alpha"]) == (4.0, 1.0)
    data = result.to_json()
    assert data["softonly"]["test_accuracy"] == soft["test_accuracy"]
    # the sweep's replicate 0 is the run: the same student, the same batches, the same loss terms
    assert soft["test_accuracy"] == pytest.approx(run.models["softonly"].test_accuracy, abs=0.02)


def test_a_variant_with_a_custom_loss_makes_the_sweep_loop(monkeypatch):
    custom = variants_module.Variant("hardonly", "Hard-label student at T=2", "#aa00aa",
                                     lambda logits, y, teacher, config: F.cross_entropy(logits / 2.0, y))  # fmt: skip
    monkeypatch.setitem(variants_module.VARIANTS, "hardonly", custom)
    sweep = SweepConfig.grid(replace(BASE, epochs=1), (4.0,), (0.9,))
    assert sweep.mode() == "looped"
    result = train_sweep(sweep, teacher_cache=TeacherCache())
    assert [c["kind"] for c in result.cells][-1] == "hardonly"
