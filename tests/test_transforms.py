"""Laws of fmlp.transforms: clip, clip_by_norm and weight decay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from purity import assert_same, check_pure

from fmlp.records import Grads, Layer, Params, global_norm
from fmlp.testing import grads_like, models
from fmlp.transforms import add_weight_decay, clip, clip_by_norm

limits = st.floats(1e-3, 3.0)


def gradients() -> st.SearchStrategy[Grads]:
    return models().flatmap(lambda m: grads_like(m[1], bound=5.0))


def max_abs(g: Grads) -> float:
    return max(float(np.max(np.abs(a))) for a in g.arrays())


@given(gradients(), limits)
def test_clip_is_bounded_by_the_limit(g: Grads, limit: float) -> None:
    out = check_pure(clip, g, limit)
    # The bound is the limit as the gradient's dtype represents it.
    bound = g.dtype.type(limit)
    assert all(np.all(np.abs(a) <= bound) for a in out.arrays())
    assert out.dtype == g.dtype and out.shapes == g.shapes


@given(gradients(), limits)
def test_clip_is_idempotent(g: Grads, limit: float) -> None:
    once = clip(g, limit)
    assert_same(clip(once, limit), once)


@given(gradients(), limits)
def test_clip_is_the_elementwise_formula(g: Grads, limit: float) -> None:
    out = clip(g, limit)
    lim = g.dtype.type(limit)
    for a, c in zip(g.arrays(), out.arrays(), strict=True):
        expected = np.array([min(max(v, -lim), lim) for v in a.ravel()], a.dtype).reshape(a.shape)
        assert_same(c, expected)


@given(gradients(), st.floats(0.0, 10.0))
def test_clip_above_every_entry_is_the_identity(g: Grads, extra: float) -> None:
    limit = max_abs(g) + 1e-3 + extra
    assert_same(clip(g, limit), g)


@given(gradients(), limits)
def test_clip_by_norm_never_increases_the_norm_and_returns_it(g: Grads, max_norm: float) -> None:
    out, norm = check_pure(clip_by_norm, g, max_norm)
    assert norm == global_norm(g)
    flat = np.concatenate([a.astype(np.float64).ravel() for a in g.arrays()])
    assert math.isclose(norm, float(np.linalg.norm(flat)), rel_tol=1e-5, abs_tol=1e-30)
    assert global_norm(out) <= norm
    # It ends at max_norm (up to rounding in the gradient's dtype) when it clips.
    rel = 1e-5 if g.dtype == np.float32 else 1e-12
    assert global_norm(out) <= max_norm * (1 + rel) or out == g
    assert out.dtype == g.dtype and out.shapes == g.shapes


@given(gradients(), limits)
def test_clip_by_norm_keeps_the_direction(g: Grads, max_norm: float) -> None:
    norm = global_norm(g)
    assume(norm > 0)
    out, _ = clip_by_norm(g, max_norm)
    scale = min(1.0, max_norm / norm)
    rel = 1e-6 if g.dtype == np.float32 else 1e-14
    for a, c in zip(g.arrays(), out.arrays(), strict=True):
        # Proportional entry by entry: c = a·scale (so the cosine is 1).
        np.testing.assert_allclose(c, a.astype(np.float64) * scale, rtol=rel, atol=1e-30)
    x = np.concatenate([a.astype(np.float64).ravel() for a in g.arrays()])
    y = np.concatenate([a.astype(np.float64).ravel() for a in out.arrays()])
    assert float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y)) == pytest.approx(1.0, rel=1e-6)


@given(gradients())
def test_clip_by_norm_above_the_norm_is_the_identity(g: Grads) -> None:
    out, norm = clip_by_norm(g, global_norm(g) + 1e-3)
    assert out is g
    assert norm == global_norm(g)


@given(models(), st.data())
def test_weight_decay_adds_rate_times_weights(
    model: tuple[object, Params], data: st.DataObject
) -> None:
    _, p = model
    g = data.draw(grads_like(p))
    rate = data.draw(st.floats(0.0, 1.0))
    out = check_pure(add_weight_decay, g, p, rate)
    if rate == 0.0:
        assert out is g  # exactly g, even where g + 0·w would turn −0.0 into +0.0
        return
    for layer_g, layer_p, layer_o in zip(g, p, out, strict=True):
        assert_same(layer_o.weights, layer_g.weights + rate * layer_p.weights)
        assert_same(layer_o.bias, layer_g.bias)  # biases are not decayed


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_limits_must_be_positive_and_finite(bad: float) -> None:
    grads = Grads((Layer(np.ones((1, 1)), np.ones(1)),))
    with pytest.raises(ValueError, match="limit must be a finite number"):
        clip(grads, bad)
    with pytest.raises(ValueError, match="max_norm must be a finite number"):
        clip_by_norm(grads, bad)
    if bad != 0.0:
        with pytest.raises(ValueError, match="rate must be a finite number"):
            add_weight_decay(grads, Params(grads.layers), bad)
