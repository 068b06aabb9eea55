"""The laws every fmlp optimizer obeys, as checks you can run on your own optimizer.

An optimizer is anything with ``init``, ``apply`` and ``lookahead`` (the
``fmlp.Optimizer`` protocol). ``check_optimizer(opt)`` lets hypothesis search
for a counterexample to each law below and raises ``LawViolation`` (an
``AssertionError``) naming the first law that fails, with the minimal
counterexample hypothesis shrank it to. Call it from a plain pytest test::

    def test_my_optimizer_obeys_the_laws():
        check_optimizer(MyOptimizer(), skip={"descent"})

The laws (``LawName``), for parameters ``w``, a state ``s``, a gradient ``g``
and a learning rate ``lr ∈ [0, 1]``, all finite and drawn by hypothesis:

* ``"no_mutation"`` — ``init``, ``lookahead`` and ``apply`` leave ``w``, ``s`` and
  ``g`` exactly as they were (writing into fmlp's read-only arrays counts too).
* ``"deterministic"`` — the same inputs give equal outputs (same dtypes, same values).
* ``"structure"`` — ``apply`` and ``lookahead`` return ``Params`` with the shapes and
  dtype of ``w``; ``apply``'s new state has the structure of ``s`` and of
  ``init(w)`` (same record types, same array shapes and dtypes, same scalar types);
  so a float32 model stays float32.
* ``"zero_lr"`` — ``apply(w, s, g, 0)`` and ``lookahead(w, s, 0)`` return ``w`` exactly.
* ``"finite"`` — finite inputs give finite outputs, with no floating-point error
  (overflow, invalid, division by zero) on the way, as ``make_step`` requires.
* ``"descent"`` — on a convex quadratic ``f(w) = ½ Σ c·(w − t)²`` (``c ∈ [0.5, 2]``,
  ``|w − t| ∈ [0.5, 2]`` entry-wise), 5 steps from ``init(w)`` with the gradient
  taken at ``lookahead`` and learning rate ``small_lr`` (0.01) give ``f(w_5) < f(w)``.
* ``"checkpoint"`` — ``fmlp.checkpoint.load(path, like=s)`` after
  ``fmlp.checkpoint.save(path, s)`` returns a state equal to ``s`` (same type,
  dtypes and values).

Switch off a law that does not apply to your optimizer by name: ``skip={"descent"}``
(``LawName`` is a ``Literal``, so mypy checks the spelling). Exceptions raised by
the optimizer count against the law being checked, except a ``FloatingPointError``
(reported as ``"finite"``) and a write into a read-only array (``"no_mutation"``).
"""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Generic, Literal, TypeAlias, TypeVar, get_args

import attrs
import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fmlp import checkpoint
from fmlp.activations import relu
from fmlp.optimizers import Optimizer
from fmlp.records import Grads, Layer, Params, tree_map
from fmlp.testing.strategies import (
    architectures,
    arrays,
    float_dtypes,
    grads_like,
    learning_rates,
    optimizer_states,
    params,
)

__all__ = [
    "LAWS",
    "Case",
    "LawName",
    "LawViolation",
    "Quadratic",
    "cases",
    "check_law",
    "check_optimizer",
]

S = TypeVar("S")

#: The name of one optimizer law (see the module docstring).
LawName: TypeAlias = Literal[
    "no_mutation", "deterministic", "structure", "zero_lr", "finite", "descent", "checkpoint"
]
#: Every law, in the order ``check_optimizer`` checks them.
LAWS: tuple[LawName, ...] = get_args(LawName)

_STATEMENTS: dict[LawName, str] = {
    "no_mutation": "init, lookahead and apply leave params, state and gradients unchanged",
    "deterministic": "the same inputs give equal outputs",
    "structure": "apply and lookahead keep the params' shapes and dtype, and the state's "
    "structure, shapes and dtypes",
    "zero_lr": "a learning rate of 0 leaves the params unchanged",
    "finite": "finite inputs give finite outputs, with no floating-point error",
    "descent": "a few steps with a small learning rate decrease a convex quadratic",
    "checkpoint": "the state survives a fmlp.checkpoint save/load round trip",
}

_ERRSTATE = {"over": "raise", "invalid": "raise", "divide": "raise", "under": "ignore"}


class LawViolation(AssertionError):
    """An optimizer broke a law: ``law`` names it; the message shows the counterexample."""

    def __init__(self, law: LawName, message: str) -> None:
        self.law: LawName = law
        super().__init__(message)


