"""A step function built for one optimizer's state refuses another's."""

import numpy as np

import fmlp
from fmlp.testing import check_optimizer

mlp = fmlp.MLP((2, 1))
params = fmlp.init(mlp, seed=0)
data = fmlp.prepare(np.zeros((4, 2)), np.zeros(4), n_inputs=2, n_outputs=1, loss=fmlp.Huber())
adam_step = fmlp.make_step(mlp, fmlp.SquaredError(), fmlp.Adam(), fmlp.Constant(0.01))
momentum_state = fmlp.init_state(params, fmlp.Momentum())

# E: Argument 1 has incompatible type "TrainState[MomentumState]"; expected "TrainState[AdamState]"
adam_step(momentum_state, data)
# E: Argument 1 to "fold" has incompatible type "Callable[[TrainState[AdamState], Dataset], TrainState[AdamState]]"; expected "Callable[[TrainState[MomentumState], Dataset], TrainState[MomentumState]]"
fmlp.fold(adam_step, momentum_state, [data])
# E: Incompatible types in assignment (expression has type "Callable[[TrainState[AdamState], Dataset], TrainState[AdamState]]", variable has type "Callable[[TrainState[MomentumState], Dataset], TrainState[MomentumState]]")
momentum_step: fmlp.Step[fmlp.MomentumState] = adam_step
# E: Argument 1 to <set> has incompatible type "Literal['descnt']"; expected "Literal['no_mutation', 'deterministic', 'structure', 'zero_lr', 'finite', 'descent', 'checkpoint']"
check_optimizer(fmlp.SGD(), skip={"descnt"})
