"""One learner's quiz session as plain data and the moves it allows: practice one question at a time, take
a seeded exam, retry the missed questions. No streamlit: the page keeps a `QuizSession` in its session state,
draws it, and turns button clicks into these calls; the room statistics are recorded by the page from what
the calls return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compression.quiz.bank import Bank
from compression.quiz.exam import ExamItem, ExamReport, draw_exam, grade_exam
from compression.quiz.grading import grade

MODES: tuple[str, ...] = ("practice", "exam", "room")
DEFAULT_EXAM_SIZE = 10

Answer = tuple[str, bool]
"""(question id, right) as the room records it."""


@dataclass
class PracticeState:
    """Practice: a topic (None: all), the position in its question list, and per question the current
    response, the graded result and whether the room has counted it."""

    topic: str | None = None
    index: int = 0
    responses: dict[str, Any] = field(default_factory=dict)
    checked: dict[str, bool] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)


@dataclass
class ExamState:
    """An exam: its seed and size, the drawn items, the position, the responses, whether it is graded.

    `run` counts exams started (the page gives each exam fresh widget keys); `retry` marks an exam of the
    previous one's missed questions; `confirm_finish` is set while "grade with unanswered questions?" is asked.
    """

    seed: int
    size: int = DEFAULT_EXAM_SIZE
    items: tuple[ExamItem, ...] = ()
    position: int = 0
    responses: dict[str, Any] = field(default_factory=dict)
    finished: bool = False
    run: int = 0
    retry: bool = False
    confirm_finish: bool = False

    @property
    def current(self) -> ExamItem | None:
        """The item shown now (None before an exam starts or after it is graded)."""
        return self.items[self.position] if self.items and not self.finished else None


@dataclass
class QuizSession:
    """Everything one learner has done in the quiz. `choose_first` asks the page to say "choose an answer
    first" once; `message` is text to show once (an error from the room, the reset's result)."""

    lang: str
    mode: str
    practice: PracticeState
    exam: ExamState
    confirm_reset: bool = False
    choose_first: bool = False
    message: str = ""

    @classmethod
    def new(cls, lang: str = "en", mode: str = "practice", seed: int = 0) -> QuizSession:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
        return cls(lang=lang, mode=mode, practice=PracticeState(), exam=ExamState(seed=seed))

    def take_message(self) -> str:
        """The pending message, cleared."""
        message, self.message = self.message, ""
        return message

    # ------------------------------------------------------------------ practice
    def practice_ids(self, bank: Bank) -> tuple[str, ...]:
        return bank.ids_for(self.practice.topic)

    def practice_question_id(self, bank: Bank) -> str:
        """The question practice shows now (the index is kept inside the topic's list)."""
        ids = self.practice_ids(bank)
        self.practice.index = min(max(self.practice.index, 0), len(ids) - 1)
        return ids[self.practice.index]

    def set_topic(self, topic: str | None) -> None:
        self.practice.topic = topic or None
        self.practice.index = 0

    def go_to(self, bank: Bank, question_id: str) -> None:
        """Practice this question: all topics, at its position in the bank (ValueError for an unknown id)."""
        bank.get(question_id)
        self.mode = "practice"
        self.practice.topic = None
        self.practice.index = bank.ids.index(question_id)

    def move(self, bank: Bank, step: int) -> None:
        count = len(self.practice_ids(bank))
        self.practice.index = min(max(self.practice.index + step, 0), count - 1)

    def check(self, bank: Bank, question_id: str, response: Any) -> list[Answer]:
        """Grade a practice answer. Returns what the room should record: the learner's first answer to a
        question, once. An unanswered question sets `choose_first` instead."""
        question = bank.get(question_id)
        self.practice.responses[question_id] = response
        if not question.is_answered(response):
            self.choose_first = True
            return []
        correct = bank_grade(bank, question_id, response)
        self.practice.checked[question_id] = correct
        if question_id in self.practice.recorded:
            return []
        self.practice.recorded.add(question_id)
        return [(question_id, correct)]

    def answer_again(self, question_id: str) -> None:
        self.practice.checked.pop(question_id, None)

    # ------------------------------------------------------------------ exam
    def start_exam(self, bank: Bank, seed: int | None = None, size: int | None = None) -> None:
        """Draw a new exam of `size` questions from the whole bank with `seed` (ValueError for a bad size)."""
        exam = self.exam
        seed = exam.seed if seed is None else int(seed)
        size = exam.size if size is None else int(size)
        items = draw_exam(bank, size, seed)
        exam.seed, exam.size = seed, size
        self._begin(items, retry=False)

    def retry_missed(self, bank: Bank) -> None:
        """A new exam of the graded exam's missed (wrong or unanswered) questions, reshuffled."""
        missed = self.report(bank).missed
        if not missed:
            raise ValueError("No missed questions to retry.")
        self._begin(draw_exam(bank, len(missed), self.exam.seed + self.exam.run + 1, missed), retry=True)

    def _begin(self, items: tuple[ExamItem, ...], retry: bool) -> None:
        exam = self.exam
        exam.items, exam.position, exam.responses = items, 0, {}
        exam.finished, exam.retry, exam.confirm_finish = False, retry, False
        exam.run += 1

    def save_exam_response(self, response: Any) -> None:
        item = self.exam.current
        if item is not None:
            self.exam.responses[item.question_id] = response

    def exam_move(self, step: int) -> None:
        exam = self.exam
        exam.position = min(max(exam.position + step, 0), len(exam.items) - 1)
        exam.confirm_finish = False

    def answered_count(self, bank: Bank) -> int:
        exam = self.exam
        return sum(bank.get(i.question_id).is_answered(exam.responses.get(i.question_id)) for i in exam.items)

    def request_finish(self, bank: Bank) -> list[Answer]:
        """Grade the exam when every question is answered; otherwise ask first (`confirm_finish`).
        Returns what the room should record (empty until graded)."""
        if self.answered_count(bank) < len(self.exam.items) and not self.exam.confirm_finish:
            self.exam.confirm_finish = True
            return []
        return self.finish(bank)

    def cancel_finish(self) -> None:
        self.exam.confirm_finish = False

    def finish(self, bank: Bank) -> list[Answer]:
        """Grade the exam now. Returns the answered questions for the room (unanswered ones are not counted)."""
        self.exam.finished, self.exam.confirm_finish = True, False
        return [(r.question_id, r.correct) for r in self.report(bank).results if r.answered]

    def report(self, bank: Bank) -> ExamReport:
        return grade_exam(bank, self.exam.items, self.exam.responses)

    def new_exam(self, seed: int) -> None:
        """Back to the exam's setup with a fresh seed."""
        exam = self.exam
        exam.items, exam.finished, exam.responses, exam.retry, exam.confirm_finish = (), False, {}, False, False
        exam.seed = seed


def bank_grade(bank: Bank, question_id: str, response: Any) -> bool:
    """Whether `response` is right for the bank's question `question_id`."""
    return grade(bank.get(question_id), response)
