"""Every page at 1280×800 (laptop), 1920×1080 (projector) and 390×844 (phone), in English and Chinese, checked
in the real DOM: no sideways scroll, no cut text in select boxes, metrics and buttons, tables that fit on a
laptop, the sidebar collapsed on a phone, and Chinese chrome with ?lang=zh. Each combination is photographed
whole (see the screenshot folder printed at the end of the run).

Cases marked xfail are pages whose text and layout are fixed in phase 2 of issue 10 (they still run and
report what they find; the coordinator removes the marks then).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from compression.i18n import t
from pages._shared import HOME, existing_feature_pages
from tests.e2e.conftest import APP_TIMEOUT_MS, Server, assert_no_exception, wait_for_app

SIZES = {"laptop": (1280, 800), "projector": (1920, 1080), "phone": (390, 844)}
LANGS = ("en", "zh")
PAGES = [HOME, *existing_feature_pages()]
PAGE_TITLE_KEYS = {"home": "home.title", "quiz": "quiz.title", "quantization": "quantization.title",
                   "distillation": "distillation.title", "compress": "compress.title", "sweep": "sweep.title"}  # fmt: skip
PHASE2 = "phase 2: page not yet translated/laid out"

# Elements whose text must never be cut: select boxes, metrics, buttons, segmented controls, page links.
CUT_TEXT_ROOTS = ", ".join(
    f'[data-testid="{testid}"]'
    for testid in (
        "stSelectbox", "stMultiSelect", "stMetric", "stButton", "stDownloadButton", "stFormSubmitButton",
        "stButtonGroup", "stPageLink", "stSidebarNav",
    )
)  # fmt: skip

MEASURE_JS = """(rootsSelector) => {
  const scrollers = [document.scrollingElement, document.querySelector('[data-testid=stAppViewContainer]'),
                     document.querySelector('[data-testid=stMain]')].filter(Boolean);
  const sideways = scrollers.filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => `${e.getAttribute('data-testid') || e.tagName}: scrollWidth ${e.scrollWidth} > ${e.clientWidth}`);
  const ownText = e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
  const cut = [];
  for (const root of document.querySelectorAll(rootsSelector)) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      const style = getComputedStyle(el);
      const clips = style.overflowX !== 'visible' || style.textOverflow === 'ellipsis';
      // A clipping box cuts the text of its children too (a page link's label sits in a <p> inside a
      // clipping <span>: its own text check alone never saw "Open quantiz"), so a clipping box is measured
      // with all the text inside it.
      const text = ownText(el) || (el.tagName === 'INPUT' ? el.value : '') || (clips ? (el.innerText || '').trim() : '');
      if (!text || el.clientWidth === 0) continue;
      if (clips && el.scrollWidth > el.clientWidth + 1) {
        const testid = root.getAttribute('data-testid');
        cut.push(`${testid}: "${text.slice(0, 60)}" needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
      }
    }
  }
  const tables = [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => `table: scrollWidth ${e.scrollWidth} > ${e.clientWidth}`);
  const wrapped = [...document.querySelectorAll('[data-testid=stTable], [data-testid=stTable] *')]
      .filter(e => getComputedStyle(e).overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1)
      .map(e => `explanatory table: scrollWidth ${e.scrollWidth} > ${e.clientWidth}`);
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  const box = sidebar ? sidebar.getBoundingClientRect() : null;
  return {
    sideways, cut, tables, wrapped,
    sidebarVisible: box ? box.right > 0 && box.width > 0 : false,
    sidebarCollapsed: sidebar ? sidebar.getAttribute('data-collapsed') : null,
    title: (document.querySelector('h1') || {}).innerText || '',
    nav: [...document.querySelectorAll('[data-testid=stSidebarNav] a')]  // the last line: the icon's name comes first
        .map(a => a.innerText.split('\\n').map(s => s.trim()).filter(Boolean).pop()),
    sidebarText: sidebar ? sidebar.innerText : '',
    scrollHeight: (document.querySelector('[data-testid=stMain]') || document.body).scrollHeight,
  };
}"""

_MEASURED: dict[tuple[str, str, str], dict] = {}


def _settle(page: Page) -> None:
    wait_for_app(page)
    try:  # lazily loaded widgets (charts, tables) replace grey placeholders after the script run
        expect(page.locator('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')).to_have_count(
            0, timeout=15_000
        )
    except AssertionError:
        pass
    page.wait_for_timeout(700)


@pytest.fixture(autouse=True)
def a_finished_run_for_compress(request):
    """Compress draws its controls (models, bits, the deploy part) and the trainer its history table only with
    a finished run in the store: the layout cases of those pages always have one, whichever tests ran before
    (they once passed alone and failed after test_compress.py had stored a run)."""
    if "compress" in request.node.name or "distillation" in request.node.name:
        request.getfixturevalue("stored_run")


def measure(browser: Browser, server: Server, screenshot_dir: Path, url_path: str, size: str, lang: str) -> dict:
    """Open the page in a fresh browser context (a first visit), measure it, and photograph it whole."""
    key = (url_path, size, lang)
    if key in _MEASURED:
        return _MEASURED[key]
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(APP_TIMEOUT_MS)
        query = "?lang=zh" if lang == "zh" else ""
        page.goto(f"{server.url}/{url_path if url_path != HOME.url_path else ''}{query}")
        _settle(page)
        assert_no_exception(page)
        result = page.evaluate(MEASURE_JS, CUT_TEXT_ROOTS)
        result["url"] = page.url
        # Streamlit scrolls inside its main block: a tall viewport of the same width shows the whole page.
        name = f"layout-{url_path}-{size}-{lang}"
        page.set_viewport_size({"width": width, "height": min(max(height, int(result["scrollHeight"]) + 40), 12_000)})
        _settle(page)
        page.screenshot(path=str(screenshot_dir / f"{name}.png"))
        (screenshot_dir / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    finally:
        context.close()
    _MEASURED[key] = result
    return result


def _cases(phase2: dict[tuple[str, str, str], str] | None = None, sizes=SIZES, langs=LANGS):
    phase2 = phase2 or {}
    out = []
    for spec in PAGES:
        for size in sizes:
            for lang in langs:
                marks = []
                reason = (
                    phase2.get((spec.url_path, size, lang))
                    or phase2.get((spec.url_path, "*", lang))
                    or phase2.get((spec.url_path, size, "*"))
                    or phase2.get((spec.url_path, "*", "*"))
                )
                if reason:
                    marks.append(pytest.mark.xfail(reason=reason, strict=False))
                out.append(pytest.param(spec.url_path, size, lang, id=f"{spec.url_path}-{size}-{lang}", marks=marks))
    return out


# Cases known to fail, as (page, size, lang): reason. None today; a new page that cannot pass yet goes here.
CUT_TEXT_PHASE2: dict[tuple[str, str, str], str] = {}
SIDEWAYS_PHASE2: dict[tuple[str, str, str], str] = {}
TABLES_PHASE2: dict[tuple[str, str, str], str] = {}
ZH_CHROME_PHASE2: dict[tuple[str, str, str], str] = {}


@pytest.mark.parametrize(("url_path", "size", "lang"), _cases(SIDEWAYS_PHASE2))
def test_no_sideways_scroll(browser, server, screenshot_dir, url_path, size, lang):
    found = measure(browser, server, screenshot_dir, url_path, size, lang)
    assert found["sideways"] == [], found["sideways"]


@pytest.mark.parametrize(("url_path", "size", "lang"), _cases(CUT_TEXT_PHASE2))
def test_no_cut_text_in_select_boxes_metrics_and_buttons(browser, server, screenshot_dir, url_path, size, lang):
    found = measure(browser, server, screenshot_dir, url_path, size, lang)
    assert found["cut"] == [], "\n".join(found["cut"])


@pytest.mark.parametrize(("url_path", "size", "lang"), _cases(TABLES_PHASE2))
def test_tables_fit_without_sideways_scroll(browser, server, screenshot_dir, url_path, size, lang):
    """Explanatory tables (st.table) wrap their text at every size; data tables (st.dataframe) fit on a laptop
    and a projector (on a phone a data grid may scroll inside itself, key columns first)."""
    found = measure(browser, server, screenshot_dir, url_path, size, lang)
    assert found["wrapped"] == [], found["wrapped"]
    if size != "phone":
        assert found["tables"] == [], found["tables"]


@pytest.mark.parametrize(("url_path", "size", "lang"), _cases(sizes=SIZES, langs=("en",)))
def test_sidebar_is_collapsed_on_a_phone_and_open_elsewhere(browser, server, screenshot_dir, url_path, size, lang):
    found = measure(browser, server, screenshot_dir, url_path, size, lang)
    if size == "phone":
        assert not found["sidebarVisible"] and found["sidebarCollapsed"] == "true", found
    else:
        assert found["sidebarVisible"] and found["sidebarCollapsed"] == "false", found


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("url_path", "size", "lang"), _cases(ZH_CHROME_PHASE2, sizes=("laptop",), langs=("zh",)))
def test_lang_zh_shows_chinese_chrome(browser, server, screenshot_dir, url_path, size, lang):
    found = measure(browser, server, screenshot_dir, url_path, size, lang)
    assert "lang=zh" in found["url"], found["url"]
    # The sidebar: navigation, language switch and device panel in Chinese.
    expected_nav = [t(spec.title_key, "zh") for spec in PAGES]
    assert found["nav"] == expected_nav, found["nav"]
    assert t("app.device.heading", "zh").strip("*").split(": ")[-1] in found["sidebarText"]
    assert "Training device" not in found["sidebarText"]
    # The page's own title.
    # A title may start with a :material/...: icon, whose ligature name the DOM holds as text.
    expected = re.sub(r"^:material/[a-z_]+: ", "", t(PAGE_TITLE_KEYS[url_path], "zh"))
    assert found["title"].strip().endswith(expected), found["title"]


def test_language_switch_in_the_browser_keeps_lang_in_the_url_across_pages(page, server, screenshot_dir):
    """Switch to 中文 in the sidebar, move to another page: the URL still says ?lang=zh, the chrome is Chinese."""
    page.goto(server.url)
    wait_for_app(page)
    page.locator(".st-key-lang_switch").get_by_role("radio", name="中文").click()
    wait_for_app(page)
    expect(page.locator("h1").first).to_have_text(t("home.title", "zh"))
    page.wait_for_url(re.compile(r"lang=zh"))
    target = existing_feature_pages()[0]
    page.locator('[data-testid="stSidebarNav"] a', has_text=t(target.title_key, "zh")).first.click()
    page.wait_for_url(re.compile(rf"/{target.url_path}\?(.*&)?lang=zh"))
    wait_for_app(page)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(t("app.nav.home", "zh"))
    assert_no_exception(page)
    # A reload (or the link sent to someone else) keeps Chinese.
    page.reload()
    wait_for_app(page)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text(t("app.nav.home", "zh"))
