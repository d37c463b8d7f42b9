"""The knowledge-distillation loss of Hinton, Vinyals & Dean (2015), in one place."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def soft_term(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over the batch (reduction="batchmean").

    The T² factor keeps the soft gradients' scale independent of T (their magnitude falls as 1/T²).
    """
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    p_teacher = F.softmax(teacher_logits.detach() / temperature, dim=1)
    return F.kl_div(log_p_student, p_teacher, reduction="batchmean") * temperature**2


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """alpha · T² · KL(softmax(t/T) ‖ softmax(s/T)) [batchmean] + (1 − alpha) · CE(s, y).

    alpha weights the soft (teacher) term; 1 − alpha weights the hard-label cross-entropy.
    alpha = 0 is ordinary training; alpha = 1 learns from the teacher alone. The teacher is never
    differentiated (its logits are detached).
    """
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"The temperature must be a positive, finite number, got {temperature}.")
    if not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    hard = F.cross_entropy(student_logits, targets)
    if alpha == 0.0:
        return hard
    return alpha * soft_term(student_logits, teacher_logits, temperature) + (1.0 - alpha) * hard


def kd_loss_stacked(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: torch.Tensor,
    alpha: torch.Tensor,
    label_smoothing: torch.Tensor,
) -> torch.Tensor:
    """`kd_loss` for K students at once: one loss per student, shape (K,).

    student_logits, teacher_logits: (K, B, C); targets: (K, B); temperature, alpha, label_smoothing: (K,).
    loss_k = alpha_k · T_k² · KL(softmax(t_k/T_k) ‖ softmax(s_k/T_k)) [batchmean]
             + (1 − alpha_k) · [(1 − ε_k) · NLL(s_k, y_k) + ε_k · mean_c(−log softmax(s_k))]
    With ε = 0 the hard term is `F.cross_entropy`; with ε > 0 it is PyTorch's label-smoothed cross-entropy.
    A baseline student is alpha = 0, ε = 0; a label-smoothing control is alpha = 0, ε > 0.
    """
    t = temperature.to(student_logits.dtype)[:, None, None]
    batch = student_logits.shape[1]
    log_p_student = F.log_softmax(student_logits / t, dim=2)
    p_teacher = F.softmax(teacher_logits.detach() / t, dim=2)
    kl = (torch.xlogy(p_teacher, p_teacher) - p_teacher * log_p_student).sum(dim=(1, 2)) / batch
    soft = kl * temperature**2
    log_p = F.log_softmax(student_logits, dim=2)
    nll = -log_p.gather(2, targets[:, :, None]).squeeze(2).mean(dim=1)
    smooth = -log_p.mean(dim=2).mean(dim=1)
    hard = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    return alpha * soft + (1.0 - alpha) * hard
