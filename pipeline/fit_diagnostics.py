"""``FitDiagnostics``: fitcheck's measurement, diagnosis and stopping rule inside anyone's ``model.fit``.

It logs through :class:`pipeline.tracking.ActiveRunLog`: a failing MLflow call warns once and turns
logging off for the rest of the ``fit``; it never stops the user's training. Stopping and the weights
it restores are :class:`pipeline.training._callbacks.OnlineStopping`'s, composed here.
"""

from __future__ import annotations

import json
import math

import keras
import numpy as np

from pipeline.training._callbacks import EpochEndEvaluation, OnlineStopping
from pipeline.names import (
    KERAS_VAL_ACCURACY,
    KERAS_VAL_RMSE,
    N_TRAIN_PARAM,
    N_VAL_PARAM,
    REGRESSION,
    TASK_PARAM,
    TASKS,
    summary_metric,
)
from pipeline.training import OutputHead, head_of
from pipeline.runs import curves_frame, run_configuration
from pipeline.tracking import ActiveRunLog
from pipeline import names

#: How close Keras' own validation metric must come to fitcheck's, every epoch, to count as the same
#: measurement (Keras accumulates in float32).
_SAME_MEASUREMENT = {"rel_tol": 1e-5, "abs_tol": 1e-6}


class FitDiagnostics(keras.callbacks.Callback):
    """Diagnose bias and variance while training, and optionally stop where fitcheck would.

    At the end of every epoch it measures loss and task metric (error rate, or RMSE for
    regression) on the whole training split in inference mode and on the validation split, adds
    them to the epoch's ``logs`` (so ``History`` holds ``train_error``, ``val_error``, or
    ``train_rmse``, ``val_rmse``), and logs them to MLflow with ``step`` = epoch when a run is
    active. When training ends it diagnoses the run (:func:`pipeline.diagnostics.diagnose`).

    With an active MLflow run it also logs the params ``n_train``, ``n_val`` and ``task`` when
    training begins (so ``fitcheck diagnose --run-id`` reads the run without flags) and, at the
    end, the ``diagnosis`` and ``diagnosis_at_recommended`` tags, the diagnosis metrics, the curve
    summary (``best_val_<metric>``, ``best_epoch``, ``final_train_<metric>``,
    ``final_val_<metric>``) and a ``diagnosis.json`` artifact. The ``final_`` values and the
    diagnosis describe the model ``fit`` leaves behind: after ``stop=True`` the restored epoch's,
    while the per-epoch curves keep every epoch trained.

    ``diagnosis.early_stopping`` holds ``keras.callbacks.EarlyStopping`` arguments whose
    ``monitor`` is a name this ``fit``'s logs held: Keras' own ``val_accuracy`` (or
    ``val_root_mean_squared_error`` for regression) when ``fit`` computed it (``compile`` with
    that metric and ``fit`` with ``validation_data`` on the same split) and it equalled 1 -
    ``val_error`` (or ``val_rmse``) at every epoch, so it works in a plain Keras ``fit``;
    otherwise fitcheck's ``val_error`` (``val_rmse``), which needs this callback listed before
    the ``EarlyStopping`` in ``callbacks``.

    Any MLflow failure (an unreachable server, a rejected value) warns once and turns MLflow
    logging off until the next ``fit``; training and the diagnosis go on. The callback can be
    reused: each ``fit`` starts from a clean state and the diagnosis describes the last one.

    Parameters
    ----------
    train, validation : tuple of (X, y)
        The data given to ``fit``, with targets encoded as the loss expects them. Supported
        output conventions (:func:`pipeline.training._targets.head_of`): regression, one linear unit;
        several units (softmax probabilities or logits) with class-index or one-hot targets,
        read by argmax; one unit on a binary task, either a sigmoid probability with 0/1 targets
        (read at 0.5) or a margin or logit (read at 0): -1/+1 targets, a ``hinge`` or
        ``squared_hinge`` loss, or a loss built with ``from_logits=True``.
    task : {"binary", "multiclass", "regression"}
    reference_error : float, optional
        Bayes or human-level error; ``None`` takes it as 0.
    stop : bool, default False
        Stop training once the noise-robust rule (a trailing moving average of the validation
        metric that has not improved for ``patience`` epochs) says so, or at a divergence, and
        restore the weights of the epoch the diagnosis recommends (kept in memory while training: only
        the epochs it may still recommend, at most 12 copies with the default rule, one once it is
        final). ``stopped_epoch`` and ``restored_epoch`` say what happened; the
        diagnosis then describes the restored model (``diagnose(..., restored_epoch=...)``).
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
        self._stopping: OnlineStopping | None = None  # keeps and restores the weights when ``stop``
        self._mlflow = ActiveRunLog("FitDiagnostics")
        #: Keras' name for the validation metric fitcheck measures, and whether it measured the same each epoch.
        self._keras_monitor = KERAS_VAL_RMSE if task == REGRESSION else KERAS_VAL_ACCURACY
        self._keras_agrees = False

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
        # the recommendation rule's defaults, as the diagnosis recommends an epoch
        self._stopping = OnlineStopping(names.val_curve(self._evaluation.metric))
        self._stopping.set_model(self.model)
        self._stopping.on_train_begin(logs)
        self.diagnosis, self.stopped_epoch, self.restored_epoch = None, None, None
        self._keras_agrees = True
        self._mlflow.begin(enabled=self.log_to_mlflow)
        self._mlflow.params({N_TRAIN_PARAM: len(self.train[0]), N_VAL_PARAM: len(self.validation[0]),
                             TASK_PARAM: self.task})

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
        keras_value = logs.get(self._keras_monitor)  # read before fitcheck's own values join the logs
        self._evaluation.on_epoch_end(epoch, logs)
        curves = self._evaluation.curves
        val = np.asarray(curves[names.val_curve(self._evaluation.metric)])
        self._keras_agrees = self._keras_agrees and keras_value is not None and math.isclose(
            float(keras_value) if self.task == REGRESSION else 1.0 - float(keras_value), val[-1], **_SAME_MEASUREMENT)
        self._mlflow.metrics({k: float(v[-1]) for k, v in curves.items()}, step=epoch + 1)
        if not self.stop:
            return
        from pipeline.diagnostics import diverged_at, online_stop

        diverged = diverged_at(curves_frame(curves))  # as the diagnosis judges it: non-finite or exploding loss
        if diverged is None:  # the epochs before a divergence are the ones the rule judges
            self._stopping.observe(epoch, val[-1])
        # the trailing average stops at this epoch when it ends training here whatever the next epoch brings
        if diverged is not None or online_stop(np.append(val, val[-1]), patience=self.patience)[0] <= len(val):
            rule = self._stopping.rule  # its pick: the epoch the diagnosis recommends, on the same epochs
            self._stopping.stop(epoch, rule.pick if rule.n_epochs else None)
            self._stopping.restore()
            self.stopped_epoch, self.restored_epoch = self._stopping.stopped_epoch, self._stopping.kept_epoch

    def _configuration(self) -> dict[str, object]:
        """What this fit used, as the advice reads it: the optimizer, its learning rate, the epochs asked for."""
        optimizer = getattr(self.model, "optimizer", None)
        params = {"epochs": (self.params or {}).get("epochs")}
        if optimizer is not None:
            params["optimizer_name"] = optimizer.get_config().get("name")
            try:
                params["optimizer_learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            except (TypeError, ValueError):  # a schedule: no single rate to change
                pass
        return run_configuration({key: value for key, value in params.items() if value is not None},
                                 n_train=len(self.train[0]))

    def on_train_end(self, logs=None):
        from pipeline.diagnostics import curve_summary, diagnose

        curves = curves_frame(self._evaluation.curves)
        if curves.empty:
            return
        monitor = self._keras_monitor if self._keras_agrees else names.val_curve(self._evaluation.metric)
        self.diagnosis = diagnose(curves, task=self.task, n_train=len(self.train[0]), n_val=len(self.validation[0]),
                                  reference_error=self.reference_error, restored_epoch=self.restored_epoch,
                                  monitor=monitor, config=self._configuration())
        self._stopping.restore()  # drops the copies of a fit that did not stop
        summary = curve_summary(self._evaluation.curves, task=self.task)
        if self.restored_epoch is not None:  # the model fit leaves behind is the restored one
            summary.update({summary_metric(names.FINAL_TRAIN, self.task): self.diagnosis.train_metric,
                            summary_metric(names.FINAL_VAL, self.task): self.diagnosis.val_metric})
        self._mlflow.tags(self.diagnosis.tags())
        metrics = {**summary, **self.diagnosis.metrics()}
        self._mlflow.metrics({name: float(value) for name, value in metrics.items()
                              if value is not None and math.isfinite(value)})
        self._mlflow.json_file(json.loads(json.dumps(self.diagnosis.to_dict(), default=str)), "diagnosis.json")
