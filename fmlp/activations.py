"""Element-wise activation functions and their exact derivatives.

Each activation is a small frozen record with two pure methods:

* ``act(z)`` — the value ``f(z)``;
* ``act.derivative(z)`` — ``f'(z)``, computed from the **pre-activation** ``z``.

The derivative is taken from ``z``, never from the incoming gradient (the
tutorial's leaky-ReLU backward pass switched on the sign of the gradient, which
is wrong wherever the two signs differ; ``tests/test_model.py`` checks every
activation against central finite differences). Results keep the dtype of ``z``
and never warn or overflow, even for ``|z| ~ 1e4``.

Write your own by implementing the ``Activation`` protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs
import numpy as np

from fmlp.checks import check_float, real_to_float
from fmlp.records import Array

__all__ = [
    "TUTORIAL_LEAKY_RELU",
    "Activation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "identity",
    "leaky_relu",
    "relu",
    "sigmoid",
    "softplus",
    "tanh",
]


@runtime_checkable
class Activation(Protocol):
    """An element-wise function ``f`` with its derivative ``f'``, both from the pre-activation."""

    @property
    def name(self) -> str:
        """A short name used in reprs and checkpoints."""
        ...

    def __call__(self, z: Array) -> Array:
        """``f(z)``, same shape and dtype as ``z``."""
        ...

    def derivative(self, z: Array) -> Array:
        """``f'(z)``, same shape and dtype as ``z``."""
        ...


@attrs.frozen
class Identity:
    """``f(z) = z``, ``f'(z) = 1``.

    >>> import numpy as np
    >>> identity(np.array([-2.0, 3.0])), identity.derivative(np.array([-2.0, 3.0]))
    (array([-2.,  3.]), array([1., 1.]))
    """

    name: str = attrs.field(default="identity", init=False)

    def __call__(self, z: Array) -> Array:
        return z

    def derivative(self, z: Array) -> Array:
        return np.ones_like(z)


@attrs.frozen
class ReLU:
    """``f(z) = max(z, 0)``, ``f'(z) = 1 if z > 0 else 0`` (0 at z = 0).

    >>> import numpy as np
    >>> relu(np.array([-2.0, 3.0])), relu.derivative(np.array([-2.0, 3.0]))
    (array([0., 3.]), array([0., 1.]))
    """

    name: str = attrs.field(default="relu", init=False)

    def __call__(self, z: Array) -> Array:
        return np.maximum(z, 0.0)

    def derivative(self, z: Array) -> Array:
        return (z > 0).astype(z.dtype)


def _check_slope(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float("slope", value, low=0.0, high=1.0, high_open=True)


@attrs.frozen
class LeakyReLU:
    """``f(z) = z if z > 0 else slope·z``; ``f'(z) = 1 if z > 0 else slope``.

    For ``0 <= slope < 1`` this equals the tutorial's ``max(z, slope·z)``.

    >>> import numpy as np
    >>> act = LeakyReLU(0.1)
    >>> act(np.array([-2.0, 3.0])), act.derivative(np.array([-2.0, 3.0]))
    (array([-0.2,  3. ]), array([0.1, 1. ]))
    """

    slope: float = attrs.field(default=0.01, validator=_check_slope, converter=real_to_float)

    @property
    def name(self) -> str:
        return f"leaky_relu({self.slope!r})"

    def __call__(self, z: Array) -> Array:
        out: Array = np.maximum(z, self.slope * z)
        return out

    def derivative(self, z: Array) -> Array:
        return np.where(z > 0, z.dtype.type(1.0), z.dtype.type(self.slope))


@attrs.frozen
class Tanh:
    """``f(z) = tanh(z)``, ``f'(z) = 1 − tanh(z)²``.

    >>> import numpy as np
    >>> float(tanh.derivative(np.array([0.0]))[0])
    1.0
    """

    name: str = attrs.field(default="tanh", init=False)

    def __call__(self, z: Array) -> Array:
        return np.tanh(z)

    def derivative(self, z: Array) -> Array:
        t = np.tanh(z)
        return 1.0 - t * t


def _sigmoid(z: Array) -> Array:
    # exp of a non-positive number only: no overflow for any z.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@attrs.frozen
class Sigmoid:
    """``f(z) = 1 / (1 + e^(−z))``, ``f'(z) = f(z)·(1 − f(z))``; stable for any z.

    >>> import numpy as np
    >>> sigmoid(np.array([0.0])), sigmoid.derivative(np.array([0.0]))
    (array([0.5]), array([0.25]))
    """

    name: str = attrs.field(default="sigmoid", init=False)

    def __call__(self, z: Array) -> Array:
        return _sigmoid(z)

    def derivative(self, z: Array) -> Array:
        s = _sigmoid(z)
        return s * (1.0 - s)


@attrs.frozen
class Softplus:
    """``f(z) = log(1 + e^z)``, ``f'(z) = sigmoid(z)``; stable for any z.

    Computed as ``max(z, 0) + log1p(e^(−|z|))``.

    >>> import numpy as np
    >>> bool(np.isclose(softplus(np.array([0.0]))[0], np.log(2.0)))
    True
    """

    name: str = attrs.field(default="softplus", init=False)

    def __call__(self, z: Array) -> Array:
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

    def derivative(self, z: Array) -> Array:
        return _sigmoid(z)


identity = Identity()
relu = ReLU()
tanh = Tanh()
sigmoid = Sigmoid()
softplus = Softplus()
#: The tutorial's leaky ReLU, ``max(z, 0.1·z)``.
TUTORIAL_LEAKY_RELU = LeakyReLU(0.1)


def leaky_relu(slope: float = 0.01) -> LeakyReLU:
    """A leaky ReLU with the given negative-side ``slope`` in [0, 1)."""
    return LeakyReLU(slope)
