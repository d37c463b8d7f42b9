"""Issue 8 item 3: adding a dataset or a student variant is one registry entry. A fake dataset and a fake
variant, registered for one test, appear in the trainer, the work estimate, the report, the store, the CLI
and the page (tests/app/test_distillation.py opens the page with them)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from compression.distillation import data as data_module
from compression.distillation import variants as variants_module
from compression.distillation.data import DATASETS, DatasetInfo
from compression.distillation.variants import Variant

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _load_stripes(info: DatasetInfo, data_dir, allow_download):  # noqa: ANN001
    """40 training and 20 test 4×4 images: class 0 has a bright top row, class 1 a bright bottom row."""
    g = torch.Generator().manual_seed(0)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 2
        x = torch.rand(n, 1, 4, 4, generator=g) * 0.2
        x[y == 0, 0, 0, :] = 1.0
        x[y == 1, 0, 3, :] = 1.0
        return x, y

    return (*make(40), *make(20))


FAKE_DATASET = DatasetInfo(
    "stripes",
    "Stripes (4×4, a test dataset)",
    (1, 4, 4),
    2,
    "Two classes of 4×4 stripes.",
    loader=_load_stripes,
    train_pool=40,
    test_size=20,
    default_epochs=3,
    default_batch_size=8,
    default_teacher="article-teacher",
    default_teacher_epochs=2,
)

FAKE_VARIANT = Variant(
    "hardonly",
    "Hard-label student at T=2",
    "#aa00aa",
    lambda logits, y, teacher, config: F.cross_entropy(logits / 2.0, y),
    column="hard-only %",
)


@pytest.fixture
def fake_registries(monkeypatch):
    monkeypatch.setitem(DATASETS, "stripes", FAKE_DATASET)
    monkeypatch.setitem(variants_module.VARIANTS, "hardonly", FAKE_VARIANT)
    yield


def test_a_fake_dataset_and_variant_appear_everywhere(fake_registries, tmp_path, capsys):
    from compression.distillation.__main__ import build_parser, main
    from compression.distillation.budget import estimate_work
    from compression.distillation.jobs import JobManager
    from compression.distillation.report import history_frame, summary_frame
    from compression.distillation.store import RunStore, history_columns
    from compression.distillation.trainer import default_config, train, validate_config

    config = replace(default_config("stripes"), device="cpu")
    assert (config.epochs, config.batch_size, config.teacher, config.resolved_teacher_epochs()) == (
        3,
        8,
        "article-teacher",
        2,
    )
    validate_config(config)
    assert data_module.dataset_available("stripes", tmp_path)  # no files needed
    work = estimate_work(config)
    assert work.samples == 40 * (2 + 4 * 3)  # the teacher and four students (three built in + the fake)

    # Trainer: the fake variant trains beside the others, on the fake dataset.
    result = train(config)
    assert set(result.models) == {"teacher", "student", "baseline", "smoothing", "hardonly"}
    assert result.models["hardonly"].params == 16 * 128 + 128 + 128 * 2 + 2
    # Report: titled by the registry, in registry order.
    assert list(summary_frame(result.to_json())["Model"])[-1] == "Hard-label student at T=2"
    assert "Hard-label student at T=2" in set(history_frame(result.history)["Model"])
    # Store and job manager: the history table gets the variant's column.
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, data_dir=tmp_path)
    try:
        job = manager.wait(manager.submit(config, owner="alice").id, 120)
        assert job.status == "done", job.error
        runs = store.list_runs()
        assert "hard-only %" in history_columns() and runs.iloc[0]["hard-only %"] > 0
        assert runs.iloc[0]["dataset"] == "stripes"
    finally:
        manager.shutdown()
    # CLI: the dataset is a choice, its defaults are used, the JSON has the variant.
    assert "stripes" in build_parser().format_help() and "hardonly" in build_parser().format_help()
    out = tmp_path / "r.json"
    assert main(["--dataset", "stripes", "--device", "cpu", "--no-cache", "--quiet", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["config"]["epochs"] == 3 and "hardonly" in payload
    assert "hardonly" in capsys.readouterr().out
