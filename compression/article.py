"""Content taken from the seed article (shared/seed/, in Chinese), with English translations."""

from __future__ import annotations

import pandas as pd

ARTICLE_TITLE = {
    "en": "AI model compression: from quantization to knowledge distillation",
    "zh": "AI模型压缩：从量化到知识蒸馏",
}

# The article's question 6, "量化与知识蒸馏的比较": rows of (feature, quantization, distillation).
COMPARISON_ZH: tuple[tuple[str, str, str], ...] = (
    ("目标", "减小模型大小和计算量", "提高模型性能和可解释性"),
    ("方法", "参数转换和操作优化", "知识迁移和模型融合"),
    ("影响因素", "参数精度和硬件支持", "教师模型和学生模型的差异"),
    ("优点", "高效，适用于硬件加速", "保持性能，适用于模型压缩"),
    ("缺点", "可能导致精度损失", "可能需要更多计算资源和时间"),
)
COMPARISON_EN: tuple[tuple[str, str, str], ...] = (
    ("Goal", "Reduce model size and computation", "Improve model performance and interpretability"),
    ("Method", "Parameter conversion and operation optimisation", "Knowledge transfer and model fusion"),
    (
        "Influencing factors",
        "Parameter precision and hardware support",
        "Difference between teacher and student models",
    ),
    ("Advantages", "Efficient; suited to hardware acceleration", "Keeps performance; suited to model compression"),
    ("Disadvantages", "May lose accuracy", "May need more compute and training time"),
)
COMPARISON_HEADERS = {
    "en": ("Feature", "Quantization", "Knowledge distillation"),
    "zh": ("特性", "量化", "知识蒸馏"),
}


def comparison_table(lang: str = "en") -> pd.DataFrame:
    """The article's quantization-vs-distillation table, in "en" (translation) or "zh" (original)."""
    if lang not in COMPARISON_HEADERS:
        raise ValueError(f"Unknown language {lang!r}: choose 'en' or 'zh'.")
    rows = COMPARISON_EN if lang == "en" else COMPARISON_ZH
    feature, quant, kd = COMPARISON_HEADERS[lang]
    return pd.DataFrame(list(rows), columns=[feature, quant, kd]).set_index(feature)
