"""The deploy benchmark's verdict as data: a list of {"tone", "key", "params"}, rendered in any language.

tone: "good" (int8 pays here), "warn" (it does not, or it costs agreement), "info" (a fact to know).
key: a catalogue key (``deploy.verdict.*``); params: its figures. `verdict_text` renders one in a language,
with a model's role shown by its title (``compress.role.*``).

Speed ratios compare int8 with the same runtime's float32 (ratio = float32 ms / int8 ms; above 1 is faster),
and the headline compares the int8 distilled student with the float32 teacher in that runtime. When int8 is
not faster, the verdict says why as far as the figures show it: no VNNI on this CPU; dynamic mode's
convolutions (ConvInteger, which has no fast int8 kernel in ONNX Runtime's CPU provider); or a model so small
that the quantize/dequantize steps and per-call overhead cost what int8 arithmetic saves.
"""

from __future__ import annotations

from typing import Any

FASTER = 1.1
"""A ratio above this counts as faster; below 1/FASTER as slower; between, about the same."""
SMALL_MACS = 200_000
"""Multiply-adds per example under which a model is 'too small to matter' for int8 on a CPU."""
LOW_AGREEMENT = 0.97


def _rows(result: dict[str, Any], role: str, fmt: str) -> dict[str, Any] | None:
    for row in result.get("rows", []):
        if row["model"] == role and row["format"] == fmt:
            return row
    return None


def _ratio(slow: dict[str, Any], fast: dict[str, Any], batch: int) -> float | None:
    a, b = slow.get("latency_ms", {}).get(str(batch)), fast.get("latency_ms", {}).get(str(batch))
    return None if not a or not b else float(a) / float(b)


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """What the measured table says, most important first (see the module doc)."""
    out: list[dict[str, Any]] = []
    env = result.get("env", {})
    batches = [int(b) for b in result.get("batch_sizes", [])]
    roles = list(dict.fromkeys(r["model"] for r in result.get("rows", [])))
    measured = bool(batches) and any(r.get("latency_ms") for r in result.get("rows", []))
    small_b, large_b = (batches[0], batches[-1]) if batches else (1, 1)

    teacher = _rows(result, "teacher", "float32")
    student = _rows(result, "student", "int8")
    if measured and teacher and student:
        ratio = _ratio(teacher, student, large_b)
        if ratio:
            points = 100 * (teacher["test_accuracy"] - student["test_accuracy"])
            speed = "faster" if ratio >= 1 else "slower"
            accuracy = "less" if points >= 0 else "more"
            out.append(
                {
                    "tone": "good" if ratio >= FASTER and points <= 1 else "info",
                    "key": f"deploy.verdict.headline_{speed}_{accuracy}",
                    "params": {
                        "model": "student",
                        "ratio": ratio if ratio >= 1 else 1 / ratio,
                        "batch": large_b,
                        "points": abs(points),
                        "bytes_ratio": teacher["file_bytes"] / max(1, student["file_bytes"]),
                    },
                }
            )

    reasons: set[str] = set()
    for role in roles:
        f32, i8 = _rows(result, role, "float32"), _rows(result, role, "int8")
        if not (f32 and i8):
            continue
        bytes_ratio = f32["file_bytes"] / max(1, i8["file_bytes"])
        if measured:
            r_small, r_large = _ratio(f32, i8, small_b), _ratio(f32, i8, large_b)
            if r_small is None or r_large is None:
                continue
            params = {"model": role, "r_small": r_small, "b_small": small_b, "r_large": r_large, "b_large": large_b,
                      "bytes_ratio": bytes_ratio}  # fmt: skip
            if r_small >= FASTER and r_large >= FASTER:
                out.append({"tone": "good", "key": "deploy.verdict.int8_faster", "params": params})
            elif r_small < FASTER and r_large < FASTER:
                out.append({"tone": "warn", "key": "deploy.verdict.int8_not_faster", "params": params})
            else:
                out.append({"tone": "warn", "key": "deploy.verdict.int8_mixed", "params": params})
            if min(r_small, r_large) < FASTER:
                if not env.get("has_vnni", False):
                    reasons.add("no_vnni")
                elif i8.get("quant_mode") == "dynamic" and f32.get("has_conv"):
                    reasons.add(f"dynamic_conv:{role}")
                elif int(f32.get("macs_per_example", 0)) < SMALL_MACS:
                    reasons.add(f"small:{role}")
                else:
                    reasons.add("overhead")
        agreement = i8.get("agreement_float32")
        if agreement is not None and agreement < LOW_AGREEMENT:
            out.append({"tone": "warn", "key": "deploy.verdict.agreement_low",
                        "params": {"model": role, "agreement": 100 * agreement}})  # fmt: skip
        else:
            points = 100 * (f32["test_accuracy"] - i8["test_accuracy"])
            out.append({"tone": "info", "key": "deploy.verdict.accuracy", "params": {
                "model": role, "points": abs(points), "agreement": 100 * (agreement or 0), "bytes_ratio": bytes_ratio,
                "direction": "less" if points >= 0 else "more"}})  # fmt: skip
    if "no_vnni" in reasons:
        out.append({"tone": "warn", "key": "deploy.verdict.why_no_vnni", "params": {"cpu": env.get("cpu", "")}})
    for reason in sorted(r for r in reasons if r.startswith("small:")):
        role = reason.split(":", 1)[1]
        macs = int((_rows(result, role, "float32") or {}).get("macs_per_example", 0))
        out.append({"tone": "warn", "key": "deploy.verdict.why_small", "params": {"model": role, "macs": macs}})
    for reason in sorted(r for r in reasons if r.startswith("dynamic_conv:")):
        out.append(
            {"tone": "warn", "key": "deploy.verdict.why_dynamic_conv", "params": {"model": reason.split(":", 1)[1]}}
        )
    if "overhead" in reasons:
        out.append({"tone": "warn", "key": "deploy.verdict.why_overhead", "params": {"threads": env.get("threads", 1)}})
    for bits in sorted({int(r["format"][3:]) for r in result.get("rows", []) if r.get("no_kernel")}, reverse=True):
        out.append({"tone": "info", "key": "deploy.verdict.no_kernel", "params": {"bits": bits}})
    if not measured:
        out.append({"tone": "info", "key": "deploy.verdict.not_measured", "params": {}})
    return out


def render(key: str, params: dict[str, Any], lang: str = "en") -> str:
    """A catalogue text with its figures in `lang`; a "model" figure (a role) is shown by its title."""
    from compression.i18n import CatalogueError, t

    values = dict(params)
    if "model" in values:
        try:
            title = t(f"compress.role.{values['model']}", lang)
        except CatalogueError:
            title = str(values["model"])
        values["model"] = title.lower() if lang == "en" else title
    if "direction" in values:
        values["direction"] = t(f"deploy.verdict.word_{values['direction']}", lang)
    return t(key, lang, **values)


def verdict_text(verdict: dict[str, Any], lang: str = "en") -> str:
    """One verdict ({"tone", "key", "params"}) in `lang`."""
    return render(verdict["key"], verdict.get("params", {}), lang)


def event_text(event: dict[str, Any], lang: str = "en") -> str:
    """One progress event ({"phase", "done", "total", "message_key", "params"}) in `lang`."""
    return render(event["message_key"], event.get("params", {}), lang)


def tone(items: list[dict[str, Any]]) -> str:
    """The overall tone: "warn" when any verdict warns, else "good" when any is good, else "info"."""
    tones = {v.get("tone") for v in items}
    return "warn" if "warn" in tones else "good" if "good" in tones else "info"
