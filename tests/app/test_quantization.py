"""AppTest of the quantization playground through the real router."""

from __future__ import annotations

import json

import numpy as np

from compression import quantization as qz
from tests.app.conftest import assert_no_exception

PAGE = "pages/quantization.py"


def _table(at):
    return next(
        df.value for df in at.dataframe if "value" in df.value.columns and "article code" not in df.value.columns
    )


def test_default_render(open_page):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "Quantization playground" in at.title[0].value
    assert not at.error
    table = _table(at)
    values = qz.parse_values(at.text_area(key="quant_text").value)
    assert table["value"].tolist() == values.tolist()
    expected = qz.quantize(values, 8)  # the default scheme: symmetric, nearest, min-max
    assert table["8-bit dequantized"].tolist() == expected.dequantized.tolist()
    assert table["4-bit code"].tolist() == qz.quantize(values, 4).q.tolist()
    assert len(at.get("plotly_chart")) == 5  # heatmap, transfer curve, histogram, MSE and SQNR vs bits
    labels = [m.label for m in at.metric]
    assert "quantize(1.0, 8)" in labels
    assert at.metric[labels.index("quantize(1.0, 8)")].value == "128"


def test_changing_bits_and_scheme_updates_the_table(open_page):
    at = open_page(PAGE)
    at.multiselect(key="quant_bits").set_value([2, 3]).run()
    assert_no_exception(at)
    table = _table(at)
    assert "2-bit code" in table.columns and "3-bit error" in table.columns and "8-bit code" not in table.columns
    at.selectbox(key="quant_scheme").set_value("affine").run()
    assert_no_exception(at)
    values = qz.parse_values(at.text_area(key="quant_text").value)
    table = _table(at)
    assert table["3-bit code"].tolist() == qz.quantize(values, 3, scheme="affine").q.tolist()
    assert table["3-bit code"].min() >= 0  # unsigned codes
    # choosing the article's formula switches rounding to its truncation
    at.selectbox(key="quant_scheme").set_value("article").run()
    assert_no_exception(at)
    assert at.selectbox(key="quant_rounding").value == "truncate"
    table = _table(at)
    assert "3-bit overflow" in table.columns
    assert table["3-bit code"].tolist() == [qz.article_quantize(float(v), 3) for v in values]


def test_typed_bad_input_shows_an_error_naming_it(open_page):
    at = open_page(PAGE)
    at.text_area(key="quant_text").input("0.5, abc, 1.0, 2..3").run()
    assert_no_exception(at)
    messages = [str(e.value) for e in at.error]
    assert any("'abc'" in m and "'2..3'" in m for m in messages), messages
    at.text_area(key="quant_text").input("").run()
    assert any("No values given" in str(e.value) for e in at.error)
    at.text_area(key="quant_text").input("1, nan").run()
    assert any("NaN" in str(e.value) for e in at.error)
    assert_no_exception(at)


def test_restricted_scheme_at_one_bit_is_an_error_not_a_crash(open_page):
    at = open_page(PAGE)
    at.multiselect(key="quant_bits").set_value([1]).run()
    at.selectbox(key="quant_scheme").set_value("symmetric_restricted").run()
    assert_no_exception(at)
    assert any("at least 2 bits" in str(e.value) for e in at.error)


