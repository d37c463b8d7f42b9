"""The playground's inputs: its deep link and session defaults, the values box, the quantizer box, and the
cached calls into compression that turn them into values and sweeps.

Part of pages/quantization.py (a module whose name starts with "_" is not a page).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from compression import quantization as qz
from compression.i18n import CatalogueError
from pages._shared import error_text, escape_markdown, query_param, show_error, t

SOURCES = ("text", "generate", "layer", "csv")
DISTRIBUTIONS = ("uniform", "normal", "laplace", "outliers")
SCHEME_KEYS = {"article": "seed"}  # catalogue key of a scheme's label where it differs from the scheme's name
DEFAULT_TEXT = "0.5, 1.0, -0.3, 0.127, -0.9, 0.0039, 0.75, -1.0"
COUNT_MAX = 1_000_000


def _scheme_label(key: str) -> str:
    """The scheme's label in this visitor's language; a scheme the catalogue does not know (one registered
    later) shows its own label."""
    try:
        return t(f"quantization.scheme.{SCHEME_KEYS.get(key, key)}")
    except CatalogueError:
        return qz.SCHEME_REGISTRY[key].label


def _link(name: str):
    """The playground's deep-link parser for `name` (one contract, shared with the quiz's links)."""
    return lambda raw: qz.parse_link_param(name, raw)


def _upload_limit_bytes() -> int:
    """The upload limit the browser enforces: server.maxUploadSize megabytes of 1,000,000 bytes."""
    return int(st.get_option("server.maxUploadSize")) * 1_000_000


def _init_state() -> None:
    """Defaults once per session, taken from the URL where it says so (bad values warn and fall back)."""
    if "quant_bits" in st.session_state:
        return
    text = query_param("values", _link("values"), None)
    st.session_state["quant_source"] = "text"
    st.session_state["quant_text"] = text.replace(",", ", ") if text else DEFAULT_TEXT
    st.session_state["quant_bits"] = qz.parse_bits(query_param("bits", _link("bits"), "4,8"))
    scheme = query_param("scheme", _link("scheme"), "symmetric")
    st.session_state["quant_scheme"] = scheme
    default_rounding = qz.SCHEME_REGISTRY[scheme].default_rounding
    st.session_state["quant_rounding"] = query_param("rounding", _link("rounding"), default_rounding)
    st.session_state["quant_calibration"] = query_param("calibration", _link("calibration"), "minmax")
    st.session_state.setdefault("quant_percentile", 99.9)
    st.session_state.setdefault("quant_range_min", -1.0)
    st.session_state.setdefault("quant_range_max", 1.0)
    st.session_state.setdefault("quant_dist", "normal")
    st.session_state.setdefault("quant_count", 10_000)
    st.session_state.setdefault("quant_seed", 0)
    st.session_state.setdefault("quant_layer", "linear_784_128")
    st.session_state.setdefault("quant_per_channel", False)
    st.session_state.setdefault("quant_formats", [])
    st.session_state.setdefault("quant_page_size", 25)
    st.session_state.setdefault("quant_page", 1)
    st.session_state.setdefault("quant_round_seed", 0)


def _on_scheme_change() -> None:
    """Each scheme has its own default rounding (the article's formula truncates): when the rounding is
    another scheme's default, switch it to the new scheme's, so the defaults stay faithful."""
    scheme = qz.SCHEME_REGISTRY[st.session_state["quant_scheme"]]
    rounding = st.session_state["quant_rounding"]
    defaults = {s.default_rounding for s in qz.SCHEME_REGISTRY.values()}
    if rounding != scheme.default_rounding and rounding in defaults:
        st.session_state["quant_rounding"] = scheme.default_rounding


def _checked_number(container, label: str, key: str, check, default: int, **options) -> int:
    """A whole-number field without client-side limits: what the visitor types stays in the field, `check`
    (a library validator) accepts it or raises a ValueError whose message is shown right below the field,
    and the page keeps using the last valid value (so nothing is swallowed or silently replaced)."""
    valid_key = f"{key}_valid"
    st.session_state.setdefault(valid_key, default)
    if key not in st.session_state:  # a widget not drawn on the last run loses its state: bring back the last valid one
        st.session_state[key] = st.session_state[valid_key]
    value = container.number_input(label, step=options.pop("step", 1), key=key, **options)
    try:
        st.session_state[valid_key] = check(value)
    except ValueError as exc:
        container.error(
            t(
                "quantization.limits.not_applied",
                message=escape_markdown(error_text(exc), 300),
                kept=f"{st.session_state[valid_key]:,}",
            ),
            icon=":material/error:",
        )
    return int(st.session_state[valid_key])


# ------------------------------------------------------------------ cached calls into compression
# Shared by every session through st.cache_resource (no pickling: a 1M-value Sweep is about 22 MB) and keyed
# by a small spec of the inputs (the source's parameters, or a digest of typed text / an upload), never by the
# array itself, so a rerun after a widget change costs dictionary look-ups, not hashing and unpickling.
SourceKey = tuple


@st.cache_resource(max_entries=8, show_spinner=False)
def _values(source: SourceKey, _data: bytes | None = None) -> np.ndarray:
    """The values a source spec names: ("text", text), ("csv", digest) with its bytes in `_data`,
    ("generate", distribution, count, seed) or ("layer", layer, seed). Raises ValueError on bad input."""
    kind = source[0]
    if kind == "text":
        return qz.parse_values(source[1])
    if kind == "csv":
        return qz.parse_csv(_data or b"")
    if kind == "generate":
        return qz.generate_values(source[1], source[2], source[3])
    return qz.layer_weights(source[1], source[2])


@st.cache_resource(max_entries=4, show_spinner=False)
def _sweep(source: SourceKey, per_channel: bool, bits: tuple[int, ...], options: tuple) -> qz.Sweep:
    values = _values(source)
    return qz.sweep(values if per_channel else values.reshape(-1), bits, per_channel=per_channel, **dict(options))


@st.cache_resource(max_entries=4, show_spinner=False)
def _error_vs_bits(source: SourceKey, options: tuple) -> pd.DataFrame:
    return qz.error_vs_bits(_values(source).reshape(-1), **dict(options))


@st.cache_resource(max_entries=4, show_spinner=False)
def _article_comparison(source: SourceKey, bits: int) -> qz.ArticleComparison:
    return qz.compare_with_article(_values(source).reshape(-1), bits)


def values_box() -> tuple[str, SourceKey | None, np.ndarray | None]:
    """The values box: where the values come from (typed, generated, a layer's weights, an upload) -> (source,
    its cache key, the values); the key and values are None when there is nothing (valid) to quantize."""
    source_key: SourceKey | None = None
    data: bytes | None = None
    with st.container(border=True, key="quant_input_box"):
        st.markdown(t("quantization.values.heading"))
        source = st.segmented_control(
            t("quantization.source.label"),
            list(SOURCES),
            format_func={k: t(f"quantization.source.{k}") for k in SOURCES}.get,
            key="quant_source",
            required=True,
            label_visibility="collapsed",
        )
        values: np.ndarray | None = None
        try:
            if source == "text":
                text = st.text_area(
                    t("quantization.values.text_label"),
                    key="quant_text",
                    height=90,
                    help=t("quantization.values.text_help"),
                )
                source_key = ("text", text)
            elif source == "generate":
                c1, c2, c3 = st.columns([2, 2, 1])
                distribution = c1.selectbox(
                    t("quantization.values.distribution"),
                    list(DISTRIBUTIONS),
                    format_func={k: t(f"quantization.distribution.{k}") for k in DISTRIBUTIONS}.get,
                    key="quant_dist",
                )
                count = _checked_number(
                    c2,
                    t("quantization.values.count"),
                    "quant_count",
                    lambda v: qz.check_count(v, COUNT_MAX),
                    10_000,
                    step=1000,
                    help=t("quantization.values.count_help", high=COUNT_MAX),
                )
                seed = _checked_number(c3, t("quantization.values.seed"), "quant_seed", qz.check_seed, 0)
                source_key = ("generate", distribution, count, seed)
            elif source == "layer":
                c1, c2 = st.columns([3, 1])
                layer = c1.selectbox(
                    t("quantization.values.layer"), list(qz.LAYERS), format_func=qz.LAYERS.get, key="quant_layer"
                )
                seed = _checked_number(c2, t("quantization.values.seed"), "quant_seed", qz.check_seed, 0)
                st.toggle(
                    t("quantization.values.per_channel"),
                    key="quant_per_channel",
                    help=t("quantization.values.per_channel_help"),
                )
                source_key = ("layer", layer, seed)
            else:
                limit = _upload_limit_bytes()
                upload = st.file_uploader(
                    t("quantization.values.upload_limit", mb=f"{limit / 1e6:g}"),
                    type=["csv", "txt"],
                    key="quant_upload",
                    help=t("quantization.values.upload_help", limit=limit),
                )
                if upload is not None:
                    import hashlib

                    data = upload.getvalue()
                    source_key = ("csv", hashlib.sha256(data).hexdigest())
                else:
                    st.info(t("quantization.values.upload_prompt"), icon=":material/upload_file:")
            if source_key is not None:
                if source_key[0] == "generate" and source_key[2] > 100_000:
                    with st.spinner(t("quantization.spinner.generating")):
                        values = _values(source_key)
                else:
                    values = _values(source_key, data)
                if source == "layer":
                    st.caption(
                        t(
                            "quantization.values.layer_shape",
                            rows=values.shape[0],
                            cols=values.shape[1],
                            count=values.size,
                        )
                    )
        except ValueError as exc:
            show_error(exc, t("quantization.values.error"))
            values = None
    return source, source_key, values


def quantizer_box() -> tuple[list[int], str, str, str, float, tuple[float, float] | None, list[str]]:
    """The quantizer box -> (bits, scheme, rounding, calibration, percentile, value range, float formats)."""
    with st.container(border=True, key="quant_controls_box"):
        st.markdown(t("quantization.quantizer.heading"))
        c1, c2 = st.columns(2)
        bits = c1.multiselect(
            t("quantization.quantizer.bits"),
            list(range(qz.MIN_BITS, qz.MAX_BITS + 1)),
            key="quant_bits",
            placeholder=t("quantization.quantizer.choose"),
            help=t("quantization.quantizer.bits_help"),
        )
        scheme = c2.selectbox(
            t("quantization.quantizer.scheme"),
            list(qz.SCHEMES),
            format_func={k: _scheme_label(k) for k in qz.SCHEMES}.get,
            key="quant_scheme",
            on_change=_on_scheme_change,
        )
        fixed_scale = qz.SCHEME_REGISTRY[scheme].fixed_scale
        c3, c4 = st.columns(2)
        rounding = c3.selectbox(
            t("quantization.quantizer.rounding"),
            list(qz.ROUNDINGS),
            format_func={k: t(f"quantization.rounding.{k}") for k in qz.ROUNDINGS}.get,
            key="quant_rounding",
        )
        calibration = c4.selectbox(
            t("quantization.quantizer.calibration"),
            list(qz.CALIBRATIONS),
            format_func={k: t(f"quantization.calibration.{k}") for k in qz.CALIBRATIONS}.get,
            key="quant_calibration",
            disabled=fixed_scale,
            help=t("quantization.quantizer.calibration_help"),
        )
        if rounding == "stochastic":
            _checked_number(c3, t("quantization.quantizer.round_seed"), "quant_round_seed", qz.check_seed, 0)
        percentile = 99.9
        value_range: tuple[float, float] | None = None
        if calibration == "percentile" and not fixed_scale:
            percentile = c4.slider(
                t("quantization.quantizer.percentile"), 90.0, 100.0, step=0.1, key="quant_percentile", format="%.1f%%"
            )
        if calibration == "range" and not fixed_scale:
            r1, r2 = c4.columns(2)
            value_range = (
                r1.number_input(t("quantization.quantizer.range_min"), key="quant_range_min", format="%.4g"),
                r2.number_input(t("quantization.quantizer.range_max"), key="quant_range_max", format="%.4g"),
            )
        formats = st.multiselect(
            t("quantization.quantizer.formats"),
            list(qz.FORMATS),
            format_func=lambda k: qz.FORMATS[k].name,
            key="quant_formats",
            placeholder=t("quantization.quantizer.choose"),
            help="; ".join(f"{f.name}: {f.note}" for f in qz.FORMATS.values()),
        )
        note_key = {"article": "seed_note", "symmetric": "symmetric_note"}.get(scheme)
        if note_key:
            st.caption(t(f"quantization.quantizer.{note_key}"))
        elif qz.SCHEME_REGISTRY[scheme].note:  # a scheme registered later brings its own (English) note
            st.caption(qz.SCHEME_REGISTRY[scheme].note)
    return bits, scheme, rounding, calibration, percentile, value_range, formats
