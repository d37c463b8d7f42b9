"""Input parsing and generation: typed or pasted text, CSV uploads, generated distributions, layer weights.

Every parser returns a float32 numpy array or raises ValueError with a message a learner understands
(empty input, words, NaN, infinity, values beyond float32).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from compression.i18n import LabError, Text
from compression.quantization.schemes import check_bits, choice

DISTRIBUTIONS: tuple[str, ...] = ("uniform", "normal", "laplace", "outliers")
MAX_GENERATED = 2_000_000
MAX_SEED = 2**31 - 1
"""The largest seed a page field takes (numpy and torch take larger ones)."""
FLOAT32_EPS = torch.finfo(torch.float32).eps
FLOAT32_MAX = float(torch.finfo(torch.float32).max)

_SPLIT = re.compile(r"[,;\s]+")


def _show_tokens(tokens: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(t[:20]) for t in tokens[:limit])
    return shown + (f" and {len(tokens) - limit} more" if len(tokens) > limit else "")


def _check_finite(array: np.ndarray) -> None:
    """Raise a learner-readable ValueError for NaN, infinity or values beyond float32."""
    bad = ~np.isfinite(array)
    if bad.any():
        positions = np.flatnonzero(bad)
        first = array.reshape(-1)[positions[0]]
        raise LabError(
            "values.not_finite",
            count=len(positions),
            position=positions[0] + 1,
            kind=Text("errors.values.nan" if np.isnan(first) else "errors.values.infinite"),
        )
    if array.dtype != np.float32 and array.size and np.abs(array).max() > FLOAT32_MAX:
        count = int((np.abs(array) > FLOAT32_MAX).sum())
        raise LabError("values.too_large", count=count)


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def parse_values(text: str) -> np.ndarray:
    """Numbers typed or pasted, separated by commas, semicolons, spaces or new lines -> float32 array.

    Decimals take a dot. Text that separates numbers by spaces (or new lines, or semicolons) while a comma
    sits between digits inside one of them, as in "0,5 1,0", uses decimal commas: that is an error naming
    the token, never four numbers. Raises ValueError naming the tokens that are not numbers, and for empty
    input, NaN or infinity.
    """
    text = text or ""
    chunks = [c for c in re.split(r"[;\s]+", text) if c]
    if len(chunks) > 1:
        commas = [c for c in chunks if _DECIMAL_COMMA.fullmatch(c)]
        if commas:
            raise LabError("values.decimal_comma", token=repr(commas[0]), fixed=repr(commas[0].replace(",", ".")))
    tokens = [t for t in _SPLIT.split(text or "") if t]
    if not tokens:
        raise LabError("values.empty")
    try:
        array = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = []
        for token in tokens:
            try:
                float(token)
            except ValueError:
                bad.append(token)
        raise LabError("values.not_numbers", tokens=_show_tokens(bad)) from None
    _check_finite(array)
    return array.astype(np.float32)


def parse_csv(data: bytes) -> np.ndarray:
    """A CSV upload (the file's bytes) with one numeric column, with or without a header -> float32 array."""
    if not data or not data.strip():
        raise LabError("values.csv_empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabError("values.csv_not_utf8") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]
    if not rows:
        raise LabError("values.csv_no_rows")
    widths = {len([c for c in row if c.strip()]) for row in rows}
    if max(widths) > 1:
        raise LabError("values.csv_columns", columns=max(widths))
    cells = [next(c.strip() for c in row if c.strip()) for row in rows]

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    start = 0 if is_number(cells[0]) else 1  # a non-numeric first cell is a header
    body = cells[start:]
    if not body:
        raise LabError("values.csv_header_only", header=repr(cells[0][:30]))
    bad = [(i + start + 1, c) for i, c in enumerate(body) if not is_number(c)]
    if bad:
        shown = ", ".join(f"line {line}: {cell[:20]!r}" for line, cell in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise LabError("values.csv_not_numbers", cells=f"{shown}{more}")
    array = np.array(body, dtype=np.float64)
    _check_finite(array)
    return array.astype(np.float32)


def parse_bits(text: str) -> list[int]:
    """ "4,8" -> [4, 8]: a comma list of whole numbers of bits from 1 to 16 (sorted, duplicates removed)."""
    tokens = [t for t in _SPLIT.split(str(text)) if t]
    if not tokens:
        raise ValueError("No bitwidth given: use whole numbers from 1 to 16, e.g. 4,8.")
    bits = []
    for token in tokens:
        if not re.fullmatch(r"[+]?\d{1,3}", token):
            raise ValueError(f"{token[:20]!r} is not a whole number of bits: use numbers from 1 to 16, e.g. 4,8.")
        bits.append(check_bits(int(token)))
    return sorted(set(bits))


def is_whole(value: Any) -> bool:
    """True for a Python or numpy integer (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def shown_number(value: Any) -> str:
    """A typed number as a message quotes it: "1,000,001" for a whole number, repr otherwise."""
    return f"{int(value):,}" if is_whole(value) else repr(value)


def check_count(count: Any, high: int = MAX_GENERATED) -> int:
    """How many values to generate: a whole number from 1 to `high` (at most MAX_GENERATED). Raises LabError
    naming the limit ("At most 1,000,000 values")."""
    high = min(high, MAX_GENERATED)
    if not is_whole(count):
        raise LabError("values.count_whole", value=shown_number(count))
    if count < 1:
        raise LabError("values.count_low", value=shown_number(count))
    if count > high:
        raise LabError("values.count_high", high=high, value=shown_number(count))
    return int(count)


def check_seed(seed: Any) -> int:
    """A seed typed into a field: a whole number from 0 to MAX_SEED. Raises LabError naming the range."""
    if not is_whole(seed) or not 0 <= seed <= MAX_SEED:
        raise LabError("values.seed_range", high=MAX_SEED, value=shown_number(seed))
    return int(seed)


def generate_values(
    distribution: str,
    count: int,
    seed: int = 0,
    *,
    spread: float = 1.0,
    outlier_fraction: float = 0.01,
    outlier_scale: float = 20.0,
) -> np.ndarray:
    """`count` float32 values drawn with numpy's PCG64(seed).

    uniform: U[-spread, spread); normal: N(0, spread²); laplace: Laplace(0, spread/√2) (variance spread²);
    outliers: normal, with a fraction `outlier_fraction` multiplied by `outlier_scale`.
    """
    choice(distribution, DISTRIBUTIONS, "distribution")
    count = check_count(count)
    if not (math.isfinite(spread) and spread > 0):
        raise ValueError(f"The spread must be a positive number; got {spread!r}.")
    if not 0 <= outlier_fraction <= 1:
        raise ValueError(f"The outlier fraction must be between 0 and 1; got {outlier_fraction!r}.")
    rng = np.random.Generator(np.random.PCG64(seed))
    if distribution == "uniform":
        out = rng.uniform(-spread, spread, count)
    elif distribution == "normal":
        out = rng.normal(0.0, spread, count)
    elif distribution == "laplace":
        out = rng.laplace(0.0, spread / math.sqrt(2.0), count)
    else:
        out = rng.normal(0.0, spread, count)
        mask = rng.random(count) < outlier_fraction
        out[mask] *= outlier_scale
    return out.astype(np.float32)


LAYERS: dict[str, str] = {
    "linear_784_128": "Linear(784 → 128), an MNIST hidden layer",
    "linear_128_10": "Linear(128 → 10), a classifier head",
    "conv_3_16_3x3": "Conv2d(3 → 16, 3×3), a first conv layer",
    "conv_16_32_3x3": "Conv2d(16 → 32, 3×3)",
}


def layer_weights(layer: str, seed: int = 0) -> np.ndarray:
    """The weight of a freshly initialised torch.nn layer (PyTorch's default init), as a 2-D float32 array.

    Rows are output channels (conv kernels are flattened), the axis per-channel quantization uses.
    The global torch RNG is forked, so the caller's random state is untouched.
    """
    choice(layer, tuple(LAYERS), "layer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if layer == "linear_784_128":
            module: torch.nn.Module = torch.nn.Linear(784, 128)
        elif layer == "linear_128_10":
            module = torch.nn.Linear(128, 10)
        elif layer == "conv_3_16_3x3":
            module = torch.nn.Conv2d(3, 16, 3)
        else:
            module = torch.nn.Conv2d(16, 32, 3)
    weight = module.weight.detach()
    return weight.reshape(weight.shape[0], -1).numpy().astype(np.float32)


def as_tensor(values: Any, *, check_finite: bool = True) -> torch.Tensor:
    """Anything array-like (list, numpy array, torch tensor, a number, or text) -> a float32 CPU tensor.

    Raises ValueError for empty input, non-numeric entries (named), and (unless check_finite=False, for
    callers that check the min and max themselves) NaN and infinity. A float32 CPU tensor or array is
    used as it is, not copied.
    """
    if isinstance(values, str):
        return torch.from_numpy(parse_values(values))
    if isinstance(values, torch.Tensor):
        if values.is_complex():
            raise ValueError("Complex numbers cannot be quantized here: give real numbers.")
        tensor = values.detach().to(device="cpu", dtype=torch.float32)
        if tensor.numel() == 0:
            raise ValueError("No values given: give at least one number.")
        if check_finite:
            check_finite_tensor(tensor)
        return tensor
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        flat = [str(v) for v in array.reshape(-1)]
        bad = []
        for token in flat:
            try:
                float(token)
            except (TypeError, ValueError):
                bad.append(token)
        if bad:
            raise ValueError(f"These are not numbers: {_show_tokens(bad)}.")
        array = array.astype(np.float64)
    if array.size == 0:
        raise ValueError("No values given: give at least one number.")
    if array.dtype != np.float32:
        if array.dtype.kind == "f":
            _check_finite(array)  # before float32 turns a 1e39 into inf
        array = array.astype(np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if check_finite:
        check_finite_tensor(tensor)
    return tensor


def check_finite_tensor(tensor: torch.Tensor, minmax: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """NaN or inf anywhere makes the min or the max non-finite: one reduction checks them all."""
    low, high = minmax if minmax is not None else torch.aminmax(tensor)
    if not (bool(torch.isfinite(low).all()) and bool(torch.isfinite(high).all())):
        _check_finite(tensor.numpy())
