"""Compression Lab: the router. Page config, navigation over pages/, and the sidebar device panel."""

from __future__ import annotations

import streamlit as st

from compression.config import Settings
from compression.device import DeviceInfo, device_info, format_bytes
from pages._shared import HOME, existing_feature_pages, mark_interrupted_runs, report_unexpected

st.set_page_config(
    page_title="Compression Lab",
    page_icon=":material/compress:",
    layout="wide",
    initial_sidebar_state="expanded",
)


@st.cache_data(ttl=15, show_spinner=False)
def _device_panel_info(preference: str) -> DeviceInfo:
    """Cached a few seconds: free GPU memory changes while jobs run."""
    return device_info(preference)


def device_panel() -> None:
    """Sidebar: the device training will use, its memory, torch/CUDA versions, CPU threads."""
    with st.sidebar.container(border=True, key="device_panel"):
        st.markdown("**:material/memory: Training device**")
        try:
            settings = Settings.from_env()
            info = _device_panel_info(settings.device)
        except ValueError as exc:
            st.error(f"Device settings: {exc}")
            return
        st.markdown(f"`{info.device}` · {info.name}")
        if info.total_memory_bytes is not None:
            free = format_bytes(info.free_memory_bytes) if info.free_memory_bytes is not None else "?"
            st.caption(f"Memory: {format_bytes(info.total_memory_bytes)} total, {free} free")
        cuda = f"CUDA build {info.cuda_version}" if info.cuda_version else "CPU-only build"
        st.caption(
            f"torch {info.torch_version} · {cuda} · {settings.train_threads} CPU threads of {info.cpu_count} cores"
        )


pages = [st.Page(HOME.file, title=HOME.title, icon=HOME.icon, url_path=HOME.url_path, default=True)]
pages += [st.Page(s.file, title=s.title, icon=s.icon, url_path=s.url_path) for s in existing_feature_pages()]
current = st.navigation(pages, position="sidebar", expanded=True)
mark_interrupted_runs()  # once per server process: runs a crashed server left "running" become "interrupted"
device_panel()

try:
    current.run()
except Exception as exc:  # noqa: BLE001 - st.stop/st.rerun are BaseException and pass through
    report_unexpected(exc, current.title)
