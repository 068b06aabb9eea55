"""Bad input, everywhere a user hands fmlp data or settings: one table, one row per case.

Every row goes through a public entry point and asserts three things: the error
type, that the message names the argument, and that the user's objects are
untouched (same values, same dtype, same writeable flag). Errors must come
before any work: ``train`` raises when called, not when first iterated.
"""

# The table keeps one case per line, so some lines are long.
# ruff: noqa: E501
from __future__ import annotations

import copy
import math
import re
import types
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from purity import check_pure

import fmlp
from fmlp.checkpoint import checkpoints
from fmlp.checks import (
    as_float_array,
    as_labels,
    check_float,
    check_non_negative_int,
    check_positive_int,
    float_dtype,
    integral_to_int,
    real_to_float,
)

Args = dict[str, Any]

MLP = fmlp.MLP((2, 3, 1))
CLASSIFIER = fmlp.MLP((2, 3, 3))
SE, CE, BCE = fmlp.SquaredError(), fmlp.SoftmaxCrossEntropy(), fmlp.BinaryCrossEntropy()


def user_objects() -> Args:
    """Fresh, writable objects as a user would pass them."""
    rng = np.random.default_rng(0)
    params = fmlp.init(MLP, seed=0)
    return {
        "mlp": MLP,
        "params": params,
        "x": rng.standard_normal((6, 2)),
        "y": rng.standard_normal((6, 1)),
        "loss": SE,
        "optimizer": fmlp.SGD(),
        "schedule": fmlp.Constant(0.1),
        "epochs": 1,
        "grads": fmlp.Grads(params.layers),
    }


CLASSES: Args = {
    "mlp": CLASSIFIER,
    "params": fmlp.init(CLASSIFIER, seed=0),
    "loss": CE,
    "y": np.array([0, 1, 2, 1, 0, 2]),
}

TRAIN_OPTIONS = (
    "loss",
    "optimizer",
    "schedule",
    "epochs",
    "batch_size",
    "seed",
    "clip",
    "max_norm",
    "weight_decay",
    "validation",
)


def train(a: Args) -> Iterator[fmlp.TrainState[Any]]:
    options = {k: a[k] for k in TRAIN_OPTIONS if k in a}
    return fmlp.train(a["mlp"], a["params"], a["x"], a["y"], **options)


def make_step(a: Args) -> fmlp.Step[Any]:
    options = {k: a[k] for k in ("clip", "max_norm", "weight_decay") if k in a}
    return fmlp.make_step(a["mlp"], a["loss"], a["optimizer"], a["schedule"], **options)


def forward(a: Args) -> object:
    return fmlp.forward(a["mlp"], a["params"], a["x"])


def value_and_grad(a: Args) -> object:
    return fmlp.value_and_grad(a["mlp"], a["params"], a["x"], a["y"], a["loss"])


def evaluate(a: Args) -> object:
    return fmlp.evaluate(a["mlp"], a["params"], a["x"], a["y"], a["loss"])


def prepare(a: Args) -> object:
    return fmlp.prepare(a["x"], a["y"], n_inputs=2, n_outputs=1, loss=a["loss"])


def data(a: Args) -> fmlp.Dataset:
    return fmlp.prepare(a["x"], a["y"], n_inputs=2, n_outputs=1, loss=SE)


def row(
    name: str, call: Callable[[Args], object], error: type[Exception], argument: str, **bad: object
) -> Any:
    return pytest.param(call, error, argument, bad, id=name)


def nan_at(shape: tuple[int, ...], value: float = math.nan) -> np.ndarray:
    a = np.ones(shape)
    a[-1, 0] = value
    return a


momentum_state = fmlp.Momentum().init(fmlp.init(MLP, seed=0))
other_params = fmlp.init(fmlp.MLP((2, 4, 1)), seed=0)

