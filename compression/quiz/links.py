""" "Try it" deep links from a quiz question to the quantization playground or the distillation trainer.

The query parameters follow the pages' deep-link contracts exactly:

- ``/quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=seed&rounding=truncate&calibration=minmax``
  (``bits`` is a comma list; ``scheme`` symmetric|affine|symmetric_restricted|seed;
  ``rounding`` nearest|truncate|floor|stochastic; ``calibration`` minmax|percentile|mse)
- ``/distillation?dataset=digits&temperature=4&alpha=0.9&epochs=200``
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

QUANT_SCHEMES = ("symmetric", "affine", "symmetric_restricted", "seed")
QUANT_ROUNDINGS = ("nearest", "truncate", "floor", "stochastic")
QUANT_CALIBRATIONS = ("minmax", "percentile", "mse")


def _float_list(raw: str) -> str:
    parts = [p.strip() for p in raw.split(",")]
    if not parts or any(p == "" for p in parts):
        raise ValueError("must be a comma-separated list of numbers, like 0.5,1.0,-0.3")
    for part in parts:
        try:
            value = float(part)
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a number") from exc
        if not math.isfinite(value):
            raise ValueError(f"{part!r} is not a finite number")
    return ",".join(parts)


def _bits_list(raw: str) -> str:
    parts = [p.strip() for p in raw.split(",")]
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= 16:
            raise ValueError(f"bits must be whole numbers from 1 to 16 separated by commas, got {part!r}")
    return ",".join(parts)


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")
        return raw

    return parse


def _identifier(raw: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", raw):
        raise ValueError(f"must be a dataset name like digits, got {raw!r}")
    return raw


def _number(low: float, high: float, low_open: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        try:
            value = float(raw)
        except ValueError as exc:
            raise ValueError(f"must be a number, got {raw!r}") from exc
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bound = "(" if low_open else "["
            raise ValueError(f"must be a number in {bound}{low:g}, {high:g}], got {raw!r}")
        return raw

    return parse


def _whole(low: int, high: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"must be a whole number from {low} to {high}, got {raw!r}")
        return raw

    return parse


# page name -> ordered {parameter: parser}; the parser returns the canonical text or raises ValueError.
CONTRACTS: dict[str, dict[str, Callable[[str], str]]] = {
    "quantization": {
        "values": _float_list,
        "bits": _bits_list,
        "scheme": _choice(QUANT_SCHEMES),
        "rounding": _choice(QUANT_ROUNDINGS),
        "calibration": _choice(QUANT_CALIBRATIONS),
    },
    "distillation": {
        "dataset": _identifier,
        "temperature": _number(0.0, 100.0, low_open=True),
        "alpha": _number(0.0, 1.0),
        "epochs": _whole(1, 100_000),
    },
}
REQUIRED: dict[str, tuple[str, ...]] = {"quantization": ("values", "bits"), "distillation": ("dataset",)}


@dataclass(frozen=True)
class TryIt:
    """A link to a page (``quantization`` or ``distillation``) with its query parameters, in contract order."""

    page: str
    params: tuple[tuple[str, str], ...]

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def url(self) -> str:
        """The URL path, e.g. ``/quantization?values=0.5,1.0&bits=8`` (commas kept readable)."""
        query = "&".join(f"{name}={quote(value, safe=',.-_')}" for name, value in self.params)
        return f"/{self.page}?{query}" if query else f"/{self.page}"


def make_try_it(page: str, params: Mapping[str, object]) -> TryIt:
    """Check `params` against the page's deep-link contract; raise ValueError naming the bad parameter."""
    if page not in CONTRACTS:
        raise ValueError(f"page must be one of {', '.join(CONTRACTS)}, got {page!r}")
    contract = CONTRACTS[page]
    unknown = sorted(set(params) - set(contract))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for /{page}; allowed: {', '.join(contract)}")
    missing = [name for name in REQUIRED[page] if name not in params]
    if missing:
        raise ValueError(f"/{page} needs the parameter {missing[0]!r}")
    canonical: list[tuple[str, str]] = []
    for name, parse in contract.items():
        if name not in params:
            continue
        raw = params[name]
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f"parameter {name!r} must be text or a number, got {type(raw).__name__}")
        try:
            canonical.append((name, parse(str(raw))))
        except ValueError as exc:
            raise ValueError(f"parameter {name!r} {exc}") from exc
    return TryIt(page=page, params=tuple(canonical))
