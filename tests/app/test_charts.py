"""pages/_charts.py helpers that hold no Streamlit state: the live figures' shared clock."""

from __future__ import annotations

from pages._charts import LiveFigureClock


def test_tabs_polling_within_an_interval_share_one_state_of_the_history():
    clock = LiveFigureClock()
    assert clock.rows("live_a", "en", 5, every_s=1.0, now=100.0) == 5
    # Epochs arrive, other tabs poll within the second: they draw the same 5 rows (one figure build).
    assert clock.rows("live_a", "en", 7, every_s=1.0, now=100.4) == 5
    assert clock.rows("live_a", "en", 9, every_s=1.0, now=100.9) == 5
    # The interval has passed: the newest rows, and that is the state shared next.
    assert clock.rows("live_a", "en", 9, every_s=1.0, now=101.0) == 9
    assert clock.rows("live_a", "en", 12, every_s=1.0, now=101.5) == 9


def test_each_pace_language_and_job_has_its_own_clock():
    clock = LiveFigureClock()
    assert clock.rows("live_a", "en", 5, every_s=1.0, now=0.0) == 5
    assert clock.rows("live_a", "en", 6, every_s=4.0, now=0.0) == 6  # followers' pace
    assert clock.rows("live_a", "en", 8, every_s=1.0, now=1.5) == 8
    assert clock.rows("live_a", "en", 8, every_s=4.0, now=1.5) == 6  # followers wait for their 4 s
    assert clock.rows("live_a", "en", 9, every_s=4.0, now=4.0) == 9
    assert clock.rows("live_a", "zh", 9, every_s=1.0, now=1.5) == 9
    assert clock.rows("live_b", "en", 2, every_s=1.0, now=1.5) == 2


def test_a_history_shorter_than_the_shared_state_is_drawn_whole():
    """A job id reused by a new history (a restarted server's store): never ask for rows it does not have."""
    clock = LiveFigureClock()
    assert clock.rows("live_a", "en", 50, every_s=4.0, now=0.0) == 50
    assert clock.rows("live_a", "en", 3, every_s=4.0, now=1.0) == 3


def test_the_clock_forgets_the_least_recent_jobs_beyond_its_size():
    clock = LiveFigureClock(keep=2)
    clock.rows("a", "en", 1, every_s=1.0, now=0.0)
    clock.rows("b", "en", 1, every_s=1.0, now=0.0)
    clock.rows("a", "en", 2, every_s=1.0, now=2.0)  # "a" used again: "b" is now the least recent
    clock.rows("c", "en", 1, every_s=1.0, now=2.0)
    assert clock.rows("a", "en", 5, every_s=1.0, now=2.5) == 2  # still remembered
    assert clock.rows("b", "en", 7, every_s=1.0, now=2.5) == 7  # forgotten: drawn whole