TABLE = [
    # NaN or infinity in x or y
    row("train-x-nan", train, ValueError, "x", x=nan_at((6, 2))),
    row("train-y-inf", train, ValueError, "y", y=nan_at((6, 1), math.inf)),
    row("train-validation-x-nan", train, ValueError, "validation x",
        validation=(nan_at((3, 2)), np.zeros((3, 1)))),
    row("forward-x-nan", forward, ValueError, "x", x=nan_at((2, 2), -math.inf)),
    row("value_and_grad-y-nan", value_and_grad, ValueError, "y", y=nan_at((6, 1))),
    row("prepare-x-inf", prepare, ValueError, "x", x=nan_at((6, 2), math.inf)),
    # x whose width does not match the architecture
    row("train-x-width", train, ValueError, "x", x=np.ones((6, 3))),
    row("forward-x-width", forward, ValueError, "x", x=np.ones((6, 1))),
    row("forward-x-1d", forward, ValueError, "x", x=np.ones(2)),
    row("prepare-x-width", prepare, ValueError, "x", x=np.ones((6, 5))),
    # y whose shape does not fit the loss
    row("train-y-columns", train, ValueError, "y", y=np.zeros((6, 2))),
    row("value_and_grad-y-3d", value_and_grad, ValueError, "y", y=np.zeros((6, 1, 1))),
    row("evaluate-bce-y-range", evaluate, ValueError, "y", loss=BCE, y=np.full((6, 1), 2.0)),
    row("train-ce-y-not-probabilities", train, ValueError, "y", **{**CLASSES, "y": np.ones((6, 3))}),
    # class labels out of range or non-integer for cross-entropy
    row("train-labels-too-big", train, ValueError, "y", **{**CLASSES, "y": np.array([0, 1, 3, 1, 0, 2])}),
    row("train-labels-negative", train, ValueError, "y", **{**CLASSES, "y": np.array([0, -1, 2, 1, 0, 2])}),
    row("train-labels-fractional", train, ValueError, "y", **{**CLASSES, "y": np.array([0, 0.5, 2, 1, 0, 2])}),
    row("train-labels-nan", train, ValueError, "y", **{**CLASSES, "y": np.array([0, np.nan, 2, 1, 0, 2])}),
    row("train-labels-bool", train, TypeError, "y", **{**CLASSES, "y": np.ones(6, bool)}),
    row("evaluate-labels-string", evaluate, TypeError, "y", **{**CLASSES, "y": np.array(list("abcabc"))}),
    # empty data
    row("train-empty", train, ValueError, "x", x=np.ones((0, 2)), y=np.ones((0, 1))),
    row("train-empty-y", train, ValueError, "y", y=np.ones((0, 1))),
    row("forward-empty", forward, ValueError, "x", x=np.ones((0, 2))),
    row("prepare-empty-labels", prepare, ValueError, "y", **{**CLASSES, "y": np.array([], int)}),
    # x and y with different numbers of rows
    row("train-rows", train, ValueError, "x and y", y=np.zeros((5, 1))),
    row("value_and_grad-rows", value_and_grad, ValueError, "x and y", y=np.zeros((7, 1))),
    row("train-labels-rows", train, ValueError, "x and y", **{**CLASSES, "y": np.array([0, 1])}),
    # object, string, complex or integer-overflowing arrays
    row("train-x-object", train, TypeError, "x", x=np.array([[1.0, None]] * 6, dtype=object)),
    row("train-x-string", train, TypeError, "x", x=np.array([["1", "2"]] * 6)),
    row("train-x-complex", train, TypeError, "x", x=np.ones((6, 2), complex)),
    row("train-x-bool", train, TypeError, "x", x=np.ones((6, 2), bool)),
    row("train-x-ragged", train, TypeError, "x", x=[[1.0, 2.0], [3.0]]),
    row("train-y-object", train, TypeError, "y", y=np.array([[None]] * 6, dtype=object)),
    row("train-labels-complex", train, TypeError, "y", **{**CLASSES, "y": np.zeros(6, complex)}),
    row("train-x-int64-overflow", train, ValueError, "x", x=np.full((6, 2), 2**60 + 1)),
    row("train-x-uint64-overflow", train, ValueError, "x", x=np.full((6, 2), 2**64 - 1, np.uint64)),
    row("train-x-float32-overflow", train, ValueError, "x",
        params=fmlp.init(MLP, seed=0, dtype=np.float32), x=np.full((6, 2), 2**24 + 1)),
    # batch size <= 0
    row("train-batch-size-0", train, ValueError, "batch_size", batch_size=0),
    row("train-batch-size-negative", train, ValueError, "batch_size", batch_size=-4),
    row("train-batch-size-float", train, TypeError, "batch_size", batch_size=2.5),
    row("batches-batch-size-0", lambda a: fmlp.batches(data(a), batch_size=0, seed=0, epoch=0),
        ValueError, "batch_size"),
    row("epochs-batch-size-0", lambda a: fmlp.epochs(
        make_step(a), fmlp.init_state(a["params"], a["optimizer"]), data(a), batch_size=0, seed=0),
        ValueError, "batch_size"),
    # learning rate < 0 or non-finite
    row("sgd_step-lr-negative", lambda a: fmlp.sgd_step(a["params"], a["grads"], lr=-0.1),
        ValueError, "lr"),
    row("sgd_step-lr-inf", lambda a: fmlp.sgd_step(a["params"], a["grads"], lr=math.inf),
        ValueError, "lr"),
    row("momentum_step-lr-nan", lambda a: fmlp.momentum_step(
        a["params"], momentum_state, a["grads"], lr=math.nan, momentum=0.9), ValueError, "lr"),
    row("adam_step-lr-negative", lambda a: fmlp.adam_step(
        a["params"], fmlp.Adam().init(a["params"]), a["grads"], lr=-1.0), ValueError, "lr"),
    row("nesterov_step-lr-inf", lambda a: fmlp.nesterov_step(
        a["params"], momentum_state, lambda p: a["grads"], lr=math.inf, momentum=0.5),
        ValueError, "lr"),
    row("constant-negative", lambda a: fmlp.Constant(-0.1), ValueError, "lr"),
    row("constant-nan", lambda a: fmlp.Constant(math.nan), ValueError, "lr"),
    row("constant-string", lambda a: fmlp.Constant("0.1"), TypeError, "lr"),  # type: ignore[arg-type]
    row("train-user-schedule-negative", train, ValueError, "schedule", schedule=lambda t: -0.1),
    row("make_step-user-schedule-nan", make_step, ValueError, "schedule", schedule=lambda t: math.nan),
    row("train-schedule-not-callable", train, TypeError, "schedule", schedule=0.1),
    # momentum outside [0, 1)
    row("momentum-1", lambda a: fmlp.Momentum(1.0), ValueError, "momentum"),
    row("momentum-negative", lambda a: fmlp.Momentum(-0.1), ValueError, "momentum"),
    row("momentum-none", lambda a: fmlp.Momentum(None), TypeError, "momentum"),  # type: ignore[arg-type]
    row("nesterov-1.5", lambda a: fmlp.Nesterov(1.5), ValueError, "momentum"),
    row("momentum_step-1", lambda a: fmlp.momentum_step(
        a["params"], momentum_state, a["grads"], lr=0.1, momentum=1.0), ValueError, "momentum"),
    row("nesterov_step-negative", lambda a: fmlp.nesterov_step(
        a["params"], momentum_state, lambda p: a["grads"], lr=0.1, momentum=-0.5),
        ValueError, "momentum"),
    row("adam-b1-1", lambda a: fmlp.Adam(b1=1.0), ValueError, "b1"),
    row("adam_step-b2-negative", lambda a: fmlp.adam_step(
        a["params"], fmlp.Adam().init(a["params"]), a["grads"], lr=0.1, b2=-0.1), ValueError, "b2"),
    # clip limit or max norm <= 0
    row("clip-0", lambda a: fmlp.clip(a["grads"], 0.0), ValueError, "limit"),
    row("clip-negative", lambda a: fmlp.clip(a["grads"], -1.0), ValueError, "limit"),
    row("clip_by_norm-0", lambda a: fmlp.clip_by_norm(a["grads"], 0.0), ValueError, "max_norm"),
    row("clip_by_norm-nan", lambda a: fmlp.clip_by_norm(a["grads"], math.nan), ValueError, "max_norm"),
    row("make_step-clip-0", make_step, ValueError, "clip", clip=0.0),
    row("train-max-norm-negative", train, ValueError, "max_norm", max_norm=-1.0),
    # decay parameters that would give a negative or non-finite rate (every schedule)
    row("inverse-time-scale", lambda a: fmlp.InverseTime(-1.0, 100.0), ValueError, "scale"),
    row("inverse-time-offset", lambda a: fmlp.InverseTime(1.0, 0.0), ValueError, "offset"),
    row("inverse-time-overflow", lambda a: fmlp.InverseTime(1e308, 1e-10), ValueError, "scale / offset"),
    row("linear-lr0", lambda a: fmlp.LinearDecay(-1.0, 10), ValueError, "lr0"),
    row("linear-steps", lambda a: fmlp.LinearDecay(1.0, 0), ValueError, "steps"),
    row("exponential-rate-above-1", lambda a: fmlp.ExponentialDecay(1.0, 1.5), ValueError, "rate"),
    row("exponential-rate-negative", lambda a: fmlp.ExponentialDecay(1.0, -0.5), ValueError, "rate"),
    row("exponential-steps", lambda a: fmlp.ExponentialDecay(1.0, 0.5, 0.0), ValueError, "steps"),
    row("step-factor", lambda a: fmlp.StepDecay(1.0, 2.0, 10), ValueError, "factor"),
    row("step-every-0", lambda a: fmlp.StepDecay(1.0, 0.5, 0), ValueError, "every"),
    row("step-every-fraction", lambda a: fmlp.StepDecay(1.0, 0.5, 2.5), TypeError, "every"),  # type: ignore[arg-type]
    row("step-every-nan", lambda a: fmlp.StepDecay(1.0, 0.5, math.nan), TypeError, "every"),  # type: ignore[arg-type]
    row("cosine-lr0", lambda a: fmlp.CosineDecay(-1.0, 10), ValueError, "lr0"),
    row("cosine-final-above-lr0", lambda a: fmlp.CosineDecay(0.1, 10, final=0.5), ValueError, "final"),
    row("cosine-steps", lambda a: fmlp.CosineDecay(0.1, -10), ValueError, "steps"),
    row("warmup-steps", lambda a: fmlp.Warmup(fmlp.Constant(1.0), steps=0), ValueError, "steps"),
    row("warmup-start", lambda a: fmlp.Warmup(fmlp.Constant(1.0), steps=3, start=-1.0),
        ValueError, "start"),
    row("warmup-after-negative", lambda a: fmlp.Warmup(lambda t: -1.0, steps=3), ValueError, "after"),
    row("warmup-after-not-callable", lambda a: fmlp.Warmup("x", steps=3), TypeError, "after"),  # type: ignore[arg-type]
    row("adam-weight-decay", lambda a: fmlp.Adam(weight_decay=-1e-3), ValueError, "weight_decay"),
    row("train-weight-decay", train, ValueError, "weight_decay", weight_decay=math.inf),
    row("add_weight_decay-rate", lambda a: fmlp.add_weight_decay(a["grads"], a["params"], -1.0),
        ValueError, "rate"),
    # params that do not match the architecture
    row("train-params-shapes", train, ValueError, "params", params=other_params),
    row("forward-params-shapes", forward, ValueError, "params", params=other_params),
    row("value_and_grad-params-type", value_and_grad, TypeError, "params",
        params=fmlp.Grads(other_params.layers)),
    row("sgd_step-grads-shapes", lambda a: fmlp.sgd_step(
        a["params"], fmlp.Grads(other_params.layers), lr=0.1), ValueError, "grads"),
    row("sgd_step-grads-dtype", lambda a: fmlp.sgd_step(
        a["params"], fmlp.Grads(fmlp.init(MLP, seed=0, dtype=np.float32).layers), lr=0.1),
        ValueError, "grads"),
    row("momentum_step-velocity", lambda a: fmlp.momentum_step(
        a["params"], fmlp.Momentum().init(other_params), a["grads"], lr=0.1, momentum=0.5),
        ValueError, "state.velocity"),
    row("adam_step-state-type", lambda a: fmlp.adam_step(
        a["params"], momentum_state, a["grads"], lr=0.1), TypeError, "state"),  # type: ignore[arg-type]
    row("add_weight_decay-shapes", lambda a: fmlp.add_weight_decay(
        fmlp.Grads(other_params.layers), a["params"], 0.1), ValueError, "grads"),
    # layer sizes <= 0
    row("mlp-size-0", lambda a: fmlp.MLP((2, 0)), ValueError, "sizes[1]"),
    row("mlp-size-negative", lambda a: fmlp.MLP((-2, 3, 1)), ValueError, "sizes[0]"),
    row("mlp-size-fraction", lambda a: fmlp.MLP((2, 2.5)), TypeError, "sizes[1]"),
    row("mlp-one-size", lambda a: fmlp.MLP((2,)), ValueError, "sizes"),
    # the remaining settings
    row("train-epochs-0", train, ValueError, "epochs", epochs=0),
    row("train-seed-negative", train, ValueError, "seed", seed=-1),
    row("init-seed-negative", lambda a: fmlp.init(a["mlp"], seed=-1), ValueError, "seed"),
    row("init-dtype", lambda a: fmlp.init(a["mlp"], seed=0, dtype=np.int32), TypeError, "dtype"),
    row("batches-epoch-negative", lambda a: fmlp.batches(data(a), batch_size=2, seed=0, epoch=-1),
        ValueError, "epoch"),
    row("mlp-hidden", lambda a: fmlp.MLP((2, 1), hidden="relu"), TypeError, "hidden"),  # type: ignore[arg-type]
    row("mlp-bias", lambda a: fmlp.MLP((2, 1), bias="yes"), TypeError, "bias"),  # type: ignore[arg-type]
    row("train-loss", train, TypeError, "loss", loss="mse"),
    row("make_step-optimizer", make_step, TypeError, "optimizer", optimizer="sgd"),
    row("make_step-mlp", make_step, TypeError, "mlp", mlp=(2, 3, 1)),
    row("train-validation-not-a-pair", train, TypeError, "validation", validation=np.ones((2, 2))),
    row("split-fractions", lambda a: fmlp.split(a["x"], a["y"], fractions=(0.5, 0.6), seed=0),
        ValueError, "fractions"),
    row("split-x-list", lambda a: fmlp.split(a["x"].tolist(), a["y"], fractions=(1.0,), seed=0),
        TypeError, "x"),
    row("early-stopping-patience", lambda a: fmlp.early_stopping(iter([]), patience=0),
        ValueError, "patience"),
    row("checkpoints-every", lambda a: checkpoints(iter([]), "c.npz", every=0), ValueError, "every"),
    row("huber-delta", lambda a: fmlp.Huber(delta=0.0), ValueError, "delta"),
    row("leaky-relu-slope", lambda a: fmlp.leaky_relu(1.0), ValueError, "slope"),
    row("leaky-relu-slope-string", lambda a: fmlp.leaky_relu("0.1"), TypeError, "slope"),  # type: ignore[arg-type]
    row("layer-int-weights", lambda a: fmlp.Layer(np.ones((2, 2), int), np.zeros(2)),
        TypeError, "weights"),
    row("dataset-int-x", lambda a: fmlp.Dataset(np.ones((2, 2), int), np.zeros(2)),
        TypeError, "x"),
]  # fmt: skip


