"""Train a group of trials as one Keras model holding every trial's network, with the sum of their losses.

Runs inside a worker process, like :mod:`pipeline.training._train`: it imports TensorFlow, never MLflow.
The trials of a group share what :func:`pipeline.training._fusion.fusion_key` names (optimizer, learning
rate, batch size, epochs, seed). Each member is built by :func:`pipeline.training._model.build_model`
after the same ``keras.utils.set_random_seed(seed)`` as its trial alone, so its initial weights
are the same; members whose kernels have the same shapes then train as one stacked block (one
``[members, in, out]`` kernel per layer, :mod:`pipeline.training._stacked`), a member with dropout as
its own model. Their parameters are disjoint, so each member's gradient is its own loss's gradient
(the sum passes 1 to each term, whatever the other terms are, NaN included), and the optimizers
update element by element: each member follows the path it would follow alone, up to float
rounding. One trace, one dispatch per ``steps_per_execution`` and one evaluation pass per epoch
serve the whole group."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence

from pipeline.data import PreparedData
from pipeline.search import TrialConfig
from pipeline.training._train import TrialOutcome, epoch_stream, train_trial, training_rows

#: The ``logs`` key of the members' running training losses (a vector in block order).
RUNNING_LOSSES = "member_losses"


def train_group(jobs: Sequence[tuple[int, TrialConfig]], data: PreparedData) -> list[TrialOutcome]:
    """Train ``(index, config)`` jobs of one fusion key as one model; one outcome per job, in order; never raises.

    A single job trains alone (:func:`pipeline.training._train.train_trial`). A sub-network whose loss
    becomes non-finite gives a ``FAILED`` outcome with its diverged epoch and curves so far, and
    the others train on. A Python error in the fused model trains every job alone instead, so a
    bad trial fails by itself. Each outcome's ``train_seconds`` is the group's time over its size.
    """
    if len(jobs) == 1:
        return [train_trial(*jobs[0], data)]
    started = time.perf_counter()
    try:
        evaluations = _fit_fused([config for _, config in jobs], data)
    except Exception:  # noqa: BLE001 - one trial's error must not fail the group: train each alone
        return [train_trial(index, config, data) for index, config in jobs]
    seconds = (time.perf_counter() - started) / len(jobs)
    outcomes = []
    for (index, _), evaluation in zip(jobs, evaluations):
        if evaluation.diverged_epoch is None:
            outcomes.append(TrialOutcome(index, "FINISHED", evaluation.curves, seconds))
        else:
            outcomes.append(TrialOutcome(index, "FAILED", evaluation.curves, seconds,
                                         error=f"loss diverged (non-finite) at epoch {evaluation.diverged_epoch}",
                                         diverged_epoch=evaluation.diverged_epoch))
    return outcomes


def _fit_fused(configs: list[TrialConfig], data: PreparedData) -> list:
    """Build, compile and fit the fused model; each trial's :class:`EpochEndEvaluation`, in order."""
    import keras

    from pipeline.training._callbacks import EpochEndEvaluation, FusedEpochEndEvaluation
    from pipeline.training._model import make_optimizer
    from pipeline.training._targets import output_head

    shared = configs[0]
    X_train, y_train_raw = training_rows(shared, data)  # a group shares its training rows (fusion.SHARED_AXES)
    keras.backend.clear_session()
    heads = [output_head(data.task, config.loss, data.n_classes) for config in configs]
    evaluations = [EpochEndEvaluation((X_train, head.encode(y_train_raw), y_train_raw),
                                      (data.X_val, head.encode(data.y_val), data.y_val),
                                      loss=config.loss, head=head, target_scale=data.target_scale)
                   for config, head in zip(configs, heads)]
    model = fused_model(configs, heads, input_shape=data.input_shape)
    # each block reads one target array per distinct loss and head among its members
    targets = tuple(tuple(heads[member].encode(y_train_raw) for member in members) for members in model.blocks_targets)
    keras.utils.set_random_seed(shared.seed)  # the batch order, as train_trial seeds it
    steps_per_epoch = math.ceil(len(X_train) / shared.batch_size)
    model.compile(optimizer=make_optimizer(shared), steps_per_execution=steps_per_epoch, jit_compile=False)
    evaluation = FusedEpochEndEvaluation(evaluations, blocks=model.blocks_members, targets=model.blocks_targets,
                                         running_losses=RUNNING_LOSSES)
    model.fit(epoch_stream(X_train, targets, shared), steps_per_epoch=steps_per_epoch,
              epochs=shared.epochs, shuffle=False, verbose=0, callbacks=[evaluation])
    return evaluations


