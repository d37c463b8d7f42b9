""" "Try it" deep links from a quiz question to the quantization playground, the distillation trainer or the
compress page.

One link contract per page, shared with the page itself, so a link the quiz accepts is one the page reads:

- ``/quantization?values=0.5,1.0,-0.3&bits=4,8&scheme=article&rounding=truncate&calibration=minmax``:
  `compression.quantization.links.LINK_PARAMS` (the scheme names come from the scheme registry; "seed"
  is still accepted for the article's formula);
- ``/distillation?dataset=digits&temperature=4&alpha=0.9&epochs=200``: the trainer's
  `compression.distillation.trainer.parse_field`, with this server's epoch limit (COMPRESSION_LAB_MAX_EPOCHS);
- ``/compress?bits=8,4,2&granularity=per-channel``: the compress page's own parsers,
  `compression.ptq.parse_bits_list` (2..8 bits each) and `compression.ptq.parse_granularity_choice`
  (per-channel, per-tensor, both). No ``run``: a quiz link cannot know this server's runs, so the page opens
  its newest finished run (or says to train one first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from compression import ptq
from compression.config import Settings
from compression.distillation.trainer import LINK_FIELDS, parse_field
from compression.quantization.links import LINK_PARAMS, REQUIRED_LINK_PARAMS


def _distillation_field(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parse_field(name, raw, Settings.from_env().max_epochs)  # the server's own check and limits
        return raw.strip()

    return parse


def _compress_bits(raw: str) -> str:
    """The compress page's ?bits= check; the canonical text drops spaces and repeats ("8, 4,4" -> "8,4")."""
    try:
        return ",".join(str(bits) for bits in ptq.parse_bits_list(raw))
    except ValueError as exc:
        raise ValueError(f"is not a list of bitwidths the compress page reads: {exc}") from None


_LINK_ORDER = ["dataset", "temperature", "alpha", "epochs", *LINK_FIELDS]  # the README's order first

# page name -> ordered {parameter: parser}; the parser returns the canonical text or raises ValueError.
CONTRACTS: dict[str, dict[str, Callable[[str], str]]] = {
    "quantization": LINK_PARAMS,
    "distillation": {name: _distillation_field(name) for name in sorted(LINK_FIELDS, key=_LINK_ORDER.index)},
    "compress": {"bits": _compress_bits, "granularity": ptq.parse_granularity_choice},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "quantization": REQUIRED_LINK_PARAMS,
    "distillation": ("dataset",),
    "compress": (),
}


@dataclass(frozen=True)
class TryIt:
    """A link to a page (``quantization``, ``distillation`` or ``compress``) with its query parameters, in
    contract order."""

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
