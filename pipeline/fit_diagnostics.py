"""``FitDiagnostics``: fitcheck's measurement, diagnosis and stopping rule inside anyone's ``model.fit``."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd

from pipeline.callbacks import EpochEndEvaluation
from pipeline.names import DIAGNOSIS_AT_RECOMMENDED_TAG, DIAGNOSIS_TAG


def _labels(y: np.ndarray, task: str) -> np.ndarray:
    """Plain labels from targets as fed to ``fit``: class indices, or the regression values."""
    y = np.asarray(y)
    if task == "regression":
        return y.reshape(len(y)).astype(np.float64)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    flat = y.reshape(len(y))
    return (flat > 0).astype(np.int64) if flat.min() < 0 else flat.astype(np.int64)


class FitDiagnostics(keras.callbacks.Callback):
    """Diagnose bias and variance while training, and optionally stop where fitcheck would.

    At the end of every epoch it measures loss and task metric (error rate, or RMSE for
    regression) on the whole training split in inference mode and on the validation split, adds
    them to the epoch's ``logs`` (so ``History`` holds them), and logs them to MLflow with
    ``step`` = epoch when a run is active. When training ends it diagnoses the run
    (:func:`pipeline.diagnostics.diagnose`) and, with an active run, sets the ``diagnosis`` and
    ``diagnosis_at_recommended`` tags, the diagnosis metrics and a ``diagnosis.json`` artifact.

    Parameters
    ----------
    train, validation : tuple of (X, y)
        The data given to ``fit``, with targets encoded as the loss expects them.
    task : {"binary", "multiclass", "regression"}
    reference_error : float, optional
        Bayes or human-level error; ``None`` takes it as 0.
    stop : bool, default False
        Stop training once the noise-robust rule (a trailing moving average of the validation
        metric that has not improved for ``patience`` epochs) says so, and restore the weights
        of the epoch it recommends (kept in memory, one copy per epoch, while training).
        ``stopped_epoch`` and ``restored_epoch`` say what happened.
    patience : int, default 5
    log_to_mlflow : bool, default True

    Examples
    --------
    >>> diagnostics = FitDiagnostics((X, y), (X_val, y_val), task="binary", stop=True)  # doctest: +SKIP
    >>> model.fit(X, y, epochs=200, callbacks=[diagnostics])  # doctest: +SKIP
    >>> diagnostics.diagnosis.label, diagnostics.diagnosis.recommended_epochs  # doctest: +SKIP
    ('good_fit', 23)
    """

    def __init__(self, train, validation, *, task: str, reference_error: float | None = None, stop: bool = False,
                 patience: int = 5, log_to_mlflow: bool = True):
        super().__init__()
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(f"FitDiagnostics: task must be binary, multiclass or regression but got {task!r}.")
        if patience < 1:
            raise ValueError(f"FitDiagnostics: patience must be at least 1 but got {patience}.")
        self.train, self.validation, self.task = train, validation, task
        self.reference_error, self.stop, self.patience, self.log_to_mlflow = reference_error, stop, patience, log_to_mlflow
        self.diagnosis = None
        self.stopped_epoch: int | None = None
        self.restored_epoch: int | None = None
        self._evaluation: EpochEndEvaluation | None = None
        self._weights: list[list[np.ndarray]] = []

    def on_train_begin(self, logs=None):
        units = self.model.outputs[0].shape[-1]

        def split(data):
            X, y = np.asarray(data[0]), np.asarray(data[1])
            target = y.reshape(-1, 1) if y.ndim == 1 and units == 1 else y  # as Keras' compiled loss sees it
            return X, target, _labels(y, self.task)

        self._evaluation = EpochEndEvaluation(split(self.train), split(self.validation), loss=self.model.loss,
                                              task=self.task)
        self._evaluation.set_model(self.model)
        self._evaluation.on_train_begin(logs)
        self.diagnosis, self.stopped_epoch, self.restored_epoch, self._weights = None, None, None, []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self._evaluation.on_epoch_end(epoch, logs)
        if self.log_to_mlflow:
            import mlflow

            if mlflow.active_run():
                mlflow.log_metrics({k: float(v[-1]) for k, v in self._evaluation.curves.items()}, step=epoch + 1)
        if not self.stop:
            return
        from pipeline.diagnostics import online_stop

        self._weights.append([np.copy(w) for w in self.model.get_weights()])
        val = self._evaluation.curves[f"val_{self._evaluation.metric}"]
        trained, recommended = online_stop(np.asarray(val), patience=self.patience)
        if trained < len(val):
            self.model.stop_training = True
            self.stopped_epoch, self.restored_epoch = epoch + 1, recommended
            self.model.set_weights(self._weights[recommended - 1])

    def on_train_end(self, logs=None):
        from pipeline.diagnostics import diagnose

        curves = pd.DataFrame(self._evaluation.curves)
        if curves.empty:
            return
        curves.insert(0, "epoch", np.arange(1, len(curves) + 1))
        self.diagnosis = diagnose(curves, task=self.task, n_train=len(self.train[0]), n_val=len(self.validation[0]),
                                  reference_error=self.reference_error)
        self._weights = []
        if self.log_to_mlflow:
            import mlflow

            if mlflow.active_run():
                mlflow.set_tags({DIAGNOSIS_TAG: self.diagnosis.label,
                                 DIAGNOSIS_AT_RECOMMENDED_TAG: self.diagnosis.label_at_recommended})
                mlflow.log_metrics({k: float(v) for k, v in self.diagnosis.metrics().items() if v is not None})
                mlflow.log_dict(json.loads(json.dumps(self.diagnosis.to_dict(), default=str)), "diagnosis.json")
