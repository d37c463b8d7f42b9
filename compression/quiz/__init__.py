"""The concept quiz: a validated bilingual question bank, grading, seeded exams, a learner's session, each
visitor's exam in progress (kept across reloads) and room statistics."""

from compression.quiz.bank import (
    ARTICLE_CONCEPT_QUESTIONS,
    ARTICLE_PROGRAMMING_PROBLEMS,
    LANGUAGES,
    SOURCES,
    TOPICS,
    TYPES,
    Bank,
    BankError,
    Option,
    Question,
    load_bank,
    load_file,
)
from compression.quiz.exam import ExamItem, ExamReport, ItemResult, draw_exam, grade_exam, topic_breakdown
from compression.quiz.grading import LETTERS, answer_text, explanation_text, grade, option_letters, response_text
from compression.quiz.links import TryIt, make_try_it
from compression.quiz.room import RoomStats, room_table
from compression.quiz.session import MODES, ExamState, PracticeState, QuizSession
from compression.quiz.store import EXAM_TTL_S, ExamStore, SavedExam, decode_exam, encode_exam
from compression.quiz.text import LANGUAGE_NAMES, source_label, topic_label, ui_text

__all__ = [
    "ARTICLE_CONCEPT_QUESTIONS",
    "ARTICLE_PROGRAMMING_PROBLEMS",
    "EXAM_TTL_S",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LETTERS",
    "MODES",
    "SOURCES",
    "TOPICS",
    "TYPES",
    "Bank",
    "BankError",
    "ExamItem",
    "ExamStore",
    "ExamState",
    "ExamReport",
    "ItemResult",
    "Option",
    "PracticeState",
    "Question",
    "QuizSession",
    "RoomStats",
    "SavedExam",
    "TryIt",
    "answer_text",
    "decode_exam",
    "draw_exam",
    "encode_exam",
    "explanation_text",
    "grade",
    "grade_exam",
    "load_bank",
    "load_file",
    "make_try_it",
    "option_letters",
    "response_text",
    "room_table",
    "source_label",
    "topic_breakdown",
    "topic_label",
    "ui_text",
]
