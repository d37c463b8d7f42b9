"""kd_loss against a hand-written reference, the T² gradient scaling, and its refusals."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from compression.distillation.losses import kd_loss, soft_term


def reference_kd(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    """Written from the definition, loops and all: alpha·T²·mean_i Σ_c p_t log(p_t/p_s) + (1−alpha)·CE."""
    n, c = s.shape
    soft = torch.zeros(())
    hard = torch.zeros(())
    for i in range(n):
        zs = [math.exp(v / T) for v in s[i].tolist()]
        zt = [math.exp(v / T) for v in t[i].tolist()]
        ps = [v / sum(zs) for v in zs]
        pt = [v / sum(zt) for v in zt]
        soft = soft + sum(pt[k] * math.log(pt[k] / ps[k]) for k in range(c))
        e = [math.exp(v) for v in s[i].tolist()]
        hard = hard - math.log(e[int(y[i])] / sum(e))
    return alpha * T * T * soft / n + (1 - alpha) * hard / n


@pytest.mark.parametrize(("T", "alpha"), [(1.0, 0.5), (4.0, 0.9), (20.0, 0.3), (2.5, 1.0), (3.0, 0.0)])
def test_kd_loss_matches_hand_written_reference(T, alpha):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(7, 10, generator=g) * 3, torch.randn(7, 10, generator=g) * 3
    y = torch.randint(0, 10, (7,), generator=g)
    got = kd_loss(s, t, y, T, alpha)
    assert got.item() == pytest.approx(float(reference_kd(s, t, y, T, alpha)), rel=1e-5, abs=1e-6)


@pytest.mark.filterwarnings("ignore:reduction")
def test_batchmean_not_mean_over_classes():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(5, 10, generator=g), torch.randn(5, 10, generator=g)
    per_example_sum = F.kl_div(F.log_softmax(s / 2, 1), F.softmax(t / 2, 1), reduction="sum") / 5
    assert soft_term(s, t, 2.0).item() == pytest.approx(4 * per_example_sum.item(), rel=1e-6)
    # reduction="mean" would be 10 (the number of classes) times smaller
    mean_version = 4 * F.kl_div(F.log_softmax(s / 2, 1), F.softmax(t / 2, 1), reduction="mean")
    assert soft_term(s, t, 2.0).item() == pytest.approx(10 * mean_version.item(), rel=1e-6)


def test_alpha_zero_is_cross_entropy_and_alpha_weights_the_soft_term():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    y = torch.randint(0, 10, (6,), generator=g)
    assert kd_loss(s, t, y, 4.0, 0.0).item() == pytest.approx(F.cross_entropy(s, y).item())
    assert kd_loss(s, t, y, 4.0, 1.0).item() == pytest.approx(soft_term(s, t, 4.0).item())
    # The soft term vanishes when the student equals the teacher: only (1 - alpha)·CE is left.
    assert kd_loss(t, t, y, 4.0, 0.9).item() == pytest.approx(0.1 * F.cross_entropy(t, y).item(), rel=1e-5)


def test_soft_gradient_is_T_times_probability_difference():
    """d/ds [T²·KL(p_t ‖ p_s)] = T·(softmax(s/T) − softmax(t/T)) / N: the T² cancels the 1/T² of the softened gradient."""
    g = torch.Generator().manual_seed(3)
    s = torch.randn(4, 10, generator=g, requires_grad=True)
    t = torch.randn(4, 10, generator=g)
    for T in (1.0, 3.0, 10.0):
        (grad,) = torch.autograd.grad(soft_term(s, t, T), s)
        expected = T * (F.softmax(s / T, 1) - F.softmax(t / T, 1)) / 4
        torch.testing.assert_close(grad, expected.detach(), rtol=1e-5, atol=1e-7)


def test_T_squared_keeps_soft_gradients_scale_as_T_grows():
    g = torch.Generator().manual_seed(4)
    s = torch.randn(16, 10, generator=g, requires_grad=True)
    t = torch.randn(16, 10, generator=g)

    def grad_norm(T: float, scaled: bool) -> float:
        loss = soft_term(s, t, T) if scaled else soft_term(s, t, T) / T**2
        (grad,) = torch.autograd.grad(loss, s)
        return grad.norm().item()

    # With T²: about the same size at T=10 and T=20 (high-T limit (s − t)/(N·C) up to centring).
    assert grad_norm(20.0, True) / grad_norm(10.0, True) == pytest.approx(1.0, abs=0.05)
    # Without it the gradient would shrink about 4× when T doubles.
    assert grad_norm(20.0, False) / grad_norm(10.0, False) == pytest.approx(0.25, abs=0.02)


def test_teacher_gets_no_gradient():
    s = torch.randn(3, 10, requires_grad=True)
    t = torch.randn(3, 10, requires_grad=True)
    kd_loss(s, t, torch.tensor([1, 2, 3]), 4.0, 0.9).backward()
    assert s.grad is not None and t.grad is None


@pytest.mark.parametrize(
    ("T", "alpha", "message"),
    [
        (0.0, 0.5, "temperature must be a positive, finite number"),
        (-1.0, 0.5, "temperature"),
        (float("nan"), 0.5, "temperature must be a positive, finite number, got nan"),
        (float("inf"), 0.5, "temperature must be a positive, finite number, got inf"),
        (2.0, 1.5, "alpha"),
        (2.0, -0.1, "alpha"),
        (2.0, float("nan"), "alpha"),
    ],
)
def test_kd_loss_refuses_bad_arguments(T, alpha, message):
    with pytest.raises(ValueError, match=message):
        kd_loss(torch.zeros(2, 10), torch.zeros(2, 10), torch.tensor([0, 1]), T, alpha)
