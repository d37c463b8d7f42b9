"""AppTest of the distillation page through the real router: form checks, a short run, two sessions, deep links."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import ClassVar

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_no_exception

PAGE = "pages/distillation.py"
# A short real run: the article's MLP teacher for 3 epochs, students for 3 epochs.
SHORT = {"dataset": "digits", "teacher": "article-teacher", "student": "article-student", "epochs": "3"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    article = at.table[0].value  # st.table: its explanations wrap instead of being cut
    assert "never trained" in " ".join(article["The article's code"])
    assert "Trains the teacher first" in " ".join(article["This trainer"])


def test_page_in_chinese_shows_chinese_chrome(open_page):
    """?lang=zh: title, form, loss panel, article table and the queue in Chinese; option labels short."""
    from compression.i18n import t

    at = open_page(PAGE, query={"lang": "zh"})
    assert_no_exception(at)
    assert at.title[0].value == t("distillation.title", "zh") == "蒸馏训练器"
    assert at.selectbox(key="distill_teacher").label == "教师模型"
    assert at.selectbox(key="distill_teacher").options[0] == "小型 CNN · 151.3 k 个参数"
    assert "- **小型 CNN**：卷积 32" in at.selectbox(key="distill_teacher").help
    assert at.selectbox(key="distill_dataset").label.startswith("数据集（本服务器有 ")
    assert at.number_input(key="distill_alpha").label == "alpha（教师项权重）"
    text = page_text(at)
    assert "训练队列" in text and "当前没有训练任务" in text
    assert "alpha 加权的是软（教师）项" in text
    article = at.table[0].value
    assert list(article.columns) == ["原文代码", "本训练器"]
    assert "从未训练过" in " ".join(article["原文代码"])
    assert at.button(key="distill_train").label == "开始训练"
    for english in ("Training queue", "Configure a run", "Run history", "Student epochs", "Presenter"):
        assert english not in text + " ".join(e.label for e in at.expander), english


def test_a_finished_run_in_chinese(open_page, tmp_path, monkeypatch):
    """A stored run reopened with ?lang=zh: verdict, metrics, summary table and charts in Chinese, same figures.
    (In a runs folder of its own: a finished run in the shared one would become the room's run of later tests.)"""
    from compression.distillation.store import RunStore

    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    model = {"architecture": "mlp:128", "test_loss": 0.3, "params": 10, "size_bytes": 4096,
             "compression_ratio": 2.0, "latency_ms": 0.1, "agreement": 0.8}  # fmt: skip
    accuracy = {"teacher": 0.95, "student": 0.93, "baseline": 0.91, "smoothing": 0.94}
    results = {role: {**model, "test_accuracy": acc} for role, acc in accuracy.items()}
    store.create_run("zh_run", {"dataset": "digits", "epochs": 3, "batch_size": 64})
    store.add_metrics(
        "zh_run",
        [
            {
                "model": role,
                "epoch": epoch,
                "train_loss": 1.0 / epoch,
                "test_loss": 0.5,
                "agreement": None,
                "test_accuracy": acc - 0.1 / epoch,
            }
            for role, acc in accuracy.items()
            for epoch in (1, 2, 3)
        ],
    )
    store.finish("zh_run", results)
    at = open_page(PAGE, query={"lang": "zh"})
    at.selectbox(key="distill_reopen_choice").set_value("zh_run")
    at.button(key="distill_reopen").click().run()
    assert_no_exception(at)
    text = page_text(at)
    assert "运行 `zh_run`：已完成" in text
    verdict = " ".join(str(x.value) for x in at.success)
    assert verdict == "蒸馏获胜：93.00%，单独训练的同一学生模型为 91.00%（+2.00 个百分点）。", verdict
    assert "标签平滑学生模型（没有教师）达到 94.00%，不低于蒸馏的学生模型" in text
    assert "它弥合了基线与教师之间 50% 的差距。" in text
    labels = {m.label: m for m in at.metric}
    assert {"教师模型", "蒸馏学生模型", "基线学生模型", "标签平滑", "弥合的差距"} <= set(labels)
    assert labels["弥合的差距"].value == "50%"
    summary = frame_with(at, "比教师小 ×")
    assert list(summary["模型"]) == ["教师模型", "蒸馏学生模型", "基线学生模型", "标签平滑学生模型"]
    charts = " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart"))
    assert "准确率与模型大小" in charts and "训练损失（对数坐标）" in charts and "蒸馏学生模型" in charts
    assert "Accuracy against model size" not in charts and "Distilled student" not in charts


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


