"""A user's own optimizer fits the protocol, make_step and the kit, with its own state type."""

from typing import reveal_type

import attrs
import numpy as np

import fmlp
from fmlp.testing import LawName, check_optimizer


@attrs.frozen
class SignState:
    steps: int


@attrs.frozen
class SignSGD(fmlp.Optimizer[SignState]):
    def init(self, params: fmlp.Params) -> SignState:
        return SignState(0)

    def apply(
        self, params: fmlp.Params, state: SignState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, SignState]:
        new = fmlp.tree_map(lambda w, g: w - lr * np.sign(g), fmlp.Params, params, grads)
        return new, SignState(state.steps + 1)


mlp = fmlp.MLP((2, 1))
step = fmlp.make_step(mlp, fmlp.SquaredError(), SignSGD(), fmlp.Constant(0.1))
state = fmlp.init_state(fmlp.init(mlp, seed=0), SignSGD())
data = fmlp.prepare(np.zeros((4, 2)), np.zeros(4), n_inputs=2, n_outputs=1, loss=fmlp.Huber())
# N: Revealed type is "fmlp.records.TrainState[pass_custom_optimizer.SignState]"
reveal_type(step(state, data))

skip: set[LawName] = {"descent", "checkpoint"}
check_optimizer(SignSGD(), skip=skip)
