"""The QAT job's verdict as data: a list of {"tone", "key", "params"}, rendered in any language (``qat.verdict.*``).

Per bitwidth, for each model: how many points QAT (labels only) won back over PTQ, as a share of what PTQ lost
(float − PTQ), and whether the teacher's soft targets (QAT + teacher) added anything beyond the seed noise:

    difference d = mean(QAT + teacher) − mean(QAT),   noise = √(s²_teacher / n + s²_plain / n)   (sample std s)

The teacher "helps" when d > 2 · noise, "hurts" when d < −2 · noise, and is "within the noise" otherwise; with one
seed the noise is unknown, and the verdict says so instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NOTHING_TO_WIN_POINTS = 0.5
"""When PTQ costs less than this (points), there is nothing for QAT to win back."""
NOISE_SIGMAS = 2.0


@dataclass(frozen=True)
class QATVerdict:
    items: tuple[dict[str, Any], ...]

    def to_dict(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self.items]

    def text(self, lang: str = "en") -> str:
        return " ".join(verdict_text(item, lang) for item in self.items)


def _find(summary: list[dict[str, Any]], model: str, bits: int, teacher: bool) -> dict[str, Any] | None:
    for row in summary:
        if row["model"] == model and int(row["bits"]) == int(bits) and bool(row["teacher"]) == teacher:
            return row
    return None


def qat_verdict(summary: list[dict[str, Any]]) -> QATVerdict:
    """What the summary rows (`qat.summarize`) say, model by model and bitwidth by bitwidth (low to high: the
    headline is what QAT did where PTQ hurt most)."""
    items: list[dict[str, Any]] = []
    if not summary:
        return QATVerdict(({"tone": "info", "key": "qat.verdict.empty", "params": {}},))
    models = list(dict.fromkeys(row["model"] for row in summary))
    for model in models:
        for bits in sorted({int(r["bits"]) for r in summary if r["model"] == model}):  # low bits first: they matter
            plain, taught = _find(summary, model, bits, False), _find(summary, model, bits, True)
            first = plain or taught
            if first is None:
                continue
            ptq, flt = 100 * first["ptq_accuracy"], 100 * first["float_accuracy"]
            lost = flt - ptq
            base = {"model": model, "bits": bits, "ptq": ptq, "float": flt}
            if plain is not None:
                qat = 100 * plain["test_accuracy"]
                won = qat - ptq
                if lost < NOTHING_TO_WIN_POINTS:
                    items.append({"tone": "info", "key": "qat.verdict.nothing_to_win",
                                  "params": {**base, "qat": qat, "lost": lost}})  # fmt: skip
                elif won > 0:
                    items.append({"tone": "good", "key": "qat.verdict.won_back",
                                  "params": {**base, "qat": qat, "points": won, "share": 100 * won / lost}})  # fmt: skip
                else:
                    items.append({"tone": "warn", "key": "qat.verdict.no_gain",
                                  "params": {**base, "qat": qat, "points": -won}})  # fmt: skip
            if plain is not None and taught is not None:
                diff = 100 * (taught["test_accuracy"] - plain["test_accuracy"])
                n = min(int(plain.get("seeds", 1)), int(taught.get("seeds", 1)))
                params = {"model": model, "bits": bits, "points": diff, "with": 100 * taught["test_accuracy"],
                          "without": 100 * plain["test_accuracy"]}  # fmt: skip
                if n < 2 or plain.get("std") is None or taught.get("std") is None:
                    items.append({"tone": "info", "key": "qat.verdict.teacher_one_seed", "params": params})
                    continue
                noise = 100 * math.sqrt((plain["std"] ** 2 + taught["std"] ** 2) / n)
                params = {**params, "noise": noise, "seeds": n}
                if diff > NOISE_SIGMAS * noise:
                    items.append({"tone": "good", "key": "qat.verdict.teacher_helped", "params": params})
                elif diff < -NOISE_SIGMAS * noise:
                    items.append({"tone": "warn", "key": "qat.verdict.teacher_hurt", "params": params})
                else:
                    items.append({"tone": "info", "key": "qat.verdict.teacher_noise", "params": params})
    return QATVerdict(tuple(items))


def verdict_text(item: dict[str, Any], lang: str = "en") -> str:
    """One verdict item in `lang`, the model named by its title (``compress.role.*``)."""
    from compression.i18n import CatalogueError, t

    params = dict(item.get("params", {}))
    if "model" in params:
        try:
            title = t(f"compress.role.{params['model']}", lang)
        except CatalogueError:
            title = str(params["model"])
        params["model"] = title.lower() if lang == "en" else title
    text = t(str(item["key"]), lang, **params)
    return text[0].upper() + text[1:] if lang == "en" and text else text
