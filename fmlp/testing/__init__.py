"""fmlp.testing: hypothesis strategies and law checks for your own optimizers.

Needs the ``testing`` extra (``pip install 'fmlp[testing]'``), which brings hypothesis.
``check_optimizer(opt)`` checks an optimizer against fmlp's optimizer laws
(see ``fmlp.testing.laws``); the strategies draw architectures, params,
gradients, batches, learning rates and optimizer states.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as err:  # pragma: no cover - only without the extra
    raise ImportError(
        "fmlp.testing needs hypothesis; install it with: pip install 'fmlp[testing]'"
    ) from err

from fmlp.testing.laws import (
    LAWS,
    Case,
    LawName,
    LawViolation,
    Quadratic,
    cases,
    check_law,
    check_optimizer,
)
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
    optimizer_states,
    optimizers,
    params,
    reachable_states,
)

__all__ = [
    "LAWS",
    "Case",
    "LawName",
    "LawViolation",
    "Quadratic",
    "activations",
    "adam_states",
    "architectures",
    "arrays",
    "batches",
    "cases",
    "check_law",
    "check_optimizer",
    "classification_batches",
    "float_dtypes",
    "grads_like",
    "learning_rates",
    "models",
    "momenta",
    "momentum_states",
    "optimizer_states",
    "optimizers",
    "params",
    "reachable_states",
]
