"""``FitDiagnostics``: fitcheck's measurement, diagnosis and stopping rule inside anyone's ``model.fit``.

Its MLflow logging is guarded: a failing MLflow call warns once and turns logging off for the
rest of the ``fit``; it never stops the user's training.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
import numpy as np
import pandas as pd

from pipeline.callbacks import EpochEndEvaluation
from pipeline.names import DIAGNOSIS_AT_RECOMMENDED_TAG, DIAGNOSIS_TAG, TASKS
from pipeline.targets import OutputHead, head_of

#: MLflow's HTTP client settings inside FitDiagnostics' own calls: one try and a short timeout,
#: so an unreachable server costs seconds once, not MLflow's default minutes of retries per call.
_BOUNDED_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


class FitDiagnostics(keras.callbacks.Callback):
    """Diagnose bias and variance while training, and optionally stop where fitcheck would.

    At the end of every epoch it measures loss and task metric (error rate, or RMSE for
    regression) on the whole training split in inference mode and on the validation split, adds
    them to the epoch's ``logs`` (so ``History`` holds them), and logs them to MLflow with
    ``step`` = epoch when a run is active. When training ends it diagnoses the run
    (:func:`pipeline.diagnostics.diagnose`) and, with an active run, sets the ``diagnosis`` and
    ``diagnosis_at_recommended`` tags, the diagnosis metrics and a ``diagnosis.json`` artifact.

    Any MLflow failure (an unreachable server, a rejected value) warns once and turns MLflow
    logging off until the next ``fit``; training and the diagnosis go on. The callback can be
    reused: each ``fit`` starts from a clean state and the diagnosis describes the last one.

    Parameters
    ----------
    train, validation : tuple of (X, y)
        The data given to ``fit``, with targets encoded as the loss expects them. Supported
        output conventions (:func:`pipeline.targets.head_of`): regression, one linear unit;
        several units (softmax probabilities or logits) with class-index or one-hot targets,
        read by argmax; one unit on a binary task, either a sigmoid probability with 0/1 targets
        (read at 0.5) or a margin or logit (read at 0): -1/+1 targets, a ``hinge`` or
        ``squared_hinge`` loss, or a loss built with ``from_logits=True``.
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
        if task not in TASKS:
            raise ValueError(f"FitDiagnostics: task must be one of {', '.join(TASKS)} but got {task!r}.")
        if patience < 1:
            raise ValueError(f"FitDiagnostics: patience must be at least 1 but got {patience}.")
        self.train, self.validation, self.task = train, validation, task
        self.reference_error, self.stop, self.patience, self.log_to_mlflow = reference_error, stop, patience, log_to_mlflow
        self.diagnosis = None
        self.stopped_epoch: int | None = None
        self.restored_epoch: int | None = None
        self._evaluation: EpochEndEvaluation | None = None
        self._weights: list[list[np.ndarray]] = []
        self._logging = False

    def on_train_begin(self, logs=None):
        head = self._head()

        def split(data):
            X, y = np.asarray(data[0]), np.asarray(data[1])
            target = y.reshape(-1, 1) if y.ndim == 1 and head.units == 1 else y  # as Keras' compiled loss sees it
            return X, target, head.labels(y)

        self._evaluation = EpochEndEvaluation(split(self.train), split(self.validation), loss=self.model.loss,
                                              head=head)
        self._evaluation.set_model(self.model)
        self._evaluation.on_train_begin(logs)
        self.diagnosis, self.stopped_epoch, self.restored_epoch, self._weights = None, None, None, []
        self._logging = self.log_to_mlflow

    def _head(self) -> OutputHead:
        """How the model's outputs and the user's targets are read (see the class's conventions)."""
        loss = self.model.loss
        name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", ""))
        try:
            return head_of(self.task, np.asarray(self.train[1]), units=int(self.model.outputs[0].shape[-1]),
                           loss=name, from_logits=bool(getattr(loss, "from_logits", False)))
        except ValueError as error:
            raise ValueError(f"FitDiagnostics: {error}") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self._evaluation.on_epoch_end(epoch, logs)
        curves = self._evaluation.curves
        self._log(lambda mlflow: mlflow.log_metrics({k: float(v[-1]) for k, v in curves.items()}, step=epoch + 1))
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
        self._log(self._log_diagnosis)

    def _log_diagnosis(self, mlflow) -> None:
        mlflow.set_tags({DIAGNOSIS_TAG: self.diagnosis.label,
                         DIAGNOSIS_AT_RECOMMENDED_TAG: self.diagnosis.label_at_recommended})
        mlflow.log_metrics({k: float(v) for k, v in self.diagnosis.metrics().items() if v is not None})
        mlflow.log_dict(json.loads(json.dumps(self.diagnosis.to_dict(), default=str)), "diagnosis.json")

    def _log(self, write: Callable[..., None]) -> None:
        """Run ``write(mlflow)`` against the active run, if any; a failure warns once and stops logging."""
        if not self._logging:
            return
        import mlflow

        if mlflow.active_run() is None:
            return
        try:
            with _bounded_http():
                write(mlflow)
        except Exception as error:  # MLflow must never stop the user's training
            self._logging = False
            warnings.warn(f"FitDiagnostics: MLflow logging failed, so it is off for the rest of this fit "
                          f"(training and the diagnosis go on): {type(error).__name__}: {error}",
                          RuntimeWarning, stacklevel=2)


@contextmanager
def _bounded_http() -> Iterator[None]:
    """MLflow's HTTP retry settings bounded (:data:`_BOUNDED_HTTP`) for the calls inside, then restored."""
    saved = {name: os.environ.get(name) for name in _BOUNDED_HTTP}
    os.environ.update(_BOUNDED_HTTP)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
