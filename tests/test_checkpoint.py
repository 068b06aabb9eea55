"""Checkpoints: exact round trips, atomic writes, exact resume, and one error type for bad files."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fmlp
from fmlp.checkpoint import Checkpoint, CheckpointError, load, save
from fmlp.testing import adam_states, grads_like, models, momentum_states


def assert_identical(a: object, b: object, where: str = "obj") -> None:
    """Same types all the way down, bit-identical arrays and floats (NaN payloads, −0.0)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, np.ndarray | np.generic):
        assert isinstance(b, np.ndarray | np.generic)
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, float):
        assert isinstance(b, float)
        assert struct.pack("<d", a) == struct.pack("<d", b), where
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif attrs.has(cls := type(a)):
        for field in attrs.fields(cls):
            assert_identical(
                getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}"
            )
    else:
        assert a == b, where


@attrs.frozen
class RMSpropState:
    """A user's own optimizer state: it must round-trip like the built-in ones."""

    square_avg: fmlp.Grads
    decay: float
    count: int
    label: str
    warm: bool
    note: str | None = None


any_float = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, math.nan, -math.inf, 5e-324]
)


@st.composite
def train_states(draw: st.DrawFn) -> fmlp.TrainState[object]:
    """Train states whose optimizer state is any of the built-in ones or a user's own."""
    _, params = draw(models())
    which = draw(st.sampled_from(["sgd", "momentum", "adam", "rmsprop", "none"]))
    opt_state: object
    if which == "sgd":
        opt_state = fmlp.SGDState()
    elif which == "momentum":
        opt_state = draw(momentum_states(params))
    elif which == "adam":
        opt_state = draw(adam_states(params))
    elif which == "rmsprop":
        opt_state = RMSpropState(
            draw(grads_like(params)),
            draw(any_float),
            draw(st.integers(-(2**70), 2**70)),
            draw(st.text(max_size=5)),
            draw(st.booleans()),
            draw(st.none() | st.text(max_size=3)),
        )
    else:
        opt_state = None
    return fmlp.TrainState(
        params,
        opt_state,
        step=draw(st.integers(0, 10**6)),
        epoch=draw(st.integers(0, 1000)),
        lr=draw(any_float),
        grad_norm=draw(any_float),
        loss=draw(any_float),
        val_loss=draw(any_float),
        loss_sum=draw(any_float),
        samples=draw(st.integers(0, 10**6)),
        last_finite_loss=draw(any_float),
    )


@settings(max_examples=25)
@given(state=train_states())
def test_round_trip_is_exact(tmp_path_factory: pytest.TempPathFactory, state: object) -> None:
    path = tmp_path_factory.mktemp("rt") / "state.npz"
    save(path, state)
    assert_identical(load(path, like=state), state)
    # The file alone is enough for fmlp's own classes (a user's class needs the template).
    if not isinstance(getattr(state, "opt_state", None), RMSpropState):
        assert_identical(load(path), state)


def test_loaded_arrays_are_read_only(tmp_path: Path) -> None:
    params = fmlp.init(fmlp.MLP((3, 4, 2)), seed=1, dtype=np.float32)
    save(tmp_path / "p.npz", params)
    loaded = load(tmp_path / "p.npz", like=params)
    assert all(not a.flags.writeable for a in loaded.arrays())
    assert loaded.dtype == np.float32


def test_checkpoint_record_keeps_architecture_and_hyperparameters(tmp_path: Path) -> None:
    mlp = fmlp.MLP((2, 5, 3), hidden=fmlp.leaky_relu(0.2), output=fmlp.sigmoid, bias=False)
    optimizer = fmlp.Nesterov(0.8, lookahead_form="tutorial")
    params = fmlp.init(mlp, seed=3, dtype=np.float32)
    schedule = fmlp.Warmup(fmlp.CosineDecay(0.5, 100, final=0.01), steps=10, start=0.05)
    ckpt = Checkpoint(mlp, optimizer, fmlp.init_state(params, optimizer), schedule, 7, 16)
    save(tmp_path / "run.npz", ckpt)
    restored = load(tmp_path / "run.npz")
    assert isinstance(restored, Checkpoint)
    assert_identical(restored, ckpt)
    assert restored.mlp.hidden == fmlp.LeakyReLU(0.2)
    # A template with the same classes (any numbers) reads it too.
    template = Checkpoint(
        fmlp.MLP((2, 5, 3), hidden=fmlp.leaky_relu(), output=fmlp.sigmoid),
        fmlp.Nesterov(),
        fmlp.init_state(params, fmlp.Nesterov()),
        fmlp.Warmup(fmlp.CosineDecay(1.0, 1), steps=1),
        0,
        1,
    )
    assert_identical(load(tmp_path / "run.npz", like=template), ckpt)


def test_a_users_class_needs_a_template(tmp_path: Path) -> None:
    params = fmlp.init(fmlp.MLP((2, 1)), seed=0)
    state = RMSpropState(fmlp.Grads(params.layers), 0.9, 3, "rms", True)
    save(tmp_path / "s.npz", state)
    with pytest.raises(CheckpointError, match=r"RMSpropState record.*not one of fmlp's own"):
        load(tmp_path / "s.npz")


def test_save_refuses_what_a_checkpoint_cannot_hold(tmp_path: Path) -> None:
    params = fmlp.init(fmlp.MLP((2, 1)), seed=0)
    state = fmlp.TrainState(params, {"velocity": 1.0})
    with pytest.raises(TypeError, match=r"TrainState\.opt_state.*got dict"):
        save(tmp_path / "s.npz", state)
    with pytest.raises(TypeError, match="dtype object"):
        save(tmp_path / "s.npz", fmlp.TrainState(params, np.array([None])))
    assert not os.listdir(tmp_path)
