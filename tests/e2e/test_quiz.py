"""The concept quiz in Chromium: a three-question exam to the score, the room view across two visitors, and an
exam that survives a reload and opens in a new tab of the same browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from compression.i18n import t
from compression.quiz import ExamItem, draw_exam, load_bank, option_letters
from tests.e2e.conftest import assert_no_exception, open_app, screenshot, wait_for_app

BANK = load_bank()
EXAM_SEED = 7


def settle(page: Page) -> None:
    """Let the rerun that an interaction triggers start, then wait for it to finish."""
    page.wait_for_timeout(300)
    wait_for_app(page)


def plain(markdown: str) -> str:
    return markdown.replace("`", "").replace("**", "")


def click_button(page: Page, name: str) -> None:
    page.locator('[data-testid="stButton"] button', has_text=name).first.click()
    settle(page)


def choose_mode(page: Page, label: str) -> None:
    page.locator('[data-testid="stButtonGroup"] button', has_text=label).first.click()
    settle(page)


def fill_number(page: Page, label: str, value: str) -> None:
    field = page.locator('[data-testid="stNumberInput"]', has_text=label).locator("input")
    field.fill(value)
    field.press("Enter")
    settle(page)


def open_quiz(page: Page, server, query: str = "") -> None:
    """Open the quiz by its URL and wait until the router's navigation and sidebar are drawn.

    (A deep link as a fresh server's first request is covered by tests/e2e/test_navigation.py.)
    """
    open_app(page, server, f"quiz{query}")
    # ?lang=zh draws the whole sidebar in Chinese (the shared language switch)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(
        re.compile("Training device|训练设备"), timeout=90_000
    )
    expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text(
        re.compile("Concept quiz|概念测验"), timeout=90_000
    )
    wait_for_app(page)


def option_label(item: ExamItem, option: str, lang: str = "en") -> str:
    """An option as the exam shows it: its letter in the shuffled order, then its text ("b. Pruning")."""
    question = BANK.get(item.question_id)
    return f"{option_letters(question, item.option_order)[option]}. {plain(question.option_text(option, lang))}"


def answer_right(page: Page, item: ExamItem, lang: str = "en") -> None:
    """Answer one exam question right in the browser, the way a learner would: by the label it shows."""
    question = BANK.get(item.question_id)
    if question.type == "single":
        radio = page.locator('[data-testid="stRadio"]')
        radio.get_by_text(option_label(item, question.answer, lang), exact=True).click()
    elif question.type == "multiple":
        for option in sorted(question.answer):
            checkbox = page.locator('[data-testid="stCheckbox"]')
            checkbox.get_by_text(option_label(item, option, lang), exact=True).click()
            settle(page)
    elif question.type == "true_false":
        label = t("quiz.true" if question.answer else "quiz.false", lang)
        page.locator('[data-testid="stRadio"]').get_by_text(label, exact=True).click()
    else:
        field = page.locator('[data-testid="stNumberInput"] input')
        field.fill(f"{question.answer:g}")
        field.press("Enter")
    settle(page)


def test_learner_completes_a_three_question_exam_and_sees_the_score(page, server, screenshot_dir):
    open_quiz(page, server)
    expect(page.locator("h1", has_text="Concept quiz")).to_be_visible()
    screenshot(page, screenshot_dir, "quiz-practice-en")
    choose_mode(page, "Exam")
    fill_number(page, "Number of questions", "3")
    fill_number(page, "Seed", str(EXAM_SEED))
    click_button(page, "Start the exam")
    items = draw_exam(BANK, 3, EXAM_SEED)
    for position, item in enumerate(items):
        expect(page.get_by_text(f"Question {position + 1} of 3")).to_be_visible()
        expect(page.locator("h4", has_text=plain(BANK.get(item.question_id).prompt["en"])[:40])).to_be_visible()
        answer_right(page, item)
        expect(page.locator('[data-testid="stProgress"]', has_text=f"{position + 1} of 3 answered")).to_be_visible()
        if position == 0:
            screenshot(page, screenshot_dir, "quiz-exam-question-en")
        if position < 2:
            click_button(page, "Next")
    click_button(page, "Finish and grade")
    assert_no_exception(page)
    score = page.locator('[data-testid="stMetric"]', has_text="Score")
    expect(score).to_contain_text("3 / 3")
    expect(page.locator('[data-testid="stMetric"]', has_text="Percent right")).to_contain_text("100%")
    expect(page.get_by_text("No mistakes: every answer was right.")).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"] .main-svg').first).to_be_visible()
    screenshot(page, screenshot_dir, "quiz-exam-score-en")

    # The same report in Chinese, by the sidebar's language switch (the only one).
    expect(page.locator(".st-key-quiz_lang")).to_have_count(0)
    page.locator(".st-key-lang_switch button", has_text="中文").click()
    settle(page)
    expect(page.locator("h1", has_text="概念测验")).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]', has_text="得分")).to_contain_text("3 / 3")
    screenshot(page, screenshot_dir, "quiz-exam-score-zh")


def test_missed_questions_are_explained_in_chinese(page, server, screenshot_dir):
    open_quiz(page, server, "?lang=zh&mode=exam")
    expect(page.locator("h1", has_text="概念测验")).to_be_visible()
    fill_number(page, "题目数量", "2")
    click_button(page, "开始测验")
    click_button(page, "交卷评分")  # nothing answered: it asks first
    expect(page.get_by_text("还有 2 题未作答")).to_be_visible()
    click_button(page, "仍然交卷")  # both missed
    expect(page.locator('[data-testid="stMetric"]', has_text="得分")).to_contain_text("0 / 2")
    expect(page.get_by_text("答错的题目")).to_be_visible()
    expect(page.get_by_text(re.compile("正确答案："))).to_have_count(2)
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "quiz-exam-missed-zh")


def answers_recorded(page: Page) -> int:
    metric = page.locator('[data-testid="stMetric"]', has_text="Answers recorded")
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().strip())


def test_a_second_visitors_answers_appear_in_the_room_view(page, browser, server, screenshot_dir):
    open_quiz(page, server, "?mode=room")
    expect(page.locator('[data-testid="stMetric"]', has_text="Answers recorded")).to_be_visible()
    before = answers_recorded(page)

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        visitor = other.new_page()
        visitor.set_default_timeout(90_000)
        open_quiz(visitor, server)
        # Practice: the first question right, the second (a numeric one) wrong.
        option = plain(BANK.get("q1-definition").option_text("a", "en"))
        visitor.locator('[data-testid="stRadio"] label', has_text=option).click()
        settle(visitor)
        click_button(visitor, "Check")
        expect(visitor.get_by_text("Right.")).to_be_visible()
        click_button(visitor, "Next")
        field = visitor.locator('[data-testid="stNumberInput"] input')
        field.fill("400")
        field.press("Enter")
        settle(visitor)
        click_button(visitor, "Check")
        expect(visitor.get_by_text("Not quite.")).to_be_visible()
        expect(visitor.get_by_text("The right answer: 100 (± 0.5)")).to_be_visible()
        screenshot(visitor, screenshot_dir, "quiz-practice-feedback-en")
    finally:
        other.close()

    click_button(page, "Refresh")
    expect(page.locator('[data-testid="stMetric"]', has_text="Answers recorded")).to_contain_text(str(before + 2))
    expect(page.locator('[data-testid="stPlotlyChart"] .main-svg').first).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_contain_text("q1-model-size")
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "quiz-room-en")

    page.locator(".st-key-lang_switch button", has_text="中文").click()
    settle(page)
    expect(page.locator('[data-testid="stMetric"]', has_text="已记录的作答")).to_contain_text(str(before + 2))
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_contain_text("答对")
    screenshot(page, screenshot_dir, "quiz-room-zh")


def test_try_it_link_opens_the_playground_preset(page, server, screenshot_dir):
    """After answering q1-definition, "Try it" opens the playground with the question's values and bits."""
    open_quiz(page, server)
    option = plain(BANK.get("q1-definition").option_text("a", "en"))
    page.locator('[data-testid="stRadio"] label', has_text=option).click()
    settle(page)
    click_button(page, "Check")
    page.get_by_role("link", name="Try it in the").first.click()
    page.wait_for_url(re.compile(r".*/quantization\?.*values=0\.5%2C1\.0%2C-0\.3.*"))
    settle(page)
    expect(page.locator("h1").first).to_contain_text("Quantization playground")
    expect(page.get_by_role("textbox", name="Numbers separated by commas, spaces or new lines")).to_have_value(
        "0.5, 1.0, -0.3"
    )
    bitwidths = page.locator('[data-testid="stMultiSelect"]', has_text="Bitwidths")
    expect(bitwidths).to_have_text(re.compile(r"Bitwidths\D*4\D*8\D*$"))  # the chips: 4 and 8, nothing else
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "quiz-try-it-playground")