def snapshot(value: object) -> object:
    """A deep copy that also remembers every array's writeable flag."""
    if isinstance(value, np.ndarray):
        return (value.copy(), value.flags.writeable)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    return copy.deepcopy(value)


def same(a: object, b: object) -> bool:
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], np.ndarray):
        array, writeable = a
        other, other_writeable = cast(tuple[np.ndarray, bool], b)
        values = array.tolist() == other.tolist() if array.dtype.hasobject else None
        return bool(
            array.dtype == other.dtype
            and array.shape == other.shape
            and (values if values is not None else array.tobytes() == other.tobytes())
            and writeable == other_writeable
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) if not callable(a) else a is b or a == b


@pytest.mark.parametrize(("call", "error", "argument", "bad"), TABLE)
def test_bad_input_is_refused_clearly_and_leaves_objects_untouched(
    call: Callable[[Args], object], error: type[Exception], argument: str, bad: Args
) -> None:
    args = {**user_objects(), **bad}
    before = snapshot(args)
    with pytest.raises(error) as info:
        result = call(args)
        if isinstance(result, types.GeneratorType):
            next(result)  # generators check on first use, still before any work
    message = str(info.value)
    assert re.search(rf"(?<![\w.]){re.escape(argument)}(?!\w)", message), message
    assert "got" in message or "but" in message, message  # says what it got
    assert same(before, snapshot(args)), "the caller's objects were modified"


