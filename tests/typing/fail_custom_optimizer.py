"""A custom optimizer must keep to the state type it declares."""

import attrs

import fmlp


@attrs.frozen
class MyState:
    steps: int


@attrs.frozen
class Mine(fmlp.Optimizer[MyState]):
    def init(self, params: fmlp.Params) -> MyState:
        return MyState(0)

    def apply(
        self,
        params: fmlp.Params,
        # E: Argument 2 of "apply" is incompatible with supertype "fmlp.optimizers.Optimizer"; supertype defines the argument type as "MyState"
        state: fmlp.AdamState,
        grads: fmlp.Grads,
        lr: float,
    ) -> tuple[fmlp.Params, MyState]:
        return params, MyState(state.count)


@attrs.frozen
class Forgetful(fmlp.Optimizer[MyState]):
    def init(self, params: fmlp.Params) -> MyState:
        return MyState(0)


# E: Cannot instantiate abstract class "Forgetful" with abstract attribute "apply"
Forgetful()
