"""Side-by-side training benchmark: fmlp against its peers, on the same work (issue 6).

Every contender trains the same network on the same data from the same initial
weights, with the same batch order (scikit-learn excepted: it shuffles with its own
generator), for the same number of epochs. Each (workload, contender) pair runs in a
fresh child process with the same thread count and CPU pinning, so no contender
inherits another's allocator or thread-pool state, and peak memory is its own.

Printed per workload: median time per epoch over the runs, its ratio to fmlp, the
peak resident memory the training added, and the final training loss (every
contender's final weights are scored by the same numpy function, so nobody wins by
doing less). The GEMM floor is only the matrix products one epoch must do
(forward, weight gradients, input gradients) at the same shapes and dtype, timed with
numpy into preallocated outputs: the limit for a numpy library.

    make bench                                  # the full table
    python examples/benchmark.py --quick        # a smaller, faster pass
    python examples/benchmark.py --workloads W1 W2 --contenders fmlp numpy

PyTorch and JAX are optional contenders (``pip install torch==2.13.0 jax optax``);
without them the table says "not installed". Use ``--python`` to run the contenders
with another interpreter (one that has them installed).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import importlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

F: TypeAlias = npt.NDArray[np.floating]
#: Final weights and biases of a network, float64, input to output.
Weights: TypeAlias = list[tuple[F, F]]
Task: TypeAlias = Literal["regression", "classification"]
Hidden: TypeAlias = Literal["relu", "leaky_relu"]

CONTENDERS = ("floor", "fmlp", "numpy", "sklearn", "torch", "jax")
TITLES = {
    "floor": "GEMM floor",
    "fmlp": "fmlp",
    "numpy": "hand-written numpy",
    "sklearn": "scikit-learn",
    "torch": "PyTorch eager",
    "jax": "JAX jit",
}
MOMENTUM = 0.9
LEAKY_SLOPE = 0.1  # the tutorial's


@dataclass(frozen=True)
class Workload:
    """One training problem. ``lr`` is in fmlp's convention (``v' = m·v + (1−m)·g``)."""

    name: str
    title: str
    sizes: tuple[int, ...]
    n: int
    batch: int | None  # None: the whole data set, one step per epoch
    dtype: str
    task: Task
    hidden: Hidden
    bias: bool
    lr: float
    epochs: int  # per timed run (for full-batch workloads an epoch is one step)
    unit: Literal["ms/epoch", "µs/step"] = "ms/epoch"

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.batch is None else -(-self.n // self.batch)


def workloads(quick: bool) -> dict[str, Workload]:
    def e(full: int, short: int) -> int:
        return short if quick else full

    digits = Workload(
        "W2-f64",
        "digits 1797×64→128→128→10, batch 32, f64",
        (64, 128, 128, 10),
        1797,
        32,
        "float64",
        "classification",
        "relu",
        True,
        0.1,
        e(10, 3),
    )
    all_ = [
        Workload(
            "W0",
            "tutorial 64×1000→100→10 full batch, f64",
            (1000, 100, 10),
            64,
            None,
            "float64",
            "regression",
            "relu",
            False,
            0.05,
            e(500, 100),
            "µs/step",
        ),
        Workload(
            "W1",
            "tiny 1000×10→100→1 leaky ReLU, full batch, f64",
            (10, 100, 1),
            1000,
            None,
            "float64",
            "regression",
            "leaky_relu",
            True,
            0.05,
            e(500, 100),
            "µs/step",
        ),
        digits,
        replace(digits, name="W2-f32", title=digits.title.replace("f64", "f32"), dtype="float32"),
        Workload(
            "W3",
            "GEMM-bound 16384×784→1024→1024→10, batch 512, f32",
            (784, 1024, 1024, 10),
            e(16384, 4096),
            512,
            "float32",
            "classification",
            "relu",
            True,
            0.1,
            e(2, 1),
        ),
    ]
    return {w.name: w for w in all_}


# --- data, initial weights, batch order, the shared loss -----------------------------------


def make_data(w: Workload) -> tuple[F, npt.NDArray[np.generic]]:
    """Inputs and targets (float regression targets or int64 labels), from a fixed seed."""
    dt = np.dtype(w.dtype)
    rng = np.random.default_rng(12345)
    if w.name.startswith("W2"):
        from sklearn.datasets import load_digits

        x_digits, labels = load_digits(return_X_y=True)
        return (x_digits / 16.0).astype(dt), labels.astype(np.int64)
    if w.task == "classification":
        # A learnable synthetic problem: labels from a random linear teacher.
        x = rng.random((w.n, w.sizes[0]), dtype=np.float32).astype(dt)
        teacher = rng.standard_normal((w.sizes[0], w.sizes[-1])).astype(dt)
        return x, np.argmax((x - 0.5) @ teacher, axis=1).astype(np.int64)
    x = rng.standard_normal((w.n, w.sizes[0])).astype(dt)
    teacher = rng.standard_normal((w.sizes[0], w.sizes[-1])) / np.sqrt(w.sizes[0])
    return x, np.tanh(x @ teacher).astype(dt)


def initial_weights(w: Workload) -> Weights:
    """Glorot-uniform weights and zero biases, float64, from a fixed seed."""
    rng = np.random.default_rng(7)
    out: Weights = []
    for n_in, n_out in zip(w.sizes[:-1], w.sizes[1:], strict=True):
        limit = np.sqrt(6.0 / (n_in + n_out))
        out.append((rng.uniform(-limit, limit, (n_in, n_out)), np.zeros(n_out)))
    return out


def batch_order(n: int, epoch: int) -> npt.NDArray[np.intp]:
    """The permutation of epoch ``epoch`` (equal to ``fmlp.epoch_order(n, seed=0, ...)``)."""
    return np.random.default_rng([0, epoch]).permutation(n)


def batch_slices(w: Workload, epoch: int) -> Iterator[npt.NDArray[np.intp] | None]:
    """Row indices of each batch of ``epoch`` (None: the whole data set, unshuffled)."""
    if w.batch is None or w.batch >= w.n:
        yield None
        return
    order = batch_order(w.n, epoch)
    for start in range(0, w.n, w.batch):
        yield order[start : start + w.batch]


def final_loss(w: Workload, weights: Weights, x: F, y: npt.NDArray[np.generic]) -> float:
    """The training loss at ``weights`` over the whole data set, in float64, for everyone.

    Regression: mean squared error over all entries. Classification: mean softmax
    cross-entropy.
    """
    a = x.astype(np.float64)
    for i, (wt, b) in enumerate(weights):
        z = a @ wt + (b if w.bias else 0.0)
        if i == len(weights) - 1:
            a = z
        elif w.hidden == "relu":
            a = np.maximum(z, 0.0)
        else:
            a = np.maximum(z, LEAKY_SLOPE * z)
    if w.task == "regression":
        return float(np.mean((a - y.astype(np.float64)) ** 2))
    shifted = a - a.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y.astype(np.int64)].mean())


# --- contenders: each returns run(epochs) -> final float64 weights -------------------------

Runner: TypeAlias = Callable[[int], Weights]


def fmlp_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    import fmlp

    hidden = fmlp.relu if w.hidden == "relu" else fmlp.leaky_relu(LEAKY_SLOPE)
    mlp = fmlp.MLP(w.sizes, hidden=hidden, bias=w.bias)
    loss: fmlp.Loss = fmlp.SquaredError() if w.task == "regression" else fmlp.SoftmaxCrossEntropy()
    dt = np.dtype(w.dtype)
    start = fmlp.Params(
        tuple(fmlp.Layer(a.astype(dt), b.astype(dt)) for a, b in initial_weights(w))
    )
    data = fmlp.prepare(x, y, n_inputs=mlp.n_inputs, n_outputs=mlp.n_outputs, loss=loss, dtype=dt)
    optimizer = fmlp.Nesterov(momentum=MOMENTUM)
    step = fmlp.make_step(mlp, loss, optimizer, fmlp.Constant(w.lr))
    assert np.array_equal(fmlp.epoch_order(w.n, seed=0, epoch=3), batch_order(w.n, 3))

    def run(epochs: int) -> Weights:
        states = fmlp.epochs(
            step, fmlp.init_state(start, optimizer), data, batch_size=w.batch, seed=0
        )
        for _ in range(epochs):
            state = next(states)
        return [
            (lay.weights.astype(np.float64), lay.bias.astype(np.float64)) for lay in state.params
        ]

    return run


def numpy_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    """The tutorial's hand-written loop, generalised: mutable weights, updated in place."""
    dt = np.dtype(w.dtype)
    m, lr = MOMENTUM, w.lr
    slope = LEAKY_SLOPE

    def run(epochs: int) -> Weights:
        ws = [a.astype(dt) for a, _ in initial_weights(w)]
        bs = [b.astype(dt) for _, b in initial_weights(w)]
        vw = [np.zeros_like(a) for a in ws]
        vb = [np.zeros_like(b) for b in bs]
        n_layers = len(ws)
        for epoch in range(epochs):
            for idx in batch_slices(w, epoch):
                xb = x if idx is None else x[idx]
                yb = y if idx is None else y[idx]
                # Nesterov look-ahead (Sutskever form, as fmlp): gradient at w − lr·m·v.
                la_w = [a - lr * m * v for a, v in zip(ws, vw, strict=True)]
                la_b = [b - lr * m * v for b, v in zip(bs, vb, strict=True)]
                hs, acts = [], [xb]
                for i in range(n_layers):
                    h = acts[-1].dot(la_w[i])
                    if w.bias:
                        h = h + la_b[i]
                    hs.append(h)
                    if i == n_layers - 1:
                        acts.append(h)
                    elif w.hidden == "relu":
                        acts.append(np.maximum(h, 0))
                    else:
                        acts.append(np.maximum(h, slope * h))
                out = acts[-1]
                if w.task == "regression":
                    grad = 2.0 * (out - yb.astype(dt)) / out.size
                else:
                    e = np.exp(out - out.max(axis=1, keepdims=True))
                    grad = e / e.sum(axis=1, keepdims=True)
                    grad[np.arange(len(yb)), yb] -= 1
                    grad /= len(yb)
                for i in range(n_layers - 1, -1, -1):
                    gw = acts[i].T.dot(grad)
                    gb = grad.sum(axis=0) if w.bias else np.zeros_like(bs[i])
                    if i > 0:
                        grad = grad.dot(la_w[i].T)
                        h = hs[i - 1]
                        if w.hidden == "relu":
                            grad[h < 0] = 0
                        else:
                            grad = np.where(h > 0, grad, slope * grad)
                    vw[i] *= m
                    vw[i] += (1 - m) * gw
                    vb[i] *= m
                    vb[i] += (1 - m) * gb
                    ws[i] -= lr * vw[i]
                    bs[i] -= lr * vb[i]
        return [(a.astype(np.float64), b.astype(np.float64)) for a, b in zip(ws, bs, strict=True)]

    return run


