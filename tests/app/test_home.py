from __future__ import annotations

from tests.app.conftest import assert_no_exception


def test_home_renders_title_table_and_device(open_page):
    at = open_page("pages/home.py")
    assert_no_exception(at)
    assert at.title[0].value == "Compression Lab"
    table = at.table[0].value
    assert list(table.columns) == ["Quantization", "Knowledge distillation"]
    assert "Goal" in table.index
    # The sidebar device panel names the device training will use.
    sidebar_text = " ".join(str(m.value) for m in at.sidebar.markdown)
    assert "Training device" in sidebar_text
    assert "cpu" in sidebar_text or "cuda" in sidebar_text


def test_home_table_switches_to_chinese_original(open_page):
    at = open_page("pages/home.py")
    at.toggle(key="home_table_zh").set_value(True).run()
    assert_no_exception(at)
    table = at.table[0].value
    assert list(table.columns) == ["量化", "知识蒸馏"]
    assert "目标" in table.index


def test_home_ignores_unknown_query_parameters(open_page):
    at = open_page("pages/home.py", query={"bits": "<script>alert(1)</script>", "x": "%%%"})
    assert_no_exception(at)
    assert at.title[0].value == "Compression Lab"


def test_bad_device_setting_is_a_message_not_a_crash(open_page, monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_DEVICE", "tpu")
    at = open_page("pages/home.py")
    assert_no_exception(at)
    assert any("Unknown device 'tpu'" in str(e.value) for e in at.sidebar.error)


def test_home_does_not_import_torchvision():
    """Cold start: the router and home page stay light (torchvision loads only with the trainer)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('app.py', default_timeout=120)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.title[0].value == 'Compression Lab'\n"
        "print('torchvision' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_device_panel_states_the_training_threads_not_the_servers(open_page, monkeypatch):
    """The panel says what one training uses (COMPRESSION_LAB_TRAIN_THREADS, default cores - 1)."""
    import os

    monkeypatch.setenv("COMPRESSION_LAB_TRAIN_THREADS", "3")
    at = open_page("pages/home.py")
    assert_no_exception(at)
    captions = " ".join(str(c.value) for c in at.sidebar.caption)
    assert f"training uses 3 of {os.cpu_count()} CPU cores" in captions, captions
    machine = " ".join(str(m.value) for m in at.expander[0].markdown)
    assert "with 3 of" in machine, machine
