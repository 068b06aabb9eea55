"""Checkpoints: fmlp records saved as ``.npz`` files, atomically, and never with pickle.

``save(path, obj)`` writes any tree of

* ``Params`` and ``Grads``;
* frozen ``attrs`` records — ``TrainState``, optimizer states (yours too: an
  RMSprop state works as well as ``AdamState``), ``MLP``, activations, optimizers,
  schedules, losses and ``Checkpoint``;
* tuples, numpy arrays and scalars of bool, integer or float dtype;
* ``None``, ``bool``, ``int``, ``float`` and ``str``.

The file is an ordinary ``.npz`` archive: one ``.npy`` member per array
(``a0``, ``a1``, ...) and a member ``__fmlp__`` holding the format name, the
format ``version`` and the record structure as UTF-8 JSON (class names, field
names, the exact bits of every Python float, and which member holds which
array). Nothing is pickled, and loading refuses any member that would need a
pickle.

``load(path, like=template)`` rebuilds an object of the template's classes and
checks the file against it: the same classes and fields, the same number of
layers, and every array with the template's shape and dtype (the template's own
numbers are ignored — only its structure counts). Without a template, ``load``
rebuilds fmlp's own classes only (it never imports a class named in a file).
Anything wrong with a file — missing, empty, truncated, corrupt, another format
or version, a different structure, a pickle — raises ``CheckpointError`` naming
the file and what is wrong.

Writes are atomic: the archive goes to a temporary file in the same folder,
which is flushed, ``fsync``-ed and then renamed over ``path``. A process killed
at any moment leaves the old checkpoint or the new one, never a mixture (a
killed save may leave a ``.<name>.<random>.tmp`` file behind, which ``load``
never reads).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Literal, TypeAlias, TypeVar, overload

import attrs
import numpy as np
import numpy.typing as npt

from fmlp import activations, losses, optimizers, schedules
from fmlp.checks import check_positive_int
from fmlp.data import Dataset
from fmlp.loop import Step, epochs, make_step
from fmlp.losses import Loss
from fmlp.model import MLP
from fmlp.optimizers import Optimizer
from fmlp.records import Grads, Layer, Params, TrainState, freeze
from fmlp.schedules import Schedule

__all__ = [
    "FORMAT",
    "VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoints",
    "load",
    "save",
]

#: The format name stored in every checkpoint.
FORMAT = "fmlp-checkpoint"
#: The format version this fmlp writes and reads.
VERSION = 1

_META = "__fmlp__"
_ARRAY_KINDS = "biuf"

S = TypeVar("S")
T = TypeVar("T")
StrPath: TypeAlias = str | os.PathLike[str]


class CheckpointError(Exception):
    """A file could not be loaded as an fmlp checkpoint (or does not fit the template).

    ``path`` is the file and ``reason`` says what is wrong with it.
    """

    def __init__(self, path: StrPath, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot load checkpoint {self.path!r}: {reason}")


@attrs.frozen(kw_only=True)
class Checkpoint(Generic[S]):
    """A whole training run, to save and resume: the state and everything that made it.

    ``mlp`` (sizes, activations by class and slope, bias flag), ``loss``,
    ``optimizer`` and ``schedule`` keep their hyperparameters as record fields;
    ``clip``, ``max_norm`` and ``weight_decay`` are ``make_step``'s options, and
    ``seed`` and ``batch_size`` fix the mini-batch order. Saved with ``save`` and
    read back with ``load(path)`` (no template needed when every part is one of
    fmlp's own classes), ``resume(data)`` continues exactly where the run stopped.
    ``schedule`` must be a record (every built-in schedule is), not a function.

    >>> import itertools, os, tempfile
    >>> import numpy as np
    >>> import fmlp
    >>> mlp, opt = fmlp.MLP((2, 1)), fmlp.Momentum(0.5)
    >>> run = Checkpoint(state=fmlp.init_state(fmlp.init(mlp, seed=0), opt), mlp=mlp,
    ...                  loss=fmlp.SquaredError(), optimizer=opt, schedule=fmlp.Constant(0.1))
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> save(path, run)
    >>> restored = load(path)
    >>> restored == run, restored.optimizer
    (True, Momentum(momentum=0.5))
    >>> data = fmlp.prepare(np.ones((4, 2)), np.ones(4), n_inputs=2, n_outputs=1, loss=run.loss)
    >>> [s.epoch for s in itertools.islice(restored.resume(data), 3)]
    [1, 2, 3]
    """

    state: TrainState[S]
    mlp: MLP
    loss: Loss
    optimizer: Optimizer[S]
    schedule: Schedule
    clip: float | None = None
    max_norm: float | None = None
    weight_decay: float = 0.0
    seed: int = 0
    batch_size: int | None = None

    def with_state(self, state: TrainState[S]) -> Checkpoint[S]:
        """This run at ``state`` (``attrs.evolve(self, state=state)``): the ``record`` to save."""
        return attrs.evolve(self, state=state)

    def make_step(self) -> Step[S]:
        """The run's training step: ``make_step`` with this record's fields."""
        return make_step(
            self.mlp,
            self.loss,
            self.optimizer,
            self.schedule,
            clip=self.clip,
            max_norm=self.max_norm,
            weight_decay=self.weight_decay,
        )

    def resume(
        self, data: Dataset, *, validation: Callable[[Params], float] | None = None
    ) -> Iterator[TrainState[S]]:
        """``epochs(self.make_step(), self.state, data, batch_size=..., seed=...)``: the run, on.

        Given the same (prepared) ``data``, the states it yields are bit-identical
        to those the uninterrupted run yielded after ``self.state``.
        """
        self.mlp.check_params(self.state.params, "state.params")
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a Dataset (see fmlp.prepare), got {type(data).__name__}")
        if data.x.shape[1] != self.mlp.n_inputs or data.x.dtype != self.state.params.dtype:
            raise ValueError(
                f"data must have {self.mlp.n_inputs} columns of {self.state.params.dtype} to fit "
                f"the run, got x of shape {data.x.shape} and dtype {data.x.dtype}"
            )
        return epochs(
            self.make_step(),
            self.state,
            data,
            batch_size=self.batch_size,
            seed=self.seed,
            validation=validation,
        )


# --- saving ----------------------------------------------------------------------------------


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _float_bits(value: float) -> str:
    # The exact IEEE-754 bits (NaN payloads and signed zeros included).
    return struct.pack(">d", value).hex()


class _Encoder:
    """Turns a tree into a JSON-able structure plus the arrays it refers to."""

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[np.generic]] = {}

    def array(self, a: npt.NDArray[np.generic], where: str) -> str:
        if a.dtype.kind not in _ARRAY_KINDS or not a.dtype.isnative:
            raise TypeError(
                f"cannot save {where}: arrays must be bool, integer or float in native byte "
                f"order, got dtype {a.dtype}"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return key

    def encode(self, obj: object, where: str) -> dict[str, object]:
        if obj is None:
            return {"kind": "none"}
        if isinstance(obj, bool):
            return {"kind": "bool", "value": obj}
        if type(obj) is int:
            return {"kind": "int", "value": obj}
        if type(obj) is float:
            return {"kind": "float", "bits": _float_bits(obj)}
        if type(obj) is str:
            return {"kind": "str", "value": obj}
        if isinstance(obj, np.generic):
            return {"kind": "scalar", "array": self.array(np.asarray(obj), where)}
        if isinstance(obj, np.ndarray):
            return {"kind": "array", "array": self.array(obj, where)}
        if isinstance(obj, (Params, Grads)):
            kind = "Params" if isinstance(obj, Params) else "Grads"
            layers = [
                [
                    self.array(layer.weights, f"{where}.layers[{i}].weights"),
                    self.array(layer.bias, f"{where}.layers[{i}].bias"),
                ]
                for i, layer in enumerate(obj.layers)
            ]
            return {"kind": kind, "layers": layers}
        if type(obj) is tuple:
            return {
                "kind": "tuple",
                "items": [self.encode(item, f"{where}[{i}]") for i, item in enumerate(obj)],
            }
        cls = type(obj)
        if attrs.has(cls):
            fields = {
                a.name: self.encode(getattr(obj, a.name), f"{where}.{a.name}")
                for a in attrs.fields(cls)
                if a.init
            }
            return {"kind": "record", "class": _qualname(cls), "fields": fields}
        raise TypeError(
            f"cannot save {where}: a checkpoint holds attrs records, Params, Grads, tuples, "
            f"numpy arrays and None/bool/int/float/str, got {type(obj).__name__}"
        )


def _write_atomically(path: StrPath, arrays: dict[str, npt.NDArray[np.generic]]) -> None:
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                # mkstemp makes the file private; give it the mode the old file had (or 0o644).
                mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
                os.fchmod(f.fileno(), mode)
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        # Make the rename itself durable.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(path: StrPath, obj: object) -> None:
    """Write ``obj`` to ``path`` as an ``.npz`` checkpoint, atomically (see the module docs).

    The law: ``load(path, like=obj) == obj`` with bit-identical arrays, the same
    dtypes and the same types. Raises ``TypeError`` (naming the field) for
    anything a checkpoint cannot hold, before the file is touched.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from fmlp import MLP, Momentum, init, init_state
    >>> state = init_state(init(MLP((2, 3, 1)), seed=0), Momentum(0.9))
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> save(path, state)
    >>> load(path, like=state) == state
    True
    """
    encoder = _Encoder()
    tree = encoder.encode(obj, type(obj).__name__)
    meta = json.dumps(
        {"format": FORMAT, "version": VERSION, "tree": tree}, allow_nan=False, sort_keys=False
    ).encode("utf-8")
    arrays = {_META: np.frombuffer(meta, dtype=np.uint8), **encoder.arrays}
    _write_atomically(path, arrays)


# --- loading ---------------------------------------------------------------------------------


class _Bad(Exception):
    """Internal: what is wrong with the file (turned into ``CheckpointError`` at the boundary)."""


_NO_TEMPLATE = object()


def _read_npy(raw: bytes, member: str) -> npt.NDArray[np.generic]:
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _Bad(f"member {member!r} uses .npy version {version}, which fmlp does not write")
    except Exception as err:  # numpy's header parser raises ValueError, SyntaxError, TokenError
        raise _Bad(f"member {member!r} is not a valid .npy array ({err})") from err
    if dtype.hasobject:
        raise _Bad(
            f"member {member!r} holds a pickled object array; fmlp checkpoints never contain "
            "pickles and never load them"
        )
    if dtype.kind not in _ARRAY_KINDS or not dtype.isnative or dtype.subdtype is not None:
        raise _Bad(f"member {member!r} has dtype {dtype}, which fmlp checkpoints never hold")
    count = math.prod(shape)
    offset = f.tell()
    if min(shape, default=0) < 0 or count * dtype.itemsize != len(raw) - offset:
        raise _Bad(
            f"member {member!r} is truncated or corrupt: its header promises shape {shape} "
            f"({count * dtype.itemsize} bytes) but it holds {len(raw) - offset} bytes"
        )
    # The header is known to be sound and its size to match: numpy's reader, pickles refused.
    arr = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    return freeze(arr if arr.flags.owndata else np.array(arr, copy=True))


def _read_archive(path: StrPath) -> tuple[object, dict[str, npt.NDArray[np.generic]]]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise _Bad(f"the file cannot be read ({err.strerror or err})") from err
    if not data:
        raise _Bad("the file is empty (0 bytes)")
    if data[:1] == b"\x80":
        raise _Bad("the file looks like a pickle; fmlp checkpoints are .npz archives")
    if not data.startswith(b"PK\x03\x04"):
        raise _Bad("the file is not an .npz archive (it does not start with a zip header)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise _Bad(f"the file is truncated or corrupt (not a readable zip archive: {err})") from err
    members: dict[str, npt.NDArray[np.generic]] = {}
    with archive:
        for info in archive.infolist():
            name = info.filename
            if not name.endswith(".npy") or name[:-4] in members:
                raise _Bad(f"the archive holds an unexpected member {name!r}")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                raise _Bad(f"member {name!r} is compressed or corrupt; fmlp writes plain members")
            try:
                raw = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
                raise _Bad(f"the file is truncated or corrupt ({err})") from err
            members[name[:-4]] = _read_npy(raw, name)
    meta = members.pop(_META, None)
    if meta is None:
        raise _Bad(f"the archive has no {_META!r} member, so it is not an fmlp checkpoint")
    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise _Bad(f"the {_META!r} member is not UTF-8 JSON bytes")
    try:
        header = json.loads(meta.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise _Bad(f"the {_META!r} member is not valid UTF-8 JSON ({err})") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Bad(f"the file is not an fmlp checkpoint (no format {FORMAT!r} in {_META!r})")
    version = header.get("version")
    if version != VERSION or type(version) is not int:
        raise _Bad(
            f"the file has format version {version!r}, but this fmlp reads version {VERSION}"
        )
    return header.get("tree"), members


def _builtin_classes() -> dict[str, type]:
    # The only classes load() builds without a template: fmlp's own, never one named in a file.
    classes: list[type] = [
        Layer,
        TrainState,
        MLP,
        Checkpoint,
        activations.Identity,
        activations.ReLU,
        activations.LeakyReLU,
        activations.Tanh,
        activations.Sigmoid,
        activations.Softplus,
        optimizers.SGD,
        optimizers.Momentum,
        optimizers.Nesterov,
        optimizers.Adam,
        optimizers.SGDState,
        optimizers.MomentumState,
        optimizers.AdamState,
        schedules.Constant,
        schedules.InverseTime,
        schedules.LinearDecay,
        schedules.ExponentialDecay,
        schedules.StepDecay,
        schedules.CosineDecay,
        schedules.Warmup,
        losses.SquaredError,
        losses.AbsoluteError,
        losses.Huber,
        losses.LogCosh,
        losses.SoftmaxCrossEntropy,
        losses.BinaryCrossEntropy,
    ]
    return {_qualname(cls): cls for cls in classes}


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _describe(obj: object) -> str:
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape} and dtype {obj.dtype}"
    if obj is None:
        return "None"
    return _a(type(obj).__name__)


_SCALAR_TYPES: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str}


def _family(value: object) -> str:
    # Python and numpy scalars of one kind are interchangeable against a template, so a
    # state whose counter became np.int64 after a step still loads with the initial state.
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__


def _check_family(value: object, like: object, where: str) -> None:
    # A template None (an optional field) accepts any scalar; None in the file fits any field.
    if like is _NO_TEMPLATE or like is None or value is None:
        return
    if _family(value) != _family(like):
        raise _Bad(f"{where} holds {_describe(value)}, but the template has {_describe(like)}")


class _Decoder:
    """Rebuilds a tree from the JSON structure and the arrays, checking it against a template."""

    def __init__(self, arrays: dict[str, npt.NDArray[np.generic]]) -> None:
        self.arrays = arrays
        self.used: set[str] = set()
        self.builtins = _builtin_classes()

    def array(self, key: object, like: object, where: str) -> npt.NDArray[np.generic]:
        if not isinstance(key, str) or key not in self.arrays or key in self.used:
            raise _Bad(f"{where} refers to a missing or repeated array member {key!r}")
        self.used.add(key)
        arr = self.arrays[key]
        if isinstance(like, (np.ndarray, np.generic)) and (
            arr.shape != np.shape(like) or arr.dtype != like.dtype
        ):
            raise _Bad(
                f"{where} is an array of shape {arr.shape} and dtype {arr.dtype}, but the "
                f"template has shape {np.shape(like)} and dtype {like.dtype}"
            )
        return arr

    def decode(self, node: object, like: object, where: str) -> object:
        if not isinstance(node, dict) or not isinstance(node.get("kind"), str):
            raise _Bad(f"the structure is malformed at {where}")
        kind: str = node["kind"]
        templated = like is not _NO_TEMPLATE
        if kind in ("none", *_SCALAR_TYPES):
            return self._scalar(kind, node, like, where)
        if kind == "array":
            if templated and not isinstance(like, np.ndarray):
                raise _Bad(f"{where} holds an array, but the template has {_describe(like)}")
            return self.array(node.get("array"), like, where)
        if kind == "scalar":
            arr = self.array(
                node.get("array"), like if isinstance(like, np.generic) else None, where
            )
            if arr.ndim != 0:
                raise _Bad(f"{where} should be a scalar but holds shape {arr.shape}")
            value: object = arr[()]
            _check_family(value, like, where)
            return value
        if kind in ("Params", "Grads"):
            return self._tree(kind, node, like, where)
        if kind == "tuple":
            items = node.get("items")
            if not isinstance(items, list):
                raise _Bad(f"the structure is malformed at {where}")
            if templated and (not isinstance(like, tuple) or len(like) != len(items)):
                raise _Bad(
                    f"{where} holds a tuple of {len(items)}, but the template has {_describe(like)}"
                    + (f" of {len(like)}" if isinstance(like, tuple) else "")
                )
            likes = like if templated else [_NO_TEMPLATE] * len(items)
            assert isinstance(likes, (tuple, list))
            return tuple(
                self.decode(item, sub, f"{where}[{i}]")
                for i, (item, sub) in enumerate(zip(items, likes, strict=True))
            )
        if kind == "record":
            return self._record(node, like, where)
        raise _Bad(f"{where} has an unknown kind {kind!r}")

    def _scalar(self, kind: str, node: dict[str, object], like: object, where: str) -> object:
        if kind == "none":
            value: object = None
        elif kind == "float":
            bits = node.get("bits")
            if not isinstance(bits, str) or len(bits) != 16:
                raise _Bad(f"the structure is malformed at {where}")
            try:
                value = struct.unpack(">d", bytes.fromhex(bits))[0]
            except ValueError as err:
                raise _Bad(f"the structure is malformed at {where} ({err})") from err
        else:
            value = node.get("value")
            if type(value) is not _SCALAR_TYPES[kind]:
                raise _Bad(f"the structure is malformed at {where}")
        _check_family(value, like, where)
        return value

    def _tree(self, kind: str, node: dict[str, object], like: object, where: str) -> Params | Grads:
        cls: type[Params | Grads] = Params if kind == "Params" else Grads
        layers = node.get("layers")
        if not isinstance(layers, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in layers
        ):
            raise _Bad(f"the structure is malformed at {where}")
        if like is not _NO_TEMPLATE:
            if type(like) is not cls:
                raise _Bad(f"{where} holds {kind}, but the template has {_describe(like)}")
            assert isinstance(like, (Params, Grads))
            if len(like.layers) != len(layers):
                raise _Bad(
                    f"{where} holds {kind} with {len(layers)} layers, but the template has "
                    f"{len(like.layers)}"
                )
        built = []
        for i, (w_key, b_key) in enumerate(layers):
            like_layer = like.layers[i] if isinstance(like, (Params, Grads)) else None
            w = self.array(
                w_key, like_layer.weights if like_layer else None, f"{where}.layers[{i}].weights"
            )
            b = self.array(
                b_key, like_layer.bias if like_layer else None, f"{where}.layers[{i}].bias"
            )
            built.append(_construct(Layer, {"weights": w, "bias": b}, f"{where}.layers[{i}]"))
        if cls is Params:
            return _construct(Params, {"layers": tuple(built)}, where)
        return _construct(Grads, {"layers": tuple(built)}, where)

    def _record(self, node: dict[str, object], like: object, where: str) -> object:
        name, fields = node.get("class"), node.get("fields")
        if not isinstance(name, str) or not isinstance(fields, dict):
            raise _Bad(f"the structure is malformed at {where}")
        if like is _NO_TEMPLATE:
            if name not in self.builtins:
                raise _Bad(
                    f"{where} is a {name} record, which is not one of fmlp's own classes; "
                    "pass like= a template to load it"
                )
            cls = self.builtins[name]
        else:
            if not attrs.has(type(like)) or _qualname(type(like)) != name:
                raise _Bad(
                    f"{where} holds {_a(name)} record, but the template has {_describe(like)}"
                )
            cls = type(like)
        expected = [a for a in attrs.fields(cls) if a.init]
        if sorted(fields) != sorted(a.name for a in expected):
            raise _Bad(
                f"{where} has fields {sorted(fields)}, but {cls.__name__} has "
                f"{sorted(a.name for a in expected)}"
            )
        values = {
            a.alias: self.decode(
                fields[a.name],
                _NO_TEMPLATE if like is _NO_TEMPLATE else getattr(like, a.name),
                f"{where}.{a.name}",
            )
            for a in expected
        }
        return _construct(cls, values, where)


def _construct(cls: Callable[..., T], values: dict[str, object], where: str) -> T:
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise _Bad(f"{where} does not make a valid {getattr(cls, '__name__', cls)}: {err}") from err


@overload
def load(path: StrPath, *, like: T) -> T: ...
@overload
def load(path: StrPath) -> object: ...
def load(path: StrPath, *, like: object = _NO_TEMPLATE) -> object:
    """Read a checkpoint written by ``save``; with ``like``, check it against that template.

    ``like`` gives the classes and the structure: the file must hold the same
    record classes with the same fields, ``Params``/``Grads`` with as many layers,
    and arrays of the template's shapes and dtypes; a template ``None`` accepts any
    plain scalar. Without ``like`` only fmlp's own classes are rebuilt. Arrays come
    back bit-identical and read-only. Every problem with the file raises
    ``CheckpointError``; the file is read with pickles refused.

    >>> import os, tempfile
    >>> from fmlp import MLP, init
    >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
    >>> save(path, init(MLP((2, 1)), seed=0))
    >>> load(path, like=init(MLP((3, 1)), seed=0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fmlp.checkpoint.CheckpointError: cannot load checkpoint '...params.npz': Params.layers[0].weights is an array of shape (2, 1) and dtype float64, but the template has shape (3, 1) and dtype float64
    """  # noqa: E501
    try:
        tree, arrays = _read_archive(path)
        decoder = _Decoder(arrays)
        if like is not _NO_TEMPLATE:
            root = type(like).__name__
        elif isinstance(tree, dict):
            root = str(tree.get("class", tree.get("kind", "root"))).rsplit(".", 1)[-1]
        else:
            root = "root"
        obj = decoder.decode(tree, like, root)
        unused = sorted(set(arrays) - decoder.used)
        if unused:
            raise _Bad(f"the archive holds arrays no field refers to: {unused}")
        return obj
    except _Bad as bad:
        raise CheckpointError(path, str(bad)) from None
    except CheckpointError:
        raise
    except Exception as err:
        # Belt and braces: a file mangled in a way not foreseen above still gets one error type.
        raise CheckpointError(path, f"the file is corrupt ({type(err).__name__}: {err})") from err


# --- the epoch-iterator combinator -------------------------------------------------------------

Monitor: TypeAlias = Literal["val_loss", "loss"]


def _same_state(state: TrainState[S]) -> object:
    return state


def checkpoints(
    states: Iterable[TrainState[S]],
    path: StrPath | None,
    *,
    every: int = 1,
    best_path: StrPath | None = None,
    monitor: Monitor = "val_loss",
    record: Callable[[TrainState[S]], object] = _same_state,
) -> Iterator[TrainState[S]]:
    """Pass states on unchanged, saving them on the way.

    * ``path``: after every ``every``-th epoch (``state.epoch % every == 0``) the
      state is saved there, replacing the previous one (``None``: never).
    * ``best_path``: whenever ``monitor`` reaches a new minimum (NaN never does),
      the state is saved there, so it always holds the best state so far.

    ``record(state)`` is what gets saved: the state itself by default, or e.g.
    ``run.with_state`` for a ``Checkpoint`` ``run``. A state
    is saved before it is passed on, so a consumer that stops early still finds it.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from fmlp.records import Layer, Params
    >>> p = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    >>> folder = tempfile.mkdtemp()
    >>> losses = [3.0, 1.0, 2.0]
    >>> states = (TrainState(p, None, epoch=e + 1, val_loss=v) for e, v in enumerate(losses))
    >>> best = os.path.join(folder, "best.npz")
    >>> last = list(checkpoints(states, os.path.join(folder, "last.npz"), best_path=best))[-1]
    >>> load(best, like=last).val_loss, load(os.path.join(folder, "last.npz"), like=last).epoch
    (1.0, 3)
    """
    every = check_positive_int("every", every)
    if monitor not in ("val_loss", "loss"):
        raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
    if not callable(record):
        raise TypeError(f"record must be a callable state -> record to save, got {record!r}")
    return _checkpoints(states, path, every, best_path, monitor, record)


def _checkpoints(
    states: Iterable[TrainState[S]],
    path: StrPath | None,
    every: int,
    best_path: StrPath | None,
    monitor: Monitor,
    record: Callable[[TrainState[S]], object],
) -> Iterator[TrainState[S]]:
    best = math.inf
    for state in states:
        if path is not None and state.epoch % every == 0:
            save(path, record(state))
        value = getattr(state, monitor)
        if best_path is not None and value < best:
            best = value
            save(best_path, record(state))
        yield state