@attrs.frozen
class Quadratic:
    """The convex quadratic ``f(w) = ½ Σ c·(w − t)²`` of the ``"descent"`` law.

    ``curvature`` holds ``c`` (entries in [0.5, 2]) and ``offset`` holds ``w₀ − t``
    for the starting point ``w₀`` (entries with ``|·| ∈ [0.5, 2]``), both shaped
    like the parameters.
    """

    curvature: Grads
    offset: Grads


@attrs.frozen
class Case(Generic[S]):
    """One input to the laws: params, a state, a gradient, a learning rate and a quadratic."""

    params: Params
    state: S
    grads: Grads
    lr: float
    quadratic: Quadratic


def _positive_tree(draw: st.DrawFn, tree: Params, low: float, high: float) -> Grads:
    layers = [
        Layer(
            draw(arrays(layer.weights.shape, tree.dtype, bound=high - low)),
            draw(arrays(layer.bias.shape, tree.dtype, bound=high - low)),
        )
        for layer in tree
    ]
    # |x| + low maps [−(high − low), high − low] onto [low, high].
    return tree_map(lambda a: np.abs(a) + low, Grads, Grads(tuple(layers)))


@st.composite
def _quadratics(draw: st.DrawFn, tree: Params) -> Quadratic:
    curvature = _positive_tree(draw, tree, 0.5, 2.0)
    magnitude = _positive_tree(draw, tree, 0.5, 2.0)
    signs = draw(grads_like(tree, bound=1.0))
    offset = tree_map(lambda m, s: np.where(s < 0, -m, m), Grads, magnitude, signs)
    return Quadratic(curvature, offset)


@attrs.frozen
class _Parts:
    params: Params
    grads: Grads
    lr: float
    quadratic: Quadratic


@st.composite
def _parts(draw: st.DrawFn, max_depth: int, max_width: int) -> _Parts:
    mlp = draw(architectures(max_depth=max_depth, max_width=max_width, hidden=st.just(relu)))
    w = draw(params(mlp, dtype=draw(float_dtypes())))
    return _Parts(w, draw(grads_like(w)), draw(learning_rates()), draw(_quadratics(w)))


def _state_strategy(
    optimizer: Optimizer[S], states: Callable[[Params], st.SearchStrategy[S]] | None, w: Params
) -> st.SearchStrategy[S]:
    return states(w) if states is not None else optimizer_states(optimizer, w)


@st.composite
def cases(
    draw: st.DrawFn,
    optimizer: Optimizer[S],
    *,
    states: Callable[[Params], st.SearchStrategy[S]] | None = None,
    max_depth: int = 2,
    max_width: int = 3,
) -> Case[S]:
    """Inputs for the laws: small float32/float64 params, a state, a gradient, ``lr ∈ [0, 1]``.

    ``states(params)`` draws the state (default ``optimizer_states(optimizer, params)``:
    states reachable from ``init`` and, for built-ins, arbitrary valid ones).
    Use with ``check_law`` to compose the laws into your own hypothesis tests::

        @given(cases(MyOptimizer()))
        def test_my_optimizer_keeps_its_structure(case):
            check_law("structure", MyOptimizer(), case)
    """
    parts = draw(_parts(max_depth, max_width))
    # The state comes last: drawing it may run the optimizer, and a failure there should
    # shrink towards the initial state, where the law itself shows the whole case.
    state = draw(_state_strategy(optimizer, states, parts.params))
    return Case(parts.params, state, parts.grads, parts.lr, parts.quadratic)


# --- comparing trees of records, arrays and scalars ----------------------------------------


def _children(value: object) -> Iterator[tuple[str, object]] | None:
    cls = type(value)
    if attrs.has(cls):
        return ((f".{f.name}", getattr(value, f.name)) for f in attrs.fields(cls))
    if isinstance(value, (tuple, list)):
        return ((f"[{i}]", v) for i, v in enumerate(value))
    if isinstance(value, dict):
        return ((f"[{k!r}]", v) for k, v in value.items())
    return None


