"""Checking that a diagnosis' advice never contradicts the curves it was made from.

Pure: re-reads the evidence from the curves and reports each contradiction in words; changes
nothing. Tests and the diagnostics benchmark run it over every run they have.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.diagnostics._advice import ADD_CAPACITY, STOP_EARLY, TRAIN_LONGER
from pipeline.diagnostics._curves import check_curves
from pipeline.diagnostics._result import Diagnosis
from pipeline.diagnostics._labels import DIVERGED, PROBLEMS, fit_label, label_improves
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._stopping import patience_floor
from pipeline.diagnostics._trend import training_trend

STOP_EARLY_PATTERN = re.compile(re.escape(STOP_EARLY).replace(re.escape("{k}"), r"(\d+)"))


def advice_contradictions(diagnosis: Diagnosis, curves: pd.DataFrame) -> list[str]:
    """Every way the diagnosis' advice or suggested stopping contradicts the curves; empty when none.

    The rules:

    * "train longer" only when the training metric still fell by more than its noise over the
      last part of the run (:func:`~pipeline.diagnostics._trend.training_trend`);
    * "add capacity" only for high bias whose training metric had stopped falling;
    * "stop early at epoch k" only when the label recomputed at epoch k from the curves (with
      the diagnosis' reference, thresholds and validation size) names fewer problems than the
      label at the end;
    * the suggested ``EarlyStopping`` patience is no smaller than the curve's noise floor.

    Parameters
    ----------
    diagnosis : Diagnosis
        What :func:`~pipeline.diagnostics.diagnose` returned for ``curves``.
    curves : DataFrame
        The curves it was made from (``epoch``, losses, ``train_<metric>``, ``val_<metric>``).

    Returns
    -------
    list of str
        One sentence per contradiction.
    """
    table = check_curves(curves, task=diagnosis.task)
    usable = diagnosis.epochs_run if diagnosis.diverged_epoch is None else diagnosis.diverged_epoch - 1
    train = table[f"train_{diagnosis.metric}"].to_numpy()[:usable]
    val = table[f"val_{diagnosis.metric}"].to_numpy()[:usable]
    text = diagnosis.advice.lower()
    found = []
    trend = training_trend(train, n_train=diagnosis.n_train, metric=diagnosis.metric) if usable else None
    if TRAIN_LONGER in text and not (trend and trend.falling):
        found.append(f"advises '{TRAIN_LONGER}' but the training {diagnosis.metric} did not fall by more than "
                     f"its noise over the last epochs" + _trend_words(trend))
    if ADD_CAPACITY in text:
        if "bias" not in PROBLEMS.get(diagnosis.label, ()):
            found.append(f"advises '{ADD_CAPACITY}' for a run labelled {diagnosis.label}")
        if not (trend and trend.converged):
            found.append(f"advises '{ADD_CAPACITY}' but the training {diagnosis.metric} had not stopped falling"
                         + _trend_words(trend))
    for match in STOP_EARLY_PATTERN.finditer(text):
        epoch = int(match.group(1))
        if not 1 <= epoch <= usable or epoch >= diagnosis.epochs_run:
            found.append(f"advises stopping at epoch {epoch}, which is not before the end of the run")
            continue
        at_epoch = _label_at(diagnosis, train[epoch - 1], val[epoch - 1])
        if not label_improves(at_epoch, over=diagnosis.label):
            found.append(f"advises stopping at epoch {epoch}, where the label is {at_epoch}: no better than "
                         f"{diagnosis.label} at the end")
    if diagnosis.early_stopping and diagnosis.recommended_epochs:
        floor = patience_floor(val, recommended_epochs=diagnosis.recommended_epochs,
                               min_delta=diagnosis.early_stopping["min_delta"])
        if diagnosis.early_stopping["patience"] < floor:
            found.append(f"suggests EarlyStopping patience {diagnosis.early_stopping['patience']}, below the "
                         f"{floor} epochs the curve's noise calls for")
    return found


def _label_at(diagnosis: Diagnosis, train: float, val: float) -> str:
    """The fit label of one epoch, judged with the diagnosis' reference, bars and validation size."""
    if not (np.isfinite(train) and np.isfinite(val)):
        return DIVERGED
    variance_bar = max(diagnosis.tolerance,
                       diagnosis.margin * metric_se(val, diagnosis.n_val, metric=diagnosis.metric))
    return fit_label(high_bias=train - diagnosis.reference_error > diagnosis.bias_threshold,
                     high_variance=val - train > variance_bar)


def _trend_words(trend) -> str:
    if trend is None:
        return ""
    return f" (fell {trend.drop:.3f} over the last {trend.epochs} epochs; noise {trend.noise:.3f})"
