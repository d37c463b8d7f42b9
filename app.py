"""Compression Lab: the router. Page config, navigation over pages/, and the sidebar (language, device panel)."""

from __future__ import annotations

import gc
import importlib

import streamlit as st

from compression.config import Settings
from compression.device import DeviceInfo, device_info, format_bytes
from pages._shared import (
    HOME,
    existing_feature_pages,
    get_manager,
    lang,
    language_switch,
    page_title,
    report_unexpected,
    start_job_manager,
    sync_lang,
    t,
)


@st.cache_resource
def _tab_icon():  # noqa: ANN202 - a PIL image
    """The tab icon, drawn here: a ":material/...:" page icon is fetched from an outside font host, which a
    server without internet never reaches (no favicon). Four bars narrowing downwards: a model compressed."""
    from PIL import Image, ImageDraw

    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((2, 2, 61, 61), radius=12, fill=(37, 99, 235, 255))
    for row, width in enumerate((44, 34, 24, 14)):
        top = 10 + 12 * row
        draw.rounded_rectangle((32 - width // 2, top, 32 + width // 2, top + 7), radius=3, fill="white")
    return icon


st.set_page_config(
    page_title="Compression Lab",
    page_icon=_tab_icon(),
    layout="wide",
    # "auto": open on a laptop or projector, collapsed on a phone (Streamlit's breakpoint is 768 px).
    initial_sidebar_state="auto",
)


# Imported by the pages anyway; loaded before the freeze below so their objects are frozen too.
_HEAVY_MODULES = ("torch", "pandas", "plotly.graph_objects", "plotly.express", "compression.distillation.jobs")


@st.cache_resource(show_spinner=False)
def _freeze_startup_objects() -> int:
    """Once per server process: move the ~400,000 objects of torch, pandas and plotly out of the garbage
    collector's way (gc.freeze). A full collection then costs microseconds instead of ~0.18 s; with
    `runner.postScriptGC = false` (.streamlit/config.toml) this keeps each page poll cheap."""
    for name in _HEAVY_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@st.cache_data(ttl=15, show_spinner=False)
def _device_panel_info(preference: str) -> DeviceInfo:
    """Shared by every visitor, refreshed after a few seconds: free GPU memory changes while jobs run."""
    return device_info(preference)


def device_panel() -> None:
    """Sidebar: the device training will use, its memory, torch/CUDA versions, CPU threads."""
    with st.sidebar.container(border=True, key="device_panel"):
        st.markdown(t("app.device.heading"))
        try:
            settings = Settings.from_env()
            info = _device_panel_info(settings.device)
        except ValueError as exc:
            st.error(t("app.device.settings_error", error=exc))
            return
        st.markdown(f"`{info.device}` · {info.name}")
        if info.total_memory_bytes is not None:
            free = format_bytes(info.free_memory_bytes) if info.free_memory_bytes is not None else "?"
            st.caption(t("app.device.memory", total=format_bytes(info.total_memory_bytes), free=free))
        build = (
            t("app.device.cuda_build", version=info.cuda_version) if info.cuda_version else t("app.device.cpu_build")
        )
        st.caption(
            t(
                "app.device.versions",
                torch=info.torch_version,
                build=build,
                threads=settings.train_threads,  # what one training uses, not this process's torch threads
                cores=info.cpu_count,
            )
        )
        slots_panel(settings, str(info.device))


RAY_STATES = {"connected": "app.device.ray_connected", "connecting": "app.device.ray_connecting",
              "unreachable": "app.device.ray_down", "missing": "app.device.ray_missing"}  # fmt: skip


def slots_panel(settings: Settings, device: str) -> None:
    """Where jobs run: the Ray cluster (address, reachable, CPUs/GPUs), then each slot with its job or free."""
    try:
        manager = get_manager(settings)
    except ValueError as exc:  # the run store cannot be opened: the pages say so where they use it
        st.caption(t("app.device.settings_error", error=exc))
        return
    cluster = manager.backend_info()
    if cluster is not None:
        line = t(RAY_STATES[cluster["state"]], **{k: v for k, v in cluster.items() if k != "error"})
        if cluster["state"] == "connected":
            st.caption(line)
        else:
            st.warning(line + ("\n\n" + cluster["error"].message(lang()) if cluster["error"] else ""))
    lines = manager.device_slots() or [
        {"slot": device if i == 0 else f"{device}#{i}", "device": device, "job": None, "waiting": 0}
        for i in range(manager.slots(device))
    ]
    busy = sum(1 for line in lines if line["job"])
    st.caption(t("app.device.slots", busy=busy, total=len(lines)))
    text = []
    for line in lines:
        if line["job"]:
            text.append(t("app.device.slot_busy", slot=line["slot"], kind=line["kind"], job=line["job"],
                          owner=line["owner"] or "?"))  # fmt: skip
        else:
            text.append(t("app.device.slot_free", slot=line["slot"]))
    waiting = sum({line["device"]: line["waiting"] for line in lines}.values())
    if waiting:
        text.append(t("app.device.slot_waiting", waiting=waiting))
    st.caption("  \n".join(text))


_freeze_startup_objects()
sync_lang()
pages = [st.Page(HOME.file, title=page_title(HOME), icon=HOME.icon, url_path=HOME.url_path, default=True)]
pages += [st.Page(s.file, title=page_title(s), icon=s.icon, url_path=s.url_path) for s in existing_feature_pages()]
current = st.navigation(pages, position="sidebar", expanded=True)
language_switch()
start_job_manager()  # once per server process: jobs a crashed server left "running" become "interrupted"
device_panel()
# On a phone Plotly's toolbar (shown on tap) covered chart titles; pinching zooms there anyway. Style only:
# Streamlit puts a style-only st.html in the page's event container (no space in the layout).
st.html("<style>@media (max-width: 640px) { .js-plotly-plot .modebar-container { display: none !important; } }</style>")

try:
    current.run()
except Exception as exc:  # noqa: BLE001 - st.stop/st.rerun are BaseException and pass through
    report_unexpected(exc, current.title)
