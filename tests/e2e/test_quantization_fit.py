"""The playground's tables in Chromium (issue 20): with the issue's input `1e38 -1e38 1e-45` and every float
format, no header or cell text is cut ("FP8 E4M…"), no cell reads None, Infinity or a browser number error, at
1280 px and 390 px, in English and Chinese; and a number typed above its field's limit is answered in words.

The grid draws on a canvas, so there is no header element to measure: the test reads the grid's own column
widths and cell texts from the React props of its canvas (glide-data-grid's `columns`, `getCellContent` and
`theme`) and measures each text with the grid's font, the way the grid draws it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import APP_TIMEOUT_MS, Server, assert_no_exception, screenshot, wait_for_app

EDGE_LINK = "quantization?values=1e38,-1e38,1e-45"
FORMATS = ("FP8 E4M3", "FP8 E5M2", "FP4 E2M1", "NF4")
SIZES = {"laptop": (1280, 800), "phone": (390, 844)}

GRID_JS = """(root) => {
  const canvas = root.querySelector('canvas');
  if (!canvas) return {error: 'no canvas'};
  const fiberKey = Object.keys(canvas).find(k => k.startsWith('__reactFiber'));
  let fiber = canvas[fiberKey], props = null;
  for (let i = 0; fiber && i < 20 && !props; i++, fiber = fiber.return) {
    const p = fiber.memoizedProps || {};
    if (Array.isArray(p.columns) && typeof p.getCellContent === 'function' && p.theme) props = p;
  }
  if (!props) return {error: 'no grid props found'};
  const ctx = document.createElement('canvas').getContext('2d');
  const theme = props.theme, pad = theme.cellHorizontalPadding;
  const textWidth = (font, text) => { ctx.font = `${font} ${theme.fontFamily}`; return ctx.measureText(text).width; };
  const cut = [], bad = [];
  props.columns.forEach((col, c) => {
    const need = textWidth(theme.headerFontStyle, col.title) + 2 * pad + (col.icon ? 26 : 0);
    if (need > col.width + 0.5) cut.push(`header "${col.title}" needs ${Math.ceil(need)}px, has ${col.width}px`);
    for (let r = 0; r < props.rows; r++) {
      const cell = props.getCellContent([c, r]);
      if (cell.isError) bad.push(`"${col.title}" row ${r + 1}: ${cell.errorDetails}`);
      if (cell.isMissingValue) bad.push(`"${col.title}" row ${r + 1}: an empty cell (drawn as None)`);
      const text = typeof cell.displayData === 'string' ? cell.displayData : '';
      if (['None', 'NaN', 'Infinity', '-Infinity', 'null'].includes(text)) bad.push(`"${col.title}" row ${r + 1}: ${text}`);
      const needCell = textWidth(theme.baseFontStyle, text) + 2 * pad;
      if (text && needCell > col.width + 0.5) {
        cut.push(`cell "${text}" in "${col.title}" needs ${Math.ceil(needCell)}px, has ${col.width}px`);
      }
    }
  });
  return {cut, bad, titles: props.columns.map(col => col.title)};
}"""


def _settle(page: Page) -> None:
    wait_for_app(page)
    expect(page.locator('[data-testid="stDataFrame"] canvas').first).to_be_attached(timeout=APP_TIMEOUT_MS)
    page.wait_for_timeout(500)
    wait_for_app(page)


def _choose_formats(page: Page) -> None:
    for name in FORMATS:  # typed and chosen with Enter: on a phone the option list moves while it opens
        box = page.locator(".st-key-quant_formats input")
        box.click()
        box.fill(name)
        expect(page.get_by_role("option").filter(has_text=name)).to_have_count(1)
        box.press("Enter")
        page.keyboard.press("Escape")
        _settle(page)
    expect(page.locator(".st-key-quant_formats")).to_contain_text(FORMATS[-1])


def _grids(page: Page) -> list[dict]:
    grids = page.locator('[data-testid="stDataFrame"]')
    expect(grids.first).to_be_visible()
    found = []
    for i in range(grids.count()):
        if grids.nth(i).is_visible():  # the article's value-by-value table sits in a closed expander
            found.append(grids.nth(i).evaluate(GRID_JS))
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", list(SIZES))
def test_table_headers_and_cells_are_not_cut_and_never_read_none(
    browser: Browser, server: Server, screenshot_dir, size, lang
):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(APP_TIMEOUT_MS)
        page.goto(f"{server.url}/{EDGE_LINK}" + ("&lang=zh" if lang == "zh" else ""))
        _settle(page)
        _choose_formats(page)
        assert_no_exception(page)
        grids = _grids(page)
        assert len(grids) == 3, grids  # summary, every value, the article's figures
        assert all("error" not in grid for grid in grids), grids
        problems = [p for grid in grids for p in grid["cut"] + grid["bad"]]
        page.set_viewport_size({"width": width, "height": 5200})
        _settle(page)
        screenshot(page, screenshot_dir, f"quantization-edge-{size}-{lang}")
        assert problems == [], "\n".join(problems)
        titles = [title for grid in grids for title in grid["titles"]]
        assert ("FP8 E4M3 clipped" if lang == "en" else "FP8 E4M3 裁剪") in titles, titles
    finally:
        context.close()


def test_a_count_above_its_limit_is_answered_next_to_the_field(page: Page, server: Server, screenshot_dir):
    page.goto(f"{server.url}/quantization")
    _settle(page)
    page.locator(".st-key-quant_source").get_by_text("Generate").click()
    expect(page.get_by_text("10,000 values · scheme")).to_be_visible()
    wait_for_app(page)
    count = page.locator(".st-key-quant_count input")
    count.fill("1000001")
    count.press("Enter")
    wait_for_app(page)
    assert_no_exception(page)
    message = page.locator('[data-testid="stAlert"]', has_text="At most 1,000,000 values (you typed 1,000,001)")
    expect(message).to_be_visible()
    expect(count).to_have_value("1000001")  # the browser kept what was typed: no silent refusal
    expect(page.get_by_text("10,000 values · scheme")).to_be_visible()  # and the page kept its last result
    # the message sits right below the field, in the same column
    field, alert = count.bounding_box(), message.bounding_box()
    assert field and alert and 0 <= alert["y"] - (field["y"] + field["height"]) < 60, (field, alert)
    assert abs(alert["x"] - field["x"]) < 40, (field, alert)

    pages = page.locator(".st-key-quant_page input")
    pages.fill("999999999")
    pages.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("The table has 400 pages (you typed 999,999,999)")).to_be_visible()
    screenshot(page, screenshot_dir, "quantization-limits")
