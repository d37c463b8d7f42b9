"""Compress a trained model: post-training quantization of a stored distillation run.

Pick a finished run, the models, bitwidths, granularity, scheme and calibration; see accuracy against size
(the staircase float32 teacher -> float32 distilled student -> int8 -> int4 -> int2), the table, a verdict,
per-layer sensitivity, one layer's weights with its levels, and a CSV. Numerics live in compression/ptq/core.py.
Deep link: /compress?run=RUN_ID&bits=8,4,2&granularity=per-channel
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compression import ptq
from compression import quantization as qz
from compression.config import Settings
from compression.distillation.store import RunStore
from compression.formats import FORMATS
from compression.ptq import kind as ptq_kind
from pages._charts import histogram_figure
from pages._deploy import deploy_section
from pages._ptq_job import queued_sweep
from pages._qat import qat_section
from pages._shared import (
    get_manager,
    is_presenter,
    lang,
    model_title,
    query_param,
    require_router,
    show_error,
    t,
    visitor_id,
)


def tx(key: str, /, **fmt: object) -> str:
    """This page's UI text (compression/i18n/*.yaml, compress.<key>) in the visitor's language."""
    return t(f"compress.{key}", **fmt)


role_title = model_title  # pages._shared: one title per model for Compress and Deploy


MODEL_COLORS = {"teacher": "#444b59", "student": "#2f6fdf", "baseline": "#e07b00", "smoothing": "#2a9d5b"}
GRANULARITY_OPTIONS = ptq.GRANULARITY_CHOICES
PLAYGROUND_MAX_VALUES = 20_000

require_router()


# ------------------------------------------------------------------ cached calls into compression
@st.cache_resource(show_spinner=False)
def get_store(runs_dir: str) -> RunStore:
    return RunStore(runs_dir)


@st.cache_resource(max_entries=4, show_spinner=False)
def load_models(runs_dir: str, run_id: str, updated_at: float, data_dir: str) -> ptq.StoredRunModels:
    """A run's float models and test split, shared by every session (never modified: PTQ works on copies)."""
    return ptq.load_run_models(get_store(runs_dir), run_id, data_dir=data_dir)


@st.cache_data(max_entries=16, show_spinner=False)
def run_sweep(
    _loaded: ptq.StoredRunModels, key: tuple, roles: tuple[str, ...], configs: tuple[ptq.PTQConfig, ...]
) -> pd.DataFrame:
    models = {role: _loaded.models[role] for role in roles}
    with qz.single_threaded():
        return ptq.sweep_models(
            models, _loaded.x_test, _loaded.y_test, list(configs),
            calibration_inputs=_loaded.calibration_inputs, reference_size=_loaded.teacher_size,
        )  # fmt: skip


@st.cache_data(max_entries=16, show_spinner=False)
def run_sensitivity(_loaded: ptq.StoredRunModels, key: tuple, role: str, config: ptq.PTQConfig) -> pd.DataFrame:
    with qz.single_threaded():
        return ptq.sensitivity(_loaded.models[role], _loaded.x_test, _loaded.y_test, config)


@st.cache_data(max_entries=16, show_spinner=False)
def storage(_loaded: ptq.StoredRunModels, key: tuple, role: str, config: ptq.PTQConfig) -> tuple[pd.DataFrame, int]:
    """Where the bytes go: one quantization per (run, model, configuration), shared by every rerun (it was
    quantized again on every render)."""
    with qz.single_threaded():
        q = ptq.quantize_model(_loaded.models[role], config)
    return q.storage_table(), q.size_bytes


@st.cache_data(max_entries=16, show_spinner=False)
def layer_sweep(
    _loaded: ptq.StoredRunModels, key: tuple, role: str, layer: str, bits: int, scheme: str, calibration: str
):
    weight = dict(_loaded.models[role].named_modules())[layer].weight.detach().reshape(-1).numpy().copy()
    return weight, qz.sweep(weight, [bits], scheme=scheme, calibration=calibration)


