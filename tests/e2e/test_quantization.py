"""The quantization playground in Chromium: type values, change the bitwidth, see the table and charts follow."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, open_app, open_via_sidebar, screenshot, wait_for_app


def _whole_page(page, screenshot_dir, name: str) -> None:
    """Streamlit scrolls inside its main block, so a full-page screenshot needs a tall viewport."""
    page.set_viewport_size({"width": 1400, "height": 5200})
    page.wait_for_timeout(800)
    wait_for_app(page)
    screenshot(page, screenshot_dir, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _heatmap(page):
    return page.locator('[data-testid="stPlotlyChart"]').first


def test_type_values_change_bits_and_see_table_and_charts(page, server, screenshot_dir):
    open_app(page, server)
    open_via_sidebar(page, "Quantization playground")
    expect(page.locator("h1", has_text="Quantization playground")).to_be_visible()
    assert_no_exception(page)
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(5)
    expect(_heatmap(page)).to_contain_text("8-bit")

    # type values (a text area commits with Ctrl+Enter)
    box = page.locator(".st-key-quant_text textarea")
    box.fill("0.5, 1.0, -0.3, 0.25")
    box.press("Control+Enter")
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_text("4 values · scheme")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').nth(1)).to_be_visible()

    # add a bitwidth: the table grows new columns and the heatmap gains a column
    page.locator(".st-key-quant_bits").click()
    page.get_by_role("option", name="2", exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    assert_no_exception(page)
    expect(_heatmap(page)).to_contain_text("2-bit")
    expect(page.locator(".st-key-quant_focus")).to_contain_text("2-bit")
    _whole_page(page, screenshot_dir, "quantization-typed")

    # a bad token is named, the page keeps running
    box.fill("0.5, abc")
    box.press("Control+Enter")
    wait_for_app(page)
    expect(page.get_by_text("These are not numbers: 'abc'")).to_be_visible()
    assert_no_exception(page)


def test_deep_link_and_large_generated_input(page, server, screenshot_dir):
    open_app(
        page, server, "quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate&calibration=minmax"
    )
    expect(page.locator("h1", has_text="Quantization playground")).to_be_visible()
    assert_no_exception(page)
    expect(page.get_by_text("3 values · scheme article")).to_be_visible()
    expect(page.locator(".st-key-quant_focus")).to_contain_text("4-bit")
    screenshot(page, screenshot_dir, "quantization-article-link")

    page.locator(".st-key-quant_source").get_by_text("Generate").click()
    expect(page.get_by_text("10,000 values · scheme article")).to_be_visible()  # the rerun has finished
    wait_for_app(page)
    count = page.locator(".st-key-quant_count input")
    count.fill("1000000")
    count.press("Enter")
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_text("1,000,000 values · scheme")).to_be_visible()
    expect(page.get_by_text("Download all 1,000,000 rows as CSV")).to_be_visible()
    expect(_heatmap(page)).to_contain_text("of 1,000,000 values: every k-th")
    _whole_page(page, screenshot_dir, "quantization-1m")


def test_csv_upload_real_file_and_a_bad_one(page, server, tmp_path):
    """A learner uploads a spreadsheet export (a header, a blank line), then a CSV with text in it."""
    good = tmp_path / "weights.csv"
    good.write_text("weight\n0.5\n-0.25\n\n1.0\n0.125\n", encoding="utf-8")
    bad = tmp_path / "oops.csv"
    bad.write_text("value\n0.5\nn/a\n0.3\n", encoding="utf-8")
    open_app(page, server, "quantization")
    page.locator(".st-key-quant_source").get_by_text("Upload CSV").click()
    wait_for_app(page)
    page.locator('.st-key-quant_upload input[type="file"]').set_input_files(str(good))
    wait_for_app(page)
    expect(page.get_by_text("4 values · scheme")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    page.locator('.st-key-quant_upload input[type="file"]').set_input_files(str(bad))
    wait_for_app(page)
    expect(page.get_by_text("These CSV cells are not numbers: line 3: 'n/a'")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
