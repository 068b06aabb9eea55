"""The main entry points have precise types: no Any where fmlp's own types belong."""

from typing import reveal_type

import numpy as np

import fmlp
from fmlp.testing import cases, check_optimizer, optimizer_states

mlp = fmlp.MLP((2, 3, 1), hidden=fmlp.relu)
params = fmlp.init(mlp, seed=0)
grads = fmlp.grad(mlp, params, np.zeros((4, 2)), np.zeros((4, 1)), fmlp.SquaredError())
data = fmlp.prepare(np.zeros((4, 2)), np.zeros(4), n_inputs=2, n_outputs=1, loss=fmlp.Huber())

# N: Revealed type is "fmlp.records.Params"
reveal_type(params)
# N: Revealed type is "fmlp.records.Grads"
reveal_type(grads)
# N: Revealed type is "tuple[float, fmlp.records.Grads]"
reveal_type(fmlp.value_and_grad(mlp, params, data.x, data.y, fmlp.SquaredError()))
# N: Revealed type is "fmlp.optimizers.AdamState"
reveal_type(fmlp.Adam().init(params))
# N: Revealed type is "tuple[fmlp.records.Params, fmlp.optimizers.MomentumState]"
reveal_type(fmlp.Nesterov(0.9).apply(params, fmlp.Momentum().init(params), grads, 0.1))
# N: Revealed type is "tuple[fmlp.records.Params, fmlp.optimizers.MomentumState]"
reveal_type(fmlp.momentum_step(params, fmlp.Momentum().init(params), grads, lr=0.1, momentum=0.9))
# N: Revealed type is "tuple[fmlp.records.Params, fmlp.optimizers.AdamState]"
reveal_type(fmlp.adam_step(params, fmlp.Adam().init(params), grads, lr=0.1))
# N: Revealed type is "fmlp.records.Params"
reveal_type(fmlp.sgd_step(params, grads, lr=0.1))
# N: Revealed type is "tuple[fmlp.records.Grads, float]"
reveal_type(fmlp.clip_by_norm(grads, 1.0))

step = fmlp.make_step(mlp, fmlp.SquaredError(), fmlp.Adam(), fmlp.Constant(0.01))
# N: Revealed type is "def (fmlp.records.TrainState[fmlp.optimizers.AdamState], fmlp.data.Dataset) -> fmlp.records.TrainState[fmlp.optimizers.AdamState]"
reveal_type(step)
state = fmlp.init_state(params, fmlp.Adam())
# N: Revealed type is "fmlp.records.TrainState[fmlp.optimizers.AdamState]"
reveal_type(state)
# N: Revealed type is "fmlp.records.TrainState[fmlp.optimizers.AdamState]"
reveal_type(fmlp.fold(step, state, fmlp.batches(data, batch_size=2, seed=0, epoch=0)))
states = fmlp.train(
    mlp,
    params,
    data.x,
    data.y,
    loss=fmlp.SquaredError(),
    optimizer=fmlp.Momentum(0.9),
    schedule=fmlp.TUTORIAL_DECAY,
    epochs=2,
)
# N: Revealed type is "typing.Iterator[fmlp.records.TrainState[fmlp.optimizers.MomentumState]]"
reveal_type(states)
# N: Revealed type is "typing.Iterator[fmlp.records.TrainState[fmlp.optimizers.MomentumState]]"
reveal_type(fmlp.early_stopping(states, patience=3))
# N: Revealed type is "fmlp.optimizers.MomentumState"
reveal_type(next(states).opt_state)

# N: Revealed type is "None"
reveal_type(check_optimizer(fmlp.Adam(), skip={"descent"}, max_examples=5))
# N: Revealed type is "hypothesis.strategies._internal.strategies.SearchStrategy[fmlp.optimizers.AdamState]"
reveal_type(optimizer_states(fmlp.Adam(), params))
# N: Revealed type is "hypothesis.strategies._internal.strategies.SearchStrategy[fmlp.testing.laws.Case[fmlp.optimizers.MomentumState]]"
reveal_type(cases(fmlp.Nesterov()))
