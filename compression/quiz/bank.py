"""The question bank: YAML files under compression/quiz/questions/, loaded and validated.

Each file is a mapping ``{questions: [...]}``; each question is a mapping with the fields below.
Prompt, option texts and explanation exist in English (``en``) and Chinese (``zh``).

.. code-block:: yaml

    - id: q1-definition            # lowercase letters, digits and dashes; unique across the bank
      topic: quantization          # one of TOPICS
      type: single                 # single | multiple | true_false | numeric
      difficulty: 1                # 1 (easy) .. 3 (hard)
      source: q1                   # the article's question q1..q6, programming problem p1/p2, or new
      prompt: {en: ..., zh: ...}
      options:                     # single / multiple only
        - {id: a, en: ..., zh: ...}
      answer: a                    # single: an option id; multiple: a list of ids;
                                   # true_false: true/false; numeric: a number
      tolerance: 0.5               # numeric only: |response - answer| <= tolerance is right
      explanation: {en: ..., zh: ...}
      try_it: {page: quantization, params: {values: "0.5,1.0", bits: "8"}}   # optional

A malformed bank raises `BankError` naming the file, the question id and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compression.i18n import LabError
from compression.quiz.links import TryIt, make_try_it

QUESTIONS_DIR = Path(__file__).resolve().parent / "questions"
LANGUAGES: tuple[str, ...] = ("en", "zh")
TYPES: tuple[str, ...] = ("single", "multiple", "true_false", "numeric")
TOPICS: tuple[str, ...] = ("quantization", "distillation", "comparison", "quantize_code", "distillation_code")
ARTICLE_CONCEPT_QUESTIONS: tuple[str, ...] = ("q1", "q2", "q3", "q4", "q5", "q6")
ARTICLE_PROGRAMMING_PROBLEMS: tuple[str, ...] = ("p1", "p2")
SOURCES: tuple[str, ...] = (*ARTICLE_CONCEPT_QUESTIONS, *ARTICLE_PROGRAMMING_PROBLEMS, "new")
DIFFICULTIES: tuple[int, ...] = (1, 2, 3)

_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_OPTION_ID_RE = re.compile(r"[a-z0-9_]{1,16}")
_REQUIRED = ("id", "topic", "type", "difficulty", "source", "prompt", "answer", "explanation")
_ALLOWED = frozenset((*_REQUIRED, "options", "tolerance", "try_it"))

Answer = str | frozenset[str] | bool | float


class BankError(ValueError):
    """A malformed question bank: names the file, the question id and the field."""

    def __init__(self, file: str, question_id: str | None, field_name: str | None, problem: str) -> None:
        self.file = file
        self.question_id = question_id
        self.field = field_name
        self.problem = problem
        where = [file]
        if question_id is not None:
            where.append(f"question {question_id!r}")
        if field_name is not None:
            where.append(f"field {field_name!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


@dataclass(frozen=True)
class Option:
    """One choice of a single- or multiple-choice question."""

    id: str
    text: Mapping[str, str]


@dataclass(frozen=True)
class Question:
    """One validated question. `answer` is an option id (single), a frozenset of ids (multiple),
    a bool (true_false) or a float (numeric, right when |response - answer| <= tolerance)."""

    id: str
    topic: str
    type: str
    difficulty: int
    source: str
    prompt: Mapping[str, str]
    options: tuple[Option, ...]
    answer: Answer
    tolerance: float
    explanation: Mapping[str, str]
    try_it: TryIt | None
    file: str

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options)

    def is_answered(self, response: Any) -> bool:
        """Whether `response` answers this question: not None, and not an empty choice of a multiple-choice one."""
        return response is not None and not (self.type == "multiple" and len(response) == 0)

    def option_text(self, option_id: str, lang: str) -> str:
        for option in self.options:
            if option.id == option_id:
                return option.text[lang]
        raise ValueError(f"Question {self.id!r} has no option {option_id!r}.")


@dataclass(frozen=True)
class Bank:
    """All questions, in file order (files sorted by name)."""

    questions: tuple[Question, ...]
    files: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    def get(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]  # type: ignore[attr-defined]
        except KeyError:
            raise LabError("quiz.no_question", id=repr(question_id)) from None

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id  # type: ignore[attr-defined]

    def ids_for(self, topic: str | None = None) -> tuple[str, ...]:
        """Question ids of one topic (all when `topic` is None), in bank order."""
        if topic is not None and topic not in TOPICS:
            raise ValueError(f"Unknown topic {topic!r}: choose one of {', '.join(TOPICS)}.")
        return tuple(q.id for q in self.questions if topic is None or q.topic == topic)

    def by_source(self) -> dict[str, tuple[str, ...]]:
        """source (q1..q6, p1, p2, new) -> ids of the questions drawn from it."""
        return {s: tuple(q.id for q in self.questions if q.source == s) for s in SOURCES}


def _text_pair(value: Any, file: str, qid: str, field_name: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise BankError(file, qid, field_name, f"must be a mapping with {' and '.join(LANGUAGES)} texts")
    extra = sorted(set(value) - set(LANGUAGES))
    if extra:
        raise BankError(file, qid, field_name, f"unknown language {extra[0]!r}; use {' and '.join(LANGUAGES)}")
    texts = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if text is not None and not isinstance(text, str):
            raise BankError(file, qid, f"{field_name}.{lang}", f"must be text, got {text!r} (quote it in YAML)")
        if not isinstance(text, str) or not text.strip():
            raise BankError(file, qid, f"{field_name}.{lang}", "is missing or empty")
        texts[lang] = _tidy(text.strip(), lang)
    return texts


_FULL_WIDTH_SPACE = re.compile(r"(?<=[。，、；：！？）」』】])[ \t]+")


def _tidy(text: str, lang: str) -> str:
    """Chinese text: no space after full-width punctuation ("不变。 每个" -> "不变。每个"); YAML's folded
    lines put one there."""
    return _FULL_WIDTH_SPACE.sub("", text) if lang == "zh" else text


def _parse_options(raw: Any, file: str, qid: str, qtype: str) -> tuple[Option, ...]:
    if qtype in ("true_false", "numeric"):
        if raw is not None:
            raise BankError(file, qid, "options", f"a {qtype} question takes no options")
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise BankError(file, qid, "options", "needs a list of at least two options")
    options: list[Option] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"options[{index}]"
        if not isinstance(item, Mapping):
            raise BankError(file, qid, where, "must be a mapping with id, en and zh")
        option_id = item.get("id")
        if not isinstance(option_id, str) or not _OPTION_ID_RE.fullmatch(option_id):
            raise BankError(file, qid, f"{where}.id", "must be a short lowercase id like a, b, c")
        if option_id in seen:
            raise BankError(file, qid, f"{where}.id", f"duplicate option id {option_id!r}")
        seen.add(option_id)
        texts = _text_pair({k: v for k, v in item.items() if k != "id"}, file, qid, where)
        options.append(Option(option_id, texts))
    return tuple(options)


def _parse_answer(raw: Any, file: str, qid: str, qtype: str, options: tuple[Option, ...]) -> Answer:
    ids = [o.id for o in options]
    if qtype == "single":
        if not isinstance(raw, str) or raw not in ids:
            raise BankError(file, qid, "answer", f"must be one of the option ids {', '.join(ids)}, got {raw!r}")
        return raw
    if qtype == "multiple":
        if not isinstance(raw, list) or not raw:
            raise BankError(file, qid, "answer", "must be a non-empty list of option ids")
        bad = [a for a in raw if not isinstance(a, str) or a not in ids]
        if bad:
            raise BankError(file, qid, "answer", f"{bad[0]!r} is not one of the option ids {', '.join(ids)}")
        if len(set(raw)) != len(raw):
            raise BankError(file, qid, "answer", "lists an option twice")
        return frozenset(raw)
    if qtype == "true_false":
        if not isinstance(raw, bool):
            raise BankError(file, qid, "answer", f"must be true or false, got {raw!r}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise BankError(file, qid, "answer", f"must be a finite number, got {raw!r}")
    return float(raw)


def _parse_question(raw: Any, file: str, index: int, seen_ids: dict[str, str]) -> Question:
    if not isinstance(raw, Mapping):
        raise BankError(file, f"#{index + 1}", None, "each question must be a mapping of fields")
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID_RE.fullmatch(qid):
        raise BankError(file, f"#{index + 1}", "id", f"must be lowercase letters, digits and dashes, got {qid!r}")
    if qid in seen_ids:
        raise BankError(file, qid, "id", f"duplicate id, already used in {seen_ids[qid]}")
    unknown = sorted(set(raw) - _ALLOWED)
    if unknown:
        raise BankError(file, qid, unknown[0], f"unknown field; allowed: {', '.join(sorted(_ALLOWED))}")
    for name in _REQUIRED:
        if name not in raw:
            raise BankError(file, qid, name, "is missing")
    topic, qtype, source, difficulty = raw["topic"], raw["type"], raw["source"], raw["difficulty"]
    if topic not in TOPICS:
        raise BankError(file, qid, "topic", f"must be one of {', '.join(TOPICS)}, got {topic!r}")
    if qtype not in TYPES:
        raise BankError(file, qid, "type", f"must be one of {', '.join(TYPES)}, got {qtype!r}")
    if source not in SOURCES:
        raise BankError(file, qid, "source", f"must be one of {', '.join(SOURCES)}, got {source!r}")
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise BankError(file, qid, "difficulty", f"must be 1, 2 or 3, got {difficulty!r}")
    prompt = _text_pair(raw["prompt"], file, qid, "prompt")
    explanation = _text_pair(raw["explanation"], file, qid, "explanation")
    options = _parse_options(raw.get("options"), file, qid, qtype)
    answer = _parse_answer(raw["answer"], file, qid, qtype, options)
    tolerance = raw.get("tolerance", 0.0)
    if "tolerance" in raw and qtype != "numeric":
        raise BankError(file, qid, "tolerance", "only numeric questions take a tolerance")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance < math.inf:
        raise BankError(file, qid, "tolerance", f"must be a number >= 0, got {tolerance!r}")
    try_it = None
    if raw.get("try_it") is not None:
        link = raw["try_it"]
        if (
            not isinstance(link, Mapping)
            or set(link) - {"page", "params"}
            or not isinstance(link.get("params"), Mapping)
        ):
            raise BankError(file, qid, "try_it", "must be a mapping {page: ..., params: {...}}")
        try:
            try_it = make_try_it(str(link.get("page")), link["params"])
        except ValueError as exc:
            raise BankError(file, qid, "try_it", str(exc)) from None
    return Question(
        id=qid,
        topic=topic,
        type=qtype,
        difficulty=int(difficulty),
        source=source,
        prompt=prompt,
        options=options,
        answer=answer,
        tolerance=float(tolerance),
        explanation=explanation,
        try_it=try_it,
        file=file,
    )


def load_file(path: Path, seen_ids: dict[str, str] | None = None) -> list[Question]:
    """Parse and validate one YAML file of questions; `seen_ids` (id -> file) catches duplicates across files."""
    seen_ids = {} if seen_ids is None else seen_ids
    file = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" near line {mark.line + 1}" if mark is not None else ""
        raise BankError(file, None, None, f"is not valid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(file, None, None, f"cannot be read: {exc}") from None
    if not isinstance(data, Mapping) or set(data) != {"questions"} or not isinstance(data["questions"], list):
        raise BankError(file, None, "questions", "the file must be a mapping with one key, questions: [a list]")
    questions = []
    for index, raw in enumerate(data["questions"]):
        question = _parse_question(raw, file, index, seen_ids)
        seen_ids[question.id] = file
        questions.append(question)
    return questions


def load_bank(directory: Path | str | None = None, files: Sequence[Path] | None = None) -> Bank:
    """Load every ``*.yaml`` file of `directory` (default: the packaged bank), sorted by name."""
    if files is None:
        folder = Path(directory) if directory is not None else QUESTIONS_DIR
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise BankError(str(folder), None, None, "holds no *.yaml question files")
    seen: dict[str, str] = {}
    questions: list[Question] = []
    for path in files:
        questions.extend(load_file(Path(path), seen))
    if not questions:
        raise BankError(", ".join(Path(p).name for p in files), None, "questions", "the bank has no questions")
    return Bank(tuple(questions), tuple(Path(p).name for p in files))