def _first_difference(a: object, b: object, path: str, *, values: bool) -> str | None:
    """Where ``a`` and ``b`` differ: type, length, shape, dtype and (if ``values``) entries."""
    if type(a) is not type(b):
        return f"{path} was {type(a).__name__}, is {type(b).__name__}"
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype:
            return f"{path} was {a.dtype}, is {b.dtype}"
        if a.shape != b.shape:
            return f"{path} had shape {a.shape}, has {b.shape}"
        if values and not _array_equal(a, b):
            return f"{path} was {a!r}, is {b!r}"
        return None
    kids_a, kids_b = _children(a), _children(b)
    if kids_a is not None and kids_b is not None:
        pairs_a, pairs_b = list(kids_a), list(kids_b)
        if [k for k, _ in pairs_a] != [k for k, _ in pairs_b]:
            return f"{path} had {len(pairs_a)} entries, has {len(pairs_b)}"
        for (key, x), (_, y) in zip(pairs_a, pairs_b, strict=True):
            found = _first_difference(x, y, path + key, values=values)
            if found is not None:
                return found
        return None
    if values and not _scalar_equal(a, b):
        return f"{path} was {a!r}, is {b!r}"
    return None


def _array_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _scalar_equal(a: object, b: object) -> bool:
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)):
        return bool(a == b or (math.isnan(a) and math.isnan(b)))
    return bool(a == b)


def _first_non_finite(value: object, path: str) -> str | None:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
            return f"{path} = {value!r}"
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isfinite(value) else f"{path} = {value!r}"
    kids = _children(value)
    for key, child in kids if kids is not None else ():
        found = _first_non_finite(child, path + key)
        if found is not None:
            return found
    return None


def _float_dtypes(value: object, path: str) -> Iterator[tuple[str, np.dtype[np.generic]]]:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            yield path, value.dtype
        return
    kids = _children(value)
    for key, child in kids if kids is not None else ():
        yield from _float_dtypes(child, path + key)


# --- the laws ------------------------------------------------------------------------------


class _Broken(Exception):
    """Raised inside a law with what went wrong; ``check_law`` turns it into a LawViolation.

    ``before`` is the case as drawn, when the law had to copy it (the optimizer
    may have mutated the original).
    """

    def __init__(self, detail: str, before: object = None) -> None:
        self.before = before
        super().__init__(detail)


def _require(found: str | None, what: str) -> None:
    if found is not None:
        raise _Broken(f"{what}: {found}")


def _params_like(out: object, w: Params, name: str) -> None:
    if not isinstance(out, Params):
        raise _Broken(f"{name} returned {type(out).__name__}, not Params")
    if out.shapes != w.shapes:
        raise _Broken(f"{name} returned params of shapes {out.shapes}, the params had {w.shapes}")
    if out.dtype != w.dtype:
        raise _Broken(f"{name} returned {out.dtype} params for {w.dtype} params")


def _step(optimizer: Optimizer[S], case: Case[S], lr: float) -> tuple[Params, S]:
    out = optimizer.apply(case.params, case.state, case.grads, lr)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise _Broken(f"apply returned {type(out).__name__}, not a (params, state) pair")
    return out