def expect_exam_at(page: Page, items, position: int, answered: int, seed: int, lang: str = "en") -> None:
    """The exam of `seed` is on screen at question `position` (0-based) with `answered` answers."""
    n = len(items)
    if lang == "zh":
        caption, question_n, progress = (
            f"种子 {seed} · 共 {n} 题",
            f"第 {position + 1} 题，共 {n} 题",
            f"已答 {answered} / {n} 题",
        )
    else:
        caption, question_n, progress = (
            f"Seed {seed} · {n} questions",
            f"Question {position + 1} of {n}",
            f"{answered} of {n} answered",
        )
    expect(page.get_by_text(caption, exact=True)).to_be_visible()
    expect(page.get_by_text(question_n)).to_be_visible()
    prompt = plain(BANK.get(items[position].question_id).prompt[lang])[:30]
    expect(page.locator("h4", has_text=prompt)).to_be_visible()
    expect(page.locator('[data-testid="stProgress"]', has_text=progress)).to_be_visible()
    expect(
        page.locator('[data-testid="stButton"] button', has_text=re.compile("Start the exam|开始测验"))
    ).to_have_count(0)


def expect_right_answer_shown(page: Page, item: ExamItem) -> None:
    """The widgets of `item` show its right answer (as answer_right gave it)."""
    question = BANK.get(item.question_id)
    if question.type == "numeric":
        expect(page.locator('[data-testid="stNumberInput"] input')).to_have_value(f"{question.answer:g}")
        return
    if question.type == "true_false":
        labels, kind = [t("quiz.true" if question.answer else "quiz.false", "en")], "stRadio"
    elif question.type == "single":
        labels, kind = [option_label(item, question.answer)], "stRadio"
    else:
        labels, kind = [option_label(item, o) for o in sorted(question.answer)], "stCheckbox"
    for label in labels:
        box = page.locator(f'[data-testid="{kind}"] label', has=page.get_by_text(label, exact=True))
        expect(box.locator("input")).to_be_checked()


