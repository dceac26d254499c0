"""Whether a run was still learning, or unstable, judged on its loss curves beside its task metric.

Pure: judges curves and changes nothing. The 0/1 error can sit flat while the loss still falls (a
learning rate too small): "add capacity" must not be read off the error alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import names
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._trend import MIN_TAIL, tail_fit

#: A loss still falls when its tail's fall beats its scatter and holds at least this share of the run's
#: whole fall: a converged curve has spent its fall early, a still-learning one keeps a steady share.
MIN_TAIL_SHARE_OF_FALL = 0.05
#: Below this relative fall a loss is flat whatever its scatter (float noise of a flat curve).
MIN_RELATIVE_FALL = 1e-4
#: One-epoch rises that are instability, not noise: of the validation metric, in its standard errors (and at
#: least ``UNSTABLE_METRIC_FLOOR`` of an error rate); of a loss, relative to its value the epoch before.
UNSTABLE_METRIC_SES = 5.0
UNSTABLE_METRIC_FLOOR = 0.05
UNSTABLE_TRAIN_LOSS_RISE = 0.5
UNSTABLE_VAL_LOSS_RISE = 1.0
#: A loss is judged against at least this share of its first value: a memorised training loss near 0 may double.
LOSS_SCALE_FLOOR = 0.5


@dataclass(frozen=True)
class LossTrend:
    """The fall of a loss over the last part of a run against its scatter, and the run's whole fall."""

    falling: bool
    drop: float
    noise: float
    total_drop: float
    epochs: int


@dataclass(frozen=True)
class Stability:
    """Whether, and where first, a curve jumped up by much more than its noise in one epoch."""

    unstable: bool
    epoch: int | None = None
    curve: str | None = None
    rise: float = 0.0


def loss_trend(loss_curve: np.ndarray) -> LossTrend:
    """Whether a loss still fell over the last fifth of the run (at least 3 epochs) beyond its scatter.

    The fall is along a least-squares line through the tail; the noise is the tail's scatter around it.
    A fall counts when it beats the noise and is at least 5% of the run's whole fall (first epoch to
    the tail's end): a curve that spent its fall early has converged even if it creeps down smoothly.

    Examples
    --------
    >>> loss_trend(np.linspace(2.406, 2.360, 20)).falling
    True
    >>> loss_trend(0.3 + np.exp(-0.5 * np.arange(30))).falling
    False
    """
    values = np.asarray(loss_curve, dtype=float)
    if len(values) < MIN_TAIL or not np.all(np.isfinite(values)):
        return LossTrend(falling=False, drop=0.0, noise=0.0, total_drop=0.0, epochs=len(values))
    tail, drop, scatter = tail_fit(values)
    epochs = len(tail)
    total = float(values[0] - np.mean(tail[-2:]))
    floor = MIN_RELATIVE_FALL * max(abs(float(tail[-1])), 1e-12)
    falling = drop > max(scatter, floor) and drop >= MIN_TAIL_SHARE_OF_FALL * max(total, 0.0)
    return LossTrend(falling=falling, drop=drop, noise=max(scatter, floor), total_drop=total, epochs=epochs)


def stability(*, train_loss: np.ndarray, val_loss: np.ndarray, val_metric: np.ndarray, n_val: int,
              metric: str) -> Stability:
    """The first one-epoch jump that noise cannot explain: a learning rate too high, short of divergence.

    The validation metric jumps when it rises by more than 5 of its standard errors on ``n_val`` rows
    (and, for an error rate, by more than 5 points); a loss when it rises by more than half its value
    (training) or doubles (validation) from one epoch to the next, its value taken as at least half
    of its first one. A steady rise (over-fitting) moves
    a little every epoch and is not a jump.

    Examples
    --------
    >>> val = np.array([0.30, 0.083, 0.507, 0.367, 0.233, 0.12, 0.09])
    >>> stability(train_loss=np.linspace(1, 0.2, 7), val_loss=np.linspace(1, 0.3, 7), val_metric=val,
    ...           n_val=300, metric="error").epoch
    3
    """
    val_metric = np.asarray(val_metric, dtype=float)
    first: Stability = Stability(unstable=False)
    for index in range(1, len(val_metric)):
        before, now = float(val_metric[index - 1]), float(val_metric[index])
        floor = UNSTABLE_METRIC_FLOOR if metric == "error" else 0.0
        bar = max(UNSTABLE_METRIC_SES * metric_se(max(before, now), n_val, metric=metric), floor)
        if now - before > bar:
            first = Stability(unstable=True, epoch=index + 1, curve=names.val_curve(metric), rise=now - before)
            break
    for name, curve, share in ((names.TRAIN_LOSS, train_loss, UNSTABLE_TRAIN_LOSS_RISE),
                               (names.VAL_LOSS, val_loss, UNSTABLE_VAL_LOSS_RISE)):
        values = np.asarray(curve, dtype=float)
        if len(values) < 2:
            continue
        rises = values[1:] - values[:-1]
        scale = np.maximum(values[:-1], LOSS_SCALE_FLOOR * abs(float(values[0])))  # a loss near 0 jitters
        jumps = np.flatnonzero((values[:-1] > 0) & (rises > share * scale))
        if jumps.size and (first.epoch is None or jumps[0] + 2 < first.epoch):
            first = Stability(unstable=True, epoch=int(jumps[0]) + 2, curve=name, rise=float(rises[jumps[0]]))
    return first
