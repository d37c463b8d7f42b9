"""Room statistics in SQLite: counts, reset, no personal data, concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from compression.quiz import RoomStats, load_bank, room_table


def test_record_and_stats(tmp_path):
    room = RoomStats(tmp_path / "nested" / "folder" / "quiz.sqlite")  # parent folders are created
    assert room.stats().empty and room.total_answers() == 0
    assert room.record([("p1-half", True), ("p1-half", False), ("q3-roles-tf", True)]) == 3
    room.record([("p1-half", False)])
    stats = room.stats().set_index("question_id")
    assert stats.loc["p1-half", "answered"] == 3
    assert stats.loc["p1-half", "correct"] == 1
    assert stats.loc["p1-half", "wrong"] == 2
    assert stats.loc["p1-half", "wrong_rate"] == pytest.approx(2 / 3)
    assert stats.loc["q3-roles-tf", "wrong_rate"] == 0.0
    assert list(room.stats()["question_id"]) == ["p1-half", "q3-roles-tf"]  # most wrong first
    assert room.total_answers() == 4


def test_a_second_handle_sees_the_same_counts(tmp_path):
    path = tmp_path / "quiz.sqlite"
    RoomStats(path).record([("p1-half", True)])
    assert RoomStats(path).total_answers() == 1


def test_reset(tmp_path):
    room = RoomStats(tmp_path / "quiz.sqlite")
    room.record([("p1-half", True), ("p1-fix", False)])
    assert room.reset() == 2
    assert room.stats().empty
    assert room.reset() == 0


def test_only_counts_are_stored(tmp_path):
    path = tmp_path / "quiz.sqlite"
    RoomStats(path).record([("p1-half", True)])
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(answers)")]
    assert tables == ["answers"]
    assert columns == ["question_id", "answered", "correct"]


@pytest.mark.parametrize("bad", ["", "Robert'); DROP TABLE answers;--", "x" * 100, None])
def test_rejects_what_is_not_a_question_id(tmp_path, bad):
    with pytest.raises(ValueError, match="Not a question id"):
        RoomStats(tmp_path / "quiz.sqlite").record([(bad, True)])


def test_unwritable_location_is_a_learner_readable_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot be opened"):
        RoomStats(blocker / "quiz.sqlite")


def test_concurrent_threads_lose_no_answer(tmp_path):
    path = tmp_path / "quiz.sqlite"
    RoomStats(path)
    errors: list[BaseException] = []

    def visitor(k: int) -> None:
        try:
            room = RoomStats(path)
            for i in range(25):
                room.record([("p1-half", (i + k) % 2 == 0), ("p1-fix", True)])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = RoomStats(path).stats().set_index("question_id")
    assert stats.loc["p1-half", "answered"] == 150
    assert stats.loc["p1-half", "correct"] == 75
    assert stats.loc["p1-fix", "answered"] == 150


def _process_visitor(path: str) -> None:
    room = RoomStats(path)
    for _ in range(20):
        room.record([("q3-roles-tf", True)])


def test_concurrent_processes_lose_no_answer(tmp_path):
    path = str(tmp_path / "quiz.sqlite")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_process_visitor, args=(path,)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert RoomStats(path).total_answers() == 40


def test_room_table_joins_the_bank_and_drops_unknown_ids(tmp_path):
    bank = load_bank()
    room = RoomStats(tmp_path / "quiz.sqlite")
    room.record(
        [("p1-one-overflow", False), ("p1-one-overflow", True), ("q3-roles-tf", True), ("retired-question", False)]
    )
    table = room_table(bank, room.stats(), "zh")
    assert list(table["question_id"]) == ["p1-one-overflow", "q3-roles-tf"]
    assert table.loc[0, "wrong_percent"] == 50.0
    assert table.loc[0, "question"].startswith("p1-one-overflow: 原文的 quantize(1.0, 8)")
    assert table.loc[1, "topic"] == "知识蒸馏"
    assert all(len(label) <= len("p1-one-overflow: ") + 32 for label in table["question"])


def test_room_table_of_an_empty_room(tmp_path):
    table = room_table(load_bank(), RoomStats(tmp_path / "quiz.sqlite").stats(), "en")
    assert table.empty
    assert {"question", "topic", "wrong_percent"} <= set(table.columns)


def test_errors_never_show_the_servers_paths(tmp_path):
    blocker = tmp_path / "secret-server-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        RoomStats(blocker / "room" / "quiz.sqlite")
    message = str(raised.value)
    assert "cannot be opened" in message and "COMPRESSION_LAB_QUIZ_DB" in message
    assert str(tmp_path) not in message and "secret-server-folder" not in message
    chinese = raised.value.message("zh")  # the quiz page shows it in the visitor's language
    assert chinese.startswith("无法打开测验全场统计（") and str(tmp_path) not in chinese
    room = RoomStats(tmp_path / "quiz.sqlite")
    (tmp_path / "quiz.sqlite").unlink()
    (tmp_path / "quiz.sqlite").mkdir()  # the database is now a folder: reading fails
    with pytest.raises(ValueError) as raised:
        room.stats()
    assert str(tmp_path) not in str(raised.value)
