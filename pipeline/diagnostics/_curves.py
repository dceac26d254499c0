"""Checking a curves table and finding where a run diverged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import FitcheckError

TASKS = ("binary", "multiclass", "regression")
EXPLOSION_FACTOR = 10.0


def task_metric(task: str) -> str:
    """``"error"`` for classification tasks, ``"rmse"`` for regression."""
    if task not in TASKS:
        raise FitcheckError(f"task must be one of {', '.join(TASKS)} but got {task!r}.")
    return "rmse" if task == "regression" else "error"


def required_columns(task: str) -> tuple[str, ...]:
    """Columns a curves table must hold for ``task``."""
    metric = task_metric(task)
    return ("epoch", "train_loss", "val_loss", f"train_{metric}", f"val_{metric}")


def check_curves(curves: pd.DataFrame, *, task: str) -> pd.DataFrame:
    """Return the required columns as floats, one row per epoch sorted by epoch.

    Raises
    ------
    FitcheckError
        When a column is missing or holds non-numeric values, or there are no rows.
    """
    columns = required_columns(task)
    missing = [name for name in columns if name not in curves.columns]
    if missing:
        raise FitcheckError(
            f"curves lack column(s) {', '.join(missing)}; a {task} run needs {', '.join(columns)}."
        )
    if len(curves) == 0:
        raise FitcheckError("curves have no rows; need one row per epoch.")
    table = curves.loc[:, list(columns)].copy()
    for name in columns:
        numeric = pd.to_numeric(table[name], errors="coerce")
        bad = numeric.isna() & table[name].notna() & ~table[name].astype(str).str.lower().isin(
            ("nan", "inf", "-inf", "infinity", "-infinity"))
        if bad.any():
            raise FitcheckError(
                f"column {name} holds a non-numeric value {table[name][bad].iloc[0]!r}; "
                "curves must be numbers (NaN and inf are allowed)."
            )
        table[name] = numeric.astype(float)
    if not np.all(np.isfinite(table["epoch"])) or (table["epoch"] < 1).any():
        raise FitcheckError("column epoch must hold whole numbers from 1 upwards.")
    if table["epoch"].duplicated().any():
        raise FitcheckError("column epoch repeats an epoch; need one row per epoch.")
    return table.sort_values("epoch").reset_index(drop=True)


def diverged_at(table: pd.DataFrame) -> int | None:
    """The first 1-based row at which the run diverged, or None.

    A run diverges at the first non-finite value in any curve, or where the training loss
    explodes: above its first value and more than ten times its minimum so far.
    """
    values = table.drop(columns="epoch").to_numpy()
    finite = np.isfinite(values).all(axis=1)
    train_loss = table["train_loss"].to_numpy()
    for row in range(len(table)):
        if not finite[row]:
            return row + 1
        best = np.min(train_loss[: row + 1])
        if row and train_loss[row] > train_loss[0] and train_loss[row] > EXPLOSION_FACTOR * max(best, 0.0):
            return row + 1
    return None
