"""Figures as a browser's data grid shows them: which columns it cannot show as numbers, a number as its
number column writes it in a printf format, and a column width that shows a text whole.

Pure functions over pandas and numpy (no streamlit): the pages' tables (the quantization playground's summary
and per-value table) call them, and tests check them without a browser.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

BROWSER_INTEGER_LIMIT = 2**53
"""A number column in the browser refuses integral values from 2^53 on (every float32 beyond 2^24 is one): such
columns, and columns holding ∞ or an undefined figure, are shown as text."""


def needs_text(column: pd.Series) -> bool:
    """True when the browser's number column cannot show this column: ∞, NaN, or |value| >= 2^53."""
    if column.dtype == bool or not pd.api.types.is_numeric_dtype(column):
        return False
    numbers = column.to_numpy(dtype=np.float64)
    return bool((~np.isfinite(numbers)).any() or (np.abs(numbers) >= BROWSER_INTEGER_LIMIT).any())


def number_text(value: object, number_format: str | None) -> str:
    """A finite number as the browser's number column writes it in a printf format (sprintf-js): "%.Ng" is
    String(Number(x.toPrecision(N))), positional from 1e-6 to 1e21 ("0.000003927", "123500", "1e+38"); "%.Ne"
    has no leading zeros in its exponent ("2.963e+73", "7.858e-5"); the others as Python's %."""
    precision = re.fullmatch(r"%\.(\d+)g", number_format or "")
    if precision and isinstance(value, float | np.floating) and value != 0:
        rounded = float(f"{value:.{max(int(precision[1]), 1) - 1}e}")
        if -7 < math.floor(math.log10(abs(rounded))) < 21:
            return np.format_float_positional(rounded, trim="-")
        return np.format_float_scientific(rounded, trim="-", exp_digits=1)
    if number_format is None:
        return f"{int(value)}" if float(value).is_integer() else f"{value}"
    text = number_format % value
    return re.sub(r"e([+-])0+(\d)", r"e\1\2", text) if number_format.endswith("e") else text


# Upper bounds of character widths in pixels in the grid's 14 px Source Sans (measured in Chromium).
CHAR_WIDTHS = {
    char: width
    for chars, width in (
        (" il.,|':;!Ij", 3.7),
        ("ftr-()/[]`", 4.9),
        ('szcx"', 6.4),
        ("0123456789+#$<>=~^_*?aegkvyYFJ", 7.1),
        ("bdhnopquAELSTVXZCPR", 8.0),
        ("BDGK", 8.7),
        ("HNOQU", 9.4),
        ("mwMW%∞—", 11.7),
        ("²·", 5.2),
        ("Δ", 8.3),
    )
    for char in chars
}


def text_width(text: str) -> float:
    """About how many pixels `text` takes in the grid, from above: CHAR_WIDTHS, else 7.8 for ASCII, 14 for
    wide (CJK) characters and 11.7 for other symbols."""
    width = 0.0
    for char in text:
        if char in CHAR_WIDTHS:
            width += CHAR_WIDTHS[char]
        elif char.isascii():
            width += 7.8
        else:
            width += 14.0 if unicodedata.east_asian_width(char) in ("W", "F") else 11.7
    return width


def fit_width(texts: Iterable[object]) -> int:
    """A column width that shows the longest of `texts` whole: the text, the cell's 8 px padding on both
    sides and a little room (the grid sizes a column to its content only once, so a column set here stays
    right when the rows change: more formats, another page)."""
    return int(math.ceil(max((text_width(str(text)) for text in texts), default=0.0) + 16 + 4))
