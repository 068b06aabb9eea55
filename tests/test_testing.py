"""fmlp.testing: fmlp's own optimizers pass the laws; each broken optimizer is caught by name."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fmlp
from fmlp.testing import (
    LAWS,
    Case,
    LawName,
    LawViolation,
    Quadratic,
    adam_states,
    batches,
    cases,
    check_law,
    check_optimizer,
    classification_batches,
    grads_like,
    learning_rates,
    models,
    momenta,
    optimizer_states,
    optimizers,
    reachable_states,
)
from fmlp.testing.strategies import architectures, params

S = TypeVar("S")

# Optimizer[Any]: mypy cannot infer one state type for a list of different optimizers.
BUILT_INS: list[fmlp.Optimizer[Any]] = [
    fmlp.SGD(),
    fmlp.Momentum(0.9),
    fmlp.Nesterov(0.9),
    fmlp.Nesterov(0.9, lookahead_form="tutorial"),
    fmlp.Adam(),
    fmlp.Adam(weight_decay=0.01),
]


@pytest.mark.parametrize("optimizer", BUILT_INS, ids=repr)
def test_fmlp_optimizers_obey_every_law(optimizer: fmlp.Optimizer[Any]) -> None:
    check_optimizer(optimizer)


# --- broken optimizers: each breaks one law, and the kit must name it ------------------------


@attrs.frozen
class _Stateless(fmlp.Optimizer[fmlp.SGDState]):
    def init(self, params: fmlp.Params) -> fmlp.SGDState:
        return fmlp.SGDState()


@attrs.frozen
class WritesIntoParams(_Stateless):
    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        for w, g in zip(params.arrays(), grads.arrays(), strict=True):
            np.subtract(w, lr * g, out=w)  # fmlp's arrays are read-only: this raises
        return params, state


@attrs.define
class Counter:
    calls: int = 0


@attrs.frozen
class Noisy(_Stateless):
    """Adds a different tiny amount on every call (hidden mutable state)."""

    counter: Counter = attrs.field(factory=Counter)

    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        self.counter.calls += 1
        shift = lr * self.counter.calls
        return fmlp.tree_map(lambda w, g: w - lr * g + shift, fmlp.Params, params, grads), state


@attrs.frozen
class Upcasting(_Stateless):
    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        scale = np.float64(lr)  # a numpy float64 scalar promotes float32 arrays
        return fmlp.tree_map(lambda w, g: w - scale * g, fmlp.Params, params, grads), state


@attrs.frozen
class Float64State(fmlp.Optimizer[fmlp.MomentumState]):
    """Keeps its velocity in float64 whatever the params' dtype."""

    def init(self, params: fmlp.Params) -> fmlp.MomentumState:
        as64 = fmlp.tree_map(lambda w: np.zeros(w.shape), fmlp.Grads, params)
        return fmlp.MomentumState(as64)

    def apply(
        self, params: fmlp.Params, state: fmlp.MomentumState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.MomentumState]:
        return fmlp.SGD().apply(params, fmlp.SGDState(), grads, lr)[0], state


@attrs.frozen
class UnscaledDecay(_Stateless):
    """Weight decay applied outside the learning rate: moves the params at lr = 0."""

    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        return fmlp.tree_map(lambda w, g: 0.99 * w - lr * g, fmlp.Params, params, grads), state


@attrs.frozen
class SignOverNorm(_Stateless):
    """``g / |g|`` with no epsilon: 0/0 at a zero gradient."""

    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        return fmlp.tree_map(lambda w, g: w - lr * g / np.abs(g), fmlp.Params, params, grads), state


@attrs.frozen
class Ascent(_Stateless):
    def apply(
        self, params: fmlp.Params, state: fmlp.SGDState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.SGDState]:
        return fmlp.tree_map(lambda w, g: w + lr * g, fmlp.Params, params, grads), state


@attrs.frozen
class Tally:
    counts: dict[str, int]  # a dict: not something a checkpoint holds


@attrs.frozen
class Tallying(fmlp.Optimizer[Tally]):
    def init(self, params: fmlp.Params) -> Tally:
        return Tally({"steps": 0})

    def apply(
        self, params: fmlp.Params, state: Tally, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, Tally]:
        new = fmlp.SGD().apply(params, fmlp.SGDState(), grads, lr)[0]
        return new, Tally({"steps": state.counts["steps"] + 1})


@attrs.define
class Buffers:
    velocity: list[fmlp.Array]


@attrs.frozen
class InPlaceState(fmlp.Optimizer[Buffers]):
    def init(self, params: fmlp.Params) -> Buffers:
        return Buffers([np.zeros_like(a) for a in params.arrays()])

    def apply(
        self, params: fmlp.Params, state: Buffers, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, Buffers]:
        for v, g in zip(state.velocity, grads.arrays(), strict=True):
            v += g
        return fmlp.SGD().apply(params, fmlp.SGDState(), grads, lr)[0], state


