"""fmlp.testing: hypothesis strategies and law checks for your own optimizers.

Needs the ``testing`` extra (``pip install 'fmlp[testing]'``), which brings hypothesis.
"""

from fmlp.testing.strategies import (
    activations,
    adam_states,
    architectures,
    arrays,
    batches,
    classification_batches,
    float_dtypes,
    grads_like,
    learning_rates,
    models,
    momenta,
    momentum_states,
    params,
)

__all__ = [
    "activations",
    "adam_states",
    "architectures",
    "arrays",
    "batches",
    "classification_batches",
    "float_dtypes",
    "grads_like",
    "learning_rates",
    "models",
    "momenta",
    "momentum_states",
    "params",
]
