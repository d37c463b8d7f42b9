"""The Scheme registry is the one place a scheme is defined; QParams is the one quantize/dequantize path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compression import quantization as qz
from compression.quiz import make_try_it

FAKE = qz.Scheme("fake_restricted", "a fake scheme for the test", restricted=True, default_rounding="floor")


@pytest.fixture
def fake_scheme(monkeypatch):
    monkeypatch.setitem(qz.SCHEME_REGISTRY, FAKE.key, FAKE)
    return FAKE


def test_a_registered_scheme_appears_everywhere(fake_scheme):
    assert "fake_restricted" in qz.SCHEMES and "fake_restricted" in list(qz.SCHEMES)
    assert qz.code_range(4, "fake_restricted") == (-7, 7)
    with pytest.raises(ValueError, match="at least 2 bits"):
        qz.check_bits(1, "fake_restricted")
    result = qz.quantize([0.5, -1.0, 0.26], 4, scheme="fake_restricted")
    assert result.rounding == "floor"  # the scheme's own default rounding
    assert result.q.tolist() == [3, -7, 1]
    sweep = qz.sweep([0.5, -1.0, 0.26], [2, 4], scheme="fake_restricted")
    assert sweep.table()["4-bit code"].tolist() == [3, -7, 1]
    curve = qz.error_vs_bits([0.5, -1.0, 0.26], [1, 2, 3], scheme="fake_restricted")
    assert curve["bits"].tolist() == [2, 3]  # 1 bit is skipped: the scheme's min_bits
    link = make_try_it("quantization", {"values": "0.5", "bits": "4", "scheme": "fake_restricted"})
    assert link.query["scheme"] == "fake_restricted"
    assert qz.parse_link_param("scheme", "FAKE_RESTRICTED") == "fake_restricted"


def test_unknown_scheme_lists_the_registry():
    with pytest.raises(ValueError, match="symmetric, affine, symmetric_restricted, article"):
        qz.quantize([1.0], 8, scheme="nope")
    with pytest.raises(ValueError, match="symmetric, affine, symmetric_restricted, article"):
        qz.parse_link_param("scheme", "nope")


def test_seed_is_an_alias_of_the_article_scheme():
    assert qz.get_scheme("seed") is qz.SCHEME_REGISTRY["article"]
    result = qz.quantize([0.5, 1.0], 8, scheme="seed")
    assert result.scheme == "article" and result.q.tolist() == [64, 128]
    assert qz.seed_quantize is qz.article_quantize


@pytest.mark.parametrize("scheme", ["symmetric", "affine", "symmetric_restricted", "article"])
@pytest.mark.parametrize("rounding", ["nearest", "truncate", "floor", "stochastic"])
def test_qparams_apply_reproduces_the_quantizer(scheme, rounding):
    x = torch.from_numpy(qz.generate_values("laplace", 2_000, seed=5))
    result = qz.quantize(x, 5, scheme=scheme, rounding=rounding, seed=3)
    params = result.qparams
    assert torch.equal(params.apply(x), result.dequantized)
    assert torch.equal(params.codes(x).to(result.q.dtype), result.q) or not params.clamp


def test_qparams_levels_and_sweep_share_one_path():
    values = qz.generate_values("normal", 1_000, seed=1)
    result = qz.quantize(values, 3, scheme="affine")
    levels = result.qparams.levels()
    assert len(levels) == 8 and np.all(np.diff(levels) > 0)
    sweep = qz.sweep(values, [3], scheme="affine")
    assert np.array_equal(sweep.levels("3-bit"), levels.astype(np.float32))
    assert sweep.levels_count("3-bit") == 8
    assert sweep.qparams["3-bit"] == result.qparams
    with pytest.raises(ValueError, match="per-tensor"):
        qz.sweep(values.reshape(10, 100), [3], per_channel=True).transfer_curve("3-bit")


def test_quant_spec_is_a_hashable_cache_key_and_resolves_aliases():
    spec = qz.QuantSpec(8, "seed")
    assert hash(spec) == hash(qz.QuantSpec(8, "seed"))
    resolved = spec.resolved()
    assert resolved.scheme == "article" and resolved.rounding == "truncate"
    with pytest.raises(ValueError, match="rounding"):
        qz.QuantSpec(8, rounding="up").resolved()


def test_article_panel_scores_what_an_int8_stores():
    values = qz.generate_values("normal", 100_000, seed=0)
    comparison = qz.compare_with_article(values, 8)
    metrics = comparison.metrics
    stored, unbounded, correct = (metrics.loc[r] for r in ("article", "article, unbounded int", "correct"))
    assert stored["overflow / clipped"] > 10_000  # most |x| >= 1 overflow at a fixed scale of 1/128
    # wrapped codes flip sign: the broken formula must not look better than the correct one
    assert stored["MSE"] > correct["MSE"] > unbounded["MSE"]
    row = comparison.table
    wrapped = row[~row["fits int8"]]
    assert (wrapped["article dequantized"] == wrapped["stored as int8"] / 128).all()
