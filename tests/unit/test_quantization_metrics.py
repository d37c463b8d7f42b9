"""The playground's figures at the edges of float32: squares that overflow float32 are taken in float64,
and a figure that is still not a finite number carries a note saying why (issue 20, "Say it, don't swallow
it"). Also the limits of the page's number fields, as the library states them."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from compression import quantization as qz
from compression.i18n import LabError

EDGE = [1e38, -1e38, 1e-45]  # the issue's input: errors near 1e37 square beyond float32's 3.4e38


def _mse64(result: qz.QuantResult) -> float:
    error = result.error.to(torch.float64)
    return float((error * error).mean())


def test_huge_values_give_a_finite_mse_and_sqnr_squared_in_float64():
    result = qz.quantize(EDGE, 4)
    assert math.isfinite(result.mse) and result.mse > 1e70  # float32 squares gave +inf here
    assert result.mse == pytest.approx(_mse64(result), rel=1e-12)
    x = torch.tensor(EDGE, dtype=torch.float32).to(torch.float64)
    assert result.signal_power == pytest.approx(float((x * x).mean()), rel=1e-12)
    expected = 10 * math.log10(result.signal_power / result.mse)
    assert math.isfinite(result.sqnr_db) and result.sqnr_db == pytest.approx(expected)


def test_huge_values_summary_is_finite_and_says_it_was_squared_in_float64():
    result = qz.sweep(EDGE, [4, 8], float_formats=["fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "nf4"])
    for column in ("MSE", "max |error|", "mean error", "SQNR (dB)"):
        assert np.isfinite(result.summary[column].to_numpy()).all(), result.summary[column]
    integer = result.summary.loc[["4-bit", "8-bit"]]
    assert np.isfinite(integer[["Δ²/12", "SQNR from Δ²/12 (dB)"]].to_numpy()).all()
    assert result.squares_overflow_float32
    # FP8 saturates ±1e38 at ±448 / ±57344: its error is the whole value, and SQNR is 0 dB, not NaN
    assert result.summary.loc["FP8 E4M3", "SQNR (dB)"] == pytest.approx(0.0, abs=1e-6)
    # no figure on these rows is left without a reason: every note is a float format's "not applicable"
    assert set(result.notes_by_kind()) == {qz.NOTE_NOT_APPLICABLE}
    assert not qz.sweep([0.5, -1.0], [8]).squares_overflow_float32


def test_error_vs_bits_and_the_article_comparison_are_finite_on_huge_values():
    curve = qz.error_vs_bits(EDGE)
    assert np.isfinite(curve["MSE"]).all() and np.isfinite(curve["SQNR (dB)"]).all()
    assert curve["note"].isna().all()
    metrics = qz.compare_with_article(EDGE, 8).metrics
    assert np.isfinite(metrics["MSE"].to_numpy()).all(), metrics["MSE"]


def test_all_zeros_have_an_undefined_sqnr_with_the_reason():
    result = qz.sweep([0.0, 0.0, 0.0], [4, 8], float_formats=["nf4"])
    assert (result.summary["MSE"] == 0).all()
    assert result.summary["SQNR (dB)"].isna().all()
    notes = result.notes_by_kind()
    assert notes[qz.NOTE_ZERO_SIGNAL] == {
        "SQNR (dB)": ["4-bit", "8-bit", "NF4"],
        "SQNR from Δ²/12 (dB)": ["4-bit", "8-bit"],
    }
    assert qz.sqnr_note(0.0, 0.0) == qz.NOTE_ZERO_SIGNAL
    assert math.isnan(qz.sqnr_db(0.0, 0.0)) and math.isnan(qz.sqnr_db(0.0, 1.0))
    curve = qz.error_vs_bits([0.0, 0.0], (2, 4))
    assert curve["note"].tolist() == [qz.NOTE_ZERO_SIGNAL, qz.NOTE_ZERO_SIGNAL]


def test_an_exact_reconstruction_has_infinite_sqnr_with_the_reason():
    result = qz.sweep([0.5, -2.0, 1.0], [], float_formats=["fp8_e4m3"])  # all exactly representable in E4M3
    assert result.summary.loc["FP8 E4M3", "MSE"] == 0
    assert result.summary.loc["FP8 E4M3", "SQNR (dB)"] == math.inf
    assert result.notes.loc["FP8 E4M3", "SQNR (dB)"] == qz.NOTE_NO_ERROR
    assert qz.sqnr_db(1.0, 0.0) == math.inf and qz.sqnr_note(1.0, 0.0) == qz.NOTE_NO_ERROR


def test_an_error_that_overflows_float32_is_infinite_with_the_reason():
    base = qz.quantize([3e38, 1.0], 8)
    # a dequantized value on the other side: dequantized - original is beyond float32 (-inf in float32)
    broken = dataclasses.replace(base, dequantized=torch.tensor([-3e38, 1.0], dtype=torch.float32))
    assert math.isinf(float(broken.error[0]))
    assert broken.mse == math.inf and broken.sqnr_db == -math.inf
    assert qz.metric_note(broken.mse) == qz.NOTE_OVERFLOW
    assert qz.sqnr_note(broken.signal_power, broken.mse) == qz.NOTE_OVERFLOW
    assert qz.metric_note(1.0) is None and qz.sqnr_note(1.0, 0.5) is None
    assert math.isnan(qz.sqnr_db(1.0, math.nan))


def test_float_formats_have_no_zero_point_or_uniform_noise_model():
    result = qz.sweep([0.5, -1.0, 0.25], [8], float_formats=["nf4"])
    assert result.notes.loc["NF4", "zero point"] == qz.NOTE_NOT_APPLICABLE
    assert result.notes.loc["NF4", "SQNR from Δ²/12 (dB)"] == qz.NOTE_NOT_APPLICABLE
    assert result.notes.loc["8-bit"].isna().all()  # None, never NaN, where the figure is a number
    assert all(note is None for note in result.notes.loc["8-bit"])
    assert result.scale_kinds == {"8-bit": ("per_tensor", 1), "NF4": ("block", 64)}


def test_per_channel_scale_kind_counts_the_channels():
    weights = qz.layer_weights("linear_128_10", 0)
    result = qz.sweep(weights, [8], per_channel=True)
    assert result.scale_kinds["8-bit"] == ("per_channel", weights.shape[0])


@pytest.mark.parametrize(
    ("check", "args", "key", "english", "chinese"),
    [
        ("check_count", (1_000_001, 1_000_000), "values.count_high", "At most 1,000,000 values", "最多 1,000,000 个值"),
        ("check_count", (0, 1_000_000), "values.count_low", "At least 1 value", "至少要有 1 个值"),
        ("check_seed", (-1,), "values.seed_range", "from 0 to 2,147,483,647", "0 到 2,147,483,647"),
        ("check_seed", (2**31,), "values.seed_range", "you typed 2,147,483,648", "2,147,483,648"),
        (
            "check_page",
            (999_999_999, 3),
            "values.page_high",
            "The table has 3 pages (you typed 999,999,999)",
            "共有 3 页",
        ),
        ("check_page", (2, 1), "values.page_high_one", "The table has 1 page", "只有 1 页"),
        ("check_page", (0, 3), "values.page_low", "Pages start at 1", "页码从 1 开始"),
    ],
)
def test_field_limits_are_stated_in_both_languages(check, args, key, english, chinese):
    with pytest.raises(LabError) as caught:
        getattr(qz, check)(*args)
    assert caught.value.key == key
    assert english in str(caught.value) and english in caught.value.message("en")
    assert chinese in caught.value.message("zh")


def test_field_limits_accept_the_ends_of_their_range():
    assert qz.check_count(1_000_000, 1_000_000) == 1_000_000 and qz.check_count(1) == 1
    assert qz.check_count(qz.MAX_GENERATED, 10**9) == qz.MAX_GENERATED  # never beyond the library's own limit
    assert qz.check_seed(0) == 0 and qz.check_seed(qz.MAX_SEED) == qz.MAX_SEED
    assert qz.check_page(3, 3) == 3 and qz.check_page(np.int64(1), 1) == 1
    with pytest.raises(LabError, match="whole number"):
        qz.check_count(2.5)
    with pytest.raises(LabError):
        qz.check_seed(True)


def test_generate_values_states_its_limit():
    with pytest.raises(LabError, match="At most 2,000,000 values"):
        qz.generate_values("normal", qz.MAX_GENERATED + 1)
    with pytest.raises(LabError, match="At least 1 value"):
        qz.generate_values("normal", 0)
