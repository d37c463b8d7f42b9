"""One language switch for every page: the sidebar control, ?lang= in the URL, the home page and the device panel."""

from __future__ import annotations

import pytest

from compression.i18n import t as text
from tests.app.conftest import assert_no_exception


def _sidebar_text(at) -> str:
    return (
        " ".join(str(m.value) for m in at.sidebar.markdown) + " " + " ".join(str(c.value) for c in at.sidebar.caption)
    )


def _url_lang(at) -> str | None:
    """?lang= as the script last left it (AppTest keeps a string or a one-item list)."""
    value = at.query_params.get("lang")
    return value[-1] if isinstance(value, list) else value


def test_english_by_default(open_page):
    at = open_page("pages/home.py")
    assert_no_exception(at)
    assert at.title[0].value == "Compression Lab"
    assert "Training device" in _sidebar_text(at)
    assert at.sidebar.button_group(key="lang_switch").value == "en"
    assert _url_lang(at) is None


def test_lang_zh_link_shows_chinese_home_and_sidebar(open_page):
    at = open_page("pages/home.py", query={"lang": "zh"})
    assert_no_exception(at)
    assert at.title[0].value == "模型压缩实验室"
    sidebar = _sidebar_text(at)
    assert "训练设备" in sidebar and "Training device" not in sidebar
    assert "训练使用" in sidebar and "个 CPU 核" in sidebar
    assert [s.value for s in at.subheader][:3] == [
        text("home.what.heading", "zh"),
        text("home.quantization.heading", "zh"),
        text("home.distillation.heading", "zh"),
    ]
    machine = [str(m.value) for m in at.expander[0].markdown]
    assert any(m.startswith("训练运行在 **CPU") or m.startswith("训练运行在 **CUDA") for m in machine), machine
    # The article's table is shown in Chinese first; the toggle offers the English translation.
    assert list(at.table[0].value.columns) == ["量化", "知识蒸馏"]
    at.toggle(key="home_table_en").set_value(True).run()
    assert list(at.table[0].value.columns) == ["Quantization", "Knowledge distillation"]
    assert _url_lang(at) == "zh"


def test_sidebar_switch_changes_every_page_and_the_url(open_page):
    at = open_page("pages/home.py")
    switch = at.sidebar.button_group(key="lang_switch")
    assert switch.value == "en"
    switch.set_value("zh").run()
    assert_no_exception(at)
    assert at.title[0].value == "模型压缩实验室"
    assert _url_lang(at) == "zh"
    # Another page keeps the choice: the language lives in the session and is written back to the URL.
    at.switch_page("pages/quantization.py").run()
    assert_no_exception(at)
    assert "训练设备" in _sidebar_text(at)
    assert _url_lang(at) == "zh"
    at.switch_page("pages/home.py").run()
    assert at.title[0].value == "模型压缩实验室"
    # And back to English: the parameter leaves the URL.
    at.sidebar.button_group(key="lang_switch").set_value("en").run()
    assert at.title[0].value == "Compression Lab"
    assert _url_lang(at) is None


def test_bad_lang_parameter_warns_and_keeps_english(open_page):
    at = open_page("pages/home.py", query={"lang": "fr"})
    assert_no_exception(at)
    assert at.title[0].value == "Compression Lab"
    assert sum("lang=fr" in str(w.value) for w in at.warning) == 1, [w.value for w in at.warning]
    at.run()  # warned once per session, not on every rerun
    assert not any("lang=fr" in str(w.value) for w in at.warning)
    assert at.title[0].value == "Compression Lab"


def test_home_cards_link_in_the_visitors_language(open_page):
    at = open_page("pages/home.py", query={"lang": "zh"})
    labels = " ".join(str(m.value) for m in at.markdown)
    for key in ("app.nav.quiz", "app.nav.quantization", "app.nav.distillation"):
        assert text(key, "zh") in labels


@pytest.mark.parametrize(
    ("page", "query", "expected"),
    [
        ("pages/distillation.py", {"alpha": "2"}, "alpha（教师软目标项的权重）必须在 0 到 1 之间，收到的是 2.0。"),
        ("pages/distillation.py", {"teacher": "zz"}, "未知的教师模型 'zz'。"),
        ("pages/quantization.py", {"bits": "0"}, "位宽必须在 1 到 16 之间；收到的是 0。"),
        ("pages/quantization.py", {"calibration": "zzz"}, "请从 minmax, percentile, mse 中选一个"),
        ("pages/quiz.py", {"question": "nope"}, "题库中没有 id 为 'nope' 的题目。"),
    ],
)
def test_a_refused_deep_link_reads_in_chinese_whole(open_page, page, query, expected):
    """Issue 10: the warning's frame and the library's reason, both in the visitor's language."""
    at = open_page(page, query={**query, "lang": "zh"})
    assert_no_exception(at)
    warnings = [str(w.value) for w in at.warning]
    assert any(w.startswith("链接参数 ") and expected in w for w in warnings), warnings
    assert not any("was ignored" in w for w in warnings)
