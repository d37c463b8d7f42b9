"""AppTest of the distillation page through the real router: form checks, a short run, two sessions, deep links."""

from __future__ import annotations

import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_no_exception

PAGE = "pages/distillation.py"
# A short real run: the article's MLP teacher for 3 epochs, students for 3 epochs.
SHORT = {"dataset": "digits", "teacher": "article-teacher", "student": "article-student", "epochs": "3"}

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_training_thread(monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "1")


def page_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(p.proto.text) for p in at.get("progress")]
    return "\n".join(parts)


def frame_with(at: AppTest, column: str):
    """The first st.dataframe whose table has `column` (AppTest does not expose dataframe keys)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def wait_for(at: AppTest, predicate, timeout: float = 120.0) -> None:
    """Rerun the page (as the fragment's polling would) until predicate(at) holds."""
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, page_text(at)[-2000:]
        time.sleep(0.5)
        at.run()
        assert_no_exception(at)


def start(at: AppTest, teacher_epochs: int = 3) -> None:
    at.number_input(key="distill_teacher_epochs").set_value(teacher_epochs)
    at.button(key="distill_train").click().run()
    assert_no_exception(at)


def test_page_opens_with_title_form_and_article_panel(open_page):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "Distillation trainer" in at.title[0].value
    assert at.selectbox(key="distill_dataset").value == "digits"
    assert at.number_input(key="distill_temperature").value == 4.0
    assert at.number_input(key="distill_alpha").value == 0.9
    assert "alpha weights the soft (teacher) term" in page_text(at)
    article = frame_with(at, "The article's code")
    assert "never trained" in " ".join(article["The article's code"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("distill_temperature", 0.0, "temperature T must be above 0"),
        ("distill_alpha", 1.5, "alpha (the weight of the teacher's soft term) must be between 0 and 1"),
        ("distill_epochs", 0, "Student epochs must be a whole number of at least 1"),
        ("distill_epochs", 100000, "at most 2000 on this server"),
        ("distill_batch_size", 0, "batch size"),
    ],
)
def test_form_refuses_bad_values_before_a_job_exists(open_page, key, value, message):
    at = open_page(PAGE)
    at.number_input(key=key).set_value(value)
    at.button(key="distill_train").click().run()
    assert_no_exception(at)
    errors = [str(e.value) for e in at.error]
    assert any(message in e for e in errors), errors
    assert "Not started" in errors[0]
    assert "st.session_state" not in errors[0] and "distill_job" not in at.session_state


def test_a_run_too_long_for_the_shared_server_is_refused(open_page):
    at = open_page(PAGE)
    at.selectbox(key="distill_dataset").set_value("mnist")
    at.number_input(key="distill_epochs").set_value(2000)
    at.button(key="distill_train").click().run()
    assert_no_exception(at)
    errors = [str(e.value) for e in at.error]
    assert any("too long for a shared server" in e and "fewer student or teacher epochs" in e for e in errors), errors
    assert "distill_job" not in at.session_state


def test_custom_student_with_bad_hidden_sizes_is_refused(open_page):
    at = open_page(PAGE)
    at.selectbox(key="distill_student").set_value("custom")
    at.text_input(key="distill_student_custom").input("big")
    at.button(key="distill_train").click().run()
    assert any("hidden sizes must be whole numbers" in str(e.value) for e in at.error)


def test_short_run_completes_and_shows_results_then_reopens_from_history(open_page):
    at = open_page(PAGE, query=SHORT)
    start(at)
    job_id = at.session_state["distill_job"]
    wait_for(at, lambda a: any("Distillation" in str(x.value) for x in [*a.success, *a.warning]))
    text = page_text(at)
    assert f"Run `{job_id}`: done" in text
    summary = frame_with(at, "smaller than teacher ×")
    assert list(summary["Model"]) == ["Teacher", "Distilled student", "Baseline student", "Label smoothing student"]
    assert (summary["test accuracy %"] > 10).all()
    # The verdict tells the truth of this run, whichever way it went.
    gain = summary["test accuracy %"].iloc[1] - summary["test accuracy %"].iloc[2]
    verdicts = [str(x.value) for x in [*at.success, *at.warning] if "Distillation" in str(x.value)]
    assert len(verdicts) == 1
    assert ("Distillation won" in verdicts[0]) == (gain > 0)
    assert f"({gain:+.2f} points)" in verdicts[0]
    labels = [m.label for m in at.metric]
    assert {"Teacher", "Distilled student", "Baseline student", "Gap closed"} <= set(labels)
    history = frame_with(at, "distilled %")
    assert job_id in list(history["id"]) and history.iloc[0]["status"] == "done"
    # Reopen it from the history in a fresh session.
    other = open_page(PAGE)
    other.selectbox(key="distill_reopen_choice").set_value(job_id)
    other.button(key="distill_reopen").click().run()
    assert_no_exception(other)
    assert f"Run `{job_id}`: done" in page_text(other)
    assert frame_with(other, "smaller than teacher ×").equals(summary)


def test_two_sessions_pressing_train_at_once_one_runs_one_waits(open_page):
    alice = open_page(PAGE, query={**SHORT, "epochs": "2000"})
    bob = open_page(PAGE, query={**SHORT, "epochs": "2000"})
    start(alice)
    start(bob)
    alice_job, bob_job = alice.session_state["distill_job"], bob.session_state["distill_job"]
    assert alice_job != bob_job
    bob.run()
    alice.run()
    bob_text, alice_text = page_text(bob), page_text(alice)
    assert "Queued, position 1 (started by you)" in bob_text
    assert "Queued, position 1 (started by another visitor)" in alice_text  # Alice sees Bob's job
    assert "(started by another visitor)" in bob_text  # and Bob sees Alice's
    assert f"Job `{bob_job}` is waiting: position 1" in bob_text
    # Only the owner can cancel: Bob's cancel button on Alice's job is disabled.
    assert bob.button(key=f"distill_cancel_{alice_job}").disabled
    bob.button(key=f"distill_cancel_{bob_job}").click().run()
    alice.button(key=f"distill_cancel_{alice_job}").click().run()
    assert_no_exception(alice)
    wait_for(alice, lambda a: "Run `" in page_text(a) and "cancelled" in page_text(a), timeout=60)
    wait_for(bob, lambda b: f"Run `{bob_job}`: cancelled" in page_text(b), timeout=60)


def test_deep_link_fills_the_form_and_bad_values_fall_back(open_page):
    at = open_page(
        PAGE,
        query={"dataset": "digits", "temperature": "8", "alpha": "0.5", "epochs": "200", "teacher": "mlp:300,100",
               "seed": "7", "lr": "0.01", "batch_size": "32", "student": "mlp-32"},
    )  # fmt: skip
    assert_no_exception(at)
    assert at.number_input(key="distill_temperature").value == 8.0
    assert at.number_input(key="distill_alpha").value == 0.5
    assert at.number_input(key="distill_epochs").value == 200
    assert at.number_input(key="distill_seed").value == 7
    assert at.number_input(key="distill_batch_size").value == 32
    assert at.selectbox(key="distill_teacher").value == "custom"
    assert at.text_input(key="distill_teacher_custom").value == "300,100"
    assert at.selectbox(key="distill_student").value == "mlp-32"
    assert not [w for w in at.warning if w.icon == ":material/link_off:"]  # no refused link value

    bad = open_page(PAGE, query={"alpha": "7", "epochs": "-3", "dataset": "<script>", "temperature": "hot"})
    assert_no_exception(bad)
    warnings = " ".join(str(w.value) for w in bad.warning)
    for name in ("alpha=7", "epochs=-3", "dataset=<script>", "temperature=hot"):
        assert name in warnings
    assert bad.number_input(key="distill_alpha").value == 0.9
    assert bad.number_input(key="distill_epochs").value == 1000
    assert bad.selectbox(key="distill_dataset").value == "digits"
    assert bad.number_input(key="distill_temperature").value == 4.0


def test_missing_dataset_run_fails_with_a_message_on_the_page(open_page):
    at = open_page(PAGE, query={**SHORT, "dataset": "mnist"})
    start(at, teacher_epochs=1)
    wait_for(at, lambda a: any("This run failed" in str(e.value) for e in a.error), timeout=60)
    message = " ".join(str(e.value) for e in at.error)
    assert "MNIST" in message and "train-images-idx3-ubyte" in message
