"""A loss is not an activation, and an activation is not a loss."""

import numpy as np

import fmlp

# E: Argument "hidden" to "MLP" has incompatible type "SquaredError"; expected "Activation"
fmlp.MLP((2, 3, 1), hidden=fmlp.SquaredError())
# E: Argument "output" to "MLP" has incompatible type "SoftmaxCrossEntropy"; expected "Activation"
mlp = fmlp.MLP((2, 3), output=fmlp.SoftmaxCrossEntropy())
params = fmlp.init(mlp, seed=0)
# E: Argument 5 to "value_and_grad" has incompatible type "ReLU"; expected "Loss"
fmlp.value_and_grad(mlp, params, np.zeros((1, 2)), np.zeros(1, np.int64), fmlp.relu)
# E: Argument 2 to "make_step" has incompatible type "Sigmoid"; expected "Loss"
fmlp.make_step(mlp, fmlp.sigmoid, fmlp.SGD(), fmlp.Constant(0.1))
