"""Train a group of trials as one Keras model holding one independent sub-network per trial.

Runs inside a worker process, like :mod:`pipeline.training._train`: it imports TensorFlow, never MLflow.
The trials of a group share what :func:`pipeline.training._fusion.fusion_key` names (optimizer, learning
rate, batch size, epochs, seed). Each sub-network is built by :func:`pipeline.training._model.build_model`
after the same ``keras.utils.set_random_seed(seed)`` as its trial alone, so its initial weights
are the same; the fused model minimises the sum of the sub-networks' losses. Their parameters
are disjoint, so each sub-network's gradient is its own loss's gradient (the sum passes 1 to each
term, whatever the other terms are, NaN included), and the optimizers update element by element:
each sub-network follows the path it would follow alone. One trace, one dispatch per
``steps_per_execution`` and one evaluation pass per epoch serve the whole group.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence

from pipeline.data import PreparedData
from pipeline.search import TrialConfig
from pipeline.training._train import TrialOutcome, epoch_stream, train_trial, training_rows

#: The ``logs`` key of sub-network ``i``'s running training loss.
RUNNING_LOSS_KEY = "loss_{}"


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
    from pipeline.training._model import build_model, make_optimizer
    from pipeline.training._targets import output_head

    shared = configs[0]
    X_train, y_train_raw = training_rows(shared, data)  # a group shares its training rows (fusion.SHARED_AXES)
    keras.backend.clear_session()
    networks, targets, evaluations = [], [], []
    for config in configs:
        keras.utils.set_random_seed(config.seed)  # as train_trial does before its one model: same initial weights
        head = output_head(data.task, config.loss, data.n_classes)
        y_train, y_val = head.encode(y_train_raw), head.encode(data.y_val)
        network = build_model(config, input_shape=data.input_shape, head=head)
        network.compile(loss=config.loss)  # its loss, computed as Keras computes it for the model alone
        networks.append(network)
        targets.append(y_train)
        evaluations.append(EpochEndEvaluation(
            (X_train, y_train, y_train_raw), (data.X_val, y_val, data.y_val),
            loss=config.loss, head=head, target_scale=data.target_scale))
    keras.utils.set_random_seed(shared.seed)  # the batch order, as train_trial seeds it
    model = _fused_model_class()(networks)
    steps_per_epoch = math.ceil(len(X_train) / shared.batch_size)
    model.compile(optimizer=make_optimizer(shared), steps_per_execution=steps_per_epoch, jit_compile=False)
    evaluation = FusedEpochEndEvaluation(networks, evaluations,
                                         running_losses=[RUNNING_LOSS_KEY.format(i) for i in range(len(configs))])
    model.fit(epoch_stream(X_train, tuple(targets), shared), steps_per_epoch=steps_per_epoch,
              epochs=shared.epochs, shuffle=False, verbose=0, callbacks=[evaluation])
    return evaluations


@functools.cache
def _fused_model_class():
    """The fused model class, defined once Keras is imported (this module imports Keras lazily)."""
    import keras
    import tensorflow as tf

    class FusedModel(keras.Model):
        """Sub-networks side by side on one input; trains on the sum of their own losses."""

        def __init__(self, networks):
            super().__init__()
            self.networks = list(networks)
            self.running_losses = [keras.metrics.Mean(name=RUNNING_LOSS_KEY.format(i)) for i in range(len(networks))]

        def call(self, x, training=False):
            return [network(x, training=training) for network in self.networks]

        @property
        def metrics(self):
            return list(self.running_losses)

        def train_step(self, data):
            x, y_targets = data
            with tf.GradientTape() as tape:
                y_preds = self(x, training=True)
                # each network's loss as Keras computes it for that network alone: compiled loss + its regularisers
                losses = [network.compute_loss(x, y_target, y_pred, training=True)
                          for network, y_target, y_pred in zip(self.networks, y_targets, y_preds)]
                total = tf.add_n(losses)
            gradients = tape.gradient(total, self.trainable_weights)
            self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
            batch_size = tf.shape(x)[0]
            for running, loss in zip(self.running_losses, losses):
                running.update_state(loss, sample_weight=batch_size)
            return {running.name: running.result() for running in self.running_losses}

    return FusedModel

