"""A first end-to-end check; the per-module property tests live beside it."""

from __future__ import annotations

import numpy as np
from hypothesis import given

import fmlp
from fmlp.testing import models


@given(models())
def test_forward_keeps_dtype_and_shape(model: tuple[fmlp.MLP, fmlp.Params]) -> None:
    mlp, params = model
    x = np.ones((3, mlp.n_inputs), dtype=params.dtype)
    out = fmlp.forward(mlp, params, x)
    assert out.dtype == params.dtype
    assert out.shape == (3, mlp.n_outputs)


def test_training_decreases_loss_on_a_linear_problem() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    mlp = fmlp.MLP((3, 1))
    states = list(
        fmlp.train(
            mlp,
            fmlp.init(mlp, seed=0),
            x,
            y,
            loss=fmlp.SquaredError(),
            optimizer=fmlp.SGD(),
            schedule=fmlp.Constant(0.05),
            epochs=20,
            batch_size=16,
        )
    )
    assert states[-1].loss < states[0].loss / 10
