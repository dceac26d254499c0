"""Checking a curves table and finding where a run diverged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.errors import FitcheckError, echo

EXPLOSION_FACTOR = 10.0
#: How a curves table may write a value that is not finite (a diverged run), lower-cased.
NON_FINITE_WORDS = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
#: What a finite value of each task metric can be, and the test that finds one that is not.
_METRIC_RANGES = {
    "error": ("an error rate in [0, 1]", lambda values: (values < 0) | (values > 1)),
    "rmse": ("an RMSE >= 0", lambda values: values < 0),
}


def checked_metric(task: str) -> str:
    """The task's metric (:func:`pipeline.names.task_metric`), after checking ``task`` is one of the tasks."""
    if task not in names.TASKS:
        raise FitcheckError(f"task must be one of {', '.join(names.TASKS)} but got {task!r}.")
    return names.task_metric(task)


def required_columns(task: str) -> tuple[str, ...]:
    """Columns a curves table must hold for ``task``."""
    metric = checked_metric(task)
    return ("epoch", names.TRAIN_LOSS, names.VAL_LOSS, names.train_curve(metric), names.val_curve(metric))


def check_curves(curves: pd.DataFrame, *, task: str) -> pd.DataFrame:
    """Return the required columns as floats, one row per epoch sorted by epoch.

    NaN and infinities are allowed in the curves (they mean the run diverged); finite values
    must be possible: error rates in [0, 1], RMSE >= 0. Losses may take any value (a custom
    loss can be negative). Epochs are distinct whole numbers from 1 upwards.

    Raises
    ------
    FitcheckError
        When a column is missing, there are no rows, or a value is not a number or out of
        range: one line naming the column, the row (1-based, as given) and the value.
    """
    columns = required_columns(task)
    missing = [name for name in columns if name not in curves.columns]
    if missing:
        raise FitcheckError(
            f"curves lack column(s) {', '.join(missing)}; a {task} run needs {', '.join(columns)}."
        )
    if len(curves) == 0:
        raise FitcheckError("curves have no rows; need one row per epoch.")
    table = curves.loc[:, list(columns)].reset_index(drop=True)
    for name in columns:
        numeric = pd.to_numeric(table[name], errors="coerce")
        bad = numeric.isna() & table[name].notna()
        if bad.any():  # only text cells are looked at as text: a long curve is numbers
            bad[bad] = ~table[name][bad].astype(str).str.strip().str.lower().isin(NON_FINITE_WORDS)
            _refuse_first(bad, table[name], name, "a number (NaN and inf are allowed: they mean divergence)")
        table[name] = numeric.astype(float)
    epoch = table["epoch"]
    _refuse_first(~np.isfinite(epoch) | (epoch < 1) | (np.mod(epoch, 1) != 0), epoch, "epoch",
                  "a whole number >= 1")
    _refuse_first(epoch.duplicated(), epoch, "epoch", "an epoch no earlier row gave")
    metric = checked_metric(task)
    rule, out_of_range = _METRIC_RANGES[metric]
    for name in (names.train_curve(metric), names.val_curve(metric)):
        values = table[name]
        _refuse_first(np.isfinite(values) & out_of_range(values), values, name, rule)
    return table.sort_values("epoch").reset_index(drop=True)


def _refuse_first(bad: pd.Series, values: pd.Series, column: str, rule: str) -> None:
    """Raise naming the first row where ``bad`` holds, its value and what the column accepts."""
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = values.iloc[row]
        shown = f"{value:g}" if isinstance(value, (int, float, np.number)) else echo(value)
        raise FitcheckError(f"column {column}, row {row + 1}: must be {rule} but got {shown}.")


def diverged_at(table: pd.DataFrame) -> int | None:
    """The first 1-based row at which the run diverged, or None.

    A run diverges at the first non-finite value in any curve, or where the training loss
    explodes: above its first value and more than ten times its minimum so far (while that minimum is
    not negative).
    """
    finite = np.isfinite(table.drop(columns="epoch").to_numpy()).all(axis=1)
    first_bad = int(np.argmin(finite)) if not finite.all() else len(finite)
    loss = table[names.TRAIN_LOSS].to_numpy()[:first_bad]
    exploded = np.zeros(len(loss), dtype=bool)
    if len(loss):
        best_so_far = np.minimum.accumulate(loss)
        # a loss that went negative (cosine similarity, a log-likelihood) has no scale to explode against
        exploded = (best_so_far >= 0) & (loss > loss[0]) & (loss > EXPLOSION_FACTOR * best_so_far)
        exploded[0] = False
    if exploded.any():
        return int(np.argmax(exploded)) + 1
    return first_bad + 1 if first_bad < len(finite) else None
