"""The playground's deep-link contract, in one place: the page reads its URL with these parsers and the
quiz's "try it" links are checked with them.

    /quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate&calibration=minmax

`scheme` takes any key of SCHEME_REGISTRY or an alias ("seed", the article's formula's old name).
An explicit clipping range is set on the page, not in a link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compression.i18n import LabError
from compression.quantization.inputs import parse_bits, parse_values
from compression.quantization.schemes import ROUNDINGS, SCHEME_REGISTRY, get_scheme

LINK_CALIBRATIONS: tuple[str, ...] = ("minmax", "percentile", "mse")
"""Calibrations a link may ask for ("range" needs two numbers that are typed on the page)."""


def _values(raw: str) -> str:
    """Checked numbers, comma-separated: "0.5,1.0,-0.3"."""
    parse_values(raw)  # raises ValueError with a readable message
    return ",".join(t.strip() for t in raw.replace(";", ",").split(",") if t.strip())


def _bits(raw: str) -> str:
    return ",".join(str(b) for b in parse_bits(raw))


def _scheme(raw: str) -> str:
    try:
        return get_scheme(raw.strip().lower()).key
    except ValueError:
        raise LabError("links.choose", options=", ".join(SCHEME_REGISTRY)) from None


def _rounding(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ROUNDINGS:
        raise LabError("links.choose", options=", ".join(ROUNDINGS))
    return value


def _calibration(raw: str) -> str:
    value = raw.strip().lower()
    if value == "range":
        raise LabError("links.range")
    if value not in LINK_CALIBRATIONS:
        raise LabError("links.calibration", options=", ".join(LINK_CALIBRATIONS))
    return value


LINK_PARAMS: dict[str, Callable[[str], str]] = {
    "values": _values,
    "bits": _bits,
    "scheme": _scheme,
    "rounding": _rounding,
    "calibration": _calibration,
}
"""Parameter -> parser: the canonical text of a good value, or ValueError saying what is allowed."""
REQUIRED_LINK_PARAMS: tuple[str, ...] = ("values", "bits")
"""What a quiz's "try it" link must set (the page itself has defaults for everything)."""


def parse_link_param(name: str, raw: Any) -> str:
    """The canonical text of deep-link parameter `name`; ValueError for an unknown name or a bad value."""
    if name not in LINK_PARAMS:
        raise ValueError(f"unknown parameter {name!r}; allowed: {', '.join(LINK_PARAMS)}")
    return LINK_PARAMS[name](str(raw))
