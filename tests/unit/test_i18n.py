"""The UI text catalogues: same keys and placeholders in every language, Chinese typography, the lookup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compression.i18n import (
    LANGUAGES,
    CatalogueError,
    catalogue,
    catalogue_problems,
    load_catalogue,
    parse_lang,
    placeholders,
    t,
    typography_problems,
)
from tests.conftest import ROOT


def test_packaged_catalogues_agree():
    assert catalogue_problems() == []


def test_every_page_has_its_namespace_in_both_languages():
    for lang in LANGUAGES:
        namespaces = {key.split(".")[0] for key in catalogue(lang)}
        assert {"app", "home", "quiz", "quantization", "distillation"} <= namespaces, lang


def test_a_key_missing_in_either_language_is_reported():
    problems = catalogue_problems({"en": {"a.b": "Hello", "a.c": "Bye"}, "zh": {"a.b": "你好", "a.d": "多余"}})
    assert "a.c: missing in zh" in problems
    assert "a.d: missing in en" in problems
    assert not any(p.startswith("a.b") for p in problems)


def test_different_placeholders_are_reported():
    problems = catalogue_problems({"en": {"k": "{n:,} values of {total}"}, "zh": {"k": "共 {total} 个中的 {n} 个"}})
    assert len(problems) == 1 and "placeholders differ" in problems[0], problems
    assert catalogue_problems({"en": {"k": "{n:,} of {total}"}, "zh": {"k": "{total} 个中的 {n:,} 个"}}) == []


def test_empty_and_malformed_templates_are_reported():
    problems = catalogue_problems({"en": {"k": " ", "m": "{oops"}, "zh": {"k": "好", "m": "{oops}"}})
    assert "k: empty in en" in problems
    assert any(p.startswith("m: bad template in en") for p in problems)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("完全不变。 每个值", True),  # a stray space after full-width punctuation
        ("解析.", True),  # an ASCII period after a Chinese character
        ("正确率，答对", False),
        ("第 1 题：量化", False),  # spaces around numbers are fine
        ("版本 {version}", False),
        ("比 float32 小 4×。", False),
    ],
)
def test_chinese_typography(text, bad):
    assert bool(typography_problems(text)) is bad, typography_problems(text)
    if bad:
        assert catalogue_problems({"en": {"k": "x"}, "zh": {"k": text}}), text


def test_lookup_formats_and_falls_back_to_english():
    assert t("quantization.values.layer_shape", "en", rows=128, cols=784, count=100352) == (
        "Weight matrix 128 × 784 = 100,352 values."
    )
    assert t("quantization.values.layer_shape", "zh", rows=128, cols=784, count=100352) == (
        "权重矩阵 128 × 784 = 100,352 个数。"
    )
    assert t("app.nav.quiz", "zh") == "概念测验"
    assert t("app.nav.quiz", "fr") == "Concept quiz"  # unknown language: English
    with pytest.raises(CatalogueError, match="no.such.key"):
        t("no.such.key", "en")


def test_parse_lang():
    assert parse_lang(" ZH ") == "zh"
    with pytest.raises(ValueError, match="lang=en or lang=zh"):
        parse_lang("fr")


def test_placeholders_keep_format_specs():
    assert placeholders("{n:,} of {total} at {mb:,.0f} MB") == {"n:,", "total", "mb:,.0f"}
    assert placeholders("no fields, %{y} stays plotly's") == {"y"}


def test_a_catalogue_that_is_not_text_is_an_error(tmp_path: Path):
    bad = tmp_path / "xx.yaml"
    bad.write_text("app:\n  count: 3\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="app.count"):
        load_catalogue(bad)


def test_every_key_the_router_and_pages_ask_for_exists():
    """Literal t("...") calls in app.py and pages/ name keys that both catalogues hold."""
    call = re.compile(r"""\bt\(\s*f?["']([a-z0-9_.]+)["']""")
    keys = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        keys |= {k for k in call.findall(path.read_text(encoding="utf-8")) if not k.endswith(".")}
    assert keys, "no t(...) call found: the pattern is out of date"
    for lang in LANGUAGES:
        missing = sorted(keys - set(catalogue(lang)))
        assert not missing, f"{lang}: {missing}"


def test_the_library_does_not_import_streamlit():
    source = (ROOT / "compression" / "i18n" / "__init__.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+streamlit", source, re.MULTILINE)


def test_a_lab_error_is_english_for_logs_and_any_language_for_a_page():
    from compression.i18n import LabError, Text
    from compression.quantization import parse_values

    with pytest.raises(ValueError) as caught:  # still a ValueError: every existing handler catches it
        parse_values("1, nan")
    exc = caught.value
    assert isinstance(exc, LabError)
    assert str(exc) == exc.message("en")
    assert "value #2 is NaN (not a number)" in str(exc)
    assert "第 2 个值是NaN（不是数）" in exc.message("zh")
    error = LabError("jobs.queue_full", waiting=8, limit=8)
    assert (
        str(error) == "The training queue is full (8 jobs waiting, the limit is 8). Try again when a job has finished."
    )
    assert error.message("zh") == "训练队列已满（8 个任务在等待，上限是 8）。请等一个任务结束后再试。"
    assert (
        LabError("values.not_finite", count=1, position=1, kind=Text("errors.values.infinite"))
        .message("zh")
        .endswith("第 1 个值是无穷大。请删掉它，或换成一个数。")
    )