# ------------------------------------------------------------------ charts
def byte_ticks(sizes: pd.Series) -> dict:
    """Log-axis ticks at 1, 2 and 5 × 10^k bytes across the data, labelled 500 B, 2 KB, 1 MB."""
    low, high = float(sizes.min()), float(sizes.max())
    values = [m * 10.0**k for k in range(0, 13) for m in (1, 2, 5) if low / 1.5 <= m * 10.0**k <= high * 1.5]

    def label(v: float) -> str:
        for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
            if v >= size:
                return f"{v / size:g} {unit}"
        return f"{v:g} B"

    return {"tickvals": values, "ticktext": [label(v) for v in values]}


def headline_figure(frame: pd.DataFrame, steps: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for role, group in frame.groupby("model", sort=False):
        quantized = group[group["bits"] < 32]
        floats = group[group["bits"] == 32]
        color = MODEL_COLORS.get(str(role), "#888")
        name = role_title(str(role))
        fig.add_trace(
            go.Scatter(
                x=quantized["size_bytes"], y=100 * quantized["test_accuracy"], mode="markers", name=name,
                marker={"color": color, "size": 9}, legendgroup=str(role), text=quantized["config"],
                hovertemplate="%{text}<br>%{y:.2f}% · %{x:,} bytes<extra>" + name + "</extra>",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=floats["size_bytes"], y=100 * floats["test_accuracy"], mode="markers", name=f"{name} float32",
                marker={"color": color, "size": 15, "symbol": "star", "line": {"color": "white", "width": 1}},
                legendgroup=str(role), showlegend=False,
                hovertemplate="float32<br>%{y:.2f}% · %{x:,} bytes<extra>" + name + "</extra>",
            )
        )  # fmt: skip
    if len(steps) > 1:
        fig.add_trace(
            go.Scatter(
                x=steps["size_bytes"], y=100 * steps["test_accuracy"], mode="lines+text", name=tx("staircase"),
                line={"color": "#d62728", "width": 2, "shape": "hv", "dash": "dot"}, text=steps["step"],
                textposition="top center", textfont={"size": 11}, hoverinfo="skip",
            )
        )  # fmt: skip
    fig.update_layout(
        title={"text": tx("headline"), "font": {"size": 14}},
        xaxis={"title": tx("size_axis"), "type": "log", **byte_ticks(frame["size_bytes"])},
        yaxis={"title": tx("accuracy_axis")},
        height=460,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.22},
    )
    return fig


def sensitivity_figure(sens: pd.DataFrame, label: str) -> go.Figure:
    names = [f"{r['layer']}: {r['kind']}" for _, r in sens.iterrows()]
    fig = go.Figure(
        go.Bar(
            x=sens["accuracy_drop_points"], y=names, orientation="h", marker={"color": "#2f6fdf"},
            text=[f"{d:+.2f} {tx('points')} · {s:.1f} dB" for d, s in zip(sens["accuracy_drop_points"], sens["weight_sqnr_db"], strict=True)],
            textposition="auto", hovertemplate="%{y}<br>" + tx("sensitivity_hover") + "<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title={"text": tx("sensitivity_title", label=label), "font": {"size": 14}},
        xaxis_title=tx("sensitivity_axis"),
        yaxis={"autorange": "reversed"},
        height=max(220, 70 + 45 * len(sens)),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "model": frame["model"].map(role_title),
            "configuration": frame["config"],
            "accuracy %": 100 * frame["test_accuracy"],
            "drop (points)": 100 * frame["accuracy_drop"],
            "agrees with float %": 100 * frame["agreement"],
            "size KiB": frame["size_bytes"] / 1024,
            "× smaller than teacher": frame["compression_ratio"],
        }
    )
    return out


# ------------------------------------------------------------------ state and deep links
def _bits_param(raw: str) -> list[int]:
    return ptq.parse_bits_list(raw)


def _granularity_param(raw: str) -> str:
    return ptq.parse_granularity_choice(raw)


