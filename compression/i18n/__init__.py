"""UI text catalogues, one YAML file per language (en.yaml, zh.yaml), and a lookup: ``t(key, lang, **fmt)``.

Keys are dotted paths into the nested YAML (``app.nav.home``, ``quantization.title``), one namespace per
page. Values are ``str.format`` templates: ``t("home.open_page", "en", page="quiz")``. Both catalogues must
hold the same keys with the same ``{placeholders}`` (``catalogue_problems`` lists any difference; a unit test
fails on it). Number formats, units and library names stay as they are in both languages.

No streamlit here: pages reach this through ``pages._shared.t`` / ``pages._shared.lang``.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path

import yaml

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANG = "en"
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}
CATALOGUE_DIR = Path(__file__).resolve().parent

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_FULL_WIDTH_PUNCT = "，。：；！？、）》」』"
# A space after full-width punctuation ("完全不变。 每个值"), or ASCII punctuation right after a Chinese
# character ("解析."); ASCII after CJK is fine before a digit or placeholder-free code (e.g. "第 1 题").
_SPACE_AFTER_FULL_WIDTH = re.compile(f"[{_FULL_WIDTH_PUNCT}][ \t]+")
_ASCII_AFTER_CJK = re.compile(f"[{_CJK}][,.;:!?](?=\\s|$)")


class CatalogueError(ValueError):
    """A catalogue file that cannot be read, or a key that no catalogue holds."""


def parse_lang(raw: str) -> str:
    """'en' or 'zh' (case and spaces ignored); anything else raises ValueError naming the choices."""
    value = str(raw).strip().lower()
    if value not in LANGUAGES:
        raise ValueError(f"choose {' or '.join('lang=' + code for code in LANGUAGES)}")
    return value


def _flatten(node: object, prefix: str, out: dict[str, str], source: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out, source)
    elif isinstance(node, str):
        out[prefix] = node
    else:
        raise CatalogueError(f"{source.name}: {prefix!r} must be text or a mapping, got {type(node).__name__}")


def load_catalogue(path: Path) -> dict[str, str]:
    """One YAML catalogue flattened to {dotted key: template}."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path.name}: {exc}") from exc
    out: dict[str, str] = {}
    _flatten(data or {}, "", out, path)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The packaged catalogue of `lang`, loaded once per process."""
    return load_catalogue(CATALOGUE_DIR / f"{parse_lang(lang)}.yaml")


def t(key: str, lang: str = DEFAULT_LANG, /, **fmt: object) -> str:
    """The text `key` in `lang`, formatted with `fmt` (``template.format(**fmt)``).

    A key missing from `lang` falls back to English (the unit test keeps both complete); a key no
    catalogue holds raises CatalogueError, so a typo fails the page's tests instead of showing a key.
    """
    texts = catalogue(lang if lang in LANGUAGES else DEFAULT_LANG)
    template = texts.get(key)
    if template is None:
        template = catalogue(DEFAULT_LANG).get(key)
        if template is None:
            raise CatalogueError(f"No UI text {key!r} in the catalogues")
    return template.format(**fmt) if fmt else template


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template formats (with their format specs: ``{n:,}`` -> 'n:,')."""
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is not None:
            names.add(field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""))
    return names


def typography_problems(text: str) -> list[str]:
    """Chinese typography slips in one string: spaces after full-width punctuation, ASCII punctuation after 汉字."""
    problems = []
    for match in _SPACE_AFTER_FULL_WIDTH.finditer(text):
        problems.append(f"space after full-width {match.group()[0]!r} at {match.start()}")
    for match in _ASCII_AFTER_CJK.finditer(text):
        problems.append(f"ASCII {match.group()[-1]!r} after a Chinese character at {match.start()}")
    return problems


def catalogue_problems(catalogues: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Every difference between the catalogues: missing keys, different placeholders, empty texts, and
    Chinese typography slips. An empty list means they agree."""
    catalogues = catalogues if catalogues is not None else {lang: catalogue(lang) for lang in LANGUAGES}
    problems: list[str] = []
    all_keys = set().union(*(set(c) for c in catalogues.values()))
    for key in sorted(all_keys):
        present = {lang: texts[key] for lang, texts in catalogues.items() if key in texts}
        for lang in catalogues:
            if lang not in present:
                problems.append(f"{key}: missing in {lang}")
        for lang, text in present.items():
            if not text.strip():
                problems.append(f"{key}: empty in {lang}")
            try:
                placeholders(text)
            except ValueError as exc:
                problems.append(f"{key}: bad template in {lang}: {exc}")
        try:
            shapes = {lang: placeholders(text) for lang, text in present.items()}
        except ValueError:
            continue
        if len({frozenset(s) for s in shapes.values()}) > 1:
            detail = "; ".join(f"{lang} {sorted(s)}" for lang, s in shapes.items())
            problems.append(f"{key}: placeholders differ: {detail}")
        if "zh" in present:
            problems += [f"{key}: zh: {p}" for p in typography_problems(present["zh"])]
    return problems


__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_LANG",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "CatalogueError",
    "catalogue",
    "catalogue_problems",
    "load_catalogue",
    "parse_lang",
    "placeholders",
    "t",
    "typography_problems",
]


class Text:
    """A catalogue key given as a LabError field: shown in the language of the message ("NaN" / "无穷大")."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Text({self.key!r})"


def _in_language(fields: dict[str, object], lang: str) -> dict[str, object]:
    return {name: t(value.key, lang) if isinstance(value, Text) else value for name, value in fields.items()}


class LabError(ValueError):
    """A library error a visitor may read, with its text in the catalogues (``errors.<key>``): ``str()`` is the
    English text (logs, the CLI, tests); pages show ``message(lang)`` in the visitor's language. Subclasses
    ValueError, so every existing ``except ValueError`` still catches it. `fields` fill the template; any
    visitor input among them is shown as given (pages escape the whole message before Markdown)."""

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(t(f"errors.{key}", DEFAULT_LANG, **_in_language(fields, DEFAULT_LANG)))

    def message(self, lang: str) -> str:
        return t(f"errors.{self.key}", lang, **_in_language(self.fields, lang))