def test_a_run_too_long_for_the_shared_server_is_refused_with_its_estimate(open_page):
    """The issue-12 link: six layers of 4,096 units for teacher and student, 2,000 epochs."""
    huge = "mlp:" + ",".join(["4096"] * 6)
    at = open_page(PAGE, query={"teacher": huge, "student": huge, "epochs": "2000"})
    at.button(key="distill_train").click().run()
    assert_no_exception(at)
    errors = [str(e.value) for e in at.error]
    assert any("too long for a shared server" in e and "h on this server; the limit is 10 min" in e for e in errors), (
        errors
    )
    assert "distill_job_chosen" not in at.session_state  # nothing was submitted (a fresh visit may follow a run)


def test_the_refusal_reads_in_chinese_with_the_same_estimate(open_page):
    huge = "mlp:" + ",".join(["4096"] * 6)
    at = open_page(PAGE, query={"teacher": huge, "student": huge, "epochs": "2000", "lang": "zh"})
    at.button(key="distill_train").click().run()
    assert_no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "这次训练对共享服务器来说太长：在本服务器上约需 " in errors and "每次训练的上限是 10 min" in errors, errors
    assert "too long" not in errors


def test_custom_student_with_bad_hidden_sizes_is_refused(open_page):
    at = open_page(PAGE)
    # A preset shows no hidden-size fields; choosing "custom" shows the student's at once (no submit needed).
    assert not [w for w in at.text_input if w.key in ("distill_teacher_custom", "distill_student_custom")]
    at.selectbox(key="distill_student").set_value("custom").run()
    assert [w.key for w in at.text_input if w.key.endswith("_custom")] == ["distill_student_custom"]
    at.text_input(key="distill_student_custom").input("big")
    at.button(key="distill_train").click().run()
    assert any("hidden sizes must be whole numbers" in str(e.value) for e in at.error)


def test_short_run_completes_and_shows_results_then_reopens_from_history(open_page):
    at = open_page(PAGE, query=SHORT)
    start(at)
    job_id = at.session_state["distill_job"]
    assert any("starting now" in str(t.value) for t in at.toast), [str(t.value) for t in at.toast]
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
    # Missing values (the teacher's agreement with itself, a failed run's accuracies) show as "–", not "None".
    placeholders = [
        f.proto.placeholder for f in at.dataframe if {"distilled %", "agrees with teacher %"} & set(f.value.columns)
    ]
    assert placeholders == ["–", "–"]
    assert "training uses 1 of" in " ".join(str(c.value) for c in at.sidebar.caption)  # the training threads
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


def test_a_missing_dataset_is_marked_disabled_and_never_queued(open_page):
    """Issue 10 item 8: the choice says what is on this server; a missing dataset names its folder and files."""
    at = open_page(PAGE)
    box = at.selectbox(key="distill_dataset")
    assert "1 of 4 on this server" in box.label
    box.set_value("cifar10").run()
    assert_no_exception(at)
    warning = " ".join(str(w.value) for w in at.warning)
    assert "cifar-10-batches-py" in warning and "data_batch_1" in warning and "MNIST" not in warning
    assert at.button(key="distill_train").disabled
    # Nothing was submitted (a fresh visit may still follow the room's latest run: distill_job, not chosen).
    assert "distill_job_chosen" not in at.session_state