def test_generated_100k_values_are_paged_and_downsampled(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("generate").run()
    at.selectbox(key="quant_dist").set_value("laplace")
    at.number_input(key="quant_count").set_value(100_000)
    at.number_input(key="quant_seed").set_value(3).run()
    assert_no_exception(at)
    table = _table(at)
    assert len(table) == 25  # one page of rows
    at.number_input(key="quant_page").set_value(4000).run()
    table = _table(at)
    assert table.index[0] == 3999 * 25 + 1 and table.index[-1] == 100_000
    values = qz.generate_values("laplace", 100_000, 3)
    assert np.array_equal(table["value"].to_numpy(), values[-25:])
    assert any("100,000 values" in str(c.value) for c in at.caption)
    assert "Download all 100,000 rows as CSV" in at.get("download_button")[0].proto.label
    heatmap = at.get("plotly_chart")[0]
    assert "120 of 100,000 values: every k-th" in heatmap.proto.spec


def test_calibration_percentile_and_float_formats(open_page):
    at = open_page(PAGE)
    at.selectbox(key="quant_calibration").set_value("percentile").run()
    assert_no_exception(at)
    at.slider(key="quant_percentile").set_value(95.0).run()
    at.multiselect(key="quant_formats").set_value(["fp8_e4m3", "nf4"]).run()
    assert_no_exception(at)
    table = _table(at)
    assert "FP8 E4M3 code" in table.columns and "NF4 error" in table.columns
    summary = at.dataframe[0].value
    assert list(summary.index) == ["4-bit", "8-bit", "FP8 E4M3", "NF4"]


def test_explicit_range_with_min_above_max_is_an_error(open_page):
    at = open_page(PAGE)
    at.selectbox(key="quant_calibration").set_value("range").run()
    at.number_input(key="quant_range_min").set_value(2.0)
    at.number_input(key="quant_range_max").set_value(1.0).run()
    assert_no_exception(at)
    assert any("larger than its maximum" in str(e.value) for e in at.error)


def test_layer_weights_per_channel(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("layer").run()
    at.selectbox(key="quant_layer").set_value("linear_128_10")
    at.toggle(key="quant_per_channel").set_value(True).run()
    assert_no_exception(at)
    summary = at.dataframe[0].value
    assert summary.loc["8-bit", "scales"] == "10 per channel"


def test_deep_link_configures_the_playground(open_page):
    query = {"values": "0.5,1.0,-0.3", "bits": "4,8", "scheme": "seed", "rounding": "truncate", "calibration": "minmax"}
    at = open_page(PAGE, query=query)
    assert_no_exception(at)
    assert not at.warning
    assert at.multiselect(key="quant_bits").value == [4, 8]
    assert at.selectbox(key="quant_scheme").value == "article"  # "seed", the old name, still works
    assert at.selectbox(key="quant_rounding").value == "truncate"
    table = _table(at)
    assert table["value"].tolist() == [0.5, 1.0, np.float32(-0.3)]
    assert table["8-bit code"].tolist() == [64, 128, -38]
    assert table["8-bit overflow"].tolist() == [False, True, False]


def test_bad_deep_link_values_warn_and_fall_back(open_page):
    query = {"values": "1,zz", "bits": "0,99", "scheme": "<script>", "rounding": "up", "calibration": "best"}
    at = open_page(PAGE, query=query)
    assert_no_exception(at)
    warnings = " ".join(str(w.value) for w in at.warning)
    for name in ("values", "bits", "scheme", "rounding", "calibration"):
        assert f"` {name}=" in warnings, (name, warnings)
    assert "'zz'" in warnings
    assert at.multiselect(key="quant_bits").value == [4, 8]
    assert at.selectbox(key="quant_scheme").value == "symmetric"
    assert not at.error


def test_a_registered_scheme_appears_in_the_page(open_page, monkeypatch):
    fake = qz.Scheme("fake_restricted", "a fake scheme for the test", restricted=True, note="Fake scheme note.")
    monkeypatch.setitem(qz.SCHEME_REGISTRY, fake.key, fake)
    at = open_page(PAGE, query={"values": "0.5,-1,0.26", "bits": "4", "scheme": "fake_restricted"})
    assert_no_exception(at)
    assert not at.warning
    box = at.selectbox(key="quant_scheme")
    assert "a fake scheme for the test" in box.options and box.value == "fake_restricted"
    assert any("Fake scheme note." in str(c.value) for c in at.caption)
    expected = qz.quantize([0.5, -1, 0.26], 4, scheme="fake_restricted").q.tolist()
    assert _table(at)["4-bit code"].tolist() == expected


def test_bad_links_and_inputs_are_clear_errors(open_page):
    at = open_page(PAGE, query={"values": "0,5 1,0", "calibration": "range"})
    assert_no_exception(at)
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "decimal comma" in warnings and "range" in warnings
    at.selectbox(key="quant_calibration").set_value("range").run()
    at.number_input(key="quant_range_max").set_value(1e39).run()
    assert_no_exception(at)
    assert any("beyond float32" in str(e.value) for e in at.error)


def test_one_value_is_singular(open_page):
    at = open_page(PAGE, query={"values": "0.5", "bits": "8"})
    assert_no_exception(at)
    assert any("1 value ·" in str(c.value) for c in at.caption)
    assert any(b.label == "Download the row as CSV" for b in at.get("download_button"))


def test_histogram_legend_says_its_levels_are_a_sample(open_page):
    at = open_page(PAGE)
    at.multiselect(key="quant_bits").set_value([3, 16]).run()
    assert_no_exception(at)
    at.segmented_control(key="quant_focus").set_value("16-bit").run()
    figure = next(c for c in at.get("plotly_chart") if "Histogram of the values" in c.proto.spec)
    assert "a sample: every 256th of 65,536" in figure.proto.spec
    at.segmented_control(key="quant_focus").set_value("3-bit").run()
    figure = next(c for c in at.get("plotly_chart") if "Histogram of the values" in c.proto.spec)
    assert "3-bit levels (" in figure.proto.spec and "a sample" not in figure.proto.spec


def test_the_upload_limit_is_stated_as_one_number(open_page):
    at = open_page(PAGE)
    at.segmented_control(key="quant_source").set_value("csv").run()
    assert_no_exception(at)
    uploader = at.get("file_uploader")[0].proto
    assert "at most 5 MB" in uploader.label and "5,000,000 bytes" in uploader.help


def test_lang_zh_shows_the_playground_in_chinese(open_page):
    """?lang=zh: title, controls, headings, table headers and chart titles in Chinese; numbers unchanged."""
    from compression.i18n import t

    at = open_page(PAGE, query={"lang": "zh", "values": "0.5,1.0,-0.3", "bits": "4,8"})
    assert_no_exception(at)
    assert at.title[0].value == t("quantization.title", "zh")
    assert at.selectbox(key="quant_rounding").label == t("quantization.quantizer.rounding", "zh")
    assert t("quantization.rounding.nearest", "zh") in at.selectbox(key="quant_rounding").options
    assert t("quantization.table.heading", "zh") in [s.value for s in at.subheader]
    layouts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    transfer = next(lay for lay in layouts if "传递曲线" in lay["title"]["text"])
    assert transfer["xaxis"]["title"]["text"] == t("quantization.transfer.x_axis", "zh")
    # the data keep their keys (CSV, tests); the headers the visitor reads are Chinese
    assert _table(at)["8-bit code"].tolist() == [64, 127, -38]
    headers = json.loads(at.dataframe[1].proto.columns)
    assert headers["8-bit code"]["label"] == "8-bit " + t("quantization.col.code", "zh")
    assert not any("Quantization playground" in str(m.value) for m in at.markdown)


def test_lang_zh_shows_bad_input_errors_in_chinese(open_page):
    """Issue 10: messages in the visitor's language too. The library's input errors are catalogue texts
    (LabError): the same check, the Chinese text, the visitor's tokens quoted as typed."""
    from compression.i18n import t

    at = open_page(PAGE, query={"lang": "zh"})
    at.text_area(key="quant_text").input("0.5, abc, 1.0").run()
    assert_no_exception(at)
    messages = " ".join(str(e.value) for e in at.error)
    assert "这些不是数：'abc'" in messages, messages
    assert messages.startswith(t("quantization.values.error", "zh") + "：这些不是数")  # a full-width colon after 汉字
    assert "These are not numbers" not in messages
    at.text_area(key="quant_text").input("1, inf").run()
    messages = " ".join(str(e.value) for e in at.error)
    assert "第 2 个值是无穷大" in messages, messages
    at.text_area(key="quant_text").input("0,5 1,0").run()
    assert "看起来用了小数逗号" in " ".join(str(e.value) for e in at.error)
