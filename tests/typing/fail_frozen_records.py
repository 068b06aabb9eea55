"""Records are frozen: assigning to a field is a type error (and raises at run time)."""

import numpy as np

import fmlp

mlp = fmlp.MLP((2, 1))
params = fmlp.init(mlp, seed=0)
state = fmlp.init_state(params, fmlp.Adam())

# E: Property "weights" defined in "Layer" is read-only
params.layers[0].weights = np.zeros((2, 1))
# E: Property "layers" defined in "Params" is read-only
params.layers = ()
# E: Property "count" defined in "AdamState" is read-only
state.opt_state.count = 3
# E: Property "step" defined in "TrainState" is read-only
state.step += 1
# E: Property "sizes" defined in "MLP" is read-only
mlp.sizes = (2, 2)
# E: Property "momentum" defined in "Momentum" is read-only
fmlp.Momentum().momentum = 0.5
