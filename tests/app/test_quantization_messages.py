"""AppTest of what the playground says instead of swallowing it (issue 20): number fields above or below
their limit, figures that are ∞ or undefined, "None" in table cells, and headers sized to their text."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from tests.app.conftest import assert_no_exception

PAGE = "pages/quantization.py"
EDGE = {"values": "1e38,-1e38,1e-45"}


def _errors(at) -> list[str]:
    return [str(e.value) for e in at.error]


def _summary_caption(at) -> str:
    return next(str(c.value) for c in at.caption if " · scheme " in str(c.value) or " · 方案 " in str(c.value))


def _value_table(at):
    return next(df for df in at.dataframe if "value" in df.value.columns and "article code" not in df.value.columns)


def _columns(df) -> dict:
    return json.loads(df.proto.columns)


def test_a_count_above_the_limit_says_so_below_the_field_and_keeps_the_result(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("generate").run()
    assert _summary_caption(at).startswith("10,000 values")
    at.number_input(key="quant_count").set_value(1_000_001).run()
    assert_no_exception(at)
    assert at.number_input(key="quant_count").value == 1_000_001  # what was typed stays in the field
    assert any("At most 1,000,000 values (you typed 1,000,001)" in m and "still using 10,000" in m for m in _errors(at))
    assert _summary_caption(at).startswith("10,000 values")  # the last valid result stays
    at.number_input(key="quant_count").set_value(0).run()
    assert any("At least 1 value (you typed 0)" in m for m in _errors(at))
    at.number_input(key="quant_count").set_value(20_000).run()
    assert not _errors(at)
    assert _summary_caption(at).startswith("20,000 values")


def test_the_limits_are_said_in_chinese(open_page):
    at = open_page(PAGE, query={"lang": "zh"})
    at.segmented_control(key="quant_source").set_value("generate").run()
    at.number_input(key="quant_count").set_value(1_000_001).run()
    at.number_input(key="quant_seed").set_value(-5).run()
    assert_no_exception(at)
    messages = " ".join(_errors(at))
    assert "最多 1,000,000 个值（你输入的是 1,000,001）" in messages and "仍使用 10,000" in messages
    assert "种子是 0 到 2,147,483,647 之间的整数（你输入的是 -5）" in messages
    assert "At most" not in messages


def test_a_page_beyond_the_last_says_how_many_pages_there_are(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("generate").run()  # 10,000 values: 400 pages of 25
    at.number_input(key="quant_page").set_value(3).run()
    assert _value_table(at).value.index[0] == 51
    at.number_input(key="quant_page").set_value(999_999_999).run()
    assert_no_exception(at)
    assert any("The table has 400 pages (you typed 999,999,999)" in m and "still using 3" in m for m in _errors(at))
    assert _value_table(at).value.index[0] == 51  # still page 3
    at.number_input(key="quant_page").set_value(0).run()
    assert any("Pages start at 1" in m for m in _errors(at))


def test_fewer_pages_move_the_page_without_a_message(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("generate").run()
    at.number_input(key="quant_page").set_value(400).run()
    at.selectbox(key="quant_page_size").set_value(500).run()  # 20 pages now: nothing was typed wrong
    assert_no_exception(at)
    assert not _errors(at)
    assert at.number_input(key="quant_page").value == 20
    assert _value_table(at).value.index[-1] == 10_000


def test_seeds_outside_their_range_say_so(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("layer").run()
    at.number_input(key="quant_seed").set_value(2**31).run()
    assert any("A seed is a whole number from 0 to 2,147,483,647 (you typed 2,147,483,648)" in m for m in _errors(at))
    at.selectbox(key="quant_rounding").set_value("stochastic").run()
    at.number_input(key="quant_round_seed").set_value(-1).run()
    assert_no_exception(at)
    assert sum("A seed is a whole number" in m for m in _errors(at)) == 2


def _cells(at):
    for df in at.dataframe:
        frame = df.value.reset_index()
        for column in frame.columns:
            for value in frame[column]:
                yield df, column, value


def test_huge_values_show_finite_figures_no_none_and_say_why(open_page):
    at = open_page(PAGE, query=EDGE)
    at.multiselect(key="quant_formats").set_value(["fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "nf4"]).run()
    assert_no_exception(at)
    for _, column, value in _cells(at):
        assert value is not None and not (isinstance(value, float) and math.isnan(value)), column
        assert str(value) not in ("None", "nan", "inf", "Infinity"), column
        if isinstance(value, int | float) and not isinstance(value, bool):
            # a browser number column shows neither ∞ nor whole numbers from 2^53 on: those cells are text
            assert math.isfinite(value) and abs(value) < 2**53, (column, value)
    summary = at.dataframe[0].value
    assert summary.loc["4-bit", "MSE"] == "2.963e+73"  # float64 squares: no longer "Infinity"
    assert summary.loc["4-bit", "SQNR (dB)"] == pytest.approx(23.52, abs=0.01)  # a number, no longer "None"
    assert summary.loc["NF4", "zero point"] == "—"
    infos = [str(i.value) for i in at.info]
    assert any("squared and summed in float64" in m for m in infos), infos
    assert any(str(c.value).startswith("— for FP8 E4M3, FP8 E5M2, FP4 E2M1, NF4:") for c in at.caption)


def test_all_zeros_say_the_sqnr_is_undefined(open_page):
    at = open_page(PAGE, query={"values": "0,0,0"})
    assert_no_exception(at)
    summary = at.dataframe[0].value
    assert summary["SQNR (dB)"].tolist() == ["undefined (all zeros)"] * 2
    warnings = [str(w.value) for w in at.warning]
    assert any(
        "**Undefined** in SQNR (dB) of 4-bit, 8-bit; SQNR from Δ²/12 (dB) of 4-bit, 8-bit" in w for w in warnings
    )
    assert any(str(c.value).startswith("Not drawn at 1, 2, 3") for c in at.caption)
    zh = open_page(PAGE, query={"values": "0,0,0", "lang": "zh"})
    assert zh.dataframe[0].value["SQNR (dB)"].tolist() == ["无定义（全为零）"] * 2
    assert any("**无定义**" in str(w.value) for w in zh.warning)


def test_an_exact_reconstruction_says_its_sqnr_is_infinite(open_page):
    at = open_page(PAGE, query={"values": "0.5,-2,1", "bits": "8"})
    at.multiselect(key="quant_formats").set_value(["fp8_e4m3"]).run()
    assert_no_exception(at)
    assert at.dataframe[0].value.loc["FP8 E4M3", "SQNR (dB)"] == "∞ (no error)"
    assert any("reconstructed exactly" in str(i.value) for i in at.info)


def test_value_table_headers_are_short_with_the_full_meaning_in_their_help(open_page):
    at = open_page(PAGE, query=EDGE)
    at.multiselect(key="quant_formats").set_value(["fp8_e4m3"]).run()
    columns = _columns(_value_table(at))
    assert columns["FP8 E4M3 clipped"]["label"] == "FP8 E4M3 clipped"  # was "FP8 E4M3 overflow / clipped"
    assert "outside the representable range" in columns["FP8 E4M3 clipped"]["help"]
    assert columns["4-bit code"]["help"].startswith("4-bit: the integer code")
    # every column and the index has a width taken from its text, so a change of rows never cuts it
    for name in ("_index", *_value_table(at).value.columns):
        assert isinstance(columns[name].get("width"), int), name
    summary = _columns(at.dataframe[0])
    assert summary["_index"]["width"] > summary["MSE"]["width"] // 2
    zh = open_page(PAGE, query={**EDGE, "lang": "zh"})
    zh.multiselect(key="quant_formats").set_value(["fp8_e4m3"]).run()
    assert _columns(_value_table(zh))["FP8 E4M3 clipped"]["label"] == "FP8 E4M3 裁剪"
    assert zh.dataframe[0].value.loc["FP8 E4M3", "scales"] == "1（无缩放）"


def test_the_scales_column_is_translated(open_page):
    at = open_page(PAGE, query={"lang": "zh"})
    at.segmented_control(key="quant_source").set_value("layer").run()
    at.selectbox(key="quant_layer").set_value("linear_128_10")
    at.toggle(key="quant_per_channel").set_value(True).run()
    assert_no_exception(at)
    assert at.dataframe[0].value.loc["8-bit", "scales"] == "每个通道 1 个，共 10 个"
    assert isinstance(at.dataframe[0].value, pd.DataFrame)
