"""The README's quick start: a digit classifier trained end to end on real data."""

import numpy as np
from sklearn.datasets import load_digits

import fmlp

x, y = load_digits(return_X_y=True)
(x_train, y_train), (x_val, y_val) = fmlp.split(x / 16.0, y, fractions=(0.8, 0.2), seed=0)
mlp = fmlp.MLP((64, 128, 10), hidden=fmlp.relu)
states = fmlp.train(
    mlp, fmlp.init(mlp, seed=0, scheme="he"), x_train, y_train,
    loss=fmlp.SoftmaxCrossEntropy(), optimizer=fmlp.Nesterov(momentum=0.9),
    schedule=fmlp.Constant(0.1), epochs=30, batch_size=32, validation=(x_val, y_val),
)
for state in fmlp.early_stopping(states, patience=5):
    print(f"epoch {state.epoch:2d}  train {state.loss:.4f}  validation {state.val_loss:.4f}")
predicted = fmlp.forward(mlp, state.params, x_val).argmax(axis=1)
print(f"validation accuracy: {np.mean(predicted == y_val):.3f}")