def test_each_dataset_brings_its_own_defaults_the_same_as_the_cli(open_page):
    from compression.distillation.__main__ import build_parser, config_from_args

    at = open_page(PAGE)
    assert at.number_input(key="distill_epochs").value == 1000  # digits keeps today's defaults
    for dataset in ("mnist", "cifar10", "digits"):
        at.selectbox(key="distill_dataset").set_value(dataset).run()
        cli = config_from_args(build_parser().parse_args(["--dataset", dataset]))
        assert at.number_input(key="distill_epochs").value == cli.epochs
        assert at.number_input(key="distill_batch_size").value == cli.batch_size
        assert at.selectbox(key="distill_teacher").value == cli.teacher
        assert at.number_input(key="distill_teacher_epochs").value == (cli.teacher_epochs or 0)


def test_a_broken_runs_folder_is_a_message_and_the_page_still_works(open_page, tmp_path, monkeypatch):
    """Issue 12 item 3: a file where the runs folder should be (as root, a read-only folder cannot be made)."""
    blocked = tmp_path / "runs"
    blocked.write_text("not a folder")
    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(blocked))
    at = open_page(PAGE)
    assert_no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "run history cannot be saved or read" in errors and "COMPRESSION_LAB_RUNS_DIR" in errors
    assert "OperationalError" not in errors
    assert at.number_input(key="distill_temperature").value == 4.0  # the form is there
    at.button(key="distill_train").click().run()
    assert_no_exception(at)
    assert any("Not started" in str(e.value) and "runs folder" in str(e.value) for e in at.error)
    home = open_page("pages/home.py")
    assert_no_exception(home)


def test_runs_a_crashed_server_left_running_are_marked_at_start_up(open_page, isolated_lab_dirs):
    """Issue 12 item 7: marked on the first page view of the new server, whichever page it is."""
    from compression.distillation.store import RunStore
    from compression.distillation.trainer import TrainConfig

    store = RunStore(isolated_lab_dirs["RUNS_DIR"])
    store.create_run("crashed_run", TrainConfig().to_dict())
    store.set_status("crashed_run", "running")
    open_page("pages/home.py")
    assert store.get_run("crashed_run").status == "interrupted"
    trainer = open_page(PAGE)
    assert "interrupted by a server restart" not in page_text(trainer)  # no banner in every new session


def test_a_fake_dataset_and_variant_appear_on_the_page(open_page, monkeypatch, isolated_lab_dirs):
    from compression.distillation import variants as variants_module
    from compression.distillation.data import DATASETS
    from compression.distillation.store import RunStore
    from tests.unit.test_distillation_registries import FAKE_DATASET, FAKE_VARIANT

    monkeypatch.setitem(DATASETS, "stripes", FAKE_DATASET)
    monkeypatch.setitem(variants_module.VARIANTS, "hardonly", FAKE_VARIANT)
    store = RunStore(isolated_lab_dirs["RUNS_DIR"])
    model = {"architecture": "mlp:128", "test_accuracy": 0.9, "test_loss": 0.3, "params": 10, "size_bytes": 40,
             "compression_ratio": 2.0, "latency_ms": 0.1, "agreement": 0.8}  # fmt: skip
    results = {role: dict(model) for role in ("teacher", "student", "baseline", "hardonly")}
    results["teacher"]["agreement"] = None
    store.create_run("fake_run", {"dataset": "stripes", "epochs": 3})
    store.finish("fake_run", results)
    at = open_page(PAGE)
    assert "stripes" in at.selectbox(key="distill_dataset").options or any(
        "Stripes" in o for o in at.selectbox(key="distill_dataset").options
    )
    assert "hard-only %" in frame_with(at, "distilled %").columns
    at.selectbox(key="distill_reopen_choice").set_value("fake_run")
    at.button(key="distill_reopen").click().run()
    assert_no_exception(at)
    assert "Hard-label student at T=2" in list(frame_with(at, "smaller than teacher ×")["Model"])


