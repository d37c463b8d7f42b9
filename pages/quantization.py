"""Quantization playground: every value, every bitwidth, its code and its rounding error, exact to PyTorch.

Deep links (the quiz links here): /quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate
&calibration=minmax (the contract is `compression.quantization.links`; "seed" still names the article's
scheme). A bad parameter shows a warning and falls back to the default.
"""

from __future__ import annotations

import streamlit as st

from compression import quantization as qz
from pages._quantization_charts import _error_vs_bits_figures, _heatmap, _transfer_section
from pages._quantization_inputs import (
    _error_vs_bits,
    _init_state,
    _sweep,
    quantizer_box,
    values_box,
)
from pages._quantization_tables import _article_section, _summary_notes, _summary_view, _value_table
from pages._shared import lang, require_router, show_error, t

require_router()

# ------------------------------------------------------------------ the page
st.title(t("quantization.title"), anchor=False)
st.markdown(t("quantization.intro"))
_init_state()
source, source_key, values = values_box()
bits, scheme, rounding, calibration, percentile, value_range, formats = quantizer_box()

if values is None or source_key is None:
    st.stop()

per_channel = bool(st.session_state.get("quant_per_channel")) and source == "layer"
round_seed = int(st.session_state.get("quant_round_seed_valid", 0))
options = (
    ("scheme", scheme),
    ("rounding", rounding),
    ("calibration", calibration),
    ("percentile", float(percentile)),
    ("value_range", value_range),
    ("seed", round_seed),
)
sweep_key = (source_key, per_channel, tuple(bits), options, tuple(formats))
try:
    with st.spinner(t("quantization.spinner.quantizing")):
        result = _sweep(source_key, per_channel, tuple(bits), (*options, ("float_formats", tuple(formats))))
except ValueError as exc:
    show_error(exc, t("quantization.quantizer.error"))
    st.stop()

integer_labels = [qz.label_for(b) for b in sorted(bits)]
n = result.count
language = lang()
st.subheader(t("quantization.summary.heading"), anchor=False)
st.caption(
    t(
        "quantization.summary.caption_one" if n == 1 else "quantization.summary.caption",
        n=n,
        scheme=scheme,
        rounding=result.rounding,
        calibration=result.calibration,
    )
    + (t("quantization.summary.per_channel") if per_channel else "")
)
summary, summary_config = _summary_view(result)
st.dataframe(summary, width="stretch", column_config=summary_config, key="quant_summary")
_summary_notes(result, list(summary.columns))

# ---- per-value table, paged
st.subheader(t("quantization.table.heading"), anchor=False)
_value_table(result)

# ---- charts
st.subheader(t("quantization.heatmap.heading"), anchor=False)
st.plotly_chart(_heatmap(sweep_key, result, language), width="stretch", key="quant_heatmap")

if integer_labels:
    st.subheader(t("quantization.transfer.heading"), anchor=False)
    _transfer_section(result, sweep_key, integer_labels, per_channel)

    st.subheader(t("quantization.bits.heading"), anchor=False)
    if per_channel:
        st.caption(t("quantization.bits.per_channel_note"))
    try:
        curve = _error_vs_bits(source_key, options)
    except ValueError as exc:
        show_error(exc, t("quantization.bits.error"))
    else:
        left, right = st.columns(2)
        mse_fig, sqnr_fig = _error_vs_bits_figures((source_key, options), curve, tuple(bits), language)
        left.plotly_chart(mse_fig, width="stretch", key="quant_mse_bits")
        right.plotly_chart(sqnr_fig, width="stretch", key="quant_sqnr_bits")
        st.caption(t("quantization.bits.caption"))
        undrawn = curve[curve["note"].notna()]
        for note, rows in undrawn.groupby("note", sort=False):
            st.caption(
                t(
                    "quantization.bits.not_drawn",
                    bits=", ".join(str(b) for b in rows["bits"]),
                    reason=t(f"quantization.note.{note}"),
                )
            )

_article_section(source_key, bits, n)
