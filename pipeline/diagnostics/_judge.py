"""Reading one run's curves: the epochs that matter, the label of one epoch, where to stop, the dynamics.

Pure: arrays in, plain values out; :func:`~pipeline.diagnostics.diagnose` assembles them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics._convergence import LossTrend, Stability, loss_trend, stability
from pipeline.diagnostics._curves import diverged_at
from pipeline.diagnostics._labels import DIVERGED, fit_label, label_improves
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._stopping import early_stopping_settings, recommend_stop, smooth
from pipeline.diagnostics._trend import MIN_TAIL, training_trend
from pipeline.errors import FitcheckError

STOP_DELTA_SES = 0.5
#: An error rate is too coarse to stop on when its standard error spans at most this many misclassified rows.
COARSE_STEPS = 3.0
#: At most this many standard errors above the reference, a validation metric is at the reference (memorised noise).
MEMORISED_SES = 1.645


@dataclass(frozen=True)
class RunCurves:
    """A run's curves as arrays, and the epochs that matter: usable (before any divergence) and described."""

    train: np.ndarray
    val: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    epochs: int
    usable: int
    end: int
    diverged_epoch: int | None


def run_curves(table: pd.DataFrame, *, metric: str, restored_epoch: int | None) -> RunCurves:
    diverged_epoch = diverged_at(table)
    usable = len(table) if diverged_epoch is None else diverged_epoch - 1
    if restored_epoch is not None and not (isinstance(restored_epoch, (int, np.integer))
                                           and 1 <= restored_epoch <= usable):
        raise FitcheckError(f"restored_epoch must be an epoch of the run before any divergence (1 to {usable}) "
                            f"but got {restored_epoch!r}.")
    return RunCurves(train=table[names.train_curve(metric)].to_numpy(), val=table[names.val_curve(metric)].to_numpy(),
                train_loss=table[names.TRAIN_LOSS].to_numpy(), val_loss=table[names.VAL_LOSS].to_numpy(),
                epochs=len(table), usable=usable, diverged_epoch=diverged_epoch,
                end=usable if restored_epoch is None else int(restored_epoch))  # the epoch of the model described


@dataclass(frozen=True)
class Judge:
    """The bars one epoch's training and validation metric are judged against."""

    metric: str
    n_train: int
    n_val: int
    reference: float
    reference_se: float
    margin: float
    tolerance: float
    memorised_rule: bool
    #: False when no reference can separate the training metric from what the task allows (a regression
    #: with none given): the label then never claims high bias.
    bias_known: bool = True

    def evidence(self, train: float, val: float) -> dict:
        """The label of one epoch, its deciding quantities, their bars and which are borderline.

        A significant gap whose validation metric is within ``margin`` standard errors of the reference,
        while the training metric is that far below it, is noise the network memorised: not high variance.
        Only with a given reference: an estimate sits at or above the Bayes error, so a validation metric
        near it may still hold variance that more data removes (the diagnostics benchmark measures it).
        """
        gap_se = metric_se(val, self.n_val, metric=self.metric)
        bias, gap = float(train - self.reference), float(val - train)
        bias_threshold = max(self.tolerance, self.margin * self.reference_se)
        variance_threshold = max(self.tolerance, self.margin * gap_se)
        train_se = metric_se(train, self.n_train, metric=self.metric)
        near = min(self.margin, MEMORISED_SES)  # a wider margin for the gap must not widen "at the reference"
        memorised = bool(self.memorised_rule and gap > variance_threshold
                         and val - self.reference <= near * math.hypot(gap_se, self.reference_se)
                         and self.reference - train > self.margin * math.hypot(train_se, self.reference_se))
        bias_se = math.hypot(metric_se(train, self.n_train, metric=self.metric), self.reference_se)
        borderline = tuple(name for name, value, bar, se in (("bias", bias, bias_threshold, bias_se),
                                                             ("variance", gap, variance_threshold, gap_se))
                           if abs(value - bar) <= se and (name != "bias" or self.bias_known))
        return {
            "epoch_train_metric": float(train), "epoch_val_metric": float(val),
            names.AVOIDABLE_BIAS: bias, names.VARIANCE_GAP: gap, names.VARIANCE_GAP_SE: gap_se,
            "bias_threshold": bias_threshold, "variance_threshold": variance_threshold,
            "borderline": borderline, "memorised_noise": memorised,
            "label": fit_label(high_bias=self.bias_known and bias > bias_threshold,
                               high_variance=gap > variance_threshold and not memorised),
        }


