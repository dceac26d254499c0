"""Curves under other names read as fitcheck's: Keras' ``history.history`` (a CSV of it, autolog's or
``MlflowCallback``'s metrics) and fitcheck's own.

Keras names the loss ``loss``/``val_loss`` and each compiled metric ``<name>``/``val_<name>``; its
training values are running averages over the epoch's batches. Pure: maps names and units; never
reads a file or MLflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.errors import FitcheckError


def _same(values: np.ndarray) -> np.ndarray:
    return values


def _one_minus(values: np.ndarray) -> np.ndarray:
    return 1.0 - values


#: Keras' names of the task metric, with how each becomes fitcheck's (error = 1 - accuracy, RMSE).
KERAS_METRICS: dict[str, list[tuple[str, Callable[[np.ndarray], np.ndarray]]]] = {
    "error": [(name, _one_minus) for name in
              ("accuracy", "binary_accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "acc")],
    "rmse": [("root_mean_squared_error", _same), ("rmse", _same), ("mean_squared_error", np.sqrt), ("mse", np.sqrt)],
}
#: Keras' training loss; its validation loss is fitcheck's ``val_loss`` under the same name.
KERAS_LOSS = "loss"
_MAE = ("mean_absolute_error", "mae")


@dataclass(frozen=True)
class CurveNames:
    """Where each of fitcheck's curves is in a table of other names, and whether training values are running averages."""

    task: str
    columns: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]]
    running_train: bool

    def curves(self, table: Mapping[str, Sequence[float]], *, source: str = "curves") -> pd.DataFrame:
        """fitcheck's curves (``epoch`` 1-based, in row order) from ``table``'s columns.

        An accuracy outside [0, 1] or a negative MSE is refused in one line naming ``source``, the column as
        the user named it, the row and the value (an accuracy in percent says so).
        """
        for ours, (theirs, convert) in self.columns.items():
            if ours in (names.TRAIN_LOSS, names.VAL_LOSS):  # a custom loss may be negative
                continue
            values = np.asarray(table[theirs], dtype=float)
            bad = np.flatnonzero(np.isfinite(values) & ((values < 0) | ((values > 1) & (convert is _one_minus))))
            if len(bad):
                value = values[bad[0]]
                what = "an accuracy in [0, 1]" if convert is _one_minus else "a value >= 0"
                hint = " (a percentage? divide by 100)" if convert is _one_minus and 1 < value <= 100 else ""
                raise FitcheckError(f"{source}: column {theirs}, row {bad[0] + 1}: must be {what} but got "
                                    f"{value:g}{hint}.")
        frame = pd.DataFrame({ours: convert(np.asarray(table[theirs], dtype=float))
                              for ours, (theirs, convert) in self.columns.items()})
        frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
        return frame


def guess_task(available: Collection[str]) -> str | None:
    """The task the names tell: a ``categorical`` metric is multiclass, a ``binary_`` one binary, a plain
    accuracy (or fitcheck's ``*_error``) classification with the number of classes untold
    (:data:`~pipeline.names.CLASSIFICATION`), then an RMSE or MSE regression; None when they tell nothing.

    >>> guess_task(["loss", "val_loss", "mean_squared_error"]), guess_task(["val_accuracy", "mse"])
    ('regression', 'classification')
    >>> guess_task(["loss", "sparse_categorical_accuracy"]), guess_task(["binary_accuracy"])
    ('multiclass', 'binary')

    """
    if any("categorical" in name for name in available):  # (sparse_)categorical_accuracy/crossentropy
        return names.MULTICLASS
    if any(name.removeprefix("val_").startswith("binary_") for name in available):
        return names.BINARY
    if any(name.endswith(("accuracy", "acc")) for name in available):
        return names.CLASSIFICATION
    if any(name.endswith(("rmse", "mean_squared_error", "mse")) for name in available):
        return names.REGRESSION
    if any(name.endswith("_error") for name in available):
        return names.CLASSIFICATION
    return None


#: ``mlflow.keras.autolog()``'s text of ``model.summary()``: its last layer's output shape tells the classes.
MODEL_SUMMARY = "model_summary.txt"
_OUTPUT_SHAPE = re.compile(r"\(None,\s*(\d+)\)")