def sklearn_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    """MLPRegressor/MLPClassifier, sgd + Nesterov momentum, no L2, fixed epochs.

    Conventions matched: sklearn's velocity is ``m·v − lr·g`` (so its lr is fmlp's
    ``lr·(1−m)``), and its squared-error gradient is ``(ŷ − y)/n`` per output, i.e.
    ``k/2`` times that of fmlp's mean over all ``n·k`` entries. Its batch order
    comes from its own generator; it has no leaky ReLU (ReLU is used) and always
    fits biases.
    """
    nn: ModuleType = importlib.import_module("sklearn.neural_network")
    k = w.sizes[-1]
    lr = w.lr * (1 - MOMENTUM)
    if w.task == "regression":
        lr *= 2.0 / k
    cls = nn.MLPRegressor if w.task == "regression" else nn.MLPClassifier
    dt = np.dtype(w.dtype)

    def run(epochs: int) -> Weights:
        model = cls(
            hidden_layer_sizes=w.sizes[1:-1],
            activation="relu",
            solver="sgd",
            alpha=0.0,
            batch_size=w.batch if w.batch is not None else w.n,
            learning_rate="constant",
            learning_rate_init=lr,
            momentum=MOMENTUM,
            nesterovs_momentum=True,
            max_iter=epochs,
            shuffle=True,
            random_state=0,
            tol=0.0,
            n_iter_no_change=epochs + 1,
            early_stopping=False,
        )
        start = initial_weights(w)
        original = model._initialize

        def initialize(yy: object, layer_units: object, dtype: object) -> None:
            original(yy, layer_units, dtype)
            model.coefs_ = [a.astype(dt) for a, _ in start]
            model.intercepts_ = [b.astype(dt) for _, b in start]

        model._initialize = initialize
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, by design
            model.fit(x, y.ravel() if w.task == "regression" and k == 1 else y)
        return [
            (np.asarray(a, np.float64), np.asarray(b, np.float64))
            for a, b in zip(model.coefs_, model.intercepts_, strict=True)
        ]

    return run