def test_integers_that_convert_exactly_are_accepted() -> None:
    a = user_objects()
    x_int = np.round(a["x"] * 100).astype(np.int64)
    x_float = x_int.astype(np.float64)
    straight = list(train({**a, "x": x_float, "epochs": 2}))[-1]
    as_ints = list(train({**a, "x": x_int, "epochs": 2}))[-1]
    assert as_ints == straight
    # Exactly 2**53 is fine in float64, 2**24 in float32; labels may be whole floats.
    assert fmlp.forward(MLP, a["params"], np.full((1, 2), 2**53)).shape == (1, 1)
    p32 = fmlp.init(MLP, seed=0, dtype=np.float32)
    assert fmlp.forward(MLP, p32, np.full((1, 2), 2**24)).dtype == np.float32
    labels = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 2.0])
    assert fmlp.evaluate(CLASSIFIER, CLASSES["params"], a["x"], labels, CE) > 0


def test_a_user_schedule_going_negative_later_stops_training_with_its_step() -> None:
    a = user_objects()
    states = train({**a, "schedule": lambda t: 0.1 - 0.05 * t, "epochs": 5})
    with pytest.raises(ValueError, match=r"schedule\(3\) must be a finite number .* got -0\.05"):
        list(states)


def test_a_numpy_learning_rate_keeps_a_float32_model_float32() -> None:
    # real_to_float turns numpy scalars into Python floats at the boundary.
    a = user_objects()
    params = fmlp.init(MLP, seed=0, dtype=np.float32)
    schedule = fmlp.Constant(np.float64(0.1))
    assert type(schedule.lr) is float
    *_, state = train({**a, "params": params, "schedule": lambda t: np.float64(0.1), "epochs": 2})
    assert state.params.dtype == np.float32 and type(state.lr) is float


