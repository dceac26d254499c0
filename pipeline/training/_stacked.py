"""The blocks of a fused model: same-shape members stacked into one kernel per layer, others alone.

Runs inside a worker process, like :mod:`pipeline.training._fused`: it imports TensorFlow (lazily),
never MLflow. Members of a fused group whose kernels have the same shapes (:func:`stack_key`: depth,
width and output units; no dropout) train as one :class:`StackedMLP` block: each layer holds the
members' kernels as one ``[members, in, out]`` variable and its biases as one ``[members, out]``
variable, and runs as one batched matmul for all of them, then one activation per distinct
activation among them (members are ordered by activation, so each is one contiguous slice); the
head computes one loss per distinct loss and head (one gather puts each's members side by side),
and each member's L2 factor multiplies its own slice's sum of squares. So a group of K members of
one shape traces and dispatches like one model, whatever their activations, losses and L2. Each member's slice
starts from the weights :func:`pipeline.training._model.build_model` gave that member alone; the
slices are disjoint, so each member's gradient is its own loss's and the element-wise optimizers
(Adam, SGD, RMSprop) move it as they would alone, up to float rounding (batched matmuls sum in
another order than one model's matmul: curves agree within 1e-5, tests/training/test_stacked.py).

A member with dropout keeps its own Keras model (a :class:`NetworkBlock`): stacked, it would
draw other masks than its trial alone, and its curves would differ by more than rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence

import numpy as np

from pipeline.search import TrialConfig
from pipeline.training._targets import OutputHead


def stack_key(config: TrialConfig, head: OutputHead) -> Hashable | None:
    """What members of one stack share (their kernels' shapes), or None for a member that keeps its own
    model (dropout).

    Examples
    --------
    >>> from pipeline.training._targets import output_head
    >>> head = output_head("binary", "mse", n_classes=2)
    >>> stack_key(TrialConfig(2, 8, "relu", "mse", "adam", 0.01, 32, 10, 0), head)
    (2, 8, 1)
    >>> stack_key(TrialConfig(2, 8, "relu", "mse", "adam", 0.01, 32, 10, 0, dropout=0.2), head) is None
    True
    """
    if config.dropout:
        return None
    return (config.depth, config.width if config.depth else 0, head.units)


def plan_blocks(configs: Sequence[TrialConfig], heads: Sequence[OutputHead]) -> list[list[int]]:
    """Member positions per block, in order of first appearance: one block per :func:`stack_key`, its members
    ordered by activation (stable), and one block of its own per member whose key is None.

    Examples
    --------
    >>> from pipeline.training._targets import output_head
    >>> head = output_head("binary", "mse", n_classes=2)
    >>> configs = [TrialConfig(depth, 8, activation, "mse", "adam", 0.01, 32, 10, 0)
    ...            for depth, activation in ((1, "tanh"), (2, "relu"), (1, "relu"))]
    >>> plan_blocks(configs + [TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0, dropout=0.5)], [head] * 4)
    [[2, 0], [1], [3]]
    """
    blocks: list[list[int]] = []
    by_key: dict[Hashable, list[int]] = {}
    for position, (config, head) in enumerate(zip(configs, heads)):
        key = stack_key(config, head)
        if key is None:
            blocks.append([position])
        elif key in by_key:
            by_key[key].append(position)
        else:
            by_key[key] = [position]
            blocks.append(by_key[key])
    return [sorted(block, key=lambda position: configs[position].activation) for block in blocks]


def _runs(values: Sequence[Hashable]) -> list[tuple[Hashable, list[int]]]:
    """Each distinct value with the positions holding it, in order of first appearance."""
    runs: dict[Hashable, list[int]] = {}
    for position, value in enumerate(values):
        runs.setdefault(value, []).append(position)
    return list(runs.items())


@functools.cache
def block_classes():
    """``(StackedMLP, NetworkBlock)``, defined once Keras is imported (this module imports Keras lazily).

    Both answer ``member_losses(x, y_target, training)`` (each member's training loss, regularisation
    included, shape ``[members]``) and ``outputs(x, y_target)`` (inference-mode per-sample losses
    without regularisation, ``[members, rows]``, and predictions, ``[members, rows, units]``), in the
    output order :attr:`order` (slots of the members given); ``y_target`` holds the targets of the
    slots :attr:`target_slots`, one per distinct loss and head.
    """
    return _stacked_mlp_class(), _network_block_class()


@functools.cache
def _stacked_mlp_class():
    """:class:`StackedMLP`, see :func:`block_classes`."""
    import keras
    import tensorflow as tf

    from pipeline.training._callbacks import _per_sample as per_sample_loss

    class StackedMLP(keras.layers.Layer):
        """Members of one kernel shape as one layer per depth: kernels ``[members, in, out]``, one batched matmul.

        ``networks`` are the members' models as built alone (their weights are copied), ordered by
        activation; :attr:`order` gives the members in output order (grouped by loss and head), and
        :attr:`target_slots` the slots (in ``networks``' order) whose targets ``y_target`` holds, one per loss.
        """

        def __init__(self, networks, configs, heads):
            super().__init__()
            weights = [network.get_weights() for network in networks]  # kernel, bias of each Dense, in order
            self.members, self.units = len(networks), heads[0].units
            self.kernels, self.biases = [], []
            for depth in range(len(weights[0]) // 2):
                for name, values, group in (("kernel", 2 * depth, self.kernels), ("bias", 2 * depth + 1, self.biases)):
                    stacked = np.stack([member[values] for member in weights])
                    variable = self.add_weight(shape=stacked.shape, initializer="zeros", name=f"{name}_{depth}")
                    variable.assign(stacked)
                    group.append(variable)
            self.activations = [(keras.activations.get(activation), len(slots))  # none without hidden layers
                                for activation, slots in _runs([config.activation for config in configs])
                                if len(self.kernels) > 1]
            losses = _runs([(config.loss, head) for config, head in zip(configs, heads)])
            self.losses_by_head = [(keras.activations.get(head.activation), per_sample_loss(loss), slots)
                                   for (loss, head), slots in losses]
            self.order = [slot for _, slots in losses for slot in slots]
            self.target_slots = [slots[0] for _, slots in losses]
            l2 = np.array([config.l2 for config in configs], dtype=np.float32)[self.order]  # in output order
            self.l2 = l2 if l2.any() else None
            self.built = True

        def _hidden(self, hidden):
            if len(self.activations) == 1:
                return self.activations[0][0](hidden)
            parts = tf.split(hidden, [size for _, size in self.activations], axis=0)
            return tf.concat([activation(part) for (activation, _), part in zip(self.activations, parts)], axis=0)

        def _predictions(self, x, y_target):
            """Per-sample losses ``[members, rows]`` and predictions ``[members, rows, units]``, in output order."""
            hidden = tf.reshape(tf.cast(x, self.kernels[0].dtype), [1, tf.shape(x)[0], -1])  # Flatten, as one model
            for kernel, bias in zip(self.kernels[:-1], self.biases[:-1]):
                hidden = self._hidden(tf.matmul(hidden, kernel) + bias[:, None, :])
            logits = tf.matmul(hidden, self.kernels[-1]) + self.biases[-1][:, None, :]
            if len(self.losses_by_head) > 1:
                logits = tf.gather(logits, self.order, axis=0)
            per_sample, y_pred, start = [], [], 0
            for (activation, loss_fn, slots), targets in zip(self.losses_by_head, y_target):
                members, stop = len(slots), start + len(slots)
                # the head's activation on a [members * rows, units] tensor, as the loss reads it (logits kept)
                predictions = activation(tf.reshape(logits[start:stop], [-1, self.units]))
                tiled = tf.tile(targets, [members] + [1] * (len(targets.shape) - 1))
                per_sample.append(tf.reshape(loss_fn(tiled, predictions), [members, -1]))
                y_pred.append(tf.reshape(predictions, [members, -1, self.units]))
                start = stop
            return tf.concat(per_sample, axis=0), tf.concat(y_pred, axis=0)

        def member_losses(self, x, y_target, training=False):
            per_sample, _ = self._predictions(x, y_target)
            losses = tf.reduce_sum(per_sample, axis=1) / tf.cast(tf.shape(per_sample)[1], per_sample.dtype)
            if self.l2 is not None:
                for kernel in self.kernels:
                    squares = tf.reduce_sum(tf.square(kernel), axis=[1, 2])
                    losses = losses + self.l2 * (tf.gather(squares, self.order) if len(self.losses_by_head) > 1
                                                 else squares)
            return losses

        def outputs(self, x, y_target):
            return self._predictions(x, y_target)

    return StackedMLP


@functools.cache
def _network_block_class():
    """:class:`NetworkBlock`, see :func:`block_classes`."""
    import keras
    import tensorflow as tf

    from pipeline.training._callbacks import _per_sample as per_sample_loss

    class NetworkBlock(keras.layers.Layer):
        """One member's own compiled Keras model (a member with dropout)."""

        def __init__(self, network, *, loss):
            super().__init__()
            self.network, self.members, self.loss_fn = network, 1, per_sample_loss(loss)
            self.order, self.target_slots = [0], [0]
            self.built = True

        def member_losses(self, x, y_target, training=False):
            y_target, = y_target
            y_pred = self.network(x, training=training)
            # the loss as Keras computes it for the model alone: compiled loss + its regularisers
            return tf.reshape(self.network.compute_loss(x, y_target, y_pred, training=training), [1])

        def outputs(self, x, y_target):
            y_target, = y_target
            y_pred = self.network(x, training=False)
            return self.loss_fn(y_target, y_pred)[None], y_pred[None]

    return NetworkBlock
