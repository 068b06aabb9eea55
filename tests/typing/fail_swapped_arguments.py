"""Params and gradients have the same structure but are different types."""

import numpy as np

import fmlp

mlp = fmlp.MLP((2, 1))
params = fmlp.init(mlp, seed=0)
grads = fmlp.grad(mlp, params, np.zeros((4, 2)), np.zeros((4, 1)), fmlp.SquaredError())
state = fmlp.Momentum().init(params)

# E: Argument 1 to "sgd_step" has incompatible type "Grads"; expected "Params"
# E: Argument 2 to "sgd_step" has incompatible type "Params"; expected "Grads"
fmlp.sgd_step(grads, params, lr=0.1)
# E: Argument 1 to "momentum_step" has incompatible type "Grads"; expected "Params"
# E: Argument 3 to "momentum_step" has incompatible type "Params"; expected "Grads"
fmlp.momentum_step(grads, state, params, lr=0.1, momentum=0.9)
# E: Argument 3 to "apply" of "Momentum" has incompatible type "Params"; expected "Grads"
fmlp.Momentum().apply(params, state, params, 0.1)
# E: Argument 1 to "forward" has incompatible type "Params"; expected "MLP"
# E: Argument 2 to "forward" has incompatible type "MLP"; expected "Params"
fmlp.forward(params, mlp, np.zeros((1, 2)))
# E: Incompatible types in assignment (expression has type "Grads", variable has type "Params")
new_params: fmlp.Params = grads