def test_converters_leave_non_numbers_for_the_validator() -> None:
    def convert(fn: Callable[[Any], object], value: object) -> tuple[object, type]:
        out = fn(value)
        return out, type(out)

    assert convert(real_to_float, np.int64(3)) == (3.0, float)
    assert convert(real_to_float, True) == (True, bool)
    assert convert(real_to_float, "0.1") == ("0.1", str)
    assert convert(integral_to_int, np.int32(4)) == (4, int)
    assert convert(integral_to_int, 4.0) == (4.0, float)
    with pytest.raises(TypeError, match="seed must be a non-negative integer, got bool"):
        check_non_negative_int("seed", True)


# --- the checks themselves: accept exactly what is valid, refuse the rest by name ---

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.booleans(), st.booleans())
def test_check_float_accepts_exactly_the_interval(
    value: float, low: float, low_open: bool, high_open: bool
) -> None:
    high = low + 10.0
    inside = (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high
    )
    if inside:
        got = check_float("rate", value, low=low, high=high, low_open=low_open, high_open=high_open)
        assert got == value and type(got) is float
    else:
        with pytest.raises(ValueError, match=r"^rate must be a finite number in [\[(].*got"):
            check_float("rate", value, low=low, high=high, low_open=low_open, high_open=high_open)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_float_refuses_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match=r"^lr must be a finite number"):
        check_float("lr", value)


