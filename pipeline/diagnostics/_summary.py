"""A run's curve summary: best and final values of the task metric, and the best epoch."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pipeline import names


def curve_summary(curves: Mapping[str, Sequence[float]], *, task: str) -> dict[str, float]:
    """``best_val_<metric>``, ``best_epoch`` (1-based), ``final_val_<metric>`` and ``final_train_<metric>``.

    The best epoch is the first with the lowest finite validation value; the final values are
    the last epoch's, finite or not. Returns ``{}`` when no validation value is finite.

    Examples
    --------
    >>> curve_summary({"train_error": [0.3, 0.2, 0.1], "val_error": [0.4, 0.25, 0.3]}, task="binary")
    {'best_val_error': 0.25, 'best_epoch': 2, 'final_val_error': 0.3, 'final_train_error': 0.1}
    """
    val = list(curves.get(names.val_curve(names.task_metric(task)), []))
    train = list(curves.get(names.train_curve(names.task_metric(task)), []))
    finite = [(value, epoch) for epoch, value in enumerate(val, start=1) if math.isfinite(value)]
    if not finite:
        return {}
    best_value, best_epoch = min(finite)
    summary = {names.summary_metric(names.BEST_VAL, task): best_value, names.BEST_EPOCH: best_epoch,
               names.summary_metric(names.FINAL_VAL, task): val[-1]}
    if train:
        summary[names.summary_metric(names.FINAL_TRAIN, task)] = train[-1]
    return summary
