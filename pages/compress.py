"""Compress a trained model: post-training quantization of a stored distillation run.

Pick a finished run, the models, bitwidths, granularity, scheme and calibration; see accuracy against size
(the staircase float32 teacher -> float32 distilled student -> int8 -> int4 -> int2), the table, a verdict,
per-layer sensitivity, one layer's weights with its levels, and a CSV. Numerics live in compression/ptq.py.
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
from pages._charts import histogram_figure
from pages._shared import query_param, require_router, show_error

# Every visitor-facing string of this page, in one place (a later pass moves them into the i18n catalogue).
TEXT: dict[str, str] = {
    "title": ":material/compress: Compress a trained model",
    "intro": (
        "Distil, then quantize: take the models the trainer produced and store their weights in fewer bits. "
        "Every configuration quantizes a copy (the stored float32 weights are never changed) and is measured "
        "on the run's own test set: accuracy, agreement with the float model, and the bytes a deployment "
        "would keep (packed codes, float32 scales, zero points, and float32 biases)."
    ),
    "empty": (
        "The run store has no finished training run yet. Train one on the Distillation trainer page "
        "(the default run takes about half a minute), then come back here."
    ),
    "to_trainer": "Open the Distillation trainer",
    "run": "Run",
    "run_help": "Finished runs of the trainer, newest first.",
    "models": "Models",
    "bits": "Bitwidths (integer)",
    "bits_help": "Each weight is stored as a code of this many bits: 2 to 8.",
    "granularity": "Granularity",
    "granularity_help": "One scale per layer (per-tensor) or one per output channel (per-channel).",
    "scheme": "Scheme",
    "calibration": "Calibration (the range)",
    "formats": "Low-bit float formats",
    "formats_help": "FP8 has one scale per tensor or channel; FP4 and NF4 one per block of 32 or 64 weights.",
    "activations": "Also quantize activations to 8 bits",
    "activations_help": (
        "Static: each layer's input range is observed on 4 training batches (256 examples), then every input "
        "is rounded to 256 levels. Compare with weights only."
    ),
    "no_bits": "Choose at least one bitwidth or float format.",
    "no_models": "Choose at least one model.",
    "loading": "Loading the run's models...",
    "headline": "Accuracy against size",
    "staircase": "staircase: teacher → student → fewer bits",
    "table": ":material/table: Every configuration",
    "sensitivity": ":material/bar_chart: Per-layer sensitivity",
    "sensitivity_caption": (
        "Each layer quantized alone (the others stay float32): the accuracy it costs, and its weight SQNR "
        "10·log10(mean(W²) / mean((W_q − W)²)). A layer that costs the most is the one to keep wider."
    ),
    "sens_model": "Model",
    "sens_bits": "At",
    "layer": ":material/stacked_bar_chart: One layer's weights and their levels",
    "layer_pick": "Layer",
    "layer_caption": (
        "The histogram of the layer's float32 weights with the levels of one per-tensor scale at these bits. "
        "Per-channel quantization gives every output row its own, finer set of levels."
    ),
    "playground": "Open these weights in the playground",
    "playground_help": "Carries this layer's weights to the Quantization playground as typed values (a layer of more than "
    "20,000 weights sends every k-th one).",
    "download": "Download the table (CSV)",
    "storage": ":material/storage: Where the bytes go",
    "storage_caption": (
        "Codes are packed at the chosen bits; each scale is a float32 (4 bytes); an affine zero point takes "
        "1 byte (symmetric zero points are 0 and not stored); biases stay float32."
    ),
    "float_layers": "Left in float32 (layer type not handled by the quantizer): {names}.",
    "error_run": "This run cannot be quantized",
    "error_sweep": "Quantization",
}
MODEL_COLORS = {"teacher": "#444b59", "student": "#2f6fdf", "baseline": "#e07b00", "smoothing": "#2a9d5b"}
SCHEME_LABELS = {
    "symmetric": "symmetric (zero point 0)",
    "affine": "affine (with a zero point)",
    "symmetric_restricted": "symmetric restricted",
}
CALIBRATION_LABELS = {"minmax": "min-max", "percentile": "percentile 99.9", "mse": "MSE-optimal clipping"}
GRANULARITY_OPTIONS = {
    "per-channel": "per-channel",
    "per-tensor": "per-tensor",
    "both": "both",
}
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


@st.cache_data(max_entries=16, show_spinner="Quantizing...")
def run_sweep(
    _loaded: ptq.StoredRunModels, key: tuple, roles: tuple[str, ...], configs: tuple[ptq.PTQConfig, ...]
) -> pd.DataFrame:
    models = {role: _loaded.models[role] for role in roles}
    with qz.single_threaded():
        return ptq.sweep_models(
            models, _loaded.x_test, _loaded.y_test, list(configs),
            calibration_inputs=_loaded.calibration_inputs, reference_size=_loaded.teacher_size,
        )  # fmt: skip


@st.cache_data(max_entries=16, show_spinner="Measuring each layer...")
def run_sensitivity(_loaded: ptq.StoredRunModels, key: tuple, role: str, config: ptq.PTQConfig) -> pd.DataFrame:
    with qz.single_threaded():
        return ptq.sensitivity(_loaded.models[role], _loaded.x_test, _loaded.y_test, config)


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
        name = ptq.ROLE_TITLES.get(str(role), str(role))
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
                x=steps["size_bytes"], y=100 * steps["test_accuracy"], mode="lines+text", name=TEXT["staircase"],
                line={"color": "#d62728", "width": 2, "shape": "hv", "dash": "dot"}, text=steps["step"],
                textposition="top center", textfont={"size": 11}, hoverinfo="skip",
            )
        )  # fmt: skip
    fig.update_layout(
        title={"text": f"{TEXT['headline']} (stars: float32)", "font": {"size": 14}},
        xaxis={"title": "size in bytes (log scale)", "type": "log", **byte_ticks(frame["size_bytes"])},
        yaxis={"title": "test accuracy %"},
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
            text=[f"{d:+.2f} pts · {s:.1f} dB" for d, s in zip(sens["accuracy_drop_points"], sens["weight_sqnr_db"], strict=True)],
            textposition="auto", hovertemplate="%{y}<br>accuracy drop %{x:.2f} points<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title={"text": f"Accuracy drop when only this layer is {label}", "font": {"size": 14}},
        xaxis_title="accuracy drop (points)",
        yaxis={"autorange": "reversed"},
        height=max(220, 70 + 45 * len(sens)),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "model": frame["model"].map(lambda r: ptq.ROLE_TITLES.get(r, r)),
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
    value = raw.strip().lower()
    if value not in GRANULARITY_OPTIONS:
        raise ValueError(f"choose one of {', '.join(GRANULARITY_OPTIONS)}")
    return value


def init_state(run_ids: list[str]) -> None:
    """Defaults once per visit; a ?run= link (the trainer's "Compress this run") selects that run."""
    wanted = st.query_params.get("run")
    if wanted and wanted != st.session_state.get("_compress_applied_run"):
        st.session_state["_compress_applied_run"] = wanted
        if wanted in run_ids:
            st.session_state["compress_run"] = wanted
        else:
            st.warning(
                f"The link's run `{wanted[:40]}` is not a finished run in this store; showing the newest one.",
                icon=":material/link_off:",
            )
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
st.title(TEXT["title"], anchor=False)
st.caption(TEXT["intro"])

try:
    settings = Settings.from_env()
    store = get_store(str(settings.runs_dir))
    runs = store.list_runs(limit=100)
except ValueError as exc:
    show_error(exc, TEXT["error_run"])
    st.stop()
done = runs[runs["status"] == "done"]
if done.empty:
    st.info(TEXT["empty"], icon=":material/info:")
    st.page_link("pages/distillation.py", label=TEXT["to_trainer"], icon=":material/model_training:")
    st.stop()

run_ids = [str(r) for r in done["id"]]
labels = {
    str(r["id"]): f"{r['id']} · {r['dataset']} · {r['teacher']} → {r['student']} · {r['created']:%Y-%m-%d %H:%M}"
    for _, r in done.iterrows()
}
init_state(run_ids)

with st.container(border=True, key="compress_controls"):
    run_id = st.selectbox(TEXT["run"], run_ids, format_func=labels.get, key="compress_run", help=TEXT["run_help"])
    c1, c2, c3 = st.columns([2, 2, 1])
    roles = c1.multiselect(TEXT["models"], list(ptq.ROLES), format_func=ptq.ROLE_TITLES.get, key="compress_models")
    bits = c2.multiselect(
        TEXT["bits"], list(range(ptq.MAX_BITS, ptq.MIN_BITS - 1, -1)), key="compress_bits", help=TEXT["bits_help"]
    )
    granularity = c3.selectbox(
        TEXT["granularity"], list(GRANULARITY_OPTIONS), key="compress_granularity", help=TEXT["granularity_help"]
    )
    c4, c5, c6 = st.columns([2, 2, 2])
    scheme = c4.selectbox(
        TEXT["scheme"], list(ptq.INTEGER_SCHEMES), format_func=SCHEME_LABELS.get, key="compress_scheme"
    )
    calibration = c5.selectbox(
        TEXT["calibration"], list(ptq.CALIBRATIONS), format_func=CALIBRATION_LABELS.get, key="compress_calibration"
    )
    formats = c6.multiselect(
        TEXT["formats"], list(ptq.FLOAT_SCHEMES), format_func=lambda k: FORMATS[k].name, key="compress_formats",
        help=TEXT["formats_help"],
    )  # fmt: skip
    activations = st.toggle(TEXT["activations"], key="compress_activations", help=TEXT["activations_help"])

if st.query_params.get("run") != run_id:
    st.query_params["run"] = run_id
    st.session_state["_compress_applied_run"] = run_id

if not roles:
    st.info(TEXT["no_models"], icon=":material/info:")
    st.stop()
if not bits and not formats:
    st.info(TEXT["no_bits"], icon=":material/info:")
    st.stop()

record_time = float(done.set_index("id").loc[run_id, "created"].timestamp())
try:
    with st.spinner(TEXT["loading"]):
        loaded = load_models(str(settings.runs_dir), run_id, record_time, str(settings.data_dir))
except ValueError as exc:
    show_error(exc, TEXT["error_run"])
    st.stop()

roles = [r for r in roles if r in loaded.models]
granularities = ["per-channel", "per-tensor"] if granularity == "both" else [granularity]
try:
    configs = ptq.configs_for(
        sorted(bits, reverse=True), granularities, scheme=scheme, calibrations=[calibration], float_formats=formats,
        activations=activations,
    )  # fmt: skip
    cache_key = (str(settings.runs_dir), run_id, record_time)
    frame = run_sweep(loaded, cache_key, tuple(roles), tuple(configs))
except ValueError as exc:
    show_error(exc, TEXT["error_sweep"])
    st.stop()

main_granularity = granularities[0]
verdict_text = ptq.verdict(frame, main_granularity)
st.success(verdict_text, icon=":material/balance:")
steps = ptq.staircase(frame, main_granularity)
st.plotly_chart(headline_figure(frame, steps), width="stretch", key="compress_headline")
float_layers = sorted({name for cell in frame["float_layers"] if cell for name in cell.split(", ")})
if float_layers:
    st.warning(TEXT["float_layers"].format(names=", ".join(float_layers)), icon=":material/warning:")

st.subheader(TEXT["table"], anchor=False)
st.dataframe(
    display_table(frame),
    hide_index=True,
    width="stretch",
    key="compress_table",
    column_config={
        "accuracy %": st.column_config.NumberColumn(format="%.2f"),
        "drop (points)": st.column_config.NumberColumn(format="%+.2f"),
        "agrees with float %": st.column_config.NumberColumn(format="%.2f"),
        "size KiB": st.column_config.NumberColumn(format="%.2f"),
        "× smaller than teacher": st.column_config.NumberColumn(format="%.1f"),
    },
)
st.download_button(
    TEXT["download"],
    frame.to_csv(index=False).encode(),
    file_name=f"compress-{run_id}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="compress_download_csv",
)

st.subheader(TEXT["sensitivity"], anchor=False)
st.caption(TEXT["sensitivity_caption"])
s1, s2 = st.columns(2)
sens_role = s1.selectbox(
    TEXT["sens_model"], roles, format_func=ptq.ROLE_TITLES.get, key="compress_sens_model",
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
    TEXT["sens_bits"], labels_list, index=labels_list.index(default_label), key="compress_sens_config"
)
sens_config = sens_options[sens_label]
sens = run_sensitivity(loaded, cache_key, sens_role, sens_config)
st.plotly_chart(sensitivity_figure(sens, sens_config.label), width="stretch", key="compress_sensitivity")

st.subheader(TEXT["layer"], anchor=False)
layers = ptq.quantizable_layers(loaded.models[sens_role])
module_kinds = {name: ptq.describe_module(m) for name, m in loaded.models[sens_role].named_modules()}
l1, l2 = st.columns([2, 1])
layer = l1.selectbox(
    TEXT["layer_pick"], layers, format_func=lambda n: f"{n}: {module_kinds.get(n, '')}", key="compress_layer"
)
layer_bits = sens_config.bits if not sens_config.is_float_format else (min(bits) if bits else 8)
weights, layer_result = layer_sweep(loaded, cache_key, sens_role, layer, layer_bits, scheme, calibration)
st.plotly_chart(histogram_figure(layer_result, qz.label_for(layer_bits)), width="stretch", key="compress_layer_hist")
st.caption(TEXT["layer_caption"])
if l2.button(
    TEXT["playground"], icon=":material/open_in_new:", key="compress_to_playground", help=TEXT["playground_help"]
):
    open_in_playground(weights, layer_bits, scheme, calibration)

with st.expander(TEXT["storage"]):
    st.caption(TEXT["storage_caption"])
    q = ptq.quantize_model(loaded.models[sens_role], sens_config)
    st.dataframe(
        q.storage_table()[["name", "kind", "quantized", "weights", "code_bytes", "scale_count", "scale_bytes",
                           "zero_point_bytes", "float_values", "float_bytes", "total_bytes", "note"]],
        hide_index=True, width="stretch", key="compress_storage",
    )  # fmt: skip
    st.caption(
        f"{ptq.ROLE_TITLES.get(sens_role)} at {sens_config.label}: {q.size_bytes:,} bytes, against "
        f"{ptq.float_size_bytes(loaded.models[sens_role]):,} in float32."
    )
