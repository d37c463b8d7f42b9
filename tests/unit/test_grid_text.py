"""compression.grid_text: figures as the browser's data grid writes them, and widths that show them whole."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from compression.grid_text import BROWSER_INTEGER_LIMIT, fit_width, needs_text, number_text, text_width


def test_columns_the_number_grid_cannot_show_become_text():
    assert not needs_text(pd.Series([1.0, 2.5, -3.0]))
    assert needs_text(pd.Series([1.0, math.inf]))
    assert needs_text(pd.Series([1.0, math.nan]))
    assert needs_text(pd.Series([float(BROWSER_INTEGER_LIMIT)]))
    assert not needs_text(pd.Series([float(BROWSER_INTEGER_LIMIT - 1)]))
    assert not needs_text(pd.Series([True, False]))  # a checkbox column
    assert not needs_text(pd.Series(["a", "b"]))


def test_numbers_are_written_as_the_browsers_printf_writes_them():
    """sprintf-js: "%.Ng" is String(Number(x.toPrecision(N))), positional from 1e-6 to 1e21; "%.Ne" has no
    leading zeros in its exponent."""
    assert number_text(0.0000039271, "%.4g") == "0.000003927"
    assert number_text(123456.0, "%.4g") == "123500"
    assert number_text(1e38, "%.4g") == "1e+38"
    assert number_text(np.float32(0.5), "%.4g") == "0.5"
    assert number_text(2.9631e73, "%.3e") == "2.963e+73"
    assert number_text(7.8581e-5, "%.3e") == "7.858e-5"
    assert number_text(3.14159, "%.2f") == "3.14"
    assert number_text(12.0, None) == "12" and number_text(1.5, None) == "1.5"
    assert number_text(0.0, "%.4g") == "0"


def test_a_width_shows_the_longest_text_whole():
    assert text_width("") == 0.0
    assert text_width("mm") > text_width("ii")  # wide letters take more room
    assert text_width("中文") == 28.0  # wide (CJK) characters: 14 px each
    assert fit_width(["1", "123456789"]) == fit_width(["123456789"]) > fit_width(["1"])
    assert fit_width([]) == 20  # the cell's padding and a little room
    assert fit_width([123]) == math.ceil(3 * 7.1 + 20)
