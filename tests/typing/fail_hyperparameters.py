"""Hyperparameters are numbers, schedules return numbers, counters are integers."""

import fmlp

mlp = fmlp.MLP((2, 1))
params = fmlp.init(mlp, seed=0)

# E: Argument "momentum" to "Momentum" has incompatible type "str"; expected "float"
fmlp.Momentum(momentum="0.9")
# E: Argument 4 to "make_step" has incompatible type "Callable[[int], str]"; expected "Callable[[int], float]"
# E: Incompatible return value type (got "str", expected "float")
fmlp.make_step(mlp, fmlp.SquaredError(), fmlp.Adam(), lambda step: "0.1")
# E: Argument "step" to "TrainState" has incompatible type "float"; expected "int"
fmlp.TrainState(params, fmlp.SGDState(), step=1.5)
# E: Argument "seed" to "init" has incompatible type "None"; expected "int"
fmlp.init(mlp, seed=None)
