"""AppTest of the Compress page's "Train to win it back" (QAT): a stored run, the Train button queues a real QAT job
(the worker process), and when it ends the chart, the verdict, the table, a download and the playground link
appear, in English and Chinese; bad choices get a message, not a traceback."""

from __future__ import annotations

import json
import time

import pytest
import torch

from compression.distillation.store import RunStore
from compression.distillation.trainer import TrainConfig, train
from compression.i18n import t
from tests.app.conftest import assert_no_exception

PAGE = "pages/compress.py"
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained():
    config = TrainConfig(dataset="digits", teacher="article-teacher", student="article-student", epochs=40,
                         teacher_epochs=40, device="cpu")  # fmt: skip
    result = train(config)
    summary = result.to_json()
    summary.pop("history")
    return result, summary


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "1")
    return tmp_path


def store_run(runs_dir, trained, run_id: str) -> None:
    result, summary = trained
    store = RunStore(runs_dir)
    store.create_run(run_id, result.config)
    store.add_metrics(run_id, result.history)
    store.finish(run_id, summary, result.weights)


def page_text(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def wait_until(at, predicate, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert time.monotonic() < deadline, page_text(at)[-2000:]
        time.sleep(1.0)
        at.run()
        assert_no_exception(at)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_qat_trains_as_a_job_then_shows_chart_verdict_table_and_models(open_page, runs_dir, trained, lang):
    run_id = f"qat{lang}"
    store_run(runs_dir, trained, run_id)
    at = open_page(PAGE, query={"run": run_id, "lang": lang})
    assert_no_exception(at)
    assert t("qat.none_yet", lang) in page_text(at)
    assert at.multiselect(key="qat_bits").value == [4, 2]
    at.button(key="qat_train").click().run()
    assert_no_exception(at)
    assert at.session_state["_qat_job"]  # a job of the queue, not training on the script thread
    wait_until(at, lambda a: any("ptq_accuracy" in d.value.columns for d in a.dataframe))
    table = next(d.value for d in at.dataframe if "ptq_accuracy" in d.value.columns)
    assert len(table) == 2 * 2 * 2  # student and baseline × int4, int2 × with and without the teacher
    assert set(table["seeds"]) == {3}
    assert set(table["teacher"]) == {t("qat.answer_yes", lang), t("qat.answer_no", lang)}
    charts = " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart"))
    for key in ("qat.chart.bits", "qat.chart.size", "qat.series.qat_teacher", "qat.series.ptq"):
        assert t(key, lang) in charts, key
    verdicts = [str(v.value) for v in [*at.success, *at.warning, *at.info] if "int" in str(v.value)]
    verdicts += [str(m.value) for m in at.markdown if "int2" in str(m.value)]
    text = " ".join(verdicts)
    assert "int2" in text and "int4" in text, text
    if lang == "zh":
        assert "QAT" in text and ("挽回" in text or "教师" in text), text
        assert "won back" not in text and "teacher" not in text, text
    else:
        assert "QAT won back" in text or "little for QAT" in text, text
        assert "teacher" in text
    labels = [d.proto.label for d in at.get("download_button")]
    assert t("qat.download", lang) in labels, labels
    at.button(key="qat_to_playground").click().run()
    assert_no_exception(at)
    assert at.session_state["quant_source"] == "text"
    assert at.session_state["quant_bits"] in ([4], [2])
    values = [float(v) for v in at.session_state["quant_text"].split(",")]
    first = trained[0].weights["student"]["1.weight"]
    assert len(values) == first.numel()  # the student's first layer, codes × scales
    row = values[: first.shape[1]]  # one output row: one scale, so at most 2^bits levels
    assert len(set(row)) <= 2 ** at.session_state["quant_bits"][0]


def test_no_bitwidth_gets_a_message_not_a_traceback(open_page, runs_dir, trained):
    store_run(runs_dir, trained, "qatnone")
    at = open_page(PAGE, query={"run": "qatnone"})
    at.multiselect(key="qat_bits").set_value([]).run()
    at.button(key="qat_train").click().run()
    assert_no_exception(at)
    assert any(t("errors.qat.no_bits", "en", low=2, high=8) in str(e.value) for e in at.error), page_text(at)
    assert "_qat_job" not in at.session_state