def fused_model(configs: Sequence[TrialConfig], heads: Sequence, *, input_shape: tuple[int, ...]):
    """The uncompiled fused model of ``configs``: one block per stack of same-shape members
    (:func:`pipeline.training._stacked.plan_blocks`), each member's initial weights those of its trial alone."""
    import keras

    from pipeline.training._model import build_model
    from pipeline.training._stacked import block_classes, plan_blocks

    stacked_mlp, network_block = block_classes()
    blocks = []
    for members in plan_blocks(configs, heads):
        networks = []
        for member in members:
            keras.utils.set_random_seed(configs[member].seed)  # as train_trial does before its one model
            networks.append(build_model(configs[member], input_shape=input_shape, head=heads[member]))
        first = configs[members[0]]
        if first.dropout:  # its own model: stacked, it would draw other dropout masks than alone
            networks[0].compile(loss=first.loss)  # its loss, computed as Keras computes it for the model alone
            blocks.append((network_block(networks[0], loss=first.loss), members))
        else:
            blocks.append((stacked_mlp(networks, [configs[m] for m in members], [heads[m] for m in members]), members))
    return _fused_model_class()(blocks)


@functools.cache
def _fused_model_class():
    """The fused model class, defined once Keras is imported (this module imports Keras lazily)."""
    import keras
    import tensorflow as tf

    class FusedModel(keras.Model):
        """Blocks of members side by side on one input; trains on the sum of the members' own losses.

        ``blocks`` are ``(block, member positions)`` pairs (:func:`pipeline.training._stacked.block_classes`);
        ``member_outputs`` gives each block's inference-mode per-sample losses and predictions (what the
        epoch-end evaluation reads).
        """

        def __init__(self, blocks):
            super().__init__()
            self.blocks = [block for block, _ in blocks]
            #: each block's members (positions in the group) in its output order, and those whose targets it reads
            self.blocks_members = [[members[slot] for slot in block.order] for block, members in blocks]
            self.blocks_targets = [[members[slot] for slot in block.target_slots] for block, members in blocks]
            self.running_losses = RunningMeans(sum(map(len, self.blocks_members)), name=RUNNING_LOSSES)
            self.built = True

        def member_outputs(self, x, y_targets):
            return [block.outputs(x, y_target) for block, y_target in zip(self.blocks, y_targets)]

        @property
        def metrics(self):
            return [self.running_losses]

        def train_step(self, data):
            x, y_targets = data
            with tf.GradientTape() as tape:
                losses = tf.concat([block.member_losses(x, y_target, training=True)
                                    for block, y_target in zip(self.blocks, y_targets)], axis=0)
                total = tf.reduce_sum(losses)  # passes 1 to each member's loss, whatever the others are
            gradients = tape.gradient(total, self.trainable_weights)
            self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
            self.running_losses.update_state(losses, tf.shape(x)[0])
            return {RUNNING_LOSSES: self.running_losses.result()}

    class RunningMeans(keras.metrics.Metric):
        """Each member's running training loss (Keras' ``loss``: batch losses weighted by batch size), as a vector."""

        def __init__(self, members, name):
            super().__init__(name=name)
            self.total = self.add_variable(shape=(members,), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, values, batch_size):
            weight = tf.cast(batch_size, self.total.dtype)
            self.total.assign_add(values * weight)
            self.count.assign_add(weight)

        def result(self):
            return tf.math.divide_no_nan(self.total, self.count)

    return FusedModel
