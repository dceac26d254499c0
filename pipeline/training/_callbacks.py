"""Keras callbacks: measure training and validation error at the end of every epoch; stop a trial early.

Keras reports ``loss`` as a running average over the epoch's batches, taken while the weights
moved and with dropout on. A bias/variance diagnosis needs the error of the epoch's final
weights on the whole training split in inference mode; :class:`EpochEndEvaluation` measures it.
Outputs become labels through the trial's :class:`~pipeline.training._targets.OutputHead`, never by
looking at the model's layers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras
import numpy as np

from pipeline.names import REGRESSION, RUNNING_LOSS, TRAIN_LOSS, VAL_LOSS, curve_columns, task_metric
from pipeline.training._targets import OutputHead

#: One split: features, targets encoded for the loss, and plain labels (class indices, or the
#: standardised regression target).
Split = tuple[np.ndarray, np.ndarray, np.ndarray]


class EpochEndEvaluation(keras.callbacks.Callback):
    """Evaluate loss and task metric on the training and validation splits at each epoch end.

    Parameters
    ----------
    train, val : tuple of (X, y_target, y_label)
        Features, targets encoded for the loss, and plain labels (class indices, or the
        standardised regression target).
    loss : str or keras.losses.Loss
        Keras loss; the per-sample loss is averaged without regularisation terms.
    head : OutputHead
        The model's output head: its task, and how outputs decode into labels.
    target_scale : float
        Multiplies a standardised RMSE back into the target's units.
    extra_splits : mapping of str to (X, y_target, y_label), optional
        More splits measured the same way, as ``<name>_loss`` and ``<name>_<metric>``.

    After ``fit``, :attr:`curves` maps ``train_loss_running``, ``train_loss``, ``val_loss``,
    ``train_<metric>``, ``val_<metric>`` to one value per epoch; the same values are added to
    the epoch's ``logs`` so Keras' ``History`` and later callbacks see them. Training stops at
    the first non-finite loss and :attr:`diverged_epoch` records that epoch (1-based).
    """

    def __init__(self, train: Split, val: Split, *, loss, head: OutputHead, target_scale: float = 1.0,
                 extra_splits: Mapping[str, Split] | None = None):
        super().__init__()
        self.head, self.task, self.target_scale = head, head.task, target_scale
        self.metric = task_metric(head.task)
        splits = {"train": train, "val": val, **(extra_splits or {})}
        self._bounds: dict[str, tuple[int, int]] = {}  # each split's rows in the concatenated arrays
        start = 0
        for name, split in splits.items():
            self._bounds[name], start = (start, start + len(split[0])), start + len(split[0])
        self._x = np.concatenate([split[0] for split in splits.values()]).astype(np.float32)
        self._y_target = np.concatenate([split[1] for split in splits.values()])
        self._y_label = np.concatenate([split[2] for split in splits.values()])
        self._loss_fn = _per_sample(loss)
        self._forward = None
        self.curves: dict[str, list[float]] = {}
        self.diverged_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.reset()
        self._forward = self._make_forward()

    def reset(self) -> None:
        """Forget the curves and the divergence measured so far."""
        names = [f"{split}_loss" for split in self._bounds] + [f"{split}_{self.metric}" for split in self._bounds]
        self.curves = {name: [] for name in (*curve_columns(self.task), *names)}
        self.diverged_epoch = None

    def _make_forward(self):
        import tensorflow as tf

        model, loss_fn = self.model, self._loss_fn

        @tf.function(reduce_retracing=True)
        def forward(x, y_target):
            y_pred = model(x, training=False)
            return loss_fn(y_target, y_pred), y_pred

        return forward

    def _metric(self, y_pred: np.ndarray, y_label: np.ndarray) -> float:
        predicted = self.head.decode(y_pred)
        if self.task == REGRESSION:
            return float(np.sqrt(np.mean((predicted - y_label) ** 2)) * self.target_scale)
        return float(np.mean(predicted != y_label))

    def measure(self) -> dict[str, float]:
        """Loss and task metric of the model's current weights on every split (``val_loss``, ``val_error``, ...)."""
        return self._values(*self._forward(self._x, self._y_target))

    def _values(self, per_sample_loss, y_pred) -> dict[str, float]:
        per_sample_loss, y_pred = np.asarray(per_sample_loss, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
        values = {}
        for name, (start, stop) in self._bounds.items():
            values[f"{name}_loss"] = float(per_sample_loss[start:stop].mean())
        for name, (start, stop) in self._bounds.items():
            values[f"{name}_{self.metric}"] = self._metric(y_pred[start:stop], self._y_label[start:stop])
        return values

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        per_sample_loss, y_pred = self._forward(self._x, self._y_target)
        logs.update(self.record(epoch, logs.get("loss", math.nan), per_sample_loss, y_pred))
        if self.diverged_epoch is not None:
            self.model.stop_training = True

    def record(self, epoch: int, running_loss: float, per_sample_loss, y_pred) -> dict[str, float]:
        """Append epoch ``epoch``'s (0-based) values, from the model's outputs on every split's rows.

        Returns the values appended; sets :attr:`diverged_epoch` at the first non-finite loss.
        """
        values = {RUNNING_LOSS: float(running_loss), **self._values(per_sample_loss, y_pred)}
        for name, value in values.items():
            self.curves[name].append(value)
        if not all(math.isfinite(values[name]) for name in (RUNNING_LOSS, TRAIN_LOSS, VAL_LOSS)):
            self.diverged_epoch = epoch + 1
        return values


class FusedEpochEndEvaluation(keras.callbacks.Callback):
    """:class:`EpochEndEvaluation` for the members of a fused model, in one forward pass per epoch.

    Parameters
    ----------
    evaluations : sequence of EpochEndEvaluation
        One per member, on the same features (its own targets, loss and head); each keeps its
        trial's :attr:`~EpochEndEvaluation.curves` and :attr:`~EpochEndEvaluation.diverged_epoch`.
        They are measurers here, not callbacks of the fit.
    blocks : sequence of sequence of int
        The member positions of each block of the fused model, in the block's output order.
    targets : sequence of sequence of int
        The members whose targets each block reads (one per distinct loss and head in it).
    running_losses : str
        The ``logs`` key of the members' running training losses, a vector in block order.

    The fused model's ``member_outputs(x, y_targets)`` gives each block's per-sample losses
    ``[members, rows]`` and predictions ``[members, rows, units]``. A member whose loss becomes
    non-finite stops being measured at that epoch (its curves end as they would have alone); the
    fit stops once every member has diverged.
    """

    def __init__(self, evaluations, *, blocks, targets, running_losses: str):
        super().__init__()
        self.evaluations, self.blocks = list(evaluations), [list(members) for members in blocks]
        if sorted(member for members in self.blocks for member in members) != list(range(len(self.evaluations))):
            raise ValueError(f"blocks must hold each of the {len(self.evaluations)} evaluations' positions once "
                             f"but got {self.blocks}.")
        self.targets, self.running_losses = [list(members) for members in targets], running_losses
        self._forward = None

    def on_train_begin(self, logs=None):
        for evaluation in self.evaluations:
            evaluation.reset()
        import tensorflow as tf

        self._forward = tf.function(self.model.member_outputs, reduce_retracing=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        members = [member for block in self.blocks for member in block]  # block order, as the running losses
        running = np.ravel(np.asarray(logs.get(self.running_losses, np.full(len(members), math.nan)), dtype=np.float64))
        outputs = self._forward(self.evaluations[0]._x,
                                [[self.evaluations[member]._y_target for member in members] for members in self.targets])
        position = 0
        for block, (per_sample_loss, y_pred) in zip(self.blocks, outputs):
            per_sample_loss, y_pred = np.asarray(per_sample_loss), np.asarray(y_pred)
            for slot, member in enumerate(block):
                evaluation = self.evaluations[member]
                if evaluation.diverged_epoch is None:
                    evaluation.record(epoch, running[position + slot], per_sample_loss[slot], y_pred[slot])
            position += len(block)
        if all(evaluation.diverged_epoch is not None for evaluation in self.evaluations):
            self.model.stop_training = True


class OnlineStopping(keras.callbacks.Callback):
    """End training with the online recommendation rule and restore the kept epoch's weights.

    Reads ``monitor`` from the epoch's logs (put there by :class:`EpochEndEvaluation`, which must
    come first in the callbacks) and feeds it to :class:`pipeline.diagnostics.OnlineStop`. Keeps
    the weights of the epochs that may still be picked (at most ``patience + window // 2`` while the
    pick is open; one copy once it is final). After ``fit``, :attr:`stopped_epoch` and
    :attr:`kept_epoch` are set when it stopped the run.

    A callback with a stopping reason of its own (``FitDiagnostics``) composes it instead of listing
    it: it calls :meth:`observe` each epoch, and :meth:`stop` and :meth:`restore` when it stops;
    :attr:`rule`'s ``pick`` is then the epoch to keep.
    """

    def __init__(self, monitor: str, **rule):
        super().__init__()
        from pipeline.diagnostics import OnlineStop

        self.monitor, self.rule = monitor, OnlineStop(**rule)
        self._weights: dict[int, list] = {}
        self.stopped_epoch: int | None = None
        self.kept_epoch: int | None = None

    @property
    def n_weight_copies(self) -> int:
        """How many epochs' weights are held now."""
        return len(self._weights)

    def on_train_begin(self, logs=None):
        self.reset()

    def reset(self) -> None:
        """Forget the curve, the weights and the stop: a new ``fit`` starts."""
        self.rule.reset()
        self._weights, self.stopped_epoch, self.kept_epoch = {}, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, math.nan)
        if not math.isfinite(value):  # a diverged run: EpochEndEvaluation stops it
            return
        self.observe(epoch, value)
        if self.rule.kept_epoch is not None:
            self.stop(epoch, self.rule.kept_epoch)

    def observe(self, epoch: int, value: float) -> None:
        """Feed epoch ``epoch``'s (0-based) finite ``value`` to the rule and keep the weights it may still pick."""
        self.rule.update(value)
        final = self.rule.kept_epoch
        if final is None or final == epoch + 1:
            self._weights[epoch + 1] = self.model.get_weights()
        self._weights = {kept: weights for kept, weights in self._weights.items()
                         if (kept == final if final is not None else kept >= self.rule.earliest_candidate)}

    def stop(self, epoch: int, kept_epoch: int | None) -> None:
        """End training after epoch ``epoch`` (0-based); ``kept_epoch`` (1-based) is restored, if any."""
        self.stopped_epoch, self.kept_epoch = epoch + 1, kept_epoch
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.restore()

    def restore(self) -> None:
        """Put the kept epoch's weights back into the model (when it stopped with one) and drop every copy;
        a second call finds none and changes nothing."""
        weights, self._weights = self._weights, {}
        if self.kept_epoch is not None and weights:
            self.model.set_weights(weights[self.kept_epoch])


class RungPruning(keras.callbacks.Callback):
    """Successive halving against the sweep's other trials: stop at a rung where this trial is not
    among the best (:class:`pipeline.diagnostics.SuccessiveHalving`).

    At each rung it reports the best ``monitor`` value so far to the sweep's
    :class:`~pipeline.training._rungs.RungRecord` under ``trial``. After ``fit``, :attr:`pruned_epoch` is the
    rung that stopped it, or None.
    """

    def __init__(self, monitor: str, *, record: str, trial: str, epochs: int, min_epochs: int, reduction_factor: int,
                 n_val: int | None = None, metric: str = "error"):
        super().__init__()
        self.n_val, self.metric = n_val, metric  # the noise a value must trail the cut by
        from pipeline.diagnostics import SuccessiveHalving
        from pipeline.training._rungs import RungRecord

        self.monitor, self.trial = monitor, trial
        self.pruner = SuccessiveHalving(min_epochs=min_epochs, reduction_factor=reduction_factor)
        self.record, self.rungs = RungRecord(record), set(self.pruner.rungs(epochs))
        self.best, self.pruned_epoch = math.inf, None

    def on_train_begin(self, logs=None):
        self.best, self.pruned_epoch = math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        self.best = min(self.best, (logs or {}).get(self.monitor, math.inf))
        if epoch + 1 not in self.rungs or not math.isfinite(self.best) or self.model.stop_training:
            return
        others = self.record.report(rung=epoch + 1, trial=self.trial, value=self.best)
        if self.pruner.prune(others, self.best, n_val=self.n_val, metric=self.metric):
            self.pruned_epoch = epoch + 1
            self.model.stop_training = True


def _per_sample(loss):
    """The loss as a function of (y_true, y_pred) that returns one value per sample."""
    loss = keras.losses.get(loss)
    return loss.call if isinstance(loss, keras.losses.Loss) else loss