def torch_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    """Idiomatic PyTorch eager: nn.Sequential, autograd, SGD(momentum, nesterov=True)."""
    torch: ModuleType = importlib.import_module("torch")
    dt = torch.float64 if w.dtype == "float64" else torch.float32
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    act = torch.nn.ReLU if w.hidden == "relu" else lambda: torch.nn.LeakyReLU(LEAKY_SLOPE)
    loss_fn = torch.nn.MSELoss() if w.task == "regression" else torch.nn.CrossEntropyLoss()

    def run(epochs: int) -> Weights:
        layers: list[object] = []
        for i, (a, b) in enumerate(initial_weights(w)):
            lin = torch.nn.Linear(a.shape[0], a.shape[1], bias=w.bias, dtype=dt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(a.T.copy()))
                if w.bias:
                    lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(w.sizes) - 2:
                layers.append(act())
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(
            model.parameters(), lr=w.lr * (1 - MOMENTUM), momentum=MOMENTUM, nesterov=True
        )
        for epoch in range(epochs):
            for idx in batch_slices(w, epoch):
                xb = xt if idx is None else xt[torch.from_numpy(idx)]
                yb = yt if idx is None else yt[torch.from_numpy(idx)]
                opt.zero_grad(set_to_none=True)
                loss_fn(model(xb), yb).backward()
                opt.step()
        return [
            (
                lin.weight.detach().numpy().T.astype(np.float64),
                (lin.bias.detach().numpy() if w.bias else np.zeros(lin.weight.shape[0])).astype(
                    np.float64
                ),
            )
            for lin in model
            if isinstance(lin, torch.nn.Linear)
        ]

    return run


