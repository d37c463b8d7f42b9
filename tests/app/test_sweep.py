"""AppTest of the sweep page through the real router: the grid, the room, one shared queue, results and heatmaps."""

from __future__ import annotations

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