def _no_mutation(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    before = copy.deepcopy(case)
    optimizer.init(case.params)
    optimizer.lookahead(case.params, case.state, case.lr)
    _step(optimizer, case, case.lr)
    for name in ("params", "state", "grads"):
        found = _first_difference(getattr(before, name), getattr(case, name), name, values=True)
        if found is not None:
            raise _Broken(f"an input changed: {found}", before)


def _deterministic(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    for name, call in (
        ("init", lambda: optimizer.init(case.params)),
        ("lookahead", lambda: optimizer.lookahead(case.params, case.state, case.lr)),
        ("apply", lambda: _step(optimizer, case, case.lr)),
    ):
        first, second = call(), call()
        _require(
            _first_difference(first, second, "output", values=True),
            f"two calls of {name} with the same inputs differ",
        )


def _structure(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    w = case.params
    fresh = optimizer.init(w)
    for path, dtype in _float_dtypes(fresh, "init(params)"):
        if dtype != w.dtype:
            raise _Broken(f"{path} is {dtype} for {w.dtype} params")
    _params_like(optimizer.lookahead(w, case.state, case.lr), w, "lookahead")
    new_params, new_state = _step(optimizer, case, case.lr)
    _params_like(new_params, w, "apply")
    _require(
        _first_difference(case.state, new_state, "state", values=False),
        "apply changed the state's structure",
    )
    _require(
        _first_difference(fresh, new_state, "state", values=False),
        "apply's state differs in structure from init's",
    )


def _zero_lr(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    _require(
        _first_difference(case.params, _step(optimizer, case, 0.0)[0], "params", values=True),
        "apply with lr = 0 moved the params",
    )
    _require(
        _first_difference(
            case.params, optimizer.lookahead(case.params, case.state, 0.0), "params", values=True
        ),
        "lookahead with lr = 0 moved the params",
    )


def _finite(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    for name, out in (
        ("init(params)", optimizer.init(case.params)),
        ("lookahead(...)", optimizer.lookahead(case.params, case.state, case.lr)),
        ("apply(...)", _step(optimizer, case, case.lr)),
    ):
        _require(_first_non_finite(out, name), "a finite input gave a non-finite output")


DESCENT_STEPS = 5


def _quadratic_value(w: Params, target: Params, curvature: Grads) -> float:
    total = 0.0
    for p, t, c in zip(w.arrays(), target.arrays(), curvature.arrays(), strict=True):
        d = p.astype(np.float64) - t.astype(np.float64)
        total += 0.5 * float(np.sum(c.astype(np.float64) * d * d))
    return total


def _descent(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    quad = case.quadratic
    target = tree_map(lambda w, d: w - d, Params, case.params, quad.offset)
    w, state = case.params, optimizer.init(case.params)
    values = [_quadratic_value(w, target, quad.curvature)]
    for _ in range(DESCENT_STEPS):
        point = optimizer.lookahead(w, state, small_lr)
        grads = tree_map(lambda c, q, t: c * (q - t), Grads, quad.curvature, point, target)
        w, state = optimizer.apply(w, state, grads, small_lr)
        values.append(_quadratic_value(w, target, quad.curvature))
    if not values[-1] < values[0]:
        trail = ", ".join(f"{v:.6g}" for v in values)
        raise _Broken(
            f"{DESCENT_STEPS} steps with lr = {small_lr} took the quadratic from "
            f"{values[0]:.6g} to {values[-1]:.6g} (values along the way: {trail})"
        )


def _checkpoint(optimizer: Optimizer[S], case: Case[S], small_lr: float) -> None:
    for name, state in (("state", case.state), ("init(params)", optimizer.init(case.params))):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "state.npz"
            checkpoint.save(path, state)
            loaded = checkpoint.load(path, like=state)
        _require(_first_difference(state, loaded, name, values=True), "the round trip changed")


def _law_check(law: LawName) -> Callable[[Optimizer[S], Case[S], float], None]:
    checks: dict[LawName, Callable[[Optimizer[S], Case[S], float], None]] = {
        "no_mutation": _no_mutation,
        "deterministic": _deterministic,
        "structure": _structure,
        "zero_lr": _zero_lr,
        "finite": _finite,
        "descent": _descent,
        "checkpoint": _checkpoint,
    }
    return checks[law]


def _format_case(law: LawName, case: Case[S]) -> str:
    # The descent law starts from init(params) and ignores state, grads and lr.
    shown: tuple[tuple[str, object], ...] = (
        (("params", case.params), ("quadratic", case.quadratic))
        if law == "descent"
        else (
            ("params", case.params),
            ("state", case.state),
            ("grads", case.grads),
            ("lr", case.lr),
        )
    )
    with np.printoptions(precision=9, threshold=50):
        return "\n".join(f"  {name:<9} = {value!r}" for name, value in shown)


def _violation(law: LawName, optimizer: object, detail: str, shown: str) -> LawViolation:
    return LawViolation(
        law,
        f"law {law!r} violated by {optimizer!r}: {detail}\n"
        f"  ({law}: {_STATEMENTS[law]})\n"
        f"counterexample:\n{shown}",
    )


def _classify(err: Exception, checking: LawName, skip: Collection[LawName]) -> LawName:
    if isinstance(err, FloatingPointError):
        blamed: LawName = "finite"
    elif isinstance(err, ValueError) and "read-only" in str(err):
        blamed = "no_mutation"
    else:
        return checking
    return checking if blamed in skip else blamed


def _check_names(skip: Collection[str]) -> None:
    if isinstance(skip, str):
        raise TypeError(
            f"skip must be a collection of law names such as {{{skip!r}}}, got {skip!r}"
        )
    unknown = sorted(set(skip) - set(LAWS))
    if unknown:
        raise ValueError(f"skip: unknown law names {unknown}; the laws are {list(LAWS)}")


def check_law(
    law: LawName,
    optimizer: Optimizer[S],
    case: Case[S],
    *,
    small_lr: float = 0.01,
    skip: Collection[LawName] = (),
) -> None:
    """Check one law on one ``case``; raise ``LawViolation`` if it fails.

    Runs under numpy's ``errstate`` that ``make_step`` uses (overflow, invalid and
    division raise). An exception from the optimizer counts against ``law``,
    except ``FloatingPointError`` (blamed on ``"finite"``) and a write into a
    read-only array (``"no_mutation"``) unless that law is in ``skip``.

    >>> import numpy as np
    >>> from fmlp import SGD, Grads, Layer, Params
    >>> w = Params((Layer(np.ones((1, 1)), np.zeros(1)),))
    >>> g = Grads((Layer(np.ones((1, 1)), np.zeros(1)),))
    >>> quad = Quadratic(g, g)
    >>> check_law("zero_lr", SGD(), Case(w, SGD().init(w), g, 0.5, quad))
    """
    _check_names(skip)
    _check_names([law])
    try:
        with np.errstate(**_ERRSTATE):  # type: ignore[arg-type]
            _law_check(law)(optimizer, case, small_lr)
    except _Broken as broken:
        shown = broken.before if isinstance(broken.before, Case) else case
        raise _violation(law, optimizer, str(broken), _format_case(law, shown)) from None
    except Exception as err:
        blamed = _classify(err, law, skip)
        detail = f"raised {type(err).__name__}: {err}"
        if blamed != law:
            detail += f" (while checking {law!r})"
        raise _violation(blamed, optimizer, detail, _format_case(law, case)) from err


def check_optimizer(
    optimizer: Optimizer[S],
    *,
    skip: Collection[LawName] = (),
    max_examples: int | None = None,
    states: Callable[[Params], st.SearchStrategy[S]] | None = None,
    small_lr: float = 0.01,
) -> None:
    """Let hypothesis look for a counterexample to every law not in ``skip``.

    Laws are checked in the order of ``LAWS``; the first that fails raises
    ``LawViolation`` with the law's name (``.law``) and the minimal counterexample.
    ``max_examples`` per law defaults to the active hypothesis profile's;
    ``states(params)`` draws optimizer states (default ``optimizer_states``);
    ``small_lr`` is the learning rate of the ``"descent"`` law. Call it from a
    plain test function (not one decorated with ``@given``).

    >>> from fmlp import Momentum
    >>> check_optimizer(Momentum(0.9), max_examples=5)
    """
    _check_names(skip)
    if max_examples is not None and (isinstance(max_examples, bool) or max_examples < 1):
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    # Everything else (derandomize, database, ...) comes from the active profile.
    config = settings(
        deadline=None,
        # The explain phase re-runs failures many times to annotate lines: slow, and the
        # violation already says what broke.
        phases=[phase for phase in settings().phases if phase is not Phase.explain],
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    if max_examples is not None:
        config = settings(config, max_examples=max_examples)
    for law in LAWS:
        if law in skip:
            continue
        _run_law(law, optimizer, config, states, small_lr, skip)


def _run_law(
    law: LawName,
    optimizer: Optimizer[S],
    config: settings,
    states: Callable[[Params], st.SearchStrategy[S]] | None,
    small_lr: float,
    skip: Collection[LawName],
) -> None:
    def body(data: st.DataObject) -> None:
        parts = data.draw(_parts(2, 3), label="params, grads, lr, quadratic")
        try:
            with np.errstate(**_ERRSTATE):  # type: ignore[arg-type]
                state = data.draw(_state_strategy(optimizer, states, parts.params), label="state")
        except Exception as err:
            # Stepping from init to a reachable state runs the optimizer: it can fail here too.
            raise _violation(
                _classify(err, law, skip),
                optimizer,
                f"raised {type(err).__name__}: {err} (while stepping from init to draw a state)",
                _format_case(law, Case(parts.params, "?", parts.grads, parts.lr, parts.quadratic)),
            ) from err
        case = Case(parts.params, state, parts.grads, parts.lr, parts.quadratic)
        check_law(law, optimizer, case, small_lr=small_lr, skip=skip)

    # One example-database key per law and optimizer (hypothesis' stateful testing uses
    # the same hook); otherwise every check would share the key of ``body``.
    key = f"fmlp.testing:{law}:{type(optimizer).__module__}:{optimizer!r}"
    setattr(body, "_hypothesis_internal_add_digest", key.encode())  # noqa: B010
    run = config(given(data=st.data())(body))
    try:
        run()
    except BaseExceptionGroup as group:
        # A failure hypothesis could not reproduce (FlakyFailure): report its first violation.
        violations = group.subgroup(LawViolation)
        if violations is None:
            raise
        first = _leaves(violations)[0]
        raise first from group


def _leaves(group: BaseExceptionGroup[LawViolation]) -> list[LawViolation]:
    found: list[LawViolation] = []
    for err in group.exceptions:
        if isinstance(err, BaseExceptionGroup):
            found.extend(_leaves(err))
        else:
            found.append(err)
    return found