def jax_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    """JAX + optax: the whole step (gradient and update) under one jax.jit."""
    jax: ModuleType = importlib.import_module("jax")
    if w.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    jnp: ModuleType = importlib.import_module("jax.numpy")
    optax: ModuleType = importlib.import_module("optax")
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    opt = optax.sgd(w.lr * (1 - MOMENTUM), momentum=MOMENTUM, nesterov=True)
    n_layers = len(w.sizes) - 1

    def loss_fn(params: list[tuple[Any, Any]], xb: Any, yb: Any) -> Any:
        a = xb
        for i, (wt, b) in enumerate(params):
            z = a @ wt + b if w.bias else a @ wt
            if i == n_layers - 1:
                a = z
            elif w.hidden == "relu":
                a = jax.nn.relu(z)
            else:
                a = jax.nn.leaky_relu(z, LEAKY_SLOPE)
        if w.task == "regression":
            return jnp.mean((a - yb) ** 2)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(a), yb[:, None], axis=1))

    def step(params: Any, state: Any, idx: Any) -> tuple[Any, Any]:
        xb = xj if idx is None else xj[idx]
        yb = yj if idx is None else yj[idx]
        grads = jax.grad(loss_fn)(params, xb, yb)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    jstep = jax.jit(step)

    def run(epochs: int) -> Weights:
        params = [
            (jnp.asarray(a.astype(w.dtype)), jnp.asarray(b.astype(w.dtype)))
            for a, b in initial_weights(w)
        ]
        state = opt.init(params)
        for epoch in range(epochs):
            for idx in batch_slices(w, epoch):
                params, state = jstep(params, state, None if idx is None else jnp.asarray(idx))
        jax.block_until_ready(params)
        return [(np.asarray(a, np.float64), np.asarray(b, np.float64)) for a, b in params]

    return run


