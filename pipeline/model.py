"""Build a Keras MLP for a trial, with the output layer and target encoding its task and loss call for.

Imports Keras; call only from a training process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.grid import TrialConfig

SOFTMAX_LOSSES = {"categorical_crossentropy", "sparse_categorical_crossentropy"}
MARGIN_LOSSES = {"hinge", "squared_hinge"}


@dataclass(frozen=True)
class OutputHead:
    """Units and activation of the last layer and how targets and predictions are read."""

    units: int
    activation: str
    target: str  # "index", "one_hot", "binary01", "signed", "value"

    def encode(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        """Targets in the form the loss expects."""
        if self.target == "one_hot":
            return np.eye(n_classes, dtype=np.float32)[y]
        if self.target == "signed":
            return (2.0 * y - 1.0).astype(np.float32).reshape(-1, 1)
        if self.target in ("binary01", "value"):
            return y.astype(np.float32).reshape(-1, 1)
        return y.astype(np.int64)


def output_head(task: str, loss: str, n_classes: int) -> OutputHead:
    """The output layer a task and loss need (e.g. hinge: one linear unit, labels in {-1, 1})."""
    if task == "regression":
        return OutputHead(1, "linear", "value")
    if loss in SOFTMAX_LOSSES:
        return OutputHead(n_classes, "softmax", "index" if loss.startswith("sparse") else "one_hot")
    if task == "multiclass":
        return OutputHead(n_classes, "softmax", "one_hot")
    if loss in MARGIN_LOSSES:
        return OutputHead(1, "linear", "signed")
    return OutputHead(1, "sigmoid", "binary01")


def build_model(config: TrialConfig, *, n_features: int, head: OutputHead):
    """An uncompiled ``keras.Sequential`` MLP with ``config.depth`` hidden layers."""
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    layers = [keras.Input(shape=(n_features,))]
    for _ in range(config.depth):
        layers.append(keras.layers.Dense(config.width, activation=config.activation, kernel_regularizer=regularizer))
        if config.dropout:
            layers.append(keras.layers.Dropout(config.dropout))
    layers.append(keras.layers.Dense(head.units, activation=head.activation, kernel_regularizer=regularizer))
    return keras.Sequential(layers)


def make_optimizer(config: TrialConfig):
    """The Keras optimizer named by the trial, at its learning rate."""
    import keras

    return keras.optimizers.get({"class_name": config.optimizer, "config": {"learning_rate": config.learning_rate}})
