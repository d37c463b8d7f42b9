"""AppTest of the sweep page through the real router: the grid, the room, one shared queue, results and heatmaps."""

from __future__ import annotations

import json
import re
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_no_exception
from tests.conftest import ROOT

PAGE = "pages/sweep.py"
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def small_fast_server(monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "1")
    monkeypatch.delenv("COMPRESSION_LAB_PRESENTER_KEY", raising=False)


def page_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(p.proto.text) for p in at.get("progress")]
    return "\n".join(parts)


def quick_settings(at: AppTest) -> None:
    """The article's MLP teacher for 3 epochs, students for 3 epochs."""
    at.selectbox(key="sweep_teacher").set_value("article-teacher")
    at.number_input(key="sweep_teacher_epochs").set_value(3)
    at.number_input(key="sweep_epochs").set_value(3).run()
    assert_no_exception(at)


def wait_for(at: AppTest, predicate, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, page_text(at)[-2000:]
        time.sleep(0.5)
        at.run()
        assert_no_exception(at)


def test_both_pages_use_one_job_manager(open_page, monkeypatch):
    """get_manager lives once, in pages/_shared.py: the trainer and the sweep page get the same JobManager
    (one queue), built once however often and in whichever order the pages run."""
    from compression.distillation.jobs import JobManager
    from pages import _shared

    for path in ("pages/sweep.py", "pages/distillation.py"):
        assert "def get_manager" not in (ROOT / path).read_text(), path
    built = []
    real = JobManager.from_settings.__func__

    def spy(cls, settings, **kwargs):
        manager = real(cls, settings, **kwargs)
        built.append(manager)
        return manager

    monkeypatch.setattr(JobManager, "from_settings", classmethod(spy))
    at = open_page(PAGE)
    assert_no_exception(at)
    at.switch_page("pages/distillation.py").run()
    assert_no_exception(at)
    at.switch_page(PAGE).run()
    assert_no_exception(at)
    from compression.config import Settings

    assert len(built) == 1, built
    assert _shared.get_manager(Settings.from_env()) is built[0]


def test_page_opens_in_room_mode_with_the_grid_count_in_grid_mode(open_page):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert at.title[0].value == "Distillation sweep"
    assert "No cell submitted yet." in page_text(at)
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    assert_no_exception(at)
    assert "20 cells + 2 controls × 1 seed(s) = **22 students**" in page_text(at)
    at.segmented_control(key="sweep_seeds").set_value(3).run()
    assert "**66 students**" in page_text(at)


def test_page_in_chinese_shows_chinese_chrome(open_page):
    """?lang=zh: the sweep page's title, room form, presenter box, grid form and settings in Chinese."""
    from compression.i18n import t

    at = open_page(PAGE, query={"lang": "zh"})
    assert_no_exception(at)
    assert at.title[0].value == t("sweep.title", "zh") == t("app.nav.sweep", "zh") == "蒸馏网格实验"
    text = page_text(at)
    assert "还没有人提交格子。" in text and "提交你的格子" in text
    assert "主持人" in text and "Presenter" not in text
    assert at.button(key="sweep_room_submit").label == "提交我的格子"
    assert at.selectbox(key="sweep_teacher").options[0] == "小型 CNN"
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    assert_no_exception(at)
    assert "20 个格子 + 2 个对照 × 1 个种子 = 一个任务中的 **22 个学生模型**。" in page_text(at)
    assert at.button(key="sweep_grid_start").label == "训练这个网格"
    assert at.multiselect(key="sweep_grid_t").label == "温度 T"


def test_a_refused_student_is_a_message_not_a_job(open_page, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_MAX_SWEEP_CELLS", "10")
    at = open_page(PAGE)
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    at.button(key="sweep_grid_start").click().run()
    assert_no_exception(at)
    # show_error escapes Markdown: the setting's name is shown as COMPRESSION\\_LAB\\_MAX\\_SWEEP\\_CELLS (renders "_").
    shown = [str(e.value).replace("\\_", "_") for e in at.error]
    assert any("at most 10" in text and "MAX_SWEEP_CELLS" in text for text in shown), shown


def test_two_learners_submit_the_presenter_starts_and_both_see_the_heatmap(open_page, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", "letmein")
    learner = open_page(PAGE)
    learner.number_input(key="sweep_room_t").set_value(2.0)
    learner.number_input(key="sweep_room_alpha").set_value(0.5)
    learner.button(key="sweep_room_submit").click().run()
    assert_no_exception(learner)
    assert "Your cell: T = 2, alpha = 0.5." in page_text(learner)
    assert not [b for b in learner.button if b.key == "sweep_room_start"]  # learners cannot start

    presenter = open_page(PAGE)
    presenter.text_input(key="presenter_key_sweep").set_value("wrong").run()
    assert any("not the presenter key" in str(e.value) for e in presenter.error)
    presenter.text_input(key="presenter_key_sweep").set_value("letmein").run()
    presenter.number_input(key="sweep_room_t").set_value(8.0)
    presenter.button(key="sweep_room_submit").click().run()
    table = presenter.dataframe[0].value
    assert sorted(zip(table["T"], table["alpha"], strict=True)) == [(2.0, 0.5), (8.0, 0.9)]
    quick_settings(presenter)
    presenter.button(key="sweep_room_start").click().run()
    assert_no_exception(presenter)

    for at in (presenter, learner):
        wait_for(at, lambda at: any(s.key == "sweep_heatmap_accuracy" for s in at.get("flex_container"))
                 or "Gain over the baseline" in str([c.proto.spec for c in at.get("plotly_chart")]))  # fmt: skip
        text = page_text(at)
        assert re.search(r"Sweep `\w+`: done", text), text[-1500:]
        assert "Best cell T=" in text
        assert "Controls: baseline" in text
        charts = [c.proto.spec for c in at.get("plotly_chart")]
        assert any("Test accuracy (%) over T" in spec for spec in charts)
        assert any("Gain over the baseline" in spec for spec in charts)
    assert "No cell submitted yet." in page_text(presenter)  # the round starts empty again

    # One queue: the trainer page lists the sweep as a job of the shared manager.
    presenter.switch_page("pages/distillation.py").run()
    assert_no_exception(presenter)
    assert "Done" in page_text(presenter)


def test_the_page_draws_no_stray_objects(open_page):
    """Streamlit 'magic' draws a bare expression statement: the page must have none (help tables of objects)."""
    at = open_page(PAGE)
    assert_no_exception(at)
    assert not at.get("help"), "a bare expression was drawn as st.help"


def test_the_dataset_choice_shows_titles_and_marks_missing_files(open_page, monkeypatch, tmp_path):
    monkeypatch.setenv("COMPRESSION_LAB_DATA_DIR", str(tmp_path / "empty-data"))
    at = open_page(PAGE)
    assert_no_exception(at)
    options = at.selectbox(key="sweep_dataset").options
    assert options[0] == "Digits (8×8, scikit-learn, offline)", options
    assert "MNIST (28×28): not on this server" in options, options
    zh = open_page(PAGE, query={"lang": "zh"})
    assert "mnist" not in zh.selectbox(key="sweep_dataset").options


# --- issue 20: say it, don't swallow it ---------------------------------------------------------------------
def column_of(at: AppTest, key: str):
    """The column that holds the widget with `key` (a refusal 'next to the field' is drawn in it)."""
    for column in at.columns:
        if any(getattr(w, "key", None) == key for w in column.get("number_input") + column.get("multiselect")):
            return column
    raise AssertionError(f"no column holds {key}")


def toasts(at: AppTest) -> list[str]:
    return [str(x.value) for x in at.toast]


@pytest.mark.parametrize(
    ("field", "typed", "shown", "expected"),
    [
        ("sweep_room_t", -1.0, "-1", "from 0.05 to 100"),
        ("sweep_room_t", 1e308, "1e+308", "from 0.05 to 100"),
        ("sweep_room_alpha", 1.5, "1.5", "from 0 to 1"),
    ],
)
def test_an_out_of_range_cell_is_refused_next_to_its_field(open_page, field, typed, shown, expected):
    """T = -1, 1e308 or alpha 1.5 is refused next to its field with the allowed range; nothing is submitted and
    no toast reads like success (the old widgets kept the previous value and said "Your cell T = 4 ... is in")."""
    at = open_page(PAGE)
    at.number_input(key=field).set_value(typed).run()
    assert_no_exception(at)
    refusal = [str(e.value) for e in column_of(at, field).error]
    assert len(refusal) == 1 and expected in refusal[0] and f"you typed {shown}" in refusal[0], refusal
    at.button(key="sweep_room_submit").click().run()
    assert_no_exception(at)
    assert toasts(at) == []
    assert any("Nothing was submitted" in str(e.value) for e in at.error), [e.value for e in at.error]
    text = page_text(at)
    assert "No cell submitted yet." in text and "Your cell:" not in text
    # Fixed, it goes in, and the refusal is gone.
    at.number_input(key=field).set_value(2.0 if field == "sweep_room_t" else 0.5).run()
    assert not column_of(at, field).error
    at.button(key="sweep_room_submit").click().run()
    assert_no_exception(at)
    assert len(toasts(at)) == 1 and "is in" in toasts(at)[0]
    assert "Your cell:" in page_text(at)


def test_a_refused_cell_reads_in_chinese(open_page):
    at = open_page(PAGE, query={"lang": "zh"})
    at.number_input(key="sweep_room_t").set_value(-1.0).run()
    refusal = [str(e.value) for e in column_of(at, "sweep_room_t").error]
    assert refusal == ["T 必须是 0.05 到 100 之间的数；你输入的是 -1。在范围内之前不会提交任何内容。"], refusal
    at.button(key="sweep_room_submit").click().run()
    assert toasts(at) == []
    assert any("没有提交任何内容" in str(e.value) for e in at.error)


def test_out_of_range_settings_are_refused_next_to_their_fields_and_start_nothing(open_page):
    """Student epochs 0 or teacher epochs -3 (or above the server's limit) are refused next to the field; the
    grid does not start (the old widgets silently kept the previous value and started the sweep with it)."""
    at = open_page(PAGE)
    at.number_input(key="sweep_epochs").set_value(0)
    at.number_input(key="sweep_teacher_epochs").set_value(-3).run()
    assert_no_exception(at)
    epochs = [str(e.value) for e in column_of(at, "sweep_epochs").error]
    assert len(epochs) == 1 and "from 1 to 2000; you typed 0" in epochs[0], epochs
    teacher = [str(e.value) for e in column_of(at, "sweep_teacher_epochs").error]
    assert len(teacher) == 1 and "from 0 (the preset's own) to 2000; you typed -3" in teacher[0], teacher
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    at.button(key="sweep_grid_start").click().run()
    assert_no_exception(at)
    assert toasts(at) == []
    assert any("Not started: a setting above" in str(e.value) for e in at.error)
    assert "sweep_job" not in at.session_state


def test_an_empty_grid_is_refused_next_to_its_field(open_page):
    at = open_page(PAGE, query={"lang": "zh"})
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    at.multiselect(key="sweep_grid_alpha").set_value([]).run()
    assert [str(e.value) for e in column_of(at, "sweep_grid_alpha").error] == ["请至少选择一个 alpha。"]
    at.button(key="sweep_grid_start").click().run()
    assert_no_exception(at)
    assert toasts(at) == [] and "sweep_job" not in at.session_state
    # The library's English "The sweep has no cells" never reaches a Chinese page.
    assert not [e for e in at.error if "no cells" in str(e.value)]


def link_warnings(at: AppTest) -> dict[str, str]:
    """Refused deep-link parameters, name -> the reason shown."""
    found = {}
    for w in at.warning:
        if w.icon == ":material/link_off:":
            text = str(w.value).replace("\\_", "_")
            name = re.search(r"` (\w+)=", text).group(1)
            found[name] = text
    return found


@pytest.mark.parametrize(
    ("query", "reasons"),
    [
        (
            {"epochs": "abc", "teacher": "nope", "dataset": "x", "teacher_epochs": "-3"},
            {"epochs": "whole number", "teacher": "nope is not one of them", "dataset": "no dataset x here",
             "teacher_epochs": "from 0 to 2000"},
        ),
        # Models the trainer accepts but the sweep does not offer were dropped without a word.
        (
            {"teacher": "article-student", "student": "cnn-small"},
            {"teacher": "teacher presets only", "student": "student presets only"},
        ),
        ({"teacher": "mlp:64,32", "epochs": "99999"}, {"teacher": "teacher presets only", "epochs": "at most 2000"}),
    ],
)  # fmt: skip
def test_every_refused_deep_link_parameter_is_named_with_its_reason(open_page, query, reasons):
    at = open_page(PAGE, query=query)
    assert_no_exception(at)
    shown = link_warnings(at)
    assert set(shown) == set(reasons), shown
    for name, reason in reasons.items():
        assert reason in shown[name], shown[name]
    # Nothing of the refused link was applied: the page keeps its defaults.
    assert at.selectbox(key="sweep_teacher").value == "cnn-small"
    assert at.selectbox(key="sweep_student").value == "article-student"
    assert at.number_input(key="sweep_epochs").value == 300


def test_refused_link_parameters_read_in_chinese(open_page):
    query = {"student": "cnn-small", "teacher": "nope", "dataset": "x", "epochs": "abc", "teacher_epochs": "-3"}
    at = open_page(PAGE, query={"lang": "zh", **query})
    shown = link_warnings(at)
    assert set(shown) == set(query), shown
    assert "网格实验只训练预设的学生模型" in shown["student"] and "已忽略" in shown["student"]
    assert "网格实验只训练预设的教师模型" in shown["teacher"]
    assert "没有名为 x 的数据集" in shown["dataset"]
    for text in shown.values():  # no English sentence: at most the parameter names and the choices' ids
        reason = text.split("已忽略", 1)[1]
        assert not re.search(r"\b(Unknown|must|Choose|is not)\b", reason), text


def test_a_second_link_in_the_same_session_is_applied_or_reported(open_page):
    """A session that already opened /sweep still reads a new link (the old page read one link per session
    and ignored every later one without a word); the same link is not applied again over the visitor's edits."""
    at = open_page(PAGE, query={"epochs": "40"})
    assert at.number_input(key="sweep_epochs").value == 40
    at.number_input(key="sweep_epochs").set_value(60).run()
    assert at.number_input(key="sweep_epochs").value == 60  # the same link again: the visitor's edit stays
    at.query_params["epochs"] = "abc"
    at.query_params["teacher"] = "article-teacher"
    at.run()
    assert_no_exception(at)
    assert list(link_warnings(at)) == ["epochs"], link_warnings(at)
    assert at.selectbox(key="sweep_teacher").value == "article-teacher"


def test_a_finished_sweep_reads_in_chinese_in_its_table_heatmaps_and_captions(open_page):
    """?lang=zh: the cells table names the controls 基线 / 标签平滑 (not "baseline" / "smoothing"), a control's
    temperature is a dash (not "None"), and the captions and the heatmaps' colour bars are in Chinese."""
    at = open_page(PAGE, query={"lang": "zh"})
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    at.multiselect(key="sweep_grid_t").set_value([4.0])
    at.multiselect(key="sweep_grid_alpha").set_value([0.5]).run()
    quick_settings(at)
    at.button(key="sweep_grid_start").click().run()
    assert_no_exception(at)
    # The cells table is the one with a "name" column (AppTest does not expose a dataframe's key).
    wait_for(at, lambda at: [d for d in at.dataframe if "name" in d.value.columns])
    table = next(d for d in at.dataframe if "name" in d.value.columns).value
    names = list(table["name"])
    assert sorted(names) == sorted(["T=4 α=0.5", "基线", "标签平滑"]), names
    assert sorted(table["kind"]) == sorted(["蒸馏", "基线", "标签平滑"])
    assert sorted(table["temperature"]) == sorted(["4", "—", "—"]), list(table["temperature"])
    cells = " ".join(str(v) for v in table.to_numpy().ravel())
    for english in ("baseline", "smoothing", "distilled", "None", "nan"):
        assert english not in cells, (english, cells)
    captions = " ".join(str(c.value) for c in at.caption)
    assert "对照组：基线" in captions and "标签平滑" in captions and "n/a" not in captions, captions
    charts = " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart"))
    assert "T × alpha 上的测试准确率" in charts and "相对基线的提升" in charts
    for english in ('"baseline', '"smoothing', "Test accuracy", "Gain over"):
        assert english not in charts, english
    # The verdict too (issue 16: it was the library's English sentence on a Chinese page).
    verdicts = [str(v.value) for v in [*at.success, *at.warning] if "最佳单元格" in str(v.value)]
    assert len(verdicts) == 1 and "Best cell" not in verdicts[0], [str(v.value) for v in [*at.success, *at.warning]]


def test_a_visitor_who_arrives_after_the_room_started_a_sweep_still_sees_the_refused_link(open_page, monkeypatch):
    """The room panel used to rerun a fresh visitor's page at once to adopt the room's sweep: that second run
    dropped the first run's warnings, so a bad /sweep link was ignored without a word in any room that had
    started a sweep. Now the fresh visit watches the room's sweep from its first run, and the warnings stay."""
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", "letmein")
    presenter = open_page(PAGE)
    presenter.text_input(key="presenter_key_sweep").set_value("letmein").run()
    presenter.number_input(key="sweep_room_t").set_value(2.0)
    presenter.button(key="sweep_room_submit").click().run()
    quick_settings(presenter)
    presenter.button(key="sweep_room_start").click().run()
    assert_no_exception(presenter)
    job = presenter.session_state["sweep_job"]

    query = {"epochs": "abc", "teacher": "nope", "dataset": "x", "teacher_epochs": "-3"}
    late = open_page(PAGE, query=query)
    assert_no_exception(late)
    assert set(link_warnings(late)) == set(query), link_warnings(late)
    assert late.session_state["sweep_job"] == job  # and it watches the room's sweep
    wait_for(late, lambda at: any(re.search(r"`\w+`: done", str(s.value)) for s in at.subheader))


def test_the_page_has_no_bare_string_statements():
    """Streamlit's magic draws any bare expression, a string after a constant included: only the module
    docstring and function docstrings may stand alone in pages/sweep.py."""
    import ast

    tree = ast.parse((ROOT / PAGE).read_text())
    stray = [
        node.lineno
        for node in tree.body[1:]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    ]
    assert stray == [], f"bare strings at lines {stray} would be drawn on the page"


def start_grid_sweep(at: AppTest, epochs: int = 3) -> str:
    """One cell (T=4, alpha=0.5) and its controls over the article's MLP teacher: the started sweep's id."""
    at.segmented_control(key="sweep_mode").set_value("grid").run()
    at.multiselect(key="sweep_grid_t").set_value([4.0])
    at.multiselect(key="sweep_grid_alpha").set_value([0.5]).run()
    quick_settings(at)
    at.number_input(key="sweep_epochs").set_value(epochs).run()
    at.button(key="sweep_grid_start").click().run()
    assert_no_exception(at)
    return at.session_state["sweep_job"]


def shows_sweep(at: AppTest, job: str, status: str) -> bool:
    return f"Sweep `{job}`: {status}" in page_text(at)


def test_watch_on_a_sweep_in_the_trainers_queue_opens_it_on_the_sweep_page(open_page):
    """Issue 16: "Watch" on a sweep in the trainer's queue ended at nothing (the trainer looked the sweep up in
    its runs). It opens /sweep?sweep=<id>, which watches that sweep and draws its results."""
    starter = open_page(PAGE)
    job = start_grid_sweep(starter)
    wait_for(starter, lambda at: shows_sweep(at, job, "done"))

    visitor = open_page("pages/distillation.py")
    visitor.button(key=f"distill_watch_{job}").click().run()
    assert_no_exception(visitor)
    assert visitor.title[0].value == "Distillation sweep", [t.value for t in visitor.title]
    assert visitor.session_state["sweep_job"] == job  # watched on purpose, not the fresh visit's latest sweep
    assert visitor.query_params["sweep"] in (job, [job])
    assert shows_sweep(visitor, job, "done"), page_text(visitor)[-1500:]
    assert any(s.key == "sweep_heatmap_accuracy" for s in visitor.get("flex_container"))


def test_a_sweep_link_opens_that_sweep_and_a_bad_id_is_refused(open_page):
    starter = open_page(PAGE)
    first = start_grid_sweep(starter)
    wait_for(starter, lambda at: shows_sweep(at, first, "done"))
    second = start_grid_sweep(starter)
    wait_for(starter, lambda at: shows_sweep(at, second, "done"))

    linked = open_page(PAGE, query={"sweep": first})  # not the latest: the link's
    assert_no_exception(linked)
    assert shows_sweep(linked, first, "done") and not shows_sweep(linked, second, "done")

    bad = open_page(PAGE, query={"sweep": "../etc"})
    assert_no_exception(bad)
    assert set(link_warnings(bad)) == {"sweep"}, link_warnings(bad)
    assert shows_sweep(bad, second, "done")  # the fresh visit's latest sweep, as without a link


def test_a_fresh_visit_shows_the_rooms_latest_sweep_live_then_finished(open_page):
    """Issue 16: a fresh visit to the sweep page shows the room's latest sweep, as the trainer shows the room's
    latest run: a sweep running now, live; else the newest finished one with its heatmap."""
    from compression.config import Settings
    from pages._shared import get_manager

    starter = open_page(PAGE)
    done = start_grid_sweep(starter)
    wait_for(starter, lambda at: shows_sweep(at, done, "done"))
    fresh = open_page(PAGE)
    assert_no_exception(fresh)
    assert "sweep_job" not in fresh.session_state or fresh.session_state["sweep_job"] is None
    assert shows_sweep(fresh, done, "done"), page_text(fresh)[-1500:]
    assert any(s.key == "sweep_heatmap_accuracy" for s in fresh.get("flex_container"))

    manager = get_manager(Settings.from_env())
    running = start_grid_sweep(starter, epochs=2000)  # long enough to be seen running on a busy machine
    try:
        deadline = time.monotonic() + 180
        while manager.snapshot(running).status == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        live = open_page(PAGE)
        assert_no_exception(live)
        assert any(s.key == "sweep_live" for s in live.get("flex_container")), page_text(live)[-1500:]
        assert not shows_sweep(live, done, "done")  # the live sweep, not the older finished one
    finally:
        manager.cancel(running, manager.snapshot(running).owner)
    deadline = time.monotonic() + 180
    while manager.snapshot(running).active:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    live.run()  # a cancelled sweep is no result to show: the newest finished one again, as the trainer does
    assert_no_exception(live)
    assert shows_sweep(live, done, "done"), page_text(live)[-1500:]
