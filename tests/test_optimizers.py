"""Laws of fmlp.optimizers, each optimizer through the same checks (optax style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from purity import assert_same, check_pure

from fmlp.optimizers import (
    SGD,
    Adam,
    AdamState,
    Lookahead,
    Momentum,
    MomentumState,
    Nesterov,
    Optimizer,
    SGDState,
    adam_step,
    momentum_step,
    nesterov_lookahead,
    nesterov_step,
    sgd_step,
)
from fmlp.records import Array, Grads, Layer, Params
from fmlp.testing import (
    adam_states,
    grads_like,
    learning_rates,
    models,
    momenta,
    momentum_states,
)

T = TypeVar("T", Params, Grads)
FORMS: list[Lookahead] = ["sutskever", "tutorial"]


def parameters() -> st.SearchStrategy[Params]:
    return models().map(lambda m: m[1])


def zip_map(fn: Callable[..., Array], kind: type[T], *trees: Params | Grads) -> T:
    """An independent tree map: fresh arrays, wrapped in ``kind``."""
    layers = []
    for parts in zip(*(t.layers for t in trees), strict=True):
        layers.append(Layer(fn(*(p.weights for p in parts)), fn(*(p.bias for p in parts))))
    return kind(tuple(layers))


def quadratic_grad(target: Params) -> Callable[[Params], Grads]:
    """The gradient ``w − c`` of ``½‖w − c‖²``: a grad_fn for Nesterov."""
    return lambda q: zip_map(lambda w, c: w - c, Grads, q, target)


def optimizers() -> st.SearchStrategy[Optimizer[object]]:
    return st.one_of(
        st.just(SGD()),
        st.builds(Momentum, momenta()),
        st.builds(Nesterov, momenta(), lookahead_form=st.sampled_from(FORMS)),
        st.builds(Adam, weight_decay=st.sampled_from([0.0, 0.01])),
    )


# --- lr = 0, momentum = 0 ----------------------------------------------------------------


@given(parameters(), st.data())
def test_lr_zero_leaves_params_bit_identical(p: Params, data: st.DataObject) -> None:
    g = data.draw(grads_like(p))
    state = data.draw(momentum_states(p))
    adam = data.draw(adam_states(p))
    m = data.draw(momenta())
    grad_fn = quadratic_grad(Params(g.layers))
    assert_same(sgd_step(p, g, lr=0.0), p)
    assert_same(momentum_step(p, state, g, lr=0.0, momentum=m)[0], p)
    for form in FORMS:
        assert_same(nesterov_step(p, state, grad_fn, lr=0.0, momentum=m, lookahead=form)[0], p)
    for decay in (0.0, 0.1):
        assert_same(adam_step(p, adam, g, lr=0.0, weight_decay=decay)[0], p)
    for opt in (SGD(), Momentum(m), Nesterov(m), Nesterov(m, lookahead_form="tutorial")):
        s = state if isinstance(opt, Momentum) else SGDState()
        assert_same(opt.apply(p, s, g, 0.0)[0], p)  # type: ignore[arg-type]
    for decay in (0.0, 0.1):
        assert_same(Adam(weight_decay=decay).apply(p, adam, g, 0.0)[0], p)


@given(parameters(), st.data())
def test_momentum_zero_is_sgd(p: Params, data: st.DataObject) -> None:
    g = data.draw(grads_like(p))
    state = data.draw(momentum_states(p))
    lr = data.draw(learning_rates())
    sgd = sgd_step(p, g, lr=lr)
    assert momentum_step(p, state, g, lr=lr, momentum=0.0)[0] == sgd
    assert Momentum(0.0).apply(p, state, g, lr)[0] == sgd
    assert SGD().apply(p, SGDState(), g, lr)[0] == sgd
    # Nesterov's default look-ahead is w itself at m = 0, so it is SGD as well.
    grad_fn = quadratic_grad(Params(g.layers))
    assert nesterov_step(p, state, grad_fn, lr=lr, momentum=0.0)[0] == sgd_step(
        p, grad_fn(p), lr=lr
    )
    assert Nesterov(0.0).lookahead(p, state, lr) is p


# --- formulas ------------------------------------------------------------------------------


@given(parameters(), st.data())
def test_sgd_and_momentum_formulas(p: Params, data: st.DataObject) -> None:
    g = data.draw(grads_like(p))
    state = data.draw(momentum_states(p))
    lr, m = data.draw(learning_rates()), data.draw(momenta())
    tol = 1e-6 if p.dtype == np.float32 else 1e-14
    expected = zip_map(lambda w, d: w.astype(float) - lr * d.astype(float), Params, p, g)
    for a, b in zip(sgd_step(p, g, lr=lr).arrays(), expected.arrays(), strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    new_p, new_s = momentum_step(p, state, g, lr=lr, momentum=m)
    v = zip_map(
        lambda v, d: m * v.astype(float) + (1 - m) * d.astype(float), Grads, state.velocity, g
    )
    w = zip_map(lambda w, v: w.astype(float) - lr * v, Params, p, v)
    for a, b in zip(
        [*new_s.velocity.arrays(), *new_p.arrays()], [*v.arrays(), *w.arrays()], strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("form", FORMS)
@given(parameters(), st.data())
def test_nesterov_lookahead_points(form: Lookahead, p: Params, data: st.DataObject) -> None:
    state = data.draw(momentum_states(p))
    lr, m = data.draw(learning_rates()), data.draw(momenta())
    scale = lr * m if form == "sutskever" else lr  # w − lr·m·v  or  w − lr·v
    expected = zip_map(lambda w, v: w - scale * v, Params, p, state.velocity)
    point = check_pure(nesterov_lookahead, p, state, lr=lr, momentum=m, lookahead=form)
    assert point == expected
    assert Nesterov(m, lookahead_form=form).lookahead(p, state, lr) == expected
    assert all(a.dtype == p.dtype for a in point.arrays())


@pytest.mark.parametrize("form", FORMS)
@given(parameters(), st.data())
def test_nesterov_takes_the_gradient_at_the_lookahead(
    form: Lookahead, p: Params, data: st.DataObject
) -> None:
    state = data.draw(momentum_states(p))
    lr, m = data.draw(learning_rates()), data.draw(momenta())
    grad_fn = quadratic_grad(Params(data.draw(grads_like(p)).layers))
    seen: list[Params] = []

    def recording(q: Params) -> Grads:
        seen.append(q)
        return grad_fn(q)

    new_p, new_s = nesterov_step(p, state, recording, lr=lr, momentum=m, lookahead=form)
    point = nesterov_lookahead(p, state, lr=lr, momentum=m, lookahead=form)
    assert len(seen) == 1 and seen[0] == point
    assert_same((new_p, new_s), momentum_step(p, state, grad_fn(point), lr=lr, momentum=m))


def reference_adam(
    w: Array,
    mu: Array,
    nu: Array,
    count: int,
    grads: list[Array],
    lr: float,
    b1: float,
    b2: float,
    eps: float,
    decay: float,
) -> tuple[Array, Array, Array]:
    """Adam on flat float64 vectors, straight from the docstring."""
    w, mu, nu = w.copy(), mu.copy(), nu.copy()
    for t, g in enumerate(grads, start=count + 1):
        mu = b1 * mu + (1 - b1) * g
        nu = b2 * nu + (1 - b2) * g**2
        mu_hat = mu / (1 - b1**t)
        nu_hat = nu / (1 - b2**t)
        w = w - lr * (mu_hat / (np.sqrt(nu_hat) + eps) + decay * w)
    return w, mu, nu


def flat(tree: Params | Grads) -> Array:
    return np.concatenate([a.astype(np.float64).ravel() for a in tree.arrays()])


@given(parameters(), st.data())
def test_adam_matches_an_independent_implementation(p: Params, data: st.DataObject) -> None:
    state = data.draw(adam_states(p))
    grads = data.draw(st.lists(grads_like(p), min_size=1, max_size=4))
    lr = data.draw(learning_rates(0.1))
    b1, b2 = data.draw(st.floats(0.0, 0.99)), data.draw(st.floats(0.0, 0.999))
    eps = data.draw(st.sampled_from([1e-8, 1e-3]))
    decay = data.draw(st.sampled_from([0.0, 0.01]))
    q, s = p, state
    for g in grads:
        q, s = adam_step(q, s, g, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=decay)
    w, mu, nu = reference_adam(
        flat(p),
        flat(state.mu),
        flat(state.nu),
        state.count,
        [flat(g) for g in grads],
        lr,
        b1,
        b2,
        eps,
        decay,
    )
    assert s.count == state.count + len(grads)
    tol = 1e-4 if p.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(flat(s.mu), mu, rtol=tol, atol=tol)
    np.testing.assert_allclose(flat(s.nu), nu, rtol=tol, atol=tol)
    np.testing.assert_allclose(flat(q), w, rtol=tol, atol=tol)


# --- the two forms agree, structure and dtype -------------------------------------------


@given(parameters(), st.data())
def test_plain_functions_equal_the_optimizer_records(p: Params, data: st.DataObject) -> None:
    g = data.draw(grads_like(p))
    state = data.draw(momentum_states(p))
    adam = data.draw(adam_states(p))
    lr, m = data.draw(learning_rates()), data.draw(momenta())
    assert_same(check_pure(sgd_step, p, g, lr=lr), SGD().apply(p, SGDState(), g, lr)[0])
    assert_same(
        check_pure(momentum_step, p, state, g, lr=lr, momentum=m),
        Momentum(m).apply(p, state, g, lr),
    )
    grad_fn = quadratic_grad(Params(g.layers))
    for form in FORMS:
        opt = Nesterov(m, lookahead_form=form)
        by_record = opt.apply(p, state, grad_fn(opt.lookahead(p, state, lr)), lr)
        assert_same(
            check_pure(nesterov_step, p, state, grad_fn, lr=lr, momentum=m, lookahead=form),
            by_record,
        )
    decay = data.draw(st.sampled_from([0.0, 0.05]))
    assert_same(
        check_pure(adam_step, p, adam, g, lr=lr, b1=0.8, b2=0.99, eps=1e-6, weight_decay=decay),
        Adam(0.8, 0.99, 1e-6, decay).apply(p, adam, g, lr),
    )


def state_shape(state: object) -> object:
    """The structure of an optimizer state: types, shapes and dtypes of its gradients."""
    if isinstance(state, Grads):
        return ("Grads", state.shapes, state.dtype)
    if isinstance(state, MomentumState):
        return ("MomentumState", state_shape(state.velocity))
    if isinstance(state, AdamState):
        return ("AdamState", state_shape(state.mu), state_shape(state.nu))
    return type(state).__name__


@given(optimizers(), parameters(), st.data())
def test_every_step_keeps_dtype_and_structure(
    opt: Optimizer[object], p: Params, data: st.DataObject
) -> None:
    state = opt.init(p)
    structure = state_shape(state)
    lr = data.draw(learning_rates())
    for g in data.draw(st.lists(grads_like(p), min_size=1, max_size=3)):
        point = check_pure(opt.lookahead, p, state, lr)
        assert point.shapes == p.shapes and point.dtype == p.dtype
        p2, state = check_pure(opt.apply, p, state, g, lr)
        assert isinstance(p2, Params)
        assert p2.shapes == p.shapes and p2.dtype == p.dtype
        assert state_shape(state) == structure
        p = p2


@given(optimizers(), parameters())
def test_every_optimizer_descends_a_parabola(opt: Optimizer[object], p: Params) -> None:
    # f(w) = ½‖w‖², gradient w: a few small steps must lower f (or keep it at 0).
    def f(q: Params) -> float:
        return 0.5 * float(sum(np.sum(a.astype(np.float64) ** 2) for a in q.arrays()))

    start = f(p)
    state = opt.init(p)
    for _ in range(20):
        g = Grads(opt.lookahead(p, state, 0.05).layers)
        p, state = opt.apply(p, state, g, 0.05)
    if not isinstance(opt, Adam):  # Adam's steps of about lr each can overshoot near 0
        assert f(p) <= start
    if start > 1.0:
        assert f(p) < start


def test_init_states() -> None:
    p = Params((Layer(np.ones((2, 3), np.float32), np.ones(3, np.float32)),))
    assert SGD().init(p) == SGDState()
    velocity = Momentum().init(p).velocity
    assert velocity.dtype == np.float32 and not any(a.any() for a in velocity.arrays())
    adam = Adam().init(p)
    assert adam.count == 0 and adam.mu == adam.nu == velocity


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p, g: sgd_step(p, g, lr=-1.0), "lr must be a finite number"),
        (lambda p, g: sgd_step(p, g, lr=float("nan")), "lr must be a finite number"),
        (
            lambda p, g: momentum_step(p, Momentum().init(p), g, lr=0.1, momentum=1.0),
            r"momentum must be a finite number in \[0.0, 1.0\)",
        ),
        (
            lambda p, g: nesterov_lookahead(
                p,
                Momentum().init(p),
                lr=0.1,
                momentum=0.5,
                lookahead="far",  # type: ignore[arg-type]
            ),
            "lookahead must be 'sutskever' or 'tutorial'",
        ),
        (lambda p, g: adam_step(p, Adam().init(p), g, lr=0.1, b1=1.0), "b1 must be"),
        (lambda p, g: adam_step(p, Adam().init(p), g, lr=0.1, eps=0.0), "eps must be"),
        (lambda p, g: Momentum(-0.1), "momentum must be"),
        (lambda p, g: Nesterov(lookahead_form="far"), "lookahead_form must be"),  # type: ignore[arg-type]
        (lambda p, g: Adam(weight_decay=-1.0), "weight_decay must be"),
    ],
)
def test_bad_hyperparameters_are_refused(
    call: Callable[[Params, Grads], object], match: str
) -> None:
    p = Params((Layer(np.ones((1, 1)), np.ones(1)),))
    with pytest.raises(ValueError, match=match):
        call(p, Grads(p.layers))
