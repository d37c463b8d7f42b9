"""The integer schemes, one record each: code range, symmetry, fixed scale, default rounding, page label.

Everything else (validation, the quantizer, the playground's labels, the quiz's deep links) iterates over
`SCHEME_REGISTRY`, so adding a scheme is one `Scheme(...)` entry here plus its tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compression.i18n import LabError

MIN_BITS, MAX_BITS = 1, 16
ROUNDINGS: tuple[str, ...] = ("nearest", "truncate", "floor", "stochastic")


@dataclass(frozen=True)
class Scheme:
    """One integer scheme.

    signed:      codes [-2^(b-1), 2^(b-1)-1] (zero point 0), else unsigned [0, 2^b-1] with a zero point;
    restricted:  signed codes [-(2^(b-1)-1), 2^(b-1)-1] (needs 2 bits; scale amax / (2^(b-1)-1));
    fixed_scale: scale 2^-(b-1), no calibration and no clamp (codes that do not fit are flagged overflow).
    """

    key: str
    label: str
    """How the playground names it."""
    signed: bool = True
    restricted: bool = False
    fixed_scale: bool = False
    default_rounding: str = "nearest"
    aliases: tuple[str, ...] = ()
    """Older names still accepted (in URLs and calls)."""
    note: str = ""
    """A caption the playground shows under the controls when the scheme is chosen (Markdown)."""

    @property
    def min_bits(self) -> int:
        return 2 if self.restricted else MIN_BITS

    @property
    def symmetric(self) -> bool:
        """Symmetric schemes have zero point 0 (MinMaxObserver's per_tensor_symmetric arithmetic)."""
        return self.signed

    @property
    def flag(self) -> str:
        """What a value that does not fit is called: "overflow" for a fixed scale, else "clipped"."""
        return "overflow" if self.fixed_scale else "clipped"

    def code_range(self, bits: int) -> tuple[int, int]:
        """(qmin, qmax) at `bits` bits."""
        if not self.signed:
            return 0, 2**bits - 1
        if self.restricted:
            return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


SCHEME_REGISTRY: dict[str, Scheme] = {
    s.key: s
    for s in (
        Scheme(
            "symmetric",
            "symmetric (signed, zero point 0)",
            note=(
                ":material/info: PyTorch's symmetric scale is amax / ((qmax - qmin) / 2), e.g. amax/127.5 at 8 "
                "bits: the largest positive value lands half a step beyond 127 and is clipped. "
                "The restricted scheme (amax/127) keeps it."
            ),
        ),
        Scheme("affine", "affine (unsigned, with a zero point)", signed=False),
        Scheme("symmetric_restricted", "symmetric restricted [-(2^(b-1)-1), 2^(b-1)-1]", restricted=True),
        Scheme(
            "article",
            "the article's formula: int(x·2^(b-1))",
            fixed_scale=True,
            default_rounding="truncate",
            aliases=("seed",),
            note=(
                ":material/info: The article's formula `int(value * 2**(bits-1))` has a fixed scale 2^-(b-1), "
                "truncates, and never clamps: codes that do not fit in b signed bits are flagged **overflow**."
            ),
        ),
    )
}
"""Every integer scheme by key, in the order the playground lists them."""

SCHEMES = SCHEME_REGISTRY.keys()
"""The scheme keys: a live view of SCHEME_REGISTRY (a scheme added there shows up here)."""


def choice(value: str, options: Sequence[str], what: str) -> str:
    """`value` when it is one of `options`, else a ValueError listing them."""
    if value not in options:
        raise ValueError(f"Unknown {what} {value!r}: choose one of {', '.join(options)}.")
    return value


def get_scheme(key: str) -> Scheme:
    """The Scheme named `key` or one of its aliases ("seed" is the article's formula); ValueError otherwise."""
    if key in SCHEME_REGISTRY:
        return SCHEME_REGISTRY[key]
    for scheme in SCHEME_REGISTRY.values():
        if key in scheme.aliases:
            return scheme
    raise ValueError(f"Unknown scheme {key!r}: choose one of {', '.join(SCHEME_REGISTRY)}.")


def check_bits(bits: int, scheme: str = "symmetric") -> int:
    """Validate a bitwidth for a scheme; returns it. Integer schemes take 1 (restricted: 2) to 16 bits."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise LabError("bits.not_whole", low=MIN_BITS, high=MAX_BITS, value=repr(bits))
    bits = int(bits)
    if not MIN_BITS <= bits <= MAX_BITS:
        raise LabError("bits.range", low=MIN_BITS, high=MAX_BITS, value=bits)
    record = get_scheme(scheme)
    if bits < record.min_bits:
        raise LabError("bits.restricted", scheme=record.key, bits=record.min_bits)
    return bits


def code_range(bits: int, scheme: str) -> tuple[int, int]:
    """(qmin, qmax): signed [-2^(b-1), 2^(b-1)-1] for symmetric and article, unsigned [0, 2^b-1] for affine,
    [-(2^(b-1)-1), 2^(b-1)-1] for symmetric_restricted."""
    record = get_scheme(scheme)
    check_bits(bits, record.key)
    return record.code_range(bits)