@dataclass(frozen=True)
class Stop:
    """Where to stop: the recommended epoch, its evidence and label, and the ``EarlyStopping`` settings."""

    recommended: int | None = None
    at_recommended: dict = field(default_factory=dict)
    label_at_recommended: str = DIVERGED
    recommended_val: float | None = None
    regret: float | None = None
    saved: int | None = None
    settings: dict | None = None
    stop_monitor: str | None = None
    worse_than_end: bool = False


@dataclass(frozen=True)
class Dynamics:
    """Still learning (``still_falling``: the training metric; ``loss_falling``), converged and unstable."""

    still_falling: bool
    loss_falling: bool
    converged: bool | None
    loss: LossTrend
    stability: Stability

    @property
    def unstable(self) -> bool:
        return self.stability.unstable


def _coarse(val: float, *, n_val: int, metric: str) -> bool:
    """An error rate whose standard error spans at most ``COARSE_STEPS`` misclassified rows of ``n_val``."""
    return metric == "error" and metric_se(val, n_val, metric=metric) * n_val <= COARSE_STEPS


def stop_at(run: RunCurves, *, judge: Judge, window: int, monitor: str, mode: str, final_label: str | None) -> Stop:
    """The recommended epoch, its evidence and the ``EarlyStopping`` settings that keep it.

    Where the error rate is too coarse on the validation rows to see an improvement (small validation
    sets), the validation loss decides among epochs whose smoothed error is within one standard error.
    ``worse_than_end``: the label at the recommended epoch names more problems than the label at the end
    (the diagnosis' notes say why).
    """
    if not run.usable:
        return Stop()
    val = run.val[:run.usable]
    smoothed = smooth(val, window=window)
    recommended, curve, stop_monitor, stop_mode = recommend_stop(val, window=window), val, monitor, mode
    min_delta = None
    losses = run.val_loss[:run.usable]
    if _coarse(float(smoothed[recommended - 1]), n_val=judge.n_val, metric=judge.metric) and len(val) > 1:
        loss_noise = float(np.std(losses - smooth(losses, window=window)))
        by_loss = recommend_stop(losses, window=window, min_delta=loss_noise)
        tied = smoothed[by_loss - 1] <= smoothed[recommended - 1] + metric_se(
            float(smoothed[recommended - 1]), judge.n_val, metric=judge.metric)
        if by_loss != recommended and tied:
            recommended, curve, stop_monitor, stop_mode = by_loss, losses, names.VAL_LOSS, "min"
            min_delta = loss_noise
    at_recommended = judge.evidence(run.train[recommended - 1], val[recommended - 1])
    worse = final_label is not None and label_improves(final_label, over=at_recommended["label"])
    best = float(np.min(val))
    if min_delta is None:
        min_delta = STOP_DELTA_SES * at_recommended[names.VARIANCE_GAP_SE]
    settings = early_stopping_settings(curve, recommended_epochs=recommended, min_delta=min_delta,
                                       monitor=stop_monitor, mode=stop_mode, window=window)
    return Stop(recommended=recommended, at_recommended=at_recommended,
                label_at_recommended=at_recommended["label"], recommended_val=float(smoothed[recommended - 1]),
                regret=float(val[recommended - 1] - best) / (best if best > 0 else 1.0),
                saved=run.epochs - recommended, settings=settings, stop_monitor=stop_monitor, worse_than_end=worse)


def dynamics_of(run: RunCurves, *, judge: Judge) -> Dynamics:
    """Still learning (the training metric or loss still falling beyond its noise), converged, unstable."""
    usable = run.usable
    trend = training_trend(run.train[:usable], n_train=judge.n_train, metric=judge.metric) if usable else None
    loss = loss_trend(run.train_loss[:usable])
    still_falling = bool(trend and trend.falling)
    converged = None if usable < MIN_TAIL else not (still_falling or loss.falling)
    shaky = stability(train_loss=run.train_loss[:usable], val_loss=run.val_loss[:usable], val_metric=run.val[:usable],
                      n_val=judge.n_val, metric=judge.metric)
    return Dynamics(still_falling=still_falling, loss_falling=loss.falling, converged=converged, loss=loss,
                    stability=shaky)