def task_from_summary(summary: str | None, guessed: str | None) -> str | None:
    """A classification task told by a model summary's last output units (1: binary, more: multiclass);
    ``guessed`` (from the metric names) when the summary tells nothing or the task is not classification.

    >>> summary = "dense (Dense) (None, 64) 4160 | dense_1 (Dense) (None, 10) 650 | Total params: 4,810"
    >>> task_from_summary(summary, "classification"), task_from_summary(summary, "regression")
    ('multiclass', 'regression')
    >>> task_from_summary(None, "classification")
    'classification'
    """
    if guessed not in (names.BINARY, names.MULTICLASS, names.CLASSIFICATION) or not summary:
        return guessed
    shapes = _OUTPUT_SHAPE.findall(summary)
    if not shapes:
        return guessed
    return names.MULTICLASS if int(shapes[-1]) > 1 else names.BINARY


def curve_names(available: Collection[str], *, task: str, source: str) -> CurveNames:
    """How to read fitcheck's curves for ``task`` from columns named ``available``: fitcheck's own
    names first, then Keras'. An incomplete set of fitcheck's names is returned as it is, for
    :func:`pipeline.diagnostics.diagnose` to say which column lacks.

    Raises
    ------
    FitcheckError
        Naming ``source``, what it holds and the names accepted, when it holds neither set.
    """
    metric = names.task_metric(task)
    available = set(available)
    ours = (names.TRAIN_LOSS, names.VAL_LOSS, names.train_curve(metric), names.val_curve(metric))
    if set(ours) <= available:
        return CurveNames(task, {name: (name, _same) for name in ours}, running_train=False)
    for train_name, convert in KERAS_METRICS[metric]:
        if {KERAS_LOSS, names.VAL_LOSS, train_name, names.val_curve(train_name)} <= available:
            return CurveNames(task, {names.TRAIN_LOSS: (KERAS_LOSS, _same), names.VAL_LOSS: (names.VAL_LOSS, _same),
                                     names.train_curve(metric): (train_name, convert),
                                     names.val_curve(metric): (names.val_curve(train_name), convert)}, running_train=True)
    if KERAS_LOSS not in available and ("epoch" in available or available & set(ours)):
        # fitcheck's own format, incomplete: checking the curves says which column lacks
        return CurveNames(task, {name: (name, _same) for name in ours if name in available}, running_train=False)
    keras = " / ".join(f"{name}, val_{name}" for name, _ in KERAS_METRICS[metric])
    hint = ("; MAE cannot be turned into RMSE: compile with metrics=['root_mean_squared_error'] or ['mse']"
            if metric == "rmse" and available & set(_MAE) else "")
    raise FitcheckError(
        f"{source}: no per-epoch {metric} curves; it holds {', '.join(sorted(available)) or 'nothing'}; need "
        f"{', '.join(ours)} or Keras' loss, val_loss and one of {keras}{hint}")


#: ``mlflow.keras.autolog()``'s params for what fitcheck's advice changes (the optimizer's config is logged
#: as ``optimizer_<key>``, ``fit``'s arguments under their own names).
AUTOLOG_PARAMS = {"optimizer": "optimizer_name", "learning_rate": "optimizer_learning_rate"}


def run_configuration(params: Mapping[str, str], *, n_train: int | None = None) -> dict[str, object]:
    """What a run used, as the advice reads it (``diagnose(config=...)``), from its logged params.

    fitcheck's own params (``depth``, ``learning_rate``, ...) and ``mlflow.keras.autolog()``'s
    (``optimizer_name``, ``optimizer_learning_rate``, ``epochs``, ``batch_size``) are read; a value that
    does not parse is left out, so the advice stays generic about it rather than wrong.

    >>> run_configuration({"optimizer_name": "SGD", "optimizer_learning_rate": "0.001", "epochs": "20"}, n_train=1437)
    {'optimizer': 'sgd', 'learning_rate': 0.001, 'epochs': 20, 'n_train': 1437}
    """
    config: dict[str, object] = {}
    for axis in names.ADVICE_AXES:
        raw = params.get(axis, params.get(AUTOLOG_PARAMS.get(axis, ""), None))
        if raw is None:
            continue
        value = _parsed(axis, str(raw))
        if value is not None:
            config[axis] = value
    if n_train is not None:
        config[names.N_TRAIN_PARAM] = n_train
    return config


def _parsed(axis: str, raw: str) -> object:
    if axis == "optimizer":
        return raw.strip().lower() or None
    try:
        number = float(raw)
    except ValueError:
        return None
    if not np.isfinite(number):
        return None
    return int(number) if axis in ("epochs", "depth", "width", "batch_size", "n_train") and number.is_integer() \
        else number