BROKEN: list[tuple[fmlp.Optimizer[Any], LawName, str]] = [
    (WritesIntoParams(), "no_mutation", "read-only"),
    (InPlaceState(), "no_mutation", "an input changed: state.velocity"),
    (Noisy(), "deterministic", "two calls of apply with the same inputs differ"),
    (Upcasting(), "structure", "apply returned float64 params for float32 params"),
    (Float64State(), "structure", "is float64 for float32 params"),
    (UnscaledDecay(), "zero_lr", "apply with lr = 0 moved the params"),
    (SignOverNorm(), "finite", "FloatingPointError"),
    (Ascent(), "descent", "5 steps with lr = 0.01 took the quadratic from"),
    (Tallying(), "checkpoint", "raised TypeError: cannot save Tally.counts"),
]


@pytest.mark.parametrize(
    ("optimizer", "law", "detail"), BROKEN, ids=[type(opt).__name__ for opt, _, _ in BROKEN]
)
def test_broken_optimizers_are_caught_by_the_right_law(
    optimizer: fmlp.Optimizer[Any], law: LawName, detail: str
) -> None:
    with pytest.raises(LawViolation) as caught:
        check_optimizer(optimizer, max_examples=20)
    message = str(caught.value)
    assert caught.value.law == law
    assert message.startswith(f"law {law!r} violated by {optimizer!r}")
    assert detail in message
    # The counterexample is shown (shrunk by hypothesis).
    assert "counterexample:" in message
    assert "params    = Params(layers=(Layer(weights=array([[" in message


def test_a_violation_is_an_assertion_error() -> None:
    # So pytest reports it as a test failure, not an error.
    with pytest.raises(AssertionError):
        check_optimizer(Ascent(), max_examples=10)


def test_skipped_laws_are_not_checked() -> None:
    check_optimizer(Ascent(), skip={"descent"}, max_examples=10)
    check_optimizer(UnscaledDecay(), skip={"zero_lr", "descent"}, max_examples=10)
    check_optimizer(Tallying(), skip={"checkpoint"}, max_examples=10)


def test_an_exception_is_blamed_on_the_law_being_checked_when_its_own_law_is_skipped() -> None:
    with pytest.raises(LawViolation) as caught:
        check_optimizer(SignOverNorm(), skip={"finite"}, max_examples=10)
    assert caught.value.law == "no_mutation"
    assert "(while checking" not in str(caught.value)


def test_unknown_law_names_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("skip: unknown law names ['descnt']")):
        check_optimizer(fmlp.SGD(), skip={"descnt"})  # type: ignore[arg-type]


def test_a_single_name_must_be_wrapped_in_a_collection() -> None:
    with pytest.raises(TypeError, match=re.escape("such as {'descent'}, got 'descent'")):
        check_optimizer(fmlp.SGD(), skip="descent")  # type: ignore[arg-type]


def test_max_examples_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_examples must be a positive integer, got 0"):
        check_optimizer(fmlp.SGD(), max_examples=0)


def test_law_names_match_the_literal_type() -> None:
    assert LAWS == (
        "no_mutation",
        "deterministic",
        "structure",
        "zero_lr",
        "finite",
        "descent",
        "checkpoint",
    )


# --- composing the laws by hand ---------------------------------------------------------------


@settings(max_examples=20)
@given(cases(fmlp.Adam()))
def test_check_law_composes_with_given(case: Case[fmlp.AdamState]) -> None:
    for law in ("no_mutation", "structure", "zero_lr", "finite"):
        check_law(law, fmlp.Adam(), case)


def _one_case(lr: float) -> Case[fmlp.SGDState]:
    w = fmlp.Params((fmlp.Layer(np.ones((1, 1)), np.zeros(1)),))
    g = fmlp.Grads((fmlp.Layer(np.ones((1, 1)), np.ones(1)),))
    return Case(w, fmlp.SGDState(), g, lr, Quadratic(g, g))


def test_check_law_reports_the_given_case() -> None:
    with pytest.raises(LawViolation) as caught:
        check_law("zero_lr", UnscaledDecay(), _one_case(0.5))
    assert caught.value.law == "zero_lr"
    assert "lr        = 0.5" in str(caught.value)


def test_the_descent_law_uses_the_quadratic() -> None:
    # f(w) = ½·Σ(w − t)² with w − t = 1 everywhere: SGD with lr 0.01 shrinks it by (0.99⁵)².
    check_law("descent", fmlp.SGD(), _one_case(0.0))
    with pytest.raises(LawViolation, match=r"from 1 to 1\.10"):
        check_law("descent", Ascent(), _one_case(0.0))


# --- strategies -------------------------------------------------------------------------------


@settings(max_examples=20)
@given(st.data())
def test_optimizer_states_have_the_structure_of_init(data: st.DataObject) -> None:
    optimizer: fmlp.Optimizer[Any] = data.draw(optimizers())
    w = data.draw(params(data.draw(architectures(max_depth=2, max_width=3))))
    state = data.draw(optimizer_states(optimizer, w))
    assert type(state) is type(optimizer.init(w))
    check_law("structure", optimizer, Case(w, state, fmlp.zeros_like(w), 0.1, _quad(w)))


