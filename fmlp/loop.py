"""Composition and the training loop: ``make_step``, ``fold``, ``epochs``, ``train``.

``make_step`` turns an architecture, a loss, an optimizer, a schedule and
optional gradient transforms into one pure function ``step(state, batch) ->
state``. ``fold`` applies it over the batches of an epoch (a reduce), and
``epochs`` is an endless iterator that yields a new ``TrainState`` after every
epoch; early stopping, logging and checkpointing are iterator combinators
around it (``early_stopping`` is one).

A non-finite loss, gradient or parameter stops training with ``DivergedError``
(numpy's floating-point errors are raised inside the step, never silenced).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TypeAlias, TypeVar

import attrs
import numpy as np

from fmlp.checks import check_float, check_non_negative_int, check_positive_int
from fmlp.data import Dataset, batches, prepare
from fmlp.losses import Loss
from fmlp.model import MLP, check_model, forward_unchecked, value_and_grad_unchecked
from fmlp.optimizers import Optimizer
from fmlp.records import Params, TrainState, global_norm
from fmlp.schedules import Schedule
from fmlp.transforms import (
    add_weight_decay_unchecked,
    clip_by_norm_unchecked,
    clip_unchecked,
)

__all__ = [
    "DivergedError",
    "Step",
    "ValidationLoss",
    "early_stopping",
    "epochs",
    "fold",
    "init_state",
    "make_step",
    "train",
]

S = TypeVar("S")
#: One training step: ``(state, batch) -> state``.
Step: TypeAlias = Callable[[TrainState[S], Dataset], TrainState[S]]


class DivergedError(FloatingPointError):
    """Training produced a non-finite loss, gradient or parameter.

    Carries the ``epoch`` (0-based, the one being run), the optimizer ``step``
    at which it happened and the ``last_finite_loss`` (NaN if none was seen).
    """

    def __init__(self, *, epoch: int, step: int, last_finite_loss: float, reason: str) -> None:
        self.epoch = epoch
        self.step = step
        self.last_finite_loss = last_finite_loss
        self.reason = reason
        super().__init__(
            f"training diverged at epoch {epoch}, step {step}: {reason}; "
            f"last finite loss {last_finite_loss:.6g}"
        )


def init_state(params: Params, optimizer: Optimizer[S]) -> TrainState[S]:
    """The state before the first step: ``TrainState(params, optimizer.init(params))``."""
    return TrainState(params, optimizer.init(params))


def make_step(
    mlp: MLP,
    loss: Loss,
    optimizer: Optimizer[S],
    schedule: Schedule,
    *,
    clip: float | None = None,
    max_norm: float | None = None,
    weight_decay: float = 0.0,
) -> Step[S]:
    """Compose one pure training step.

    For ``t = state.step``::

        lr    = schedule(t)
        w̃     = optimizer.lookahead(w, s, lr)            # w itself unless Nesterov
        L, g  = value_and_grad(w̃, batch)
        g     = g + weight_decay·W                      # if weight_decay > 0
        g     = clip(g, clip)                           # if clip is given
        g     = clip_by_norm(g, max_norm)               # if max_norm is given
        w', s' = optimizer.apply(w, s, g, lr)

    The new state records ``lr``, the raw gradient norm ``‖g‖`` (before any
    transform), and adds ``L·n`` to the epoch's running loss. ``L`` is the loss
    where the gradient was taken, at ``w̃``: for Nesterov that is the look-ahead
    point, not ``w`` (it comes for free with the gradient; for the loss at the
    weights themselves, evaluate it, e.g. with ``ValidationLoss`` on the batch). The arguments are
    checked here, once (``schedule(0)`` included); the returned ``step`` checks
    only that ``schedule(t)`` is a finite rate ≥ 0 (a ``ValueError`` otherwise).
    Raises ``DivergedError`` on a non-finite loss, gradient or update.
    """
    _check_parts(mlp, loss, optimizer, schedule)
    limit = None if clip is None else check_float("clip", clip, low=0.0, low_open=True)
    norm_limit = (
        None if max_norm is None else check_float("max_norm", max_norm, low=0.0, low_open=True)
    )
    decay = check_float("weight_decay", weight_decay, low=0.0)

    def step(state: TrainState[S], batch: Dataset) -> TrainState[S]:
        lr = schedule(state.step)
        if not (type(lr) is float and 0.0 <= lr < math.inf):  # False for NaN too
            lr = _check_rate(schedule, state.step, lr)
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                point = optimizer.lookahead(state.params, state.opt_state, lr)
                value, grads = value_and_grad_unchecked(mlp, point, batch.x, batch.y, loss)
                norm = global_norm(grads)
                if not (math.isfinite(value) and math.isfinite(norm)):
                    raise FloatingPointError(f"loss {value:.6g}, gradient norm {norm:.6g}")
                if decay:
                    grads = add_weight_decay_unchecked(grads, state.params, decay)
                if limit is not None:
                    grads = clip_unchecked(grads, limit)
                if norm_limit is not None:
                    # The raw norm is reused only if no transform above changed the gradient.
                    changed = decay or limit is not None
                    current = global_norm(grads) if changed else norm
                    grads, _ = clip_by_norm_unchecked(grads, norm_limit, current)
                params, opt_state = optimizer.apply(state.params, state.opt_state, grads, lr)
        except FloatingPointError as err:
            raise DivergedError(
                epoch=state.epoch,
                step=state.step,
                last_finite_loss=state.last_finite_loss,
                reason=str(err) or "non-finite value",
            ) from err
        n = len(batch)
        if type(state) is not TrainState:  # a subclass may carry more fields
            return attrs.evolve(
                state,
                params=params,
                opt_state=opt_state,
                step=state.step + 1,
                lr=lr,
                grad_norm=norm,
                loss_sum=state.loss_sum + value * n,
                samples=state.samples + n,
                last_finite_loss=value,
            )
        # What attrs.evolve gives, without its per-call field introspection (issue 6).
        return TrainState(
            params,
            opt_state,
            step=state.step + 1,
            epoch=state.epoch,
            lr=lr,
            grad_norm=norm,
            loss=state.loss,
            val_loss=state.val_loss,
            loss_sum=state.loss_sum + value * n,
            samples=state.samples + n,
            last_finite_loss=value,
        )

    return step


def _check_parts(mlp: MLP, loss: Loss, optimizer: Optimizer[S], schedule: Schedule) -> None:
    check_model(mlp, loss)
    missing = [
        m for m in ("init", "apply", "lookahead") if not callable(getattr(optimizer, m, None))
    ]
    if missing:
        raise TypeError(
            f"optimizer must have init, apply and lookahead methods (see fmlp.Optimizer), got "
            f"{type(optimizer).__name__} {optimizer!r} without {', '.join(missing)}"
        )
    if not callable(schedule):
        raise TypeError(f"schedule must be a callable step -> learning rate, got {schedule!r}")
    _check_rate(schedule, 0, schedule(0))


def _check_rate(schedule: Schedule, t: int, lr: object) -> float:
    # A schedule must give a finite, non-negative rate (as a Python float, so a float32
    # model stays float32); user-written schedules are checked here.
    return check_float(f"the learning rate schedule({t})", lr, low=0.0)


def fold(step: Step[S], state: TrainState[S], batches: Iterable[Dataset]) -> TrainState[S]:
    """``step(...step(step(state, b0), b1)..., bk)``: a left fold of ``step`` over ``batches``."""
    return functools.reduce(step, batches, state)


@attrs.frozen
class ValidationLoss:
    """``params -> loss`` on a fixed, checked data set (a forward pass, no gradient)."""

    mlp: MLP
    loss: Loss
    data: Dataset

    def __call__(self, params: Params) -> float:
        pred = forward_unchecked(self.mlp, params, self.data.x)
        return self.loss.value_and_grad(pred, self.data.y)[0]


def epochs(
    step: Step[S],
    state: TrainState[S],
    data: Dataset,
    *,
    batch_size: int | None,
    seed: int,
    validation: Callable[[Params], float] | None = None,
) -> Iterator[TrainState[S]]:
    """Yield a new state after every epoch, forever (take as many as you need).

    Epoch ``e = state.epoch`` folds ``step`` over ``batches(data, batch_size, seed, e)``;
    the yielded state has ``epoch = e + 1``, ``loss`` = the sample-weighted mean of
    the epoch's batch losses, and ``val_loss = validation(params)`` if given.
    Starting from any yielded state continues exactly as the uninterrupted run.
    """
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    while True:
        start = attrs.evolve(state, loss_sum=0.0, samples=0)
        end = fold(step, start, batches(data, batch_size=batch_size, seed=seed, epoch=state.epoch))
        val = validation(end.params) if validation is not None else math.nan
        state = attrs.evolve(
            end, epoch=end.epoch + 1, loss=end.loss_sum / end.samples, val_loss=val
        )
        yield state


Monitor: TypeAlias = Literal["val_loss", "loss"]


def early_stopping(
    states: Iterable[TrainState[S]],
    *,
    patience: int,
    monitor: Monitor = "val_loss",
    min_delta: float = 0.0,
) -> Iterator[TrainState[S]]:
    """Pass states on until ``monitor`` has not improved by ``min_delta`` in ``patience`` epochs.

    The state that exhausts the patience is the last one yielded. To end with the
    best parameters, keep the best state as you go (``min(..., key=...)``). A NaN
    ``monitor`` (e.g. ``val_loss`` of a run without validation data) is a ``ValueError``.

    >>> import numpy as np
    >>> from fmlp.records import Layer, Params
    >>> p = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    >>> losses = [3.0, 2.0, 2.5, 2.2, 9.0]
    >>> states = (TrainState(p, None, epoch=e, val_loss=v) for e, v in enumerate(losses))
    >>> [s.epoch for s in early_stopping(states, patience=2)]
    [0, 1, 2, 3]
    """
    patience = check_positive_int("patience", patience)
    delta = check_float("min_delta", min_delta, low=0.0)
    if monitor not in ("val_loss", "loss"):
        raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
    best, waited = math.inf, 0
    for state in states:
        value = getattr(state, monitor)
        if math.isnan(value):
            # NaN never improves: without this check, a run without validation data
            # would silently stop after `patience` epochs.
            raise ValueError(
                f"early_stopping: {monitor} is NaN at epoch {state.epoch}; pass "
                f"validation=(x_val, y_val) to train, or use monitor='loss'"
            )
        yield state
        if value < best - delta:
            best, waited = value, 0
        else:
            waited += 1
            if waited >= patience:
                return


def train(
    mlp: MLP,
    params: Params,
    x: object,
    y: object,
    *,
    loss: Loss,
    optimizer: Optimizer[S],
    schedule: Schedule,
    epochs: int,
    batch_size: int | None = None,
    seed: int = 0,
    validation: tuple[object, object] | None = None,
    clip: float | None = None,
    max_norm: float | None = None,
    weight_decay: float = 0.0,
) -> Iterator[TrainState[S]]:
    """Train ``params`` on ``(x, y)`` for ``epochs`` epochs; yield the state after each.

    Everything is checked before the first step (data, shapes, hyperparameters).
    ``validation=(x_val, y_val)`` adds the validation loss to every state.
    Equivalent to ``islice(epochs(make_step(...), init_state(...), ...), epochs)``.
    """
    _check_parts(mlp, loss, optimizer, schedule)
    mlp.check_params(params)
    n_epochs = check_positive_int("epochs", epochs)
    seed = check_non_negative_int("seed", seed)
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)

    def checked(x: object, y: object, name: str) -> Dataset:
        return prepare(
            x,
            y,
            n_inputs=mlp.n_inputs,
            n_outputs=mlp.n_outputs,
            loss=loss,
            dtype=params.dtype,
            name=name,
        )

    data = checked(x, y, "")
    monitor = None
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise TypeError(
                f"validation must be a pair (x_val, y_val), got {type(validation).__name__}"
            )
        monitor = ValidationLoss(mlp, loss, checked(*validation, "validation"))
    step = make_step(
        mlp, loss, optimizer, schedule, clip=clip, max_norm=max_norm, weight_decay=weight_decay
    )
    return itertools.islice(
        _epochs(
            step,
            init_state(params, optimizer),
            data,
            batch_size=batch_size,
            seed=seed,
            validation=monitor,
        ),
        n_epochs,
    )


_epochs = epochs
