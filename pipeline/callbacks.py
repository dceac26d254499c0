"""Keras callbacks: measure training and validation error at the end of every epoch.

Keras reports ``loss`` as a running average over the epoch's batches, taken while the weights
moved and with dropout on. A bias/variance diagnosis needs the error of the epoch's final
weights on the whole training split in inference mode; :class:`EpochEndEvaluation` measures it.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from pipeline.names import RUNNING_LOSS, task_metric


class EpochEndEvaluation(keras.callbacks.Callback):
    """Evaluate loss and task metric on the training and validation splits at each epoch end.

    Parameters
    ----------
    train, val : tuple of (X, y_target, y_label)
        Features, targets encoded for the loss, and plain labels (class indices, or the
        standardised regression target).
    loss : str
        Keras loss name; the per-sample loss is averaged without regularisation terms.
    task : {"binary", "multiclass", "regression"}
    target_scale : float
        Multiplies a standardised RMSE back into the target's units.

    After ``fit``, :attr:`curves` maps ``train_loss_running``, ``train_loss``, ``val_loss``,
    ``train_<metric>``, ``val_<metric>`` to one value per epoch; the same values are added to
    the epoch's ``logs`` so Keras' ``History`` and later callbacks see them. Training stops at
    the first non-finite loss and :attr:`diverged_epoch` records that epoch (1-based).
    """

    def __init__(self, train, val, *, loss: str, task: str, target_scale: float = 1.0):
        super().__init__()
        self.task, self.target_scale = task, target_scale
        self.metric = task_metric(task)
        self._n_train = len(train[0])
        self._x = np.concatenate([train[0], val[0]]).astype(np.float32)
        self._y_target = np.concatenate([train[1], val[1]])
        self._y_label = np.concatenate([train[2], val[2]])
        self._loss_fn = keras.losses.get(loss)
        self._forward = None
        self.curves: dict[str, list[float]] = {}
        self.diverged_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.curves = {name: [] for name in (RUNNING_LOSS, "train_loss", "val_loss", f"train_{self.metric}", f"val_{self.metric}")}
        self.diverged_epoch = None
        self._forward = self._make_forward()

    def _make_forward(self):
        import tensorflow as tf

        model, loss_fn = self.model, self._loss_fn

        @tf.function(reduce_retracing=True)
        def forward(x, y_target):
            y_pred = model(x, training=False)
            return loss_fn(y_target, y_pred), y_pred

        return forward

    def _metric(self, y_pred: np.ndarray, y_label: np.ndarray) -> float:
        if self.task == "regression":
            return float(np.sqrt(np.mean((y_pred[:, 0] - y_label) ** 2)) * self.target_scale)
        if y_pred.shape[1] > 1:
            predicted = y_pred.argmax(axis=1)
        else:
            threshold = 0.0 if self.model.layers[-1].activation.__name__ == "linear" else 0.5
            predicted = (y_pred[:, 0] > threshold).astype(np.int64)
        return float(np.mean(predicted != y_label))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        per_sample_loss, y_pred = self._forward(self._x, self._y_target)
        per_sample_loss, y_pred = np.asarray(per_sample_loss, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
        n = self._n_train
        values = {
            RUNNING_LOSS: float(logs.get("loss", math.nan)),
            "train_loss": float(per_sample_loss[:n].mean()),
            "val_loss": float(per_sample_loss[n:].mean()),
            f"train_{self.metric}": self._metric(y_pred[:n], self._y_label[:n]),
            f"val_{self.metric}": self._metric(y_pred[n:], self._y_label[n:]),
        }
        for name, value in values.items():
            self.curves[name].append(value)
        logs.update(values)
        if not all(math.isfinite(values[name]) for name in (RUNNING_LOSS, "train_loss", "val_loss")):
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True