def test_an_identical_finished_run_opens_at_once_and_training_again_is_a_choice(open_page):
    first = open_page(PAGE, query={**SHORT, "seed": "41"})
    start(first)
    job_id = first.session_state["distill_job"]
    wait_for(first, lambda a: f"Run `{job_id}`: done" in page_text(a))
    history = frame_with(first, "distilled %")
    assert list(history.loc[history["id"] == job_id, "seed"]) == [41]  # the seed tells runs apart

    again = open_page(PAGE, query={**SHORT, "seed": "41"})
    start(again)
    assert again.session_state["distill_job"] == job_id  # the stored run, opened: nothing queued
    assert not [t for t in again.toast]
    notice = [str(i.value) for i in again.info if "already stored" in str(i.value)]
    assert notice and job_id in notice[0]
    assert f"Run `{job_id}`: done" in page_text(again)
    # A different seed is a different run.
    other = open_page(PAGE, query={**SHORT, "seed": "42"})
    start(other)
    assert other.session_state["distill_job"] != job_id
    assert not [i for i in other.info if "already stored" in str(i.value)]
    # "Train again" queues a second copy on purpose.
    again.button(key="distill_train_again").click().run()
    assert_no_exception(again)
    assert again.session_state["distill_job"] not in (job_id, other.session_state["distill_job"])
    assert not [i for i in again.info if "already stored" in str(i.value)]


def test_the_queue_says_how_many_jobs_the_cpu_runs_at_once(open_page, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_CPU_WORKERS", "2")
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "2 jobs at a time on the CPU" in page_text(at)
    monkeypatch.setenv("COMPRESSION_LAB_CPU_WORKERS", "0")
    bad = open_page(PAGE)
    assert "COMPRESSION_LAB_CPU_WORKERS must be at least 1" in page_text(bad)  # a message, not a traceback


@dataclass(frozen=True)
class OverRun:
    """A job over a stored run, as a deploy benchmark or QAT job is (its config names the run)."""

    kind: ClassVar[str] = "over-run-test"
    run_id: str

    def to_dict(self) -> dict:
        return {"run_id": self.run_id}


def test_watch_on_a_job_over_a_stored_run_opens_compress_at_that_run(open_page, tmp_path, monkeypatch):
    """Issue 16: "Watch" on a job of another kind ended at nothing on the trainer. A job over a stored run (a
    deploy benchmark, QAT: its config names the run) opens /compress?run=<run id>, that run selected. The kind
    here is registered for this test only (the worker process does not know it: the job fails there, and a
    finished job is still listed with its Watch button)."""
    from compression.config import Settings
    from compression.distillation.job_kinds import JOB_KINDS, JobKind, register_job_kind
    from compression.distillation.store import JobStore
    from compression.distillation.trainer import default_config
    from pages._shared import get_manager

    register_job_kind(
        JobKind(
            name=OverRun.kind,
            from_payload=lambda payload: OverRun(payload["run_id"]),
            check=lambda config, limits: 1.0,
            run=lambda config, context: None,
            store=lambda runs: JobStore(runs, OverRun.kind),
            describe=lambda config: {"dataset": "digits", "teacher": config.run_id, "student": "int4", "device": "cpu"},
        )
    )
    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path / "runs"))  # its own store: nothing leaks
    try:
        manager = get_manager(Settings.from_env())
        run_id = "watchrun0001"
        manager.store.create_run(run_id, default_config("digits").to_dict())
        manager.store.finish(run_id, {"student": {"test_accuracy": 0.9}}, {})
        job = manager.submit(OverRun(run_id), owner="someone-else")

        at = open_page(PAGE)
        at.button(key=f"distill_watch_{job.id}").click().run()
        assert_no_exception(at)
        assert at.title[0].value == ":material/compress: Compress a trained model", [t.value for t in at.title]
        assert at.session_state["compress_run"] == run_id
        assert at.query_params["run"] in (run_id, [run_id])
    finally:
        JOB_KINDS.pop(OverRun.kind, None)
