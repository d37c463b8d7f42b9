"""Landing page: what model compression is, the two methods, the article's table, links to each page."""

from __future__ import annotations

import streamlit as st

from compression.article import ARTICLE_TITLE, comparison_table
from pages._shared import existing_feature_pages, require_router

require_router()

st.title("Compression Lab", anchor=False)
st.markdown(
    "Learn model compression by doing it: quantize numbers and watch the rounding error, "
    "distil a small network from a large one and watch it catch up, and test what you understood."
)

left, right = st.columns(2, gap="large")
with left:
    st.subheader(":material/compress: What is model compression?", anchor=False)
    st.markdown(
        "A trained network is mostly numbers: millions of float32 weights. Compression makes the model "
        "**smaller and faster** (less memory, less bandwidth, less energy per prediction) while keeping "
        "as much of its accuracy as possible. That is what lets a model run on a phone, a microcontroller, "
        "or serve many more users on the same GPU."
    )
with right:
    st.subheader(":material/straighten: Quantization", anchor=False)
    st.markdown(
        "Store and compute with **fewer bits per number**: map each float to one of 2^b integer levels "
        "with a scale and a zero point, `q = clamp(round(x / scale) + zero_point, qmin, qmax)`. "
        "8 bits make a model 4× smaller than float32; the price is a rounding error of at most half a step."
    )
    st.subheader(":material/school: Knowledge distillation", anchor=False)
    st.markdown(
        "Train a **small student to imitate a large teacher**. The teacher's softened output "
        "probabilities (a temperature T > 1) tell the student which wrong answers are *almost* right, "
        "which is more information per example than the hard label alone (Hinton, Vinyals & Dean, 2015)."
    )

st.subheader(":material/table_chart: Quantization vs distillation, from the article", anchor=False)
show_original = st.toggle("Show the Chinese original (中文原文)", key="home_table_zh")
st.caption(f"Source: *{ARTICLE_TITLE['zh' if show_original else 'en']}*, question 6.")
st.dataframe(comparison_table("zh" if show_original else "en"), width="stretch")
st.caption(
    "A note on the table: distillation's usual aim is a smaller model that keeps the teacher's accuracy; "
    "it is not a technique for interpretability. The two methods also combine: distil first, then quantize the student."
)

pages = existing_feature_pages()
if pages:
    st.subheader(":material/explore: Start here", anchor=False)
    for column, spec in zip(st.columns(len(pages)), pages, strict=True):
        with column.container(border=True):
            st.markdown(f"**{spec.title}**")
            st.caption(spec.blurb)
            st.page_link(spec.file, label=f"Open {spec.title.lower()}", icon=spec.icon)

with st.expander(":material/memory: The machine behind this app"):
    from compression.config import Settings
    from compression.device import device_info

    try:
        info = device_info(Settings.from_env().device)
    except ValueError as exc:
        st.error(f"Device settings: {exc}")
    else:
        st.markdown(
            f"Training runs on **{info.summary}**. torch {info.torch_version}, "
            f"{'CUDA build ' + info.cuda_version if info.cuda_version else 'CPU-only build'}, "
            f"{info.cpu_threads} CPU threads."
        )
        if info.kind == "cpu":
            st.caption("No GPU here: the trainer uses the CPU, one training at a time, so the pages stay responsive.")