def init_state(run_ids: list[str]) -> None:
    """Defaults once per visit; a ?run= link (the trainer's "Compress this run") selects that run."""
    wanted = st.query_params.get("run")
    if wanted and wanted != st.session_state.get("_compress_applied_run"):
        st.session_state["_compress_applied_run"] = wanted
        if wanted in run_ids:
            st.session_state["compress_run"] = wanted
        else:
            shown = wanted[:40].replace("`", "'")  # inside a code span: Markdown stays text
            st.warning(tx("bad_run_link", run=shown), icon=":material/link_off:")
    if st.session_state.get("compress_run") not in run_ids:
        st.session_state["compress_run"] = run_ids[0]
    if "compress_bits" not in st.session_state:
        st.session_state["compress_bits"] = query_param("bits", _bits_param, [8, 4, 2])
        st.session_state["compress_granularity"] = query_param("granularity", _granularity_param, "per-channel")
    st.session_state.setdefault("compress_models", ["teacher", "student", "baseline"])
    st.session_state.setdefault("compress_scheme", "symmetric")
    st.session_state.setdefault("compress_calibration", "minmax")
    st.session_state.setdefault("compress_formats", [])
    st.session_state.setdefault("compress_activations", False)


def open_in_playground(weights: np.ndarray, bits: int, scheme: str, calibration: str) -> None:
    """Hand one layer's weights to the playground as typed values, with its bits, scheme and calibration.

    The playground reads its widgets' keys from session state; setting `quant_bits` tells it its defaults
    are already in place, so the values set here are the ones it shows.
    """
    values = weights
    if values.size > PLAYGROUND_MAX_VALUES:
        step = int(np.ceil(values.size / PLAYGROUND_MAX_VALUES))
        values = values[::step]
    state = st.session_state
    state["quant_source"] = "text"
    state["quant_text"] = ", ".join(f"{v:.6g}" for v in values.tolist())
    state["quant_bits"] = [bits]
    state["quant_scheme"] = scheme
    state["quant_rounding"] = "nearest"
    state["quant_calibration"] = calibration
    for key, default in (
        ("quant_percentile", 99.9), ("quant_range_min", -1.0), ("quant_range_max", 1.0), ("quant_dist", "normal"),
        ("quant_count", 10_000), ("quant_seed", 0), ("quant_layer", "linear_784_128"), ("quant_per_channel", False),
        ("quant_formats", []), ("quant_page_size", 25), ("quant_page", 1), ("quant_round_seed", 0),
    ):  # fmt: skip
        state[key] = default
    st.switch_page("pages/quantization.py")


# ------------------------------------------------------------------ the page
st.title(tx("title"), anchor=False)
st.caption(tx("intro"))

try:
    settings = Settings.from_env()
    store = get_store(str(settings.runs_dir))
    runs = store.list_runs(limit=100)
except ValueError as exc:
    show_error(exc, tx("error_run"))
    st.stop()
done = runs[runs["status"] == "done"]
if done.empty:
    st.info(tx("empty"), icon=":material/info:")
    st.page_link("pages/distillation.py", label=tx("to_trainer"), icon=":material/model_training:")
    st.stop()

run_ids = [str(r) for r in done["id"]]
# Short enough for a phone's select box; the chosen run's models are in the caption below it.
labels = {str(r["id"]): f"{r['created']:%m-%d %H:%M} · {r['dataset']} · {r['id']}" for _, r in done.iterrows()}
models_of = {str(r["id"]): f"{r['teacher']} → {r['student']}" for _, r in done.iterrows()}
init_state(run_ids)