def floor_runner(w: Workload, x: F, y: npt.NDArray[np.generic]) -> Runner:
    """Only the matrix products of each step, into preallocated outputs (no update)."""
    dt = np.dtype(w.dtype)
    weights = [a.astype(dt) for a, _ in initial_weights(w)]
    rows = w.n if w.batch is None else min(w.batch, w.n)
    last_rows = w.n - (w.steps_per_epoch - 1) * rows

    def buffers(r: int) -> tuple[list[F], list[F], list[F], list[F]]:
        acts = [np.ascontiguousarray(x[:r])] + [np.ones((r, a.shape[1]), dt) for a in weights]
        deltas = [np.full((r, a.shape[1]), 0.01, dt) for a in weights]
        gws = [np.empty_like(a) for a in weights]
        gins = [np.empty((r, a.shape[0]), dt) for a in weights]
        return acts, deltas, gws, gins

    full, last = buffers(rows), buffers(last_rows)

    def products(bufs: tuple[list[F], list[F], list[F], list[F]]) -> None:
        acts, deltas, gws, gins = bufs
        for i, a in enumerate(weights):
            np.matmul(acts[i], a, out=acts[i + 1])  # forward
        for i, a in enumerate(weights):
            np.matmul(acts[i].T, deltas[i], out=gws[i])  # weight gradient
            if i > 0:
                np.matmul(deltas[i], a.T, out=gins[i])  # input gradient

    def run(epochs: int) -> Weights:
        for _ in range(epochs):
            for s in range(w.steps_per_epoch):
                products(last if s == w.steps_per_epoch - 1 else full)
        return initial_weights(w)

    return run


RUNNERS: dict[str, Callable[[Workload, F, npt.NDArray[np.generic]], Runner]] = {
    "floor": floor_runner,
    "fmlp": fmlp_runner,
    "numpy": numpy_runner,
    "sklearn": sklearn_runner,
    "torch": torch_runner,
    "jax": jax_runner,
}
OPTIONAL = {"torch": ("torch",), "jax": ("jax", "optax")}


