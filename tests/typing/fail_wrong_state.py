"""An Adam state is not a momentum state, in the plain step or through the protocol."""

import attrs
import numpy as np

import fmlp

mlp = fmlp.MLP((2, 1))
params = fmlp.init(mlp, seed=0)
grads = fmlp.grad(mlp, params, np.zeros((4, 2)), np.zeros((4, 1)), fmlp.SquaredError())
adam_state = fmlp.Adam().init(params)

# E: Argument 2 to "momentum_step" has incompatible type "AdamState"; expected "MomentumState"
fmlp.momentum_step(params, adam_state, grads, lr=0.1, momentum=0.9)
# E: Argument 2 to "apply" of "Momentum" has incompatible type "AdamState"; expected "MomentumState"
fmlp.Momentum().apply(params, adam_state, grads, 0.1)
# E: Argument 2 to "lookahead" of "Nesterov" has incompatible type "AdamState"; expected "MomentumState"
fmlp.Nesterov().lookahead(params, adam_state, 0.1)
# E: Incompatible types in assignment (expression has type "Momentum", variable has type "Optimizer[AdamState]")
optimizer: fmlp.Optimizer[fmlp.AdamState] = fmlp.Momentum()
# E: Argument 1 to "TrainState" has incompatible type "AdamState"; expected "Params"
fmlp.TrainState(adam_state, params)
momentum_run = fmlp.init_state(params, fmlp.Momentum())
# E: Argument "opt_state" to "evolve" of "TrainState[MomentumState]" has incompatible type "AdamState"; expected "MomentumState"
attrs.evolve(momentum_run, opt_state=adam_state)
