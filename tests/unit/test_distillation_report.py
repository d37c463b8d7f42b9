"""What the page says about a run: the verdict (including when distillation loses), tables, CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from compression.distillation.report import history_frame, metrics_csv, summary_frame, verdict


def results(teacher: float, student: float, baseline: float, smoothing: float | None = None) -> dict:
    def model(acc: float, params: int, agreement: float | None) -> dict:
        return {"architecture": "mlp:128", "test_accuracy": acc, "params": params, "size_bytes": 4 * params,
                "compression_ratio": 15.7, "latency_ms": 0.03, "agreement": agreement}  # fmt: skip

    out = {
        "teacher": model(teacher, 151306, None),
        "student": model(student, 9610, 0.97),
        "baseline": model(baseline, 9610, 0.95),
    }
    if smoothing is not None:
        out["smoothing"] = model(smoothing, 9610, 0.96)
    return out


def test_a_win_reports_gain_and_gap_closed():
    v = verdict(results(0.99, 0.97, 0.95, smoothing=0.96))
    assert v.kind == "success" and "Distillation won" in v.headline
    assert v.gain_points == pytest.approx(2.0) and v.gap_closed == pytest.approx(0.5)
    assert "closed 50% of the gap" in v.details and "1.00 points below the distilled one" in v.details


def test_a_loss_is_said_plainly():
    v = verdict(results(0.99, 0.93, 0.95))
    assert v.kind == "warning" and "Distillation lost to the baseline" in v.headline and "(-2.00 points)" in v.headline
    assert v.gap_closed == pytest.approx(-0.5)
    assert "more student epochs" in v.details


def test_label_smoothing_matching_the_student_is_pointed_out():
    v = verdict(results(0.99, 0.97, 0.95, smoothing=0.975))
    assert "regularisation from soft targets, not the teacher's knowledge" in v.details


def test_a_teacher_below_the_baseline_has_no_gap_to_close():
    v = verdict(results(0.90, 0.92, 0.95))
    assert v.gap_closed is None and "no gap to close" in v.details and v.kind == "warning"


def test_summary_history_and_csv():
    summary = summary_frame(results(0.99, 0.97, 0.95, smoothing=0.96))
    assert list(summary["Model"]) == ["Teacher", "Distilled student", "Baseline student", "Label smoothing student"]
    assert summary.loc[0, "test accuracy %"] == pytest.approx(99.0) and pd.isna(summary.loc[0, "agrees with teacher %"])
    rows = [
        {"model": m, "epoch": e, "train_loss": 1.0 / e, "test_loss": 2.0 / e, "test_accuracy": 0.5, "agreement": None if m == "teacher" else 0.4}
        for m in ("teacher", "student") for e in range(1, 1001)
    ]  # fmt: skip
    full = history_frame(rows)
    assert len(full) == 2000 and full["test accuracy %"].iloc[0] == 50.0
    light = history_frame(rows, max_points=100)
    per_model = light.groupby("Model")["epoch"].agg(["count", "max"])
    assert (per_model["count"] <= 101).all() and (per_model["max"] == 1000).all()  # the last epoch is always kept
    back = pd.read_csv(io.StringIO(metrics_csv(rows)))
    assert list(back.columns) == ["model", "epoch", "train_loss", "test_loss", "test_accuracy", "agreement"]
    assert len(back) == 2000


def test_log_axis_ticks_are_full_values_not_plotlys_digit_labels():
    """Issue 10: the teacher-phase loss axis read "2, 1, 5, 2, 0.1, 5, 2" (plotly's minor log labels)."""
    from compression.distillation.report import log_ticks

    assert log_ticks(0.08, 2.3) == [0.1, 0.2, 0.5, 1.0, 2.0]
    assert log_ticks(0.0004, 2.3) == [0.001, 0.01, 0.1, 1.0]  # many decades: only the powers of ten
    assert log_ticks(0.31, 0.35) == [0.31, 0.35]  # inside one step: the ends
    assert log_ticks(0.0, 1.0) == [] and log_ticks(1.0, float("inf")) == []


@pytest.mark.parametrize(
    ("student", "baseline", "teacher", "smoothing"),
    [(0.95, 0.94, 0.97, 0.945), (0.93, 0.94, 0.97, 0.945), (0.93, 0.94, 0.90, None), (0.94, 0.94, 0.90, 0.96)],
)
def test_the_verdict_is_data_rendered_in_each_language_and_its_english_is_the_libraries(
    student, baseline, teacher, smoothing
):
    from compression.distillation.report import verdict

    results = {"teacher": {"test_accuracy": teacher}, "student": {"test_accuracy": student},
               "baseline": {"test_accuracy": baseline}}  # fmt: skip
    if smoothing is not None:
        results["smoothing"] = {"test_accuracy": smoothing}
    v = verdict(results)
    assert v.parts and v.parts[0][0] in ("won", "tied", "lost")
    assert v.text("en") == (v.headline, v.details)  # the catalogue says what the CLI says
    headline_zh, details_zh = v.text("zh")
    assert "蒸馏" in headline_zh and headline_zh != v.headline
    assert f"{100 * student:.2f}%" in headline_zh