# --- the child: one (workload, contender), timed ---------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def _minor_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def child(name: str, contender: str, threads: int, runs: int, quick: bool, malloc: bool) -> None:
    if malloc:
        import fmlp

        fmlp.tune_allocator()
    w = workloads(quick)[name]
    for module in OPTIONAL.get(contender, ()):
        if importlib.util.find_spec(module) is None:
            print(json.dumps({"missing": module}))
            return
    threadpoolctl: ModuleType = importlib.import_module("threadpoolctl")
    threadpoolctl.threadpool_limits(threads)
    if contender == "torch":
        importlib.import_module("torch").set_num_threads(threads)
    x, y = make_data(w)
    run = RUNNERS[contender](w, x, y)
    run(max(1, min(w.epochs, 2)) if w.batch is not None else 20)  # warm up (and JIT)
    # Baseline: hand freed heap back to the kernel, so "peak added" counts all the
    # memory training needs, not only what exceeds the warm-up's leftovers.
    gc.collect()
    _malloc_trim()
    rss0 = _status_kb("VmRSS")
    peak_ok = _reset_peak()
    faults0 = _minor_faults()
    times = []
    weights: Weights = []
    for _ in range(runs):
        t0 = time.perf_counter()
        weights = run(w.epochs)
        times.append((time.perf_counter() - t0) / w.epochs)
    faults = (_minor_faults() - faults0) / (runs * w.epochs * w.steps_per_epoch)
    peak_mb = (_status_kb("VmHWM") - rss0) / 1024 if peak_ok else float("nan")
    blas = [
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')}".strip()
        for i in threadpoolctl.threadpool_info()
    ]
    print(
        json.dumps(
            {
                "median_s": statistics.median(times),
                "times": times,
                "loss": final_loss(w, weights, x, y) if contender != "floor" else None,
                "peak_mb": peak_mb,
                "faults_per_step": faults,
                "blas": sorted(set(blas)),
            }
        )
    )


def memory_child(name: str, threads: int, quick: bool, epochs: int = 100) -> None:
    """fmlp's resident memory after epochs 1, 10, 50 and 100 of one run: flat, or growing?"""
    import fmlp

    threadpoolctl: ModuleType = importlib.import_module("threadpoolctl")
    threadpoolctl.threadpool_limits(threads)
    w = workloads(quick)[name]
    x, y = make_data(w)
    hidden = fmlp.relu if w.hidden == "relu" else fmlp.leaky_relu(LEAKY_SLOPE)
    mlp = fmlp.MLP(w.sizes, hidden=hidden, bias=w.bias)
    loss: fmlp.Loss = fmlp.SquaredError() if w.task == "regression" else fmlp.SoftmaxCrossEntropy()
    states = fmlp.train(
        mlp,
        fmlp.init(mlp, seed=0, dtype=w.dtype),
        x,
        y,
        loss=loss,
        optimizer=fmlp.Nesterov(momentum=MOMENTUM),
        schedule=fmlp.Constant(w.lr),
        epochs=epochs,
        batch_size=w.batch,
    )
    rss = {}
    for state in states:
        if state.epoch in (1, 10, 50, 100):
            rss[state.epoch] = _status_kb("VmRSS") / 1024
    print(json.dumps({"rss_mb": rss}))