def test_a_reload_mid_exam_keeps_the_exam_and_a_new_tab_shows_it(page, server, screenshot_dir):
    seed = 123
    open_quiz(page, server)
    choose_mode(page, "Exam")
    fill_number(page, "Number of questions", "10")
    fill_number(page, "Seed", str(seed))
    click_button(page, "Start the exam")
    items = draw_exam(BANK, 10, seed)
    for item in items[:3]:
        answer_right(page, item)
        click_button(page, "Next")
    expect_exam_at(page, items, 3, 3, seed)

    page.reload()
    wait_for_app(page)
    expect_exam_at(page, items, 3, 3, seed)
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "quiz-exam-after-reload-en")
    # The answers themselves came back: the third one is still chosen.
    click_button(page, "Previous")
    expect_exam_at(page, items, 2, 3, seed)
    expect_right_answer_shown(page, items[2])
    click_button(page, "Next")

    # A new tab of the same browser: the same exam, where this tab left it.
    tab = page.context.new_page()
    tab.set_default_timeout(90_000)
    open_quiz(tab, server)
    expect_exam_at(tab, items, 3, 3, seed)
    assert_no_exception(tab)
    tab.close()


def test_a_finished_exam_shows_its_score_after_a_reload_in_chinese(page, server, screenshot_dir):
    open_quiz(page, server, "?lang=zh&mode=exam")
    fill_number(page, "题目数量", "2")
    fill_number(page, "种子", "31")
    click_button(page, "开始测验")
    items = draw_exam(BANK, 2, 31)
    answer_right(page, items[0], "zh")
    click_button(page, "交卷评分")
    click_button(page, "仍然交卷")
    expect(page.locator('[data-testid="stMetric"]', has_text="得分")).to_contain_text("1 / 2")
    page.reload()
    wait_for_app(page)
    expect(page.locator('[data-testid="stMetric"]', has_text="得分")).to_contain_text("1 / 2")
    expect(page.locator("h1", has_text="概念测验")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "quiz-exam-score-after-reload-zh")