with st.container(border=True, key="compress_controls"):
    run_id = st.selectbox(tx("run"), run_ids, format_func=labels.get, key="compress_run", help=tx("run_help"))
    st.caption(models_of.get(run_id, ""))
    c1, c2, c3 = st.columns([2, 2, 1])
    # Pills, not a multiselect: their chips wrap instead of being cut ("Bas…") in a third of a laptop's width.
    roles = (
        c1.pills(
            tx("models"),
            list(ptq.ROLES),
            selection_mode="multi",
            format_func={r: role_title(r) for r in ptq.ROLES}.get,
            key="compress_models",
            wrap=True,  # directly in a column pills would scroll sideways, cut at the column's edge
        )
        or []
    )
    bits = c2.multiselect(
        tx("bits"),
        list(range(ptq.MAX_BITS, ptq.MIN_BITS - 1, -1)),
        key="compress_bits",
        placeholder=tx("choose"),
        help=tx("bits_help"),
    )
    granularity = c3.selectbox(
        tx("granularity"),
        list(GRANULARITY_OPTIONS),
        format_func={g: tx(f"granularity_option.{g}") for g in GRANULARITY_OPTIONS}.get,
        key="compress_granularity",
        help=tx("granularity_help"),
    )
    c4, c5, c6 = st.columns([2, 2, 2])
    scheme = c4.selectbox(
        tx("scheme"),
        list(ptq.INTEGER_SCHEMES),
        format_func={k: tx(f"scheme_option.{k}") for k in ptq.INTEGER_SCHEMES}.get,
        key="compress_scheme",
    )
    calibration = c5.selectbox(
        tx("calibration"),
        list(ptq.CALIBRATIONS),
        format_func={k: tx(f"calibration_option.{k}") for k in ptq.CALIBRATIONS}.get,
        key="compress_calibration",
    )
    formats = c6.multiselect(
        tx("formats"), list(ptq.FLOAT_SCHEMES), format_func=lambda k: FORMATS[k].name, key="compress_formats", placeholder=tx("choose"),
        help=tx("formats_help"),
    )  # fmt: skip
    activations = st.toggle(tx("activations"), key="compress_activations", help=tx("activations_help"))

if st.query_params.get("run") != run_id:
    st.query_params["run"] = run_id
    st.session_state["_compress_applied_run"] = run_id

if not roles:
    st.info(tx("no_models"), icon=":material/info:")
    st.stop()
if not bits and not formats:
    st.info(tx("no_bits"), icon=":material/info:")
    st.stop()

record_time = float(done.set_index("id").loc[run_id, "created"].timestamp())
try:
    with st.spinner(tx("loading")):
        loaded = load_models(str(settings.runs_dir), run_id, record_time, str(settings.data_dir))
except ValueError as exc:
    show_error(exc, tx("error_run"))
    st.stop()

roles = [r for r in roles if r in loaded.models]
granularities = ["per-channel", "per-tensor"] if granularity == "both" else [granularity]
try:
    configs = ptq.configs_for(
        sorted(bits, reverse=True), granularities, scheme=scheme, calibrations=[calibration], float_formats=formats,
        activations=activations,
    )  # fmt: skip
    cache_key = (str(settings.runs_dir), run_id, record_time)
    manager = get_manager(settings)
    estimate = ptq_kind.estimate_ptq_seconds(loaded.config, roles, configs, manager.train_gflops)
    if estimate <= settings.ptq_inline_seconds:  # quantized here, once per input (cached)
        with st.spinner(tx("quantizing")):
            frame = run_sweep(loaded, cache_key, tuple(roles), tuple(configs))
    else:  # a large sweep is a job of the queue, like training
        job = ptq_kind.PTQSweepConfig(run_id, str(settings.runs_dir), tuple(roles), tuple(configs))
        frame = queued_sweep(manager, job, estimate, visitor_id(), privileged=is_presenter())
        if frame is None:
            st.stop()
except (ValueError, OSError) as exc:
    show_error(exc, tx("error_sweep"))
    st.stop()

main_granularity = granularities[0]
verdict = ptq.structured_verdict(frame, main_granularity)
verdict_text = verdict.text(lang())
# the colour follows what it says: green only when nothing it reports is a loss
show_verdict = {"good": st.success, "mixed": st.info, "bad": st.warning}.get(verdict.tone, st.info)
show_verdict(verdict_text, icon=":material/balance:")
steps = ptq.staircase(frame, main_granularity)
st.plotly_chart(headline_figure(frame, steps), width="stretch", key="compress_headline")
float_layers = sorted({name for cell in frame["float_layers"] if cell for name in cell.split(", ")})
if float_layers:
    st.warning(tx("float_layers", names=", ".join(float_layers)), icon=":material/warning:")