def _quad(w: fmlp.Params) -> Quadratic:
    ones = fmlp.tree_map(np.ones_like, fmlp.Grads, w)
    return Quadratic(ones, ones)


@settings(max_examples=20)
@given(st.data())
def test_reachable_adam_states_count_their_steps(data: st.DataObject) -> None:
    w = data.draw(params(fmlp.MLP((2, 1))))
    state = data.draw(reachable_states(fmlp.Adam(), w, max_steps=3))
    assert 0 <= state.count <= 3
    assert state.mu.dtype == w.dtype


@settings(max_examples=20)
@given(st.data())
def test_classification_batches_hold_valid_labels(data: st.DataObject) -> None:
    mlp = data.draw(architectures())
    batch = data.draw(classification_batches(mlp, dtype=np.dtype(np.float32)))
    assert batch.x.shape == (len(batch), mlp.n_inputs)
    assert batch.y.dtype == np.int64
    assert batch.y.min() >= 0 and batch.y.max() < mlp.n_outputs
    # The labels are exactly what SoftmaxCrossEntropy accepts.
    fmlp.SoftmaxCrossEntropy().prepare_targets(
        batch.y, n_outputs=mlp.n_outputs, dtype=batch.x.dtype
    )


# --- the README's section runs as written ------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- section: testing kit (issue 4) -->"


def _readme_code() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(MARKER) :]
    section = section[: section.index("<!-- section:", len(MARKER))]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_section_runs_as_written() -> None:
    blocks = _readme_code()
    assert blocks, "the README's testing-kit section has no python block"
    for block in blocks:
        namespace: dict[str, object] = {"__name__": "readme_testing_kit"}
        exec(compile(block, str(README), "exec"), namespace)
        tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
        assert tests, "each README block ends in a test function, which must be run"
        for test in tests:
            run: Callable[[], None] = test
            run()


@attrs.frozen
class OwnState:
    velocity: tuple[fmlp.Array, ...]
    steps: int


def test_the_checkpoint_law_round_trips_a_users_own_state() -> None:
    case = _one_case(0.1)
    state = OwnState((np.ones((1, 1), np.float32), np.zeros(1, np.float32)), 3)
    own = Case(case.params, state, case.grads, 0.1, case.quadratic)
    check_law("checkpoint", _Holds(state), own)


@attrs.frozen
class _Holds(fmlp.Optimizer[OwnState]):
    state: OwnState

    def init(self, params: fmlp.Params) -> OwnState:
        return self.state

    def apply(
        self, params: fmlp.Params, state: OwnState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, OwnState]:
        return params, state


@settings(max_examples=20)
@given(st.data())
def test_models_grads_and_batches_are_finite_bounded_and_fit(data: st.DataObject) -> None:
    mlp, w = data.draw(models(max_depth=2, max_width=4))
    assert 1 <= len(mlp.layer_shapes) <= 2 and max(mlp.sizes) <= 4
    assert w.shapes == mlp.layer_shapes
    assert w.dtype in (np.float32, np.float64)
    g = data.draw(grads_like(w, bound=0.5))
    assert g.shapes == w.shapes and g.dtype == w.dtype
    for tree, bound in ((w, 2.0), (g, 0.5)):
        for a in tree.arrays():
            assert np.all(np.isfinite(a)) and np.all(np.abs(a) <= bound)
    batch = data.draw(batches(mlp, dtype=w.dtype, max_rows=5))
    assert 1 <= len(batch) <= 5
    assert batch.x.shape == (len(batch), mlp.n_inputs) and batch.x.dtype == w.dtype
    assert batch.y.shape == (len(batch), mlp.n_outputs) and batch.y.dtype == w.dtype


@settings(max_examples=20)
@given(learning_rates(0.5), momenta())
def test_learning_rates_and_momenta_are_in_their_valid_ranges(lr: float, momentum: float) -> None:
    assert 0.0 <= lr <= 0.5
    assert 0.0 <= momentum <= 0.99
    fmlp.momentum_step(*_sgd_inputs(), lr=lr, momentum=momentum)  # accepted by the checks


def _sgd_inputs() -> tuple[fmlp.Params, fmlp.MomentumState, fmlp.Grads]:
    case = _one_case(0.0)
    return case.params, fmlp.Momentum().init(case.params), case.grads


@settings(max_examples=20)
@given(st.data())
def test_adam_states_are_valid(data: st.DataObject) -> None:
    w = data.draw(params(fmlp.MLP((3, 2))))
    state = data.draw(adam_states(w))
    assert state.mu.shapes == state.nu.shapes == w.shapes
    assert state.nu.dtype == w.dtype
    assert all(np.all(a >= 0) for a in state.nu.arrays())
    assert 0 <= state.count <= 100
