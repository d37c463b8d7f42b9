"""The quiz's "try it" link contract for the compress page: the page's own parsers (compression.ptq), no run."""

from __future__ import annotations

import pytest

from compression import ptq
from compression.quiz.links import CONTRACTS, make_try_it


def test_a_compress_link_is_checked_and_made_canonical():
    link = make_try_it("compress", {"bits": " 8, 4,4 ,2", "granularity": "Per-Tensor"})
    assert link.page == "compress"
    assert link.query == {"bits": "8,4,2", "granularity": "per-tensor"}
    assert link.url == "/compress?bits=8,4,2&granularity=per-tensor"
    assert make_try_it("compress", {"granularity": "both"}).url == "/compress?granularity=both"
    assert make_try_it("compress", {}).url == "/compress"  # the page's defaults: newest run, 8,4,2, per-channel


def test_the_compress_contract_reads_what_the_page_reads():
    for raw in ("8,4,2", "2", "3,5,7"):
        canonical = CONTRACTS["compress"]["bits"](raw)
        assert ptq.parse_bits_list(canonical) == ptq.parse_bits_list(raw)
    for choice in ptq.GRANULARITY_CHOICES:
        assert make_try_it("compress", {"granularity": choice}).query["granularity"] == choice
    assert set(ptq.GRANULARITY_CHOICES) == {"per-channel", "per-tensor", "both"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bits": "9"}, "parameter 'bits' .*Bits must be from 2 to 8.*got 9"),
        ({"bits": "8,1"}, "parameter 'bits' .*got 1"),
        ({"bits": "eight"}, "parameter 'bits' .*'eight' is not a whole number of bits"),
        ({"bits": ""}, "parameter 'bits' .*at least one bitwidth"),
        (
            {"granularity": "per-row"},
            "parameter 'granularity' must be one of per-channel, per-tensor, both; got 'per-row'",
        ),
        ({"granularity": "per-channel,per-tensor"}, "parameter 'granularity' must be one of"),
        ({"run": "20260101-abc"}, "unknown parameter 'run' for /compress; allowed: bits, granularity"),
        ({"bits": 8.5}, "parameter 'bits' .*'8.5' is not a whole number"),
    ],
)
def test_a_bad_compress_link_is_refused_with_a_clear_message(params, message):
    with pytest.raises(ValueError, match=message):
        make_try_it("compress", params)


def test_the_page_list_in_the_error_names_compress():
    with pytest.raises(ValueError, match="page must be one of quantization, distillation, compress"):
        make_try_it("pruning", {})
