"""The quiz page's words in English and Chinese (no streamlit here: plain data and a lookup)."""

from __future__ import annotations

LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}

TOPIC_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "quantization": "Quantization",
        "distillation": "Knowledge distillation",
        "comparison": "Quantization vs distillation",
        "quantize_code": "Code: quantize()",
        "distillation_code": "Code: distillation loop",
    },
    "zh": {
        "quantization": "量化",
        "distillation": "知识蒸馏",
        "comparison": "量化与蒸馏的比较",
        "quantize_code": "编程题：quantize()",
        "distillation_code": "编程题：蒸馏训练循环",
    },
}

SOURCE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "q1": "Article, question 1: what is quantization?",
        "q2": "Article, question 2: the challenges of quantization",
        "q3": "Article, question 3: what is knowledge distillation?",
        "q4": "Article, question 4: how distillation works",
        "q5": "Article, question 5: how to implement distillation",
        "q6": "Article, question 6: quantization compared with distillation",
        "p1": "Article, programming problem 1: a quantize function",
        "p2": "Article, programming problem 2: a distillation loop",
        "new": "New question (not in the article)",
    },
    "zh": {
        "q1": "原文第 1 题：量化的基本概念是什么？",
        "q2": "原文第 2 题：量化过程中可能遇到的挑战有哪些？",
        "q3": "原文第 3 题：知识蒸馏是什么？",
        "q4": "原文第 4 题：知识蒸馏的工作原理是什么？",
        "q5": "原文第 5 题：如何实现知识蒸馏？",
        "q6": "原文第 6 题：量化与知识蒸馏的比较",
        "p1": "原文编程题 1：实现量化算法",
        "p2": "原文编程题 2：实现知识蒸馏",
        "new": "新题（原文没有）",
    },
}

