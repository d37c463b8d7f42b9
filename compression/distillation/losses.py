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