def profile_child(name: str, threads: int, quick: bool) -> None:
    """Where one fmlp step's time goes: each phase timed alone (best of 7 repeats)."""
    import fmlp
    from fmlp.data import batches
    from fmlp.model import _forward_all, value_and_grad_unchecked

    threadpoolctl: ModuleType = importlib.import_module("threadpoolctl")
    threadpoolctl.threadpool_limits(threads)
    w = workloads(quick)[name]
    x, y = make_data(w)
    hidden = fmlp.relu if w.hidden == "relu" else fmlp.leaky_relu(LEAKY_SLOPE)
    mlp = fmlp.MLP(w.sizes, hidden=hidden, bias=w.bias)
    loss: fmlp.Loss = fmlp.SquaredError() if w.task == "regression" else fmlp.SoftmaxCrossEntropy()
    opt = fmlp.Nesterov(momentum=MOMENTUM)
    data = fmlp.prepare(
        x, y, n_inputs=mlp.n_inputs, n_outputs=mlp.n_outputs, loss=loss, dtype=w.dtype
    )
    state = fmlp.init_state(fmlp.init(mlp, seed=0, dtype=w.dtype), opt)
    step = fmlp.make_step(mlp, loss, opt, fmlp.Constant(w.lr))
    batch = next(batches(data, batch_size=w.batch, seed=0, epoch=0))
    p, v = state.params, state.opt_state
    _, g = value_and_grad_unchecked(mlp, p, batch.x, batch.y, loss)
    pred = _forward_all(mlp, p, batch.x)[0][-1]
    floor = floor_runner(w, x, y)
    reps = 20 if w.sizes[1] > 500 else 2000

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            times.append((time.perf_counter() - t0) / reps * 1e6)
        return min(times)

    # Each step takes the state the previous one returned, as in training: the buffers
    # of the state before are freed as the next are made (a step on a fixed state,
    # its result dropped, frees everything each time and measures the allocator).
    chain = [state]

    def advance() -> None:
        chain[0] = step(chain[0], batch)

    whole = best(advance)
    vg = best(lambda: value_and_grad_unchecked(mlp, p, batch.x, batch.y, loss))
    fwd = best(lambda: _forward_all(mlp, p, batch.x))
    lossv = best(lambda: loss.value_and_grad(pred, batch.y))
    parts = {
        "whole step (make_step)": whole,
        "  look-ahead w − lr·m·v": best(lambda: opt.lookahead(p, v, w.lr)),
        "  forward (GEMMs, bias, activation)": fwd,
        "  loss value and gradient": lossv,
        "  backward (GEMMs, bias sums, f')": vg - fwd - lossv,
        "  update (velocity and weights)": best(lambda: opt.apply(p, v, g, w.lr)),
        "  gradient norm": best(lambda: fmlp.global_norm(g)),
        "GEMM floor of one step (for scale)": best(lambda: floor(1)) / w.steps_per_epoch,
    }
    listed = sum(t for k, t in parts.items() if k.startswith("  "))
    parts["  rest (records, errstate, state)"] = whole - listed
    print(json.dumps({"profile_us": parts}))


# --- the parent: spawn children, print the table ---------------------------------------------


