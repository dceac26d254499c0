"""Whether the training metric was still falling at the end of a run, beyond its noise.

Pure: judges a curve and changes nothing. "Train longer" advice rests on this and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.diagnostics._noise import metric_se

TAIL_SHARE = 0.2
MIN_TAIL = 3


@dataclass(frozen=True)
class TrainingTrend:
    """The fall of the training metric over the last part of a run, and the noise it must beat.

    ``drop`` is the fall along a least-squares line through the last ``epochs`` epochs (positive:
    still falling); ``noise`` is the larger of the metric's standard error on the training
    rows and the scatter of those epochs around the line. ``falling`` is ``drop > noise``;
    ``converged`` is "enough epochs to tell, and not falling".
    """

    falling: bool
    converged: bool
    drop: float
    noise: float
    epochs: int


def training_trend(train_curve: np.ndarray, *, n_train: int, metric: str) -> TrainingTrend:
    """Whether the training metric still fell by more than its noise over the last fifth of the run.

    The last part is the last fifth of the epochs, at least three (all of them in shorter
    runs). With a single epoch nothing can be told: neither falling nor converged.

    Parameters
    ----------
    train_curve : array of shape (n_epochs,)
        Training metric per epoch (error rate or RMSE), finite.
    n_train : int
        Training rows the metric was measured on.
    metric : {"error", "rmse"}

    Examples
    --------
    >>> training_trend(np.array([0.5, 0.4, 0.3, 0.25, 0.2]), n_train=1000, metric="error").falling
    True
    >>> training_trend(np.full(10, 0.2), n_train=1000, metric="error").converged
    True
    """
    values = np.asarray(train_curve, dtype=float)
    if len(values) < 2:
        return TrainingTrend(falling=False, converged=False, drop=0.0,
                             noise=metric_se(float(values[-1]), n_train, metric=metric) if len(values) else 0.0,
                             epochs=len(values))
    tail, drop, scatter = tail_fit(values)
    epochs = len(tail)
    noise = max(metric_se(float(tail[-1]), n_train, metric=metric), scatter)
    falling = drop > noise
    return TrainingTrend(falling=falling, converged=not falling, drop=drop, noise=noise, epochs=epochs)


def tail_fit(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The last part of a curve (``TAIL_SHARE`` of it, at least ``MIN_TAIL`` epochs), how much a straight line
    fitted to it falls across it, and the scatter around that line: ``(tail, drop, scatter)``."""
    epochs = min(len(values), max(MIN_TAIL, math.ceil(TAIL_SHARE * len(values))))
    tail = values[-epochs:]
    steps = np.arange(epochs, dtype=float)
    slope, intercept = np.polyfit(steps, tail, 1)
    scatter = float(np.std(tail - (slope * steps + intercept), ddof=2)) if epochs > 2 else 0.0
    return tail, float(-slope * (epochs - 1)), scatter
