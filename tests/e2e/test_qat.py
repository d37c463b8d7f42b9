"""In Chromium: a trained digits run in the store, open Compress, "Train with quantization in the loop" queues a QAT
job, and its chart (accuracy against bits and size), verdict, table and downloads appear; then the same in Chinese
(a second QAT job, trained from the Chinese page)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, open_app, screenshot, wait_for_app

JOB_TIMEOUT_MS = 400_000


def files_caption_job(page: Page, pattern: str) -> str:
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text=re.compile(pattern)).last
    expect(caption).to_be_visible(timeout=JOB_TIMEOUT_MS)
    found = re.search(r"([0-9a-f]{12})", caption.inner_text())
    assert found, caption.inner_text()
    return found.group(1)


def test_qat_trains_from_compress_then_shows_chart_and_verdict_in_english_and_chinese(
    page: Page, server, stored_run, screenshot_dir
):
    open_app(page, server, f"compress?run={stored_run}")
    train = page.get_by_role("button", name="Train with quantization in the loop")
    train.scroll_into_view_if_needed()
    expect(page.get_by_text("Train to win it back")).to_be_visible()
    train.click()
    chart = page.locator(".st-key-qat_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(chart).to_contain_text("Accuracy against bits")
    expect(chart).to_contain_text("Accuracy against stored size")
    expect(chart).to_contain_text("QAT + teacher")
    verdict = page.locator('[data-testid="stAlert"]', has_text=re.compile(r"At int2"))
    expect(verdict.first).to_be_visible()
    expect(page.get_by_text(re.compile(r"teacher .*int4|int4.*teacher")).first).to_be_visible()
    expect(page.locator('[data-testid="stDownloadButton"]', has_text="Download (.safetensors)")).to_be_visible()
    english_job = files_caption_job(page, r"weight_codes .*job [0-9a-f]{12}")
    assert_no_exception(page)
    page.set_viewport_size({"width": 1280, "height": 7000})
    wait_for_app(page)
    page.wait_for_timeout(500)
    screenshot(page, screenshot_dir, "compress-qat")

    zh = page.context.new_page()
    zh.set_default_timeout(90_000)
    open_app(zh, server, f"compress?run={stored_run}&lang=zh")
    expect(zh.get_by_text("用训练把精度赢回来")).to_be_visible()
    button = zh.get_by_role("button", name="带量化训练")
    button.scroll_into_view_if_needed()
    button.click()
    expect(zh.get_by_text(re.compile("已排队，任务"))).to_be_visible()
    # the page redraws with the Chinese job's result when it ends: its id in the files caption changes
    files = zh.locator('[data-testid="stCaptionContainer"]',
                       has_text=re.compile(f"weight_codes.*任务 (?!{english_job})[0-9a-f]{{12}}"))  # fmt: skip
    expect(files.last).to_be_visible(timeout=JOB_TIMEOUT_MS)
    wait_for_app(zh)
    zh_chart = zh.locator(".st-key-qat_chart .js-plotly-plot")
    expect(zh_chart).to_contain_text("准确率与位宽")
    expect(zh_chart).to_contain_text("QAT + 教师")
    expect(zh.locator('[data-testid="stAlert"]', has_text=re.compile(r"在 int2 下")).first).to_be_visible()
    expect(zh.get_by_text(re.compile(r"在 int4 下.*教师")).first).to_be_visible()
    assert_no_exception(zh)
    zh.set_viewport_size({"width": 1280, "height": 7000})
    wait_for_app(zh)
    zh.wait_for_timeout(500)
    screenshot(zh, screenshot_dir, "compress-qat-zh")
    zh.close()