def spawn(
    python: str,
    name: str,
    contender: str,
    args: argparse.Namespace,
    blas_env: str,
) -> dict[str, object]:
    env = dict(os.environ)
    if blas_env == "unset":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [python, os.path.abspath(__file__), "--child", name, contender]
    cmd += ["--threads", str(args.threads), "--runs", str(args.runs)]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--tune-allocator"] if args.tune_allocator else []
    # Pin every contender to the same CPUs (the first `threads` ones this process may use).
    cpus = sorted(os.sched_getaffinity(0))[: args.threads]
    proc = subprocess.run(
        cmd,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _fmt_time(w: Workload, seconds: float) -> str:
    if w.unit == "µs/step":
        return f"{seconds * 1e6:.0f}"
    return f"{seconds * 1e3:.2f}"


def table(w: Workload, results: dict[str, dict[str, object]]) -> list[str]:
    ref = results.get("fmlp", {}).get("median_s")
    lines = [
        f"### {w.name}: {w.title}",
        "",
        f"| contender | median {w.unit} | ratio to fmlp | peak MB added | minor faults/step "
        "| final loss |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c, r in results.items():
        if "missing" in r:
            lines.append(f"| {TITLES[c]} | not installed | | | | |")
            continue
        if "error" in r:
            lines.append(f"| {TITLES[c]} | error: {r['error']} | | | | |")
            continue
        t = float(r["median_s"])  # type: ignore[arg-type]
        ratio = f"{t / float(ref):.2f}" if isinstance(ref, float) else "n/a"
        loss = r.get("loss")
        loss_s = f"{loss:.5g}" if isinstance(loss, float) else "—"
        peak = float(r["peak_mb"])  # type: ignore[arg-type]
        faults = float(r["faults_per_step"])  # type: ignore[arg-type]
        lines.append(
            f"| {TITLES[c]} | {_fmt_time(w, t)} | {ratio} | {peak:.1f} | {faults:.0f} | {loss_s} |"
        )
    return lines


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def versions(python: str) -> str:
    code = (
        "import importlib, importlib.util, platform, numpy;"
        "out = ['python ' + platform.python_version(), 'numpy ' + numpy.__version__];"
        "[out.append(m + ' ' + importlib.import_module(m).__version__) for m in "
        "('attrs', 'sklearn', 'torch', 'jax', 'optax', 'threadpoolctl') "
        "if importlib.util.find_spec(m)];"
        "print(', '.join(out))"
    )
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, smaller W3")
    parser.add_argument("--workloads", nargs="*", help="subset of W0 W1 W2-f64 W2-f32 W3")
    parser.add_argument("--contenders", nargs="*", choices=CONTENDERS, help="subset")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/intra-op threads (2)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per contender (5)")
    parser.add_argument(
        "--blas-env",
        choices=("unset", "as-is", "both"),
        default=None,
        help="run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, as-is, or both "
        "(default: both, or unset with --quick)",
    )
    parser.add_argument(
        "--tune-allocator",
        action="store_true",
        help="call fmlp.tune_allocator() in every contender's process (all equally)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print where an fmlp step's time goes"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for contenders")
    parser.add_argument(
        "--child", nargs=2, metavar=("WORKLOAD", "CONTENDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child and args.child[1] == "profile":
        profile_child(args.child[0], args.threads, args.quick)
        return
    if args.child and args.child[1] == "memory":
        memory_child(args.child[0], args.threads, args.quick)
        return
    if args.child:
        child(
            args.child[0], args.child[1], args.threads, args.runs, args.quick, args.tune_allocator
        )
        return
    all_w = workloads(args.quick)
    names = args.workloads or list(all_w)
    contenders = args.contenders or list(CONTENDERS)
    blas_env = args.blas_env or ("unset" if args.quick else "both")
    envs = ["unset", "as-is"] if blas_env == "both" else [blas_env]
    print(f"# fmlp benchmark{' (quick)' if args.quick else ''}")
    print()
    print(f"- machine: {_cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"- versions: {versions(args.python)}")
    print(f"- threads: {args.threads} for every contender (pinned to the same CPUs)")
    print(f"- runs: median of {args.runs}; allocator tuned: {args.tune_allocator}")
    as_is = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"- OPENBLAS_* in the environment: {as_is or 'none'}")
    for blas_env in envs:
        print()
        print(f"## OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE {blas_env}")
        blas_seen: set[str] = set()
        for name in names:
            w = all_w[name]
            results = {}
            for c in contenders:
                r = spawn(args.python, name, c, args, blas_env)
                blas_seen.update(r.get("blas", []))  # type: ignore[arg-type]
                results[c] = r
            print()
            print("\n".join(table(w, results)))
            sys.stdout.flush()
        print()
        print(f"BLAS in use (threadpoolctl): {', '.join(sorted(blas_seen)) or 'unknown'}")
    if "fmlp" in contenders:
        name = "W2-f64" if "W2-f64" in names else names[0]
        r = spawn(args.python, name, "memory", args, envs[0])
        print()
        print(f"fmlp resident memory (MB) after epochs 1/10/50/100 of {name}: {r.get('rss_mb', r)}")
    if args.profile:
        # The steps the issue asks about (W0 and W3 are dominated by their GEMMs).
        for name in [n for n in names if n.startswith(("W1", "W2"))]:
            r = spawn(args.python, name, "profile", args, envs[0])
            prof = r.get("profile_us", {})
            assert isinstance(prof, dict)
            whole = float(prof.get("whole step (make_step)", float("nan")))
            print()
            print(f"### Profile of one fmlp step, {name} (µs, best of 7; share of the step)")
            print()
            print("| phase | µs | share |")
            print("| --- | --- | --- |")
            for k, t in prof.items():
                print(
                    f"| {k.strip() if not k.startswith('  ') else '· ' + k.strip()} "
                    f"| {t:.1f} | {t / whole:.0%} |"
                )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