@pytest.mark.parametrize("value", [True, "0.1", None, [0.1], np.array([0.1])])
def test_check_float_refuses_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match=r"^lr must be a finite number"):
        check_float("lr", value)


@given(st.integers(-(2**1100), 2**1100))
def test_check_float_on_integers_of_any_size(value: int) -> None:
    # Regression: ints beyond float range raised OverflowError instead of naming "lr".
    if abs(value) <= 1e300:
        assert check_float("lr", value) == float(value)
    else:
        with pytest.raises(ValueError, match=r"^lr must be a finite number"):
            check_float("lr", value)


def test_check_float_accepts_numpy_scalars_and_ints() -> None:
    assert check_float("lr", np.float32(0.5)) == 0.5
    assert check_float("lr", np.int64(2)) == 2.0
    assert check_float("lr", 3) == 3.0


@given(st.integers(-(2**70), 2**70))
def test_check_positive_int(value: int) -> None:
    if value >= 1:
        assert check_positive_int("batch_size", value) == value
        assert check_positive_int("batch_size", np.int64(min(value, 2**62))) == min(value, 2**62)
    else:
        with pytest.raises(
            ValueError, match=f"^batch_size must be a positive integer, got {value}"
        ):
            check_positive_int("batch_size", value)


@pytest.mark.parametrize("value", [True, 1.0, "3", None])
def test_check_positive_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(TypeError, match=r"^epochs must be a positive integer"):
        check_positive_int("epochs", value)


