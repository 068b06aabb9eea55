"""Laws of fmlp.loop: the step is the documented composition, fold is a fold, epochs restart
exactly, divergence is an error, early stopping counts patience, and training trains."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import attrs
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from purity import assert_same, budget, check_pure

from fmlp.data import Dataset, batches, prepare
from fmlp.loop import (
    DivergedError,
    ValidationLoss,
    early_stopping,
    epochs,
    fold,
    init_state,
    make_step,
    train,
)
from fmlp.losses import BinaryCrossEntropy, Huber, Loss, SoftmaxCrossEntropy, SquaredError
from fmlp.model import MLP, evaluate, init, value_and_grad
from fmlp.optimizers import SGD, Adam, Momentum, MomentumState, Nesterov, Optimizer, SGDState
from fmlp.records import Array, Layer, Params, TrainState, global_norm
from fmlp.schedules import TUTORIAL_DECAY, Constant, InverseTime
from fmlp.testing import arrays, float_dtypes, models
from fmlp.testing import batches as batch_strategy
from fmlp.transforms import add_weight_decay, clip, clip_by_norm

F64 = np.dtype(np.float64)


def optimizers() -> st.SearchStrategy[Optimizer[object]]:
    return st.sampled_from(
        [SGD(), Momentum(0.9), Nesterov(0.9), Nesterov(0.5, lookahead_form="tutorial"), Adam()]
    )


@st.composite
def problems(draw: st.DrawFn, max_rows: int = 12) -> tuple[MLP, Params, Dataset]:
    mlp, p = draw(models(max_depth=2))
    data = draw(batch_strategy(mlp, dtype=p.dtype, max_rows=max_rows))
    return mlp, p, data


@given(problems(), optimizers(), st.data())
def test_fold_is_stepping_by_hand(
    problem: tuple[MLP, Params, Dataset], opt: Optimizer[object], data: st.DataObject
) -> None:
    mlp, p, dataset = problem
    step = make_step(mlp, SquaredError(), opt, InverseTime(0.1, 10.0))
    parts = list(batches(dataset, batch_size=data.draw(st.integers(1, 5)), seed=0, epoch=0))
    by_hand = init_state(p, opt)
    for b in parts:
        by_hand = step(by_hand, b)
    assert_same(check_pure(fold, step, init_state(p, opt), parts), by_hand)
    assert by_hand.step == len(parts) and by_hand.samples == len(dataset)


@given(problems(max_rows=6), optimizers(), st.data())
def test_make_step_is_the_documented_composition(
    problem: tuple[MLP, Params, Dataset], opt: Optimizer[object], data: st.DataObject
) -> None:
    mlp, p, batch = problem
    loss = Huber()
    limit = data.draw(st.none() | st.floats(0.01, 2.0))
    max_norm = data.draw(st.none() | st.floats(0.01, 2.0))
    decay = data.draw(st.sampled_from([0.0, 0.1]))
    schedule = InverseTime(0.5, 1.0)
    step = make_step(mlp, loss, opt, schedule, clip=limit, max_norm=max_norm, weight_decay=decay)
    state = attrs.evolve(init_state(p, opt), step=data.draw(st.integers(0, 5)))
    state = step(state, batch)  # a non-trivial optimizer state to start from

    lr = schedule(state.step)
    point = opt.lookahead(state.params, state.opt_state, lr)
    value, g = value_and_grad(mlp, point, batch.x, batch.y, loss)
    raw_norm = global_norm(g)
    if decay:
        g = add_weight_decay(g, state.params, decay)
    if limit is not None:
        g = clip(g, limit)
    if max_norm is not None:
        g, _ = clip_by_norm(g, max_norm)
    params, opt_state = opt.apply(state.params, state.opt_state, g, lr)

    after = check_pure(step, state, batch)
    assert_same(after.params, params)
    assert_same(after.opt_state, opt_state)
    assert (after.step, after.lr, after.grad_norm) == (state.step + 1, lr, raw_norm)
    assert after.loss_sum == state.loss_sum + value * len(batch)
    assert after.samples == state.samples + len(batch)
    assert after.last_finite_loss == value
    assert after.epoch == state.epoch


@st.composite
def runs(draw: st.DrawFn) -> tuple[MLP, Params, Dataset, int | None, Optimizer[object]]:
    mlp, p, dataset = draw(problems())
    batch_size = draw(st.none() | st.integers(1, 6))
    return mlp, p, dataset, batch_size, draw(optimizers())


@budget(20)
@given(runs())
def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses(
    run: tuple[MLP, Params, Dataset, int | None, Optimizer[object]],
) -> None:
    mlp, p, dataset, batch_size, opt = run
    step = make_step(mlp, SquaredError(), opt, Constant(0.01))
    states = list(
        itertools.islice(
            epochs(step, init_state(p, opt), dataset, batch_size=batch_size, seed=3), 2
        )
    )
    previous = init_state(p, opt)
    for e, state in enumerate(states):
        losses, sizes = [], []
        manual = previous
        for b in batches(dataset, batch_size=batch_size, seed=3, epoch=e):
            manual = step(manual, b)
            losses.append(manual.last_finite_loss)
            sizes.append(len(b))
        assert state.epoch == e + 1
        assert sum(sizes) == len(dataset)
        expected = sum(v * n for v, n in zip(losses, sizes, strict=True)) / sum(sizes)
        assert state.loss == pytest.approx(expected, rel=1e-12, abs=1e-300)
        assert_same(state.params, manual.params)
        previous = state


@budget(20)
@given(runs(), st.integers(1, 3))
def test_restarting_from_a_yielded_state_continues_bit_identically(
    run: tuple[MLP, Params, Dataset, int | None, Optimizer[object]], k: int
) -> None:
    mlp, p, dataset, batch_size, opt = run
    step = make_step(mlp, SquaredError(), opt, TUTORIAL_DECAY, clip=1.0)
    validation = ValidationLoss(mlp, SquaredError(), dataset)

    def run_from(state: TrainState[object]) -> Iterator[TrainState[object]]:
        return epochs(step, state, dataset, batch_size=batch_size, seed=7, validation=validation)

    start = check_pure(init_state, p, opt)
    uninterrupted = check_pure(lambda s: list(itertools.islice(run_from(s), k + 2)), start)
    resumed = list(itertools.islice(run_from(uninterrupted[k - 1]), 2))
    assert_same(resumed, uninterrupted[k:])


def tutorial_workload() -> tuple[MLP, Params, Dataset]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1000))
    y = rng.standard_normal((64, 10))
    mlp = MLP((1000, 100, 10), bias=False)  # relu hidden, identity output, no biases
    return mlp, init(mlp, seed=0, scheme="normal"), Dataset(x, y)


def test_the_tutorials_workload_diverges_with_a_clear_error() -> None:
    mlp, p, data = tutorial_workload()
    loss = SquaredError(reduction="sum")  # the tutorial's sum of squared errors
    step = make_step(mlp, loss, SGD(), Constant(1e-5))
    state = init_state(p, SGD())
    seen: list[TrainState[SGDState]] = []
    with pytest.raises(DivergedError) as caught:
        for _ in range(20):
            state = step(state, data)
            seen.append(state)
    err = caught.value
    assert 1 <= err.step <= 10, err.step
    assert err.step == len(seen) and err.epoch == 0
    # The last finite loss is the loss of the last step that succeeded.
    assert err.last_finite_loss == seen[-1].last_finite_loss
    assert math.isfinite(err.last_finite_loss)
    assert f"epoch 0, step {err.step}" in str(err)
    assert isinstance(err, FloatingPointError)
    # Every state handed out before that is finite: the error comes instead of NaNs.
    for s in seen:
        assert math.isfinite(s.last_finite_loss)
        assert all(np.all(np.isfinite(a)) for a in s.params.arrays())


def test_divergence_inside_epochs_reports_the_epoch() -> None:
    mlp, p, data = tutorial_workload()
    step = make_step(mlp, SquaredError(reduction="sum"), SGD(), Constant(1e-5))
    states = epochs(step, init_state(p, SGD()), data, batch_size=16, seed=0)
    finished: list[TrainState[SGDState]] = []
    with pytest.raises(DivergedError) as caught:
        finished.extend(itertools.islice(states, 50))
    assert caught.value.epoch == len(finished)
    assert 4 * len(finished) <= caught.value.step < 4 * (len(finished) + 1)


def test_the_tutorials_workload_does_not_diverge_with_a_mean() -> None:
    # SEED-NOTES: with a mean over the batch the same lr of 1e-5 is stable.
    mlp, p, data = tutorial_workload()
    step = make_step(mlp, SquaredError(), SGD(), Constant(1e-5))
    state = fold(step, init_state(p, SGD()), [data] * 20)
    assert math.isfinite(state.last_finite_loss)


def improvement_stop(values: list[float], patience: int) -> int:
    """Index of the state early stopping ends on (len − 1 if it never stops).

    Stated without a counter: the run ends at the first i where none of the last
    ``patience`` values beat the minimum of everything before them.
    """
    for i in range(patience, len(values)):
        if min(values[i - patience + 1 : i + 1]) >= min(values[: i - patience + 1]):
            return i
    return len(values) - 1


@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30), st.integers(1, 5))
def test_early_stopping_stops_after_patience_non_improving_epochs(
    values: list[float], patience: int
) -> None:
    p = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    states = [TrainState(p, None, epoch=e, val_loss=v) for e, v in enumerate(values)]
    kept = check_pure(lambda s: list(early_stopping(s, patience=patience)), states)
    assert kept == states[: improvement_stop(values, patience) + 1]
    by_train_loss = [attrs.evolve(s, loss=s.val_loss, val_loss=math.nan) for s in states]
    assert len(list(early_stopping(by_train_loss, patience=patience, monitor="loss"))) == len(kept)


def test_early_stopping_refuses_a_missing_validation_loss() -> None:
    # Regression: val_loss is NaN without validation data, and NaN never improves, so
    # training silently stopped after `patience` epochs.
    mlp = MLP((2, 1))
    states = train(
        mlp,
        init(mlp, seed=0),
        np.zeros((4, 2)),
        np.zeros(4),
        loss=SquaredError(),
        optimizer=SGD(),
        schedule=Constant(0.1),
        epochs=10,
    )
    with pytest.raises(ValueError, match="val_loss is NaN at epoch 1; pass validation="):
        list(early_stopping(states, patience=2))
    with pytest.raises(ValueError, match="monitor must be 'val_loss' or 'loss', got 'acc'"):
        list(early_stopping([], patience=2, monitor="acc"))  # type: ignore[arg-type]


def test_early_stopping_min_delta() -> None:
    p = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    values = [1.0, 0.95, 0.91, 0.5, 0.45, 0.44]
    states = [TrainState(p, None, epoch=e, val_loss=v) for e, v in enumerate(values)]
    # Improvements smaller than 0.1 do not count: 0.95 and 0.91 exhaust a patience of 2.
    assert [s.epoch for s in early_stopping(states, patience=2, min_delta=0.1)] == [0, 1, 2]
    assert len(list(early_stopping(states, patience=2))) == len(values)


@budget(15)
@given(st.integers(1, 4), st.integers(4, 20), float_dtypes(), st.data())
def test_training_a_linear_model_decreases_the_loss(
    d: int, n: int, dtype: np.dtype[np.floating], data: st.DataObject
) -> None:
    x = data.draw(arrays((n, d), dtype, bound=3.0))
    y = data.draw(arrays((n, 1), dtype, bound=3.0))
    mlp = MLP((d, 1))
    p = init(mlp, seed=data.draw(st.integers(0, 100)), dtype=dtype)
    # Full-batch gradient descent on a quadratic descends for lr below 1/L, where
    # L = 2·λmax(X̃ᵀX̃)/n is the largest curvature (X̃ = [x, 1] for the bias).
    xt = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    lr = 0.5 / (2.0 * float(np.linalg.eigvalsh(xt.T @ xt / n).max()))
    start = evaluate(mlp, p, x, y, SquaredError())
    _, g0 = value_and_grad(mlp, p, x, y, SquaredError())
    assume(global_norm(g0) > 1e-2)  # not already at the optimum
    states = list(
        train(mlp, p, x, y, loss=SquaredError(), optimizer=SGD(), schedule=Constant(lr), epochs=10)
    )
    losses = [start] + [evaluate(mlp, s.params, x, y, SquaredError()) for s in states]
    slack = 1e-5 * start if dtype == np.float32 else 1e-12 * start
    assert all(b <= a + slack for a, b in itertools.pairwise(losses))
    assert losses[-1] < start
    assert states[0].loss == pytest.approx(start, rel=1e-5)  # epoch 1 reports the loss at p


@budget(10)
@given(problems(), st.sampled_from([None, 4]))
def test_train_is_epochs_of_make_step(
    problem: tuple[MLP, Params, Dataset], batch_size: int | None
) -> None:
    mlp, p, dataset = problem
    x: Array = np.array(dataset.x)
    y: Array = np.array(dataset.y, dtype=dataset.x.dtype)
    opt = Momentum(0.5)
    kwargs = {"clip": 1.0, "max_norm": 2.0, "weight_decay": 0.01}

    def run(x: Array, y: Array) -> list[TrainState[MomentumState]]:
        return list(
            train(
                mlp,
                p,
                x,
                y,
                loss=SquaredError(),
                optimizer=opt,
                schedule=Constant(0.1),
                epochs=3,
                batch_size=batch_size,
                seed=5,
                validation=(x, y),
                **kwargs,
            )
        )

    got = check_pure(run, x, y)  # the caller's arrays are left alone
    data = prepare(
        x, y, n_inputs=mlp.n_inputs, n_outputs=mlp.n_outputs, loss=SquaredError(), dtype=p.dtype
    )
    step = make_step(mlp, SquaredError(), opt, Constant(0.1), **kwargs)
    validation = ValidationLoss(mlp, SquaredError(), data)
    expected = list(
        itertools.islice(
            epochs(
                step, init_state(p, opt), data, batch_size=batch_size, seed=5, validation=validation
            ),
            3,
        )
    )
    assert_same(got, expected)
    for s in got:
        assert s.val_loss == evaluate(mlp, s.params, x, y, SquaredError())


def test_bad_arguments_are_refused_before_any_step() -> None:
    mlp = MLP((2, 1))
    p = init(mlp, seed=0)
    x, y = np.zeros((4, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="clip must be a finite number"):
        make_step(mlp, SquaredError(), SGD(), Constant(0.1), clip=0.0)
    with pytest.raises(ValueError, match="max_norm must be a finite number"):
        make_step(mlp, SquaredError(), SGD(), Constant(0.1), max_norm=-1.0)
    with pytest.raises(ValueError, match="weight_decay must be a finite number"):
        make_step(mlp, SquaredError(), SGD(), Constant(0.1), weight_decay=math.nan)
    with pytest.raises(TypeError, match="schedule must be a callable"):
        make_step(mlp, SquaredError(), SGD(), 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train(mlp, p, x, y, loss=SquaredError(), optimizer=SGD(), schedule=Constant(0.1), epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        train(
            mlp,
            p,
            x,
            y,
            loss=SquaredError(),
            optimizer=SGD(),
            schedule=Constant(0.1),
            epochs=1,
            batch_size=0,
        )
    with pytest.raises(ValueError, match="validation x must have 2 columns"):
        train(
            mlp,
            p,
            x,
            y,
            loss=SquaredError(),
            optimizer=SGD(),
            schedule=Constant(0.1),
            epochs=1,
            validation=(np.zeros((3, 3)), np.zeros(3)),
        )
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        list(early_stopping([], patience=0))


def test_max_norm_bounds_the_gradient_after_weight_decay() -> None:
    # Regression: the raw gradient's norm was reused, so weight decay (or clip) could
    # leave the clipped gradient longer than max_norm.
    mlp = MLP((2, 1), bias=False)
    p = Params((Layer(np.array([[2.0], [0.0]]), np.zeros(1)),))
    data = Dataset(np.array([[1.0, 0.0]]), np.array([[0.0]]))
    step = make_step(mlp, Huber(), SGD(), Constant(1.0), max_norm=1.0, weight_decay=0.1)
    after = step(init_state(p, SGD()), data)
    moved = p.layers[0].weights - after.params.layers[0].weights  # g = [1 + 0.1·2, 0]
    assert float(np.linalg.norm(moved)) == pytest.approx(1.0, rel=1e-12)
    assert after.grad_norm == 1.0  # the raw norm is still what is reported


LOSSES_AND_TARGETS = [
    (SquaredError(), "regression"),
    (Huber(), "regression"),
    (SoftmaxCrossEntropy(), "labels"),
    (SoftmaxCrossEntropy(), "one_hot"),
    (BinaryCrossEntropy(), "binary"),
]


@budget(10)
@pytest.mark.parametrize(("loss", "kind"), LOSSES_AND_TARGETS, ids=lambda v: str(v))
@given(st.data())
def test_a_float32_model_stays_float32_through_training(
    loss: Loss, kind: str, data: st.DataObject
) -> None:
    mlp, p = data.draw(models(dtype=np.dtype(np.float32), max_depth=2))
    opt = data.draw(optimizers())
    n = data.draw(st.integers(1, 6))
    x = data.draw(arrays((n, mlp.n_inputs), np.dtype(np.float64)))  # converted by train
    rng = np.random.default_rng(n)
    k = mlp.n_outputs
    y = {
        "regression": rng.standard_normal((n, k)),
        "labels": rng.integers(0, k, n),
        "one_hot": np.eye(k)[rng.integers(0, k, n)],
        "binary": rng.uniform(0.0, 1.0, (n, k)),
    }[kind]
    states = list(
        train(
            mlp,
            p,
            x,
            y,
            loss=loss,
            optimizer=opt,
            schedule=TUTORIAL_DECAY,
            epochs=2,
            batch_size=2,
            clip=1.0,
            max_norm=0.5,
            weight_decay=0.01,
            validation=(x, y),
        )
    )
    for s in states:
        assert s.params.dtype == np.float32 and s.params.shapes == p.shapes
        for field in ("velocity", "mu", "nu"):
            if hasattr(s.opt_state, field):
                assert getattr(s.opt_state, field).dtype == np.float32
        floats = (s.loss, s.val_loss, s.lr, s.grad_norm, s.last_finite_loss)
        assert all(type(v) is float and math.isfinite(v) for v in floats)