UI: dict[str, dict[str, str | dict[str, str]]] = {
    "en": {
        "title_suffix": "",
        "intro": "The article's interview questions on quantization and distillation, and more, "
        "graded with explanations. Practise one question at a time, take an exam, or see how the room is doing.",
        "language": "Language",
        "mode": "Mode",
        "mode_practice": "Practice",
        "mode_exam": "Exam",
        "mode_room": "Room",
        "topic": "Topic",
        "all_topics": "All topics",
        "question_n": "Question {i} of {n}",
        "difficulty": "Difficulty",
        "difficulty_1": "easy",
        "difficulty_2": "medium",
        "difficulty_3": "hard",
        "your_answer": "Your answer",
        "choose_one": "Choose one answer",
        "choose_all": "Choose every right answer (partly right counts as wrong)",
        "type_number": "Type a number",
        "true": "True",
        "false": "False",
        "check": "Check",
        "try_again": "Answer again",
        "previous": "Previous",
        "next": "Next",
        "right": "Right.",
        "wrong": "Not quite.",
        "correct_answer": "The right answer: {answer}",
        "you_answered": "You answered: {answer}",
        "no_answer": "no answer",
        "explanation": "Explanation.",
        "try_it": "Try it in the {page}",
        "page_quantization": "quantization playground",
        "page_distillation": "distillation trainer",
        "page_compress": "model compressor",
        "practice_progress": "{done} of {n} answered in this topic, {right} right",
        "choose_first": "Choose an answer first.",
        "exam_intro": "A fixed number of questions, drawn and shuffled by a seed (options shuffled too), "
        "graded at the end with a score, a breakdown by topic and explanations of the ones you missed.",
        "exam_size": "Number of questions",
        "exam_seed": "Seed",
        "exam_seed_help": "Same seed, same questions in the same order. Share it so a whole room takes the same exam.",
        "start_exam": "Start the exam",
        "exam_progress": "{done} of {n} answered",
        "finish_exam": "Finish and grade",
        "unanswered_warning": {
            "one": "1 question still unanswered: it will count as wrong.",
            "other": "{k} questions still unanswered: they will count as wrong.",
        },
        "finish_confirm": {
            "one": "1 question is still unanswered and will count as wrong. Grade the exam anyway?",
            "other": "{k} of {n} questions are still unanswered and will count as wrong. Grade the exam anyway?",
        },
        "finish_yes": "Grade it anyway",
        "finish_no": "Keep answering",
        "abandon_exam": "Abandon this exam",
        "score": "Score",
        "score_value": "{score} / {total}",
        "percent": "Percent right",
        "by_topic": "By topic",
        "col_topic": "Topic",
        "col_correct": "Right",
        "col_total": "Questions",
        "col_percent": "% right",
        "missed": "The ones you missed",
        "no_missed": "No mistakes: every answer was right.",
        "retry_missed": "Retry the ones I missed",
        "new_exam": "New exam",
        "exam_retry_badge": {"one": "Retry of 1 missed question", "other": "Retry of {n} missed questions"},
        "seed_caption": {"one": "Seed {seed} · 1 question", "other": "Seed {seed} · {n} questions"},
        "room_intro": "Anonymous answer statistics from every visitor of this server: only the number of "
        "answers and of right answers per question is stored, nothing about who answered.",
        "room_total": "Answers recorded",
        "room_questions": "Questions answered",
        "room_wrong_share": "Wrong overall",
        "room_empty": "No answers recorded yet. Answers from practice and exams appear here.",
        "room_chart_title": "Which questions the room gets wrong",
        "room_axis_wrong": "% of the room's answers",
        "room_right": "Right",
        "room_axis_question": "Question",
        "col_question": "Question",
        "col_answered": "Answers",
        "col_wrong": "Wrong",
        "col_wrong_percent": "% wrong",
        "refresh": "Refresh",
        "reset_room": "Reset the room statistics",
        "reset_confirm": "Delete every recorded answer of the room? This cannot be undone.",
        "reset_yes": "Yes, delete them",
        "reset_cancel": "Cancel",
        "reset_done": {
            "one": "Room statistics reset: 1 answer deleted.",
            "other": "Room statistics reset: {n} answers deleted.",
        },
        "presenter": "Presenter",
        "bank_error": "The question bank could not be loaded",
        "room_error": "Room statistics",
    },
    "zh": {
        "title_suffix": " · 概念测验",
        "intro": "本文关于量化与知识蒸馏的面试题及更多题目，自动评分并附解析。可以逐题练习、参加测验，"
        "或查看全场的答题情况。",
        "language": "语言",
        "mode": "模式",
        "mode_practice": "练习",
        "mode_exam": "测验",
        "mode_room": "全场统计",
        "topic": "主题",
        "all_topics": "全部主题",
        "question_n": "第 {i} 题，共 {n} 题",
        "difficulty": "难度",
        "difficulty_1": "简单",
        "difficulty_2": "中等",
        "difficulty_3": "困难",
        "your_answer": "你的答案",
        "choose_one": "选择一个答案",
        "choose_all": "选出所有正确答案（只选对一部分算错）",
        "type_number": "输入一个数",
        "true": "对",
        "false": "错",
        "check": "提交",
        "try_again": "重新作答",
        "previous": "上一题",
        "next": "下一题",
        "right": "回答正确。",
        "wrong": "不太对。",
        "correct_answer": "正确答案：{answer}",
        "you_answered": "你的回答：{answer}",
        "no_answer": "未作答",
        "explanation": "解析：",
        "try_it": "在{page}中动手试试",
        "page_quantization": "量化实验场",
        "page_distillation": "蒸馏训练器",
        "page_compress": "模型压缩页",
        "practice_progress": "本主题已答 {done} / {n} 题，答对 {right} 题",
        "choose_first": "请先选择答案。",
        "exam_intro": "按种子抽取固定数量的题目并打乱顺序（选项也打乱），交卷后给出得分、各主题得分，以及答错题目的解析。",
        "exam_size": "题目数量",
        "exam_seed": "种子",
        "exam_seed_help": "相同的种子抽到相同的题目和顺序。把种子告诉全场，大家就做同一份测验。",
        "start_exam": "开始测验",
        "exam_progress": "已答 {done} / {n} 题",
        "finish_exam": "交卷评分",
        "unanswered_warning": "还有 {k} 题未作答，将按答错计分。",
        "finish_confirm": "共 {n} 题，还有 {k} 题未作答，将按答错计分。仍要交卷吗？",
        "finish_yes": "仍然交卷",
        "finish_no": "继续作答",
        "abandon_exam": "放弃本次测验",
        "score": "得分",
        "score_value": "{score} / {total}",
        "percent": "正确率",
        "by_topic": "各主题得分",
        "col_topic": "主题",
        "col_correct": "答对",
        "col_total": "题数",
        "col_percent": "正确率 %",
        "missed": "答错的题目",
        "no_missed": "全部答对，没有错题。",
        "retry_missed": "重做答错的题",
        "new_exam": "新的测验",
        "exam_retry_badge": "重做 {n} 道错题",
        "seed_caption": "种子 {seed} · 共 {n} 题",
        "room_intro": "本服务器所有访客的匿名答题统计：每道题只记录作答次数和答对次数，不记录任何个人信息。",
        "room_total": "已记录的作答",
        "room_questions": "有人作答的题目",
        "room_wrong_share": "总体错误率",
        "room_empty": "还没有作答记录。练习和测验中的作答会显示在这里。",
        "room_chart_title": "全场最容易答错的题目",
        "room_axis_wrong": "全场作答比例 %",
        "room_right": "答对",
        "room_axis_question": "题目",
        "col_question": "题目",
        "col_answered": "作答次数",
        "col_wrong": "答错",
        "col_wrong_percent": "错误率 %",
        "refresh": "刷新",
        "reset_room": "清空全场统计",
        "reset_confirm": "确定删除全场所有作答记录吗？此操作无法撤销。",
        "reset_yes": "确定删除",
        "reset_cancel": "取消",
        "reset_done": "全场统计已清空：删除了 {n} 条作答。",
        "presenter": "主持人",
        "bank_error": "题库无法加载",
        "room_error": "全场统计",
    },
}


PLURAL_COUNTS = ("k", "n")
"""A text with plural forms ({"one": ..., "other": ...}) picks "one" when the first of these values it is
given is 1 (Chinese has one form: a plain string)."""


def ui_text(lang: str, key: str, **values: object) -> str:
    """The UI string `key` in `lang` ('en' or 'zh'), formatted with `values` (plural forms by count)."""
    if lang not in UI:
        raise ValueError(f"Unknown language {lang!r}: choose 'en' or 'zh'.")
    entry = UI[lang][key]
    if isinstance(entry, dict):
        count = next((values[name] for name in PLURAL_COUNTS if name in values), None)
        entry = entry["one" if count == 1 else "other"]
    return entry.format(**values) if values else entry


def topic_label(topic: str, lang: str) -> str:
    return TOPIC_LABELS[lang][topic]


def source_label(source: str, lang: str) -> str:
    return SOURCE_LABELS[lang][source]