@given(
    hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=2, max_dims=2), elements=st.integers(-(2**24), 2**24)
    )
)
def test_integers_that_fit_convert_exactly(x: np.ndarray) -> None:
    for dtype in (F32, F64):
        out = check_pure(as_float_array, "x", x, dtype=dtype, ndim=2)
        assert out.dtype == dtype
        assert np.array_equal(out.astype(np.int64), x)


def test_integers_that_do_not_fit_are_refused() -> None:
    x = np.array([[2**24 + 1]])
    assert as_float_array("x", x, dtype=F64)[0, 0] == 2**24 + 1
    with pytest.raises(ValueError, match=r"^x has integers that float32 cannot represent exactly"):
        as_float_array("x", x, dtype=F32)


@given(hnp.arrays(F64, st.tuples(st.integers(1, 4), st.integers(1, 4))))
def test_non_finite_floats_are_refused_and_the_rest_kept(x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        with pytest.raises(ValueError, match=f"^x must be finite, got {int(bad.sum())} NaN"):
            as_float_array("x", x, dtype=F64)
    else:
        assert np.array_equal(check_pure(as_float_array, "x", x, dtype=F64), x)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (np.array([[True]]), TypeError, "^x must be a real numeric array, got a bool array"),
        (np.array([[1 + 1j]]), TypeError, "^x must be a real numeric array, got a complex"),
        (np.array([[object()]]), TypeError, "^x must be a real numeric array, got an object array"),
        (np.zeros((2, 0)), ValueError, r"^x must not be empty, got shape \(2, 0\)"),
        (np.zeros(3), ValueError, r"^x must be 2-D, got shape \(3,\)"),
        ([[1.0], [2.0, 3.0]], TypeError, "^x must be a numeric array, got list"),
    ],
)
def test_as_float_array_refuses_bad_input(
    value: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        as_float_array("x", value, dtype=F64, ndim=2)


@given(st.integers(1, 10), st.data())
def test_labels_in_range_are_accepted(k: int, data: st.DataObject) -> None:
    labels = data.draw(hnp.arrays(np.int32, st.integers(1, 10), elements=st.integers(0, k - 1)))
    out = check_pure(as_labels, "y", labels, n_classes=k)
    assert out.dtype == np.int64 and np.array_equal(out, labels)
    assert np.array_equal(as_labels("y", labels.astype(np.float64), n_classes=k), labels)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ([0, 3], ValueError, r"^y must hold class labels in \[0, 3\), got values from 0 to 3"),
        ([-1, 0], ValueError, r"^y must hold class labels in \[0, 3\), got values from -1 to 0"),
        ([0.5, 1.0], ValueError, "^y must hold integer class labels, got non-integer values"),
        ([0.0, np.nan], ValueError, "^y must hold integer class labels"),
        ([True, False], TypeError, "^y must hold integer class labels, got a bool array"),
        ([[0, 1]], ValueError, r"^y must be 1-D class labels, got shape \(1, 2\)"),
        (np.zeros(0, int), ValueError, "^y must not be empty"),
        (["a"], TypeError, "^y must be a real numeric array"),
    ],
)
def test_as_labels_refuses_bad_labels(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        as_labels("y", value, n_classes=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "float64", float])
def test_float_dtype_accepts_float32_and_float64(dtype: object) -> None:
    assert float_dtype(dtype) in (F32, F64)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "complex128", "bogus", bool])
def test_float_dtype_refuses_the_rest(dtype: object) -> None:
    with pytest.raises(TypeError, match=r"^dtype must be float32 or float64"):
        float_dtype(dtype)  # type: ignore[arg-type]