st.subheader(tx("table"), anchor=False)
st.dataframe(
    display_table(frame),
    hide_index=True,
    width="stretch",
    key="compress_table",
    column_config={
        "model": st.column_config.TextColumn(tx("col.model")),
        "configuration": st.column_config.TextColumn(tx("col.configuration")),
        "accuracy %": st.column_config.NumberColumn(tx("col.accuracy"), format="%.2f"),
        "drop (points)": st.column_config.NumberColumn(tx("col.drop"), format="%+.2f"),
        "agrees with float %": st.column_config.NumberColumn(tx("col.agreement"), format="%.2f"),
        "size KiB": st.column_config.NumberColumn(tx("col.size"), format="%.2f"),
        "× smaller than teacher": st.column_config.NumberColumn(tx("col.smaller"), format="%.1f"),
    },
)
st.download_button(
    tx("download"),
    frame.to_csv(index=False).encode(),
    file_name=f"compress-{run_id}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="compress_download_csv",
)

st.subheader(tx("sensitivity"), anchor=False)
st.caption(tx("sensitivity_caption"))
s1, s2 = st.columns(2)
sens_role = s1.selectbox(
    tx("sens_model"), roles, format_func={r: role_title(r) for r in roles}.get, key="compress_sens_model",
    index=roles.index("student") if "student" in roles else 0,
)  # fmt: skip
sens_options: dict[str, ptq.PTQConfig] = {}
for c in configs:  # weights only: sensitivity asks what each layer's weights cost
    weights_only = ptq.PTQConfig(c.bits, c.granularity, c.scheme, c.calibration)
    sens_options.setdefault(weights_only.label, weights_only)
default_label = (
    ptq.PTQConfig(min(bits), main_granularity, scheme, calibration).label if bits else next(iter(sens_options))
)
labels_list = list(sens_options)
sens_label = s2.selectbox(
    tx("sens_bits"), labels_list, index=labels_list.index(default_label), key="compress_sens_config"
)
sens_config = sens_options[sens_label]
with st.spinner(tx("measuring")):
    sens = run_sensitivity(loaded, cache_key, sens_role, sens_config)
st.plotly_chart(sensitivity_figure(sens, sens_config.label), width="stretch", key="compress_sensitivity")

st.subheader(tx("layer"), anchor=False)
layers = ptq.quantizable_layers(loaded.models[sens_role])
module_kinds = {name: ptq.describe_module(m) for name, m in loaded.models[sens_role].named_modules()}
l1, l2 = st.columns([2, 1])
layer = l1.selectbox(
    tx("layer_pick"), layers, format_func=lambda n: f"{n}: {module_kinds.get(n, '')}", key="compress_layer"
)
layer_bits = sens_config.bits if not sens_config.is_float_format else (min(bits) if bits else 8)
weights, layer_result = layer_sweep(loaded, cache_key, sens_role, layer, layer_bits, scheme, calibration)
st.plotly_chart(histogram_figure(layer_result, qz.label_for(layer_bits)), width="stretch", key="compress_layer_hist")
st.caption(tx("layer_caption"))
if l2.button(tx("playground"), icon=":material/open_in_new:", key="compress_to_playground", help=tx("playground_help")):
    open_in_playground(weights, layer_bits, scheme, calibration)

with st.expander(tx("storage")):
    st.caption(tx("storage_caption"))
    storage_table, storage_bytes = storage(loaded, cache_key, sens_role, sens_config)
    storage_columns = ["name", "kind", "quantized", "weights", "code_bytes", "scale_count", "scale_bytes",
                       "zero_point_bytes", "float_values", "float_bytes", "total_bytes", "note"]  # fmt: skip
    st.dataframe(
        storage_table[storage_columns],
        hide_index=True, width="stretch", key="compress_storage",
        column_config={c: st.column_config.Column(tx(f"col.{c}")) for c in storage_columns},
    )  # fmt: skip
    st.caption(
        tx(
            "storage_total",
            model=role_title(sens_role),
            config=sens_config.label,
            bytes=storage_bytes,
            float_bytes=ptq.float_size_bytes(loaded.models[sens_role]),
        )
    )

# QAT (train to win it back) and Deploy (ONNX, real int8 in ONNX Runtime): jobs of the queue
qat_section(run_id, manager, visitor_id(), is_presenter(), open_in_playground)
deploy_section(run_id, manager, visitor_id(), privileged=is_presenter())
