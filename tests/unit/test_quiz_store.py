"""compression.quiz.store: each visitor's exam in progress in SQLite (save, restore, expire, replace, drop)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from compression.i18n import LabError
from compression.quiz import EXAM_TTL_S, ExamStore, QuizSession, decode_exam, draw_exam, encode_exam, load_bank

BANK = load_bank()
VISITOR = "v-3f9a0c"
OTHER = "v-77d1e2"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def exam_in_progress(seed: int = 4, size: int = 10, answered: int = 3) -> QuizSession:
    """A 10-question exam with the first `answered` answered (one of each response kind, where drawn), at the
    question after them."""
    session = QuizSession.new(mode="exam", seed=seed)
    session.start_exam(BANK, seed, size)
    for item in session.exam.items[:answered]:
        session.save_exam_response(BANK.get(item.question_id).answer)
        session.exam_move(1)
    return session


def test_an_exam_in_progress_comes_back_as_it_was(tmp_path):
    session = exam_in_progress()
    store = ExamStore(tmp_path / "nested" / "quiz.sqlite")  # the folder is created
    store.save(VISITOR, session.exam, session.mode)
    # Another handle on the same file (another session of the server) reads it back.
    saved = ExamStore(tmp_path / "nested" / "quiz.sqlite").load(VISITOR, BANK)
    assert saved is not None
    assert saved.mode == "exam"
    assert saved.exam == session.exam  # seed, items with their option order, position, responses, flags
    assert saved.exam.items == draw_exam(BANK, 10, 4)
    assert saved.exam.position == 3 and len(saved.exam.responses) == 3
    assert session.answered_count(BANK) == 3
    restored = QuizSession.new(mode="exam", seed=99)
    restored.exam = saved.exam
    assert restored.answered_count(BANK) == 3
    assert restored.report(BANK).score == 3  # the answers grade the same after the round trip
    assert store.load(OTHER, BANK) is None  # another visitor has none


def test_every_kind_of_response_round_trips():
    by_type = {}
    for question in BANK.questions:
        by_type.setdefault(question.type, question)
    assert set(by_type) == {"single", "multiple", "true_false", "numeric"}
    session = QuizSession.new(mode="exam")
    session.start_exam(BANK, 0, 1)
    exam = session.exam
    exam.items = tuple(draw_exam(BANK, 4, 1, pool=[q.id for q in by_type.values()]))
    exam.responses = {
        by_type["single"].id: by_type["single"].option_ids[1],
        by_type["multiple"].id: frozenset(by_type["multiple"].option_ids[:2]),
        by_type["true_false"].id: False,
        by_type["numeric"].id: 64.0,
    }
    text = encode_exam(exam, "practice")
    back = decode_exam(text, BANK)
    assert back.mode == "practice"
    assert back.exam.responses == exam.responses
    assert isinstance(back.exam.responses[by_type["multiple"].id], frozenset)
    assert back.exam.responses[by_type["true_false"].id] is False
    assert encode_exam(back.exam, back.mode) == text  # canonical: equal exams, equal text


def test_a_new_exam_replaces_the_saved_one_and_delete_forgets_it(tmp_path):
    store = ExamStore(tmp_path / "quiz.sqlite")
    first = exam_in_progress(seed=4)
    store.save(VISITOR, first.exam, "exam")
    second = exam_in_progress(seed=5, size=3, answered=1)
    store.save(VISITOR, second.exam, "exam")
    assert store.count() == 1
    assert store.load(VISITOR, BANK).exam.seed == 5
    assert store.load(VISITOR, BANK).exam.items == draw_exam(BANK, 3, 5)
    assert store.delete(VISITOR) is True
    assert store.load(VISITOR, BANK) is None
    assert store.delete(VISITOR) is False


def test_a_finished_exam_is_kept_graded(tmp_path):
    session = exam_in_progress(size=3, answered=3)
    session.finish(BANK)
    store = ExamStore(tmp_path / "quiz.sqlite")
    store.save(VISITOR, session.exam, "exam")
    saved = store.load(VISITOR, BANK)
    assert saved.exam.finished
    restored = QuizSession.new()
    restored.exam = saved.exam
    assert restored.report(BANK).score == 3


def test_an_exam_untouched_for_longer_than_its_time_to_live_is_dropped(tmp_path):
    clock = Clock()
    store = ExamStore(tmp_path / "quiz.sqlite", ttl_s=3600, clock=clock)
    store.save(VISITOR, exam_in_progress().exam, "exam")
    clock.now += 3599
    assert store.load(VISITOR, BANK) is not None
    store.save(VISITOR, exam_in_progress().exam, "exam")  # saving again starts the hour again
    clock.now += 3599
    assert store.load(VISITOR, BANK) is not None
    clock.now += 2
    assert store.load(VISITOR, BANK) is None
    assert store.count() == 0  # the stale row is deleted, not only hidden
    assert EXAM_TTL_S == 24 * 3600


def test_saving_drops_every_visitors_stale_exams(tmp_path):
    clock = Clock()
    store = ExamStore(tmp_path / "quiz.sqlite", ttl_s=60, clock=clock)
    store.save(OTHER, exam_in_progress().exam, "exam")
    clock.now += 61
    store.save(VISITOR, exam_in_progress().exam, "exam")
    assert store.count() == 1
    assert store.load(VISITOR, BANK) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["items"].__setitem__(0, ["no-such-question", []]),  # the bank lost the question
        lambda r: r["items"][0].__setitem__(1, ["a", "z"]),  # its options changed
        lambda r: r.__setitem__("position", 99),
        lambda r: r.__setitem__("mode", "nope"),
        lambda r: r.__setitem__("format", 0),
        lambda r: r["responses"].__setitem__(r["items"][0][0], {"set": ["zz"]}),
    ],
)
def test_a_saved_exam_that_no_longer_fits_the_bank_is_dropped(tmp_path, change):
    store = ExamStore(tmp_path / "quiz.sqlite")
    session = exam_in_progress(answered=1)
    record = json.loads(encode_exam(session.exam, "exam"))
    change(record)
    store.save_encoded(VISITOR, json.dumps(record))
    assert store.load(VISITOR, BANK) is None
    assert store.count() == 0


def test_garbage_in_the_table_is_dropped(tmp_path):
    store = ExamStore(tmp_path / "quiz.sqlite")
    store.save_encoded(VISITOR, "{not json")
    assert store.load(VISITOR, BANK) is None
    assert store.count() == 0


def test_the_room_statistics_and_the_exams_share_one_file_without_touching_each_other(tmp_path):
    from compression.quiz import RoomStats

    path = tmp_path / "quiz.sqlite"
    room = RoomStats(path)
    store = ExamStore(path)
    store.save(VISITOR, exam_in_progress().exam, "exam")
    room.record([("p1-half", True)])
    assert room.reset() == 1
    assert store.load(VISITOR, BANK) is not None
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"answers", "exams"} <= tables


def test_bad_visitor_ids_and_an_unwritable_store_are_errors(tmp_path):
    store = ExamStore(tmp_path / "quiz.sqlite")
    with pytest.raises(ValueError, match="visitor"):
        store.save("", exam_in_progress().exam, "exam")
    with pytest.raises(ValueError, match="visitor"):
        store.load("x" * 200, BANK)
    with pytest.raises(ValueError, match="positive"):
        ExamStore(tmp_path / "quiz.sqlite", ttl_s=0)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(LabError) as caught:
        ExamStore(blocker / "quiz.sqlite")
    assert caught.value.key == "quiz.exam_open"
    assert str(blocker) not in str(caught.value)  # the server's path stays in the log
