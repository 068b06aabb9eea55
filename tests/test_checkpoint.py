"""Checkpoints: exact round trips, atomic writes, exact resume, and one error type for bad files."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fmlp
from fmlp.checkpoint import Checkpoint, CheckpointError, checkpoints, load, save
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


positive = st.floats(1e-3, 1e3)
fraction = st.floats(0.0, 1.0)
schedules = st.one_of(
    st.builds(fmlp.Constant, positive),
    st.builds(fmlp.InverseTime, positive, positive),
    st.builds(fmlp.LinearDecay, positive, positive),
    st.builds(fmlp.ExponentialDecay, positive, fraction, positive),
    st.builds(fmlp.StepDecay, positive, fraction, st.integers(1, 100)),
    st.builds(fmlp.CosineDecay, positive, positive),
)
schedules = schedules | st.builds(fmlp.Warmup, schedules, st.integers(1, 50))
momenta_ = st.floats(0.0, 0.99)
optimizers = st.one_of(
    st.just(fmlp.SGD()),
    st.builds(fmlp.Momentum, momenta_),
    st.builds(fmlp.Nesterov, momenta_, lookahead_form=st.sampled_from(["sutskever", "tutorial"])),
    st.builds(fmlp.Adam, momenta_, momenta_, positive, fraction),
)
losses = st.one_of(
    st.builds(fmlp.SquaredError, reduction=st.sampled_from(["mean", "sum"])),
    st.builds(fmlp.AbsoluteError),
    st.builds(fmlp.Huber, positive),
    st.builds(fmlp.LogCosh),
    st.builds(fmlp.SoftmaxCrossEntropy),
    st.builds(fmlp.BinaryCrossEntropy),
)


@st.composite
def runs(draw: st.DrawFn) -> Checkpoint[object]:
    """Whole runs: any architecture, optimizer, schedule and loss fmlp ships."""
    mlp, params = draw(models())
    optimizer = cast(fmlp.Optimizer[object], draw(optimizers))
    return Checkpoint(
        state=attrs.evolve(fmlp.init_state(params, optimizer), step=draw(st.integers(0, 99))),
        mlp=mlp,
        loss=draw(losses),
        optimizer=optimizer,
        schedule=draw(schedules),
        clip=draw(st.none() | positive),
        max_norm=draw(st.none() | positive),
        weight_decay=draw(fraction),
        seed=draw(st.integers(0, 2**32)),
        batch_size=draw(st.none() | st.integers(1, 512)),
    )


@settings(max_examples=25)
@given(run=runs())
def test_a_whole_run_round_trips_without_a_template(
    tmp_path_factory: pytest.TempPathFactory, run: Checkpoint[object]
) -> None:
    path = tmp_path_factory.mktemp("run") / "run.npz"
    save(path, run)
    restored = load(path)
    assert_identical(restored, run)
    assert_identical(load(path, like=run), run)


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
    ckpt = Checkpoint(
        state=fmlp.init_state(params, optimizer),
        mlp=mlp,
        loss=fmlp.Huber(delta=0.5, reduction="sum"),
        optimizer=optimizer,
        schedule=fmlp.Warmup(fmlp.CosineDecay(0.5, 100, final=0.01), steps=10, start=0.05),
        clip=2.0,
        weight_decay=1e-4,
        seed=7,
        batch_size=16,
    )
    save(tmp_path / "run.npz", ckpt)
    restored = load(tmp_path / "run.npz")
    assert isinstance(restored, Checkpoint)
    assert_identical(restored, ckpt)
    assert restored.mlp.hidden == fmlp.LeakyReLU(0.2)
    # A template with the same classes (any numbers) reads it too.
    template = Checkpoint(
        state=fmlp.init_state(params, fmlp.Nesterov()),
        mlp=fmlp.MLP((2, 5, 3), hidden=fmlp.leaky_relu(), output=fmlp.sigmoid),
        loss=fmlp.Huber(),
        optimizer=fmlp.Nesterov(),
        schedule=fmlp.Warmup(fmlp.CosineDecay(1.0, 1), steps=1),
        clip=1.0,
        seed=0,
        batch_size=1,
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


# --- one clear error for every bad file ----------------------------------------------------------


def _small_state() -> fmlp.TrainState[fmlp.MomentumState]:
    params = fmlp.init(fmlp.MLP((3, 4, 2)), seed=0)
    return fmlp.init_state(params, fmlp.Momentum(0.9))


def _write_npz(path: Path, meta: object, **arrays: np.ndarray) -> None:
    # A hand-made archive, bypassing save(), to build files save() would never write.
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, allow_pickle=True, __fmlp__=blob, **arrays)


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of bad file the issue lists, with the phrase its error must contain."""
    state = _small_state()
    good = tmp / "good.npz"
    save(good, state)
    data = good.read_bytes()
    files: dict[str, tuple[Path, str]] = {}

    def put(name: str, content: bytes, phrase: str) -> None:
        (tmp / name).write_bytes(content)
        files[name] = (tmp / name, phrase)

    put("empty.npz", b"", "empty")
    put("truncated.npz", data[: len(data) // 2], "truncated or corrupt")
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside an array member: the zip CRC catches it
    put("corrupt.npz", bytes(flipped), "corrupt")
    put("text.npz", b"just some text\n", "not an .npz archive")
    put("pickle.npz", pickle.dumps(state), "looks like a pickle")
    header = {"format": "fmlp-checkpoint", "version": 99, "tree": {"kind": "none"}}
    _write_npz(tmp / "version.npz", header)
    files["version.npz"] = (tmp / "version.npz", "format version 99, but this fmlp reads version 1")
    _write_npz(tmp / "foreign.npz", {"format": "something else"})
    files["foreign.npz"] = (tmp / "foreign.npz", "not an fmlp checkpoint")
    np.savez(tmp / "plain.npz", x=np.zeros(3))
    files["plain.npz"] = (tmp / "plain.npz", "no '__fmlp__' member")
    header = {"format": "fmlp-checkpoint", "version": 1, "tree": {"kind": "array", "array": "a0"}}
    _write_npz(tmp / "objects.npz", header, a0=np.array([{"evil": 1}], dtype=object))
    files["objects.npz"] = (tmp / "objects.npz", "pickled object array")
    save(tmp / "structure.npz", fmlp.TrainState(state.params, fmlp.SGDState()))
    files["structure.npz"] = (tmp / "structure.npz", "holds a fmlp.optimizers.SGDState record")
    save(
        tmp / "shape.npz", fmlp.init_state(fmlp.init(fmlp.MLP((3, 5, 2)), seed=0), fmlp.Momentum())
    )
    files["shape.npz"] = (tmp / "shape.npz", "params.layers[0].weights is an array of shape (3, 5)")
    save(
        tmp / "dtype.npz",
        fmlp.init_state(fmlp.init(fmlp.MLP((3, 4, 2)), seed=0, dtype=np.float32), fmlp.Momentum()),
    )
    files["dtype.npz"] = (tmp / "dtype.npz", "dtype float32")
    save(tmp / "float.npz", attrs.evolve(state, step=1.5))  # type: ignore[arg-type]
    files["float.npz"] = (
        tmp / "float.npz",
        "TrainState.step holds a float, but the template has an int",
    )
    return files


BAD_FILE_NAMES = [
    "empty.npz",
    "truncated.npz",
    "corrupt.npz",
    "text.npz",
    "pickle.npz",
    "version.npz",
    "foreign.npz",
    "plain.npz",
    "objects.npz",
    "structure.npz",
    "shape.npz",
    "dtype.npz",
    "float.npz",
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", BAD_FILE_NAMES)
def test_a_bad_file_raises_one_clear_error(
    bad_files: dict[str, tuple[Path, str]], name: str
) -> None:
    path, phrase = bad_files[name]
    with pytest.raises(CheckpointError) as info:
        load(path, like=_small_state())
    message = str(info.value)
    assert str(path) in message and phrase in message, message
    assert info.value.path == str(path)


def test_a_missing_file_raises_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot be read"):
        load(tmp_path / "nowhere.npz", like=_small_state())


def test_load_never_unpickles(
    bad_files: dict[str, tuple[Path, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("load() must never unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    for name in ("pickle.npz", "objects.npz"):
        with pytest.raises(CheckpointError):
            load(bad_files[name][0])


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.npz"
    save(path, _small_state())
    return path.read_bytes()


def _load_or_checkpoint_error(path: Path) -> None:
    for like in (_small_state(), None):
        try:
            if like is None:
                load(path)
            else:
                load(path, like=like)
        except CheckpointError:
            pass


@settings(max_examples=30)
@given(content=st.binary(max_size=600) | st.binary(max_size=64).map(lambda b: b"PK\x03\x04" + b))
def test_fuzz_random_bytes_only_raise_checkpoint_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.npz"
    path.write_bytes(content)
    _load_or_checkpoint_error(path)


@settings(max_examples=60)
@given(data=st.data())
def test_fuzz_mutated_checkpoints_only_raise_checkpoint_error(
    tmp_path_factory: pytest.TempPathFactory, good_bytes: bytes, data: st.DataObject
) -> None:
    content = bytearray(good_bytes)
    n = len(content)
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["set", "truncate", "delete", "insert"]))
        at = data.draw(st.integers(0, max(len(content) - 1, 0)))
        if how == "set" and content:
            content[at] = data.draw(st.integers(0, 255))
        elif how == "truncate":
            del content[at:]
        elif how == "delete":
            del content[at : at + data.draw(st.integers(1, 16))]
        else:
            content[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    assert n == len(good_bytes)
    path = tmp_path_factory.mktemp("mut") / "m.npz"
    path.write_bytes(bytes(content))
    _load_or_checkpoint_error(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _replace_somewhere(node: dict[str, object] | list[object], data: st.DataObject) -> None:
    # Walk down a random path and replace one value there with random JSON.
    if not node:
        return
    if isinstance(node, dict):
        key = data.draw(st.sampled_from(sorted(node)))
        child = node[key]
    else:
        index = data.draw(st.integers(0, len(node) - 1))
        child = node[index]
    if isinstance(child, dict | list) and child and data.draw(st.booleans()):
        _replace_somewhere(child, data)
    elif isinstance(node, dict):
        node[key] = data.draw(json_values)
    else:
        node[index] = data.draw(json_values)


@settings(max_examples=60)
@given(data=st.data())
def test_fuzz_mutated_structures_only_raise_checkpoint_error(
    tmp_path_factory: pytest.TempPathFactory, good_bytes: bytes, data: st.DataObject
) -> None:
    # Mutate the JSON structure itself (below the zip checksums) and re-pack it validly.
    with np.load(io.BytesIO(good_bytes), allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays.pop("__fmlp__").tobytes().decode("utf-8"))
    _replace_somewhere(header, data)
    if data.draw(st.booleans()):
        arrays.pop(data.draw(st.sampled_from(sorted(arrays))))
    path = tmp_path_factory.mktemp("struct") / "s.npz"
    _write_npz(path, header, **arrays)
    _load_or_checkpoint_error(path)


# --- atomic writes: SIGKILL in the middle of saving -------------------------------------------

REPO = Path(__file__).resolve().parent.parent

SAVER = """
import os, stat, sys, time
import attrs, numpy as np
import fmlp
from fmlp.checkpoint import save

path, hook = sys.argv[1], sys.argv[2]
params = fmlp.init(fmlp.MLP((64, 256, 64)), seed=0)
state = fmlp.init_state(params, fmlp.Momentum(0.9))
done = 0

def pause(where):
    # Fault injection: announce that save() is at `where`, then wait to be killed.
    print(where, flush=True)
    time.sleep(30)

if hook == "write":
    import numpy.lib.format as npy_format
    write_array = npy_format.write_array
    def slow_write(fid, array, **kw):
        write_array(fid, array, **kw)
        if done >= 2 and array.size > 1000:
            pause("mid-write")
    npy_format.write_array = slow_write
elif hook == "fsync":
    fsync = os.fsync
    def slow_fsync(fd):
        fsync(fd)
        if done >= 2 and stat.S_ISREG(os.fstat(fd).st_mode):
            pause("mid-fsync")
    os.fsync = slow_fsync

while True:
    save(path, attrs.evolve(state, step=done))
    done += 1
    print(done - 1, flush=True)
"""


def _template() -> fmlp.TrainState[fmlp.MomentumState]:
    params = fmlp.init(fmlp.MLP((64, 256, 64)), seed=0)
    return fmlp.init_state(params, fmlp.Momentum(0.9))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize(
    ("hook", "delay"), [("write", 0.0), ("fsync", 0.0), ("none", 0.01), ("none", 0.07)]
)
def test_sigkill_during_save_leaves_a_loadable_checkpoint(
    tmp_path: Path, hook: str, delay: float
) -> None:
    path = tmp_path / "state.npz"
    child = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path), hook],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    # Bound the test: whatever happens, the child is killed after 5 s.
    watchdog = threading.Timer(5.0, child.kill)
    watchdog.start()
    try:
        printed = [child.stdout.readline().strip()]  # the first save is complete
        if hook == "none":
            time.sleep(delay)  # somewhere in the stream of saves
        else:
            while printed[-1] not in ("mid-write", "mid-fsync", "") and len(printed) < 20:
                printed.append(child.stdout.readline().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=5)
        watchdog.cancel()
    assert child.returncode == -signal.SIGKILL, err
    printed += rest.split()
    steps = [int(p) for p in printed if p.isdigit()]
    assert steps, err
    template = _template()
    loaded = load(path, like=template)
    if hook == "none":
        # The last announced save, or the one after it if it finished before the kill.
        assert loaded.step in (steps[-1], steps[-1] + 1)
    else:
        # Killed inside the save of step 2: the file still holds step 1, and the half-made
        # new file is a temporary that load() never looks at.
        assert printed[-1] == f"mid-{hook}" and loaded.step == steps[-1] == 1
        assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    assert_identical(loaded, attrs.evolve(template, step=loaded.step))


# --- exact resume in a new process ------------------------------------------------------------

RESUMER = """
import itertools, sys
import numpy as np
import fmlp
from fmlp.checkpoint import Checkpoint, load, save

checkpoint, data, out, more = sys.argv[1:5]
run = load(checkpoint)
assert isinstance(run, Checkpoint)
with np.load(data, allow_pickle=False) as f:
    x, y = f["x"], f["y"]
prepared = fmlp.prepare(
    x, y, n_inputs=run.mlp.n_inputs, n_outputs=run.mlp.n_outputs, loss=run.loss,
    dtype=run.state.params.dtype,
)
*_, last = itertools.islice(run.resume(prepared), int(more))
save(out, last)
"""


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resume_in_a_new_process_is_bit_identical(tmp_path: Path, dtype: type) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, 50)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    mlp = fmlp.MLP((4, 8, 3), hidden=fmlp.tanh)
    params = fmlp.init(mlp, seed=1, dtype=dtype)
    run = Checkpoint(
        state=fmlp.init_state(params, fmlp.Adam()),
        mlp=mlp,
        loss=fmlp.SoftmaxCrossEntropy(),
        optimizer=fmlp.Adam(weight_decay=1e-3),
        schedule=fmlp.Warmup(fmlp.ExponentialDecay(0.05, 0.9, 10), steps=5),
        max_norm=1.0,
        seed=3,
        batch_size=8,
    )
    n, k = 7, 3

    def states(epochs: int) -> Iterator[fmlp.TrainState[fmlp.AdamState]]:
        return fmlp.train(
            mlp,
            params,
            x,
            y,
            loss=run.loss,
            optimizer=run.optimizer,
            schedule=run.schedule,
            epochs=epochs,
            batch_size=run.batch_size,
            seed=run.seed,
            max_norm=run.max_norm,
        )

    *_, straight = states(n)
    saved = list(checkpoints(states(k), tmp_path / "run.npz", record=run.with_state))
    assert saved[-1].epoch == k
    subprocess.run(
        [
            sys.executable,
            "-c",
            RESUMER,
            *(str(tmp_path / f) for f in ("run.npz", "data.npz", "out.npz")),
            str(n - k),
        ],
        check=True,
        env=_env(),
        timeout=60,
    )
    resumed = load(tmp_path / "out.npz", like=straight)
    assert resumed.epoch == n
    assert_identical(resumed, straight)


# --- the checkpoints combinator ---------------------------------------------------------------


@settings(max_examples=20)
@given(
    val_losses=st.lists(st.floats(0.0, 10.0) | st.just(math.nan), min_size=1, max_size=8),
    every=st.integers(1, 3),
)
def test_checkpoints_saves_every_kth_and_the_best(
    tmp_path_factory: pytest.TempPathFactory, val_losses: list[float], every: int
) -> None:
    folder = tmp_path_factory.mktemp("combinator")
    params = fmlp.init(fmlp.MLP((2, 1)), seed=0)
    states = [
        fmlp.TrainState(params, fmlp.SGDState(), epoch=e + 1, val_loss=v)
        for e, v in enumerate(val_losses)
    ]
    last, best = folder / "last.npz", folder / "best.npz"
    passed = list(checkpoints(iter(states), last, every=every, best_path=best))
    assert passed == states  # states pass through unchanged
    kth = [s for s in states if s.epoch % every == 0]
    assert last.exists() == bool(kth)
    if kth:
        assert load(last, like=states[0]) == kth[-1]
    finite = [s for s in states if not math.isnan(s.val_loss)]
    assert best.exists() == bool(finite)
    if finite:
        # The first state with the smallest validation loss.
        assert load(best, like=states[0]) == min(finite, key=lambda s: s.val_loss)


def test_checkpoints_saves_before_passing_a_state_on(tmp_path: Path) -> None:
    params = fmlp.init(fmlp.MLP((2, 1)), seed=0)
    states = (fmlp.TrainState(params, None, epoch=e) for e in range(1, 100))
    first = next(checkpoints(states, tmp_path / "c.npz"))
    assert load(tmp_path / "c.npz", like=first) == first


def test_checkpoints_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        checkpoints(iter([]), "x.npz", every=0)
    with pytest.raises(ValueError, match="monitor must be 'val_loss' or 'loss', got 'acc'"):
        checkpoints(iter([]), "x.npz", monitor="acc")  # type: ignore[arg-type]


def test_resume_refuses_data_that_does_not_fit_the_run() -> None:
    mlp = fmlp.MLP((3, 2))
    params = fmlp.init(mlp, seed=0, dtype=np.float32)
    run = Checkpoint(
        state=fmlp.init_state(params, fmlp.SGD()),
        mlp=mlp,
        loss=fmlp.SquaredError(),
        optimizer=fmlp.SGD(),
        schedule=fmlp.Constant(0.1),
    )
    wide = fmlp.prepare(np.ones((4, 5)), np.zeros((4, 2)), n_inputs=5, n_outputs=2, loss=run.loss)
    with pytest.raises(ValueError, match=r"data must have 3 columns of float32 .* got x of shape"):
        run.resume(wide)
    with pytest.raises(TypeError, match="data must be a Dataset"):
        run.resume((np.ones((4, 3)), np.zeros((4, 2))))  # type: ignore[arg-type]


def test_python_and_numpy_scalars_of_one_kind_fit_either_template(tmp_path: Path) -> None:
    # A user's state may hold np.float64/np.int64 after a step and Python numbers at init.
    params = fmlp.init(fmlp.MLP((2, 1)), seed=0)
    stepped = RMSpropState(fmlp.Grads(params.layers), np.float64(0.5), np.int64(3), "r", True)  # type: ignore[arg-type]
    initial = RMSpropState(fmlp.Grads(params.layers), 0.9, 0, "r", False)
    save(tmp_path / "s.npz", stepped)
    assert_identical(load(tmp_path / "s.npz", like=initial), stepped)
    save(tmp_path / "s.npz", initial)
    assert_identical(load(tmp_path / "s.npz", like=stepped), initial)
    wrong = RMSpropState(fmlp.Grads(params.layers), 0.9, 0.0, "r", False)  # type: ignore[arg-type]
    with pytest.raises(
        CheckpointError, match=r"RMSpropState\.count holds an int, but the template has a float"
    ):
        load(tmp_path / "s.npz", like=wrong)


@settings(max_examples=60)
@given(data=st.data())
def test_fuzz_mutated_array_headers_only_raise_checkpoint_error(
    tmp_path_factory: pytest.TempPathFactory, good_bytes: bytes, data: st.DataObject
) -> None:
    # Mutate one .npy member's header or data and re-pack with valid zip checksums.
    with zipfile.ZipFile(io.BytesIO(good_bytes)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    name = data.draw(st.sampled_from(sorted(members)))
    raw = bytearray(members[name])
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, min(len(raw), 128) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw))) :]
    members[name] = bytes(raw)
    path = tmp_path_factory.mktemp("npy") / "n.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    _load_or_checkpoint_error(path)
