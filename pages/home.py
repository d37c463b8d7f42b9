"""Landing page: what model compression is, the two methods, the article's table, links to each page."""

from __future__ import annotations

import streamlit as st

from compression.article import ARTICLE_TITLE, comparison_table
from compression.config import Settings
from compression.device import DeviceInfo, device_info, format_bytes
from pages._shared import existing_feature_pages, lang, lang_query, page_blurb, page_title, require_router, t

require_router()


@st.cache_data(ttl=60, show_spinner=False)
def _machine(preference: str) -> DeviceInfo:
    """Shared by every visitor: the device does not change between two visits."""
    return device_info(preference)


st.title(t("home.title"), anchor=False)
st.markdown(t("home.intro"))

left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("home.what.heading"), anchor=False)
    st.markdown(t("home.what.body"))
with right:
    st.subheader(t("home.quantization.heading"), anchor=False)
    st.markdown(t("home.quantization.body"))
    st.subheader(t("home.distillation.heading"), anchor=False)
    st.markdown(t("home.distillation.body"))

st.subheader(t("home.table.heading"), anchor=False)
# The table shows the visitor's language; the toggle shows the other one (the Chinese original, or the
# English translation). One toggle key per language, so switching language starts from the visitor's own.
if lang() == "zh":
    other = st.toggle(t("home.table.toggle_translation"), key="home_table_en")
    table_lang = "en" if other else "zh"
else:
    other = st.toggle(t("home.table.toggle_original"), key="home_table_zh")
    table_lang = "zh" if other else "en"
st.caption(t("home.table.source", title=ARTICLE_TITLE[table_lang]))
# st.table, not st.dataframe: an explanatory table wraps its text instead of cutting it or scrolling sideways.
st.table(comparison_table(table_lang), border="horizontal")
st.caption(t("home.table.note"))

pages = existing_feature_pages()
if pages:
    st.subheader(t("home.start.heading"), anchor=False)
    per_row = 2  # five cards in one row cut their "Open ..." links at 1280 px; two fit every screen
    columns = [column for start in range(0, len(pages), per_row) for column in st.columns(per_row)]
    for column, spec in zip(columns, pages, strict=False):
        with column.container(border=True):
            title = page_title(spec)
            st.markdown(f"**{title}**")
            st.caption(page_blurb(spec))
            st.page_link(
                spec.file,
                label=t("home.start.open", page=title.lower() if lang() == "en" else title),
                icon=spec.icon,
                query_params=lang_query(),
            )

with st.expander(t("home.machine.heading")):
    try:
        settings = Settings.from_env()
        info = _machine(settings.device)
    except ValueError as exc:
        st.error(t("app.device.settings_error", error=exc))
    else:
        build = (
            t("app.device.cuda_build", version=info.cuda_version) if info.cuda_version else t("app.device.cpu_build")
        )
        device = f"{ {'cuda': 'CUDA', 'mps': 'Apple MPS'}.get(info.kind, 'CPU') }: {info.name}"
        if info.total_memory_bytes is not None:
            free = format_bytes(info.free_memory_bytes) if info.free_memory_bytes is not None else "?"
            device += f" ({t('app.device.memory', total=format_bytes(info.total_memory_bytes), free=free)})"
        st.markdown(
            t(
                "home.machine.summary",
                device=device,
                torch=info.torch_version,
                build=build,
                threads=settings.train_threads,
                cores=info.cpu_count,
            )
        )
        if info.kind == "cpu":
            st.caption(t("home.machine.cpu_note"))
