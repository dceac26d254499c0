"""Build a Keras MLP for a trial, ending in the output head its task and loss call for.

Imports Keras (inside the functions); call only from a training process. Which head a task and
loss need, and how targets and outputs are read, lives in :mod:`pipeline.training._targets`.
"""

from __future__ import annotations

from pipeline.search import TrialConfig
from pipeline.training._targets import OutputHead


def build_model(config: TrialConfig, *, input_shape: tuple[int, ...], head: OutputHead):
    """An uncompiled ``keras.Sequential`` MLP with ``config.depth`` hidden layers (inputs of more than one
    dimension are flattened first)."""
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    layers = [keras.Input(shape=input_shape)] + ([keras.layers.Flatten()] if len(input_shape) > 1 else [])
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
