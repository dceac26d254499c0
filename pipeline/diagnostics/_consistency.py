"""Checking that a diagnosis' advice never contradicts the curves it was made from.

Pure: re-reads the evidence from the curves and reports each contradiction in words; changes
nothing. Tests and the diagnostics benchmark run it over every run they have.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics._advice import ADD_CAPACITY, LOWER_LEARNING_RATE, MORE_DATA, RAISE_LEARNING_RATE, STOP_EARLY, TRAIN_LONGER
from pipeline.diagnostics._convergence import loss_trend
from pipeline.diagnostics._curves import check_curves
from pipeline.diagnostics._judge import MEMORISED_SES
from pipeline.diagnostics._remedies import ADAPTIVE
from pipeline.diagnostics._result import Diagnosis
from pipeline.diagnostics._labels import DIVERGED, PROBLEMS, fit_label, label_improves
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._stopping import patience_floor
from pipeline.diagnostics._trend import training_trend

STOP_EARLY_PATTERN = re.compile(re.escape(STOP_EARLY).replace(re.escape("{k}"), r"(\d+)"))


def advice_contradictions(diagnosis: Diagnosis, curves: pd.DataFrame) -> list[str]:
    """Every way the diagnosis' advice or suggested stopping contradicts the curves; empty when none.

    The rules:

    * "train longer" and "raise the learning rate" only when the training metric or the training loss
      still fell by more than its noise over the last part of the run (:func:`~pipeline.diagnostics._trend.training_trend`,
      :func:`~pipeline.diagnostics.loss_trend`), and the latter not for an unstable run;
    * "lower the learning rate" only for an unstable or diverged run;
    * "add capacity" only for high bias whose training metric had stopped falling, and never as the first
      change while the training loss still falls;
    * every advice item changes a value of the run's configuration (``Diagnosis.config``) it names from that
      value to another: no "switch the optimizer" for an adaptive one, no "loosen regularisation" for none;
    * "get more training data" never where the gap is memorised noise (validation within noise of the reference);
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
    train = table[names.train_curve(diagnosis.metric)].to_numpy()[:usable]
    val = table[names.val_curve(diagnosis.metric)].to_numpy()[:usable]
    text = diagnosis.advice.lower()
    found = []
    trend = training_trend(train, n_train=diagnosis.n_train, metric=diagnosis.metric) if usable else None
    loss = loss_trend(table[names.TRAIN_LOSS].to_numpy()[:usable])
    learning = bool(trend and trend.falling) or loss.falling
    if TRAIN_LONGER in text and not learning:
        found.append(f"advises '{TRAIN_LONGER}' but neither the training {diagnosis.metric} nor the training loss "
                     f"fell by more than its noise over the last epochs" + _trend_words(trend))
    if RAISE_LEARNING_RATE in text and (not learning or diagnosis.unstable):
        found.append(f"advises '{RAISE_LEARNING_RATE}' for a run that was not still learning or was unstable")
    if LOWER_LEARNING_RATE in text and not (diagnosis.unstable or diagnosis.label == DIVERGED):
        found.append(f"advises '{LOWER_LEARNING_RATE}' for a run that was neither unstable nor diverged")
    if ADD_CAPACITY in text:
        if "bias" not in PROBLEMS.get(diagnosis.label, ()):
            found.append(f"advises '{ADD_CAPACITY}' for a run labelled {diagnosis.label}")
        if not (trend and trend.converged):
            found.append(f"advises '{ADD_CAPACITY}' but the training {diagnosis.metric} had not stopped falling"
                         + _trend_words(trend))
        if loss.falling and text.split(": ", 1)[-1].startswith(ADD_CAPACITY):
            found.append(f"advises '{ADD_CAPACITY}' first while the training loss still fell "
                         f"({loss.drop:.3g} over the last {loss.epochs} epochs; noise {loss.noise:.2g})")
    found += _config_contradictions(diagnosis)
    if MORE_DATA in text and usable and _memorised(diagnosis, train[-1], val[-1]):
        found.append(f"advises '{MORE_DATA}' but the validation {diagnosis.metric} is within noise of the reference")
    for match in STOP_EARLY_PATTERN.finditer(text):
        epoch = int(match.group(1))
        if not 1 <= epoch <= usable or epoch >= diagnosis.epochs_run:
            found.append(f"advises stopping at epoch {epoch}, which is not before the end of the run")
            continue
        at_epoch = _label_at(diagnosis, train[epoch - 1], val[epoch - 1])
        gain = (diagnosis.recommended_val_metric is not None and diagnosis.val_metric is not None
                and diagnosis.val_metric - diagnosis.recommended_val_metric
                > diagnosis.margin * metric_se(diagnosis.val_metric, diagnosis.n_val, metric=diagnosis.metric))
        if not (label_improves(at_epoch, over=diagnosis.label) or gain):
            found.append(f"advises stopping at epoch {epoch}, where the label is {at_epoch}: no better than "
                         f"{diagnosis.label} at the end")
    if diagnosis.early_stopping and diagnosis.recommended_epochs:
        floor = patience_floor(val, recommended_epochs=diagnosis.recommended_epochs,
                               min_delta=diagnosis.early_stopping["min_delta"])
        if diagnosis.early_stopping["patience"] < floor:
            found.append(f"suggests EarlyStopping patience {diagnosis.early_stopping['patience']}, below the "
                         f"{floor} epochs the curve's noise calls for")
    return found


def _config_contradictions(diagnosis: Diagnosis) -> list[str]:
    """Advice items that propose what the run already has, or change a value it did not use."""
    found = []
    for item in diagnosis.advice_items:
        known = diagnosis.config.get(item.axis)
        if item.to is not None and item.to == item.from_:
            found.append(f"advises '{item.change}', which keeps {item.axis} at {item.from_}")
        if known is not None and item.from_ is not None and item.axis != "epochs" and item.from_ != known:
            found.append(f"advises '{item.change}' but the run used {item.axis} {known}")
        if item.axis == "optimizer" and str(known).lower() in ADAPTIVE:
            found.append(f"advises '{item.change}' for a run that already used the adaptive optimizer {known}")
        if item.change.startswith("loosen regularisation") and not _positive(known):
            found.append(f"advises '{item.change}' for a run with {item.axis} {known}")
    return found


def _positive(value) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _memorised(diagnosis: Diagnosis, train: float, val: float) -> bool:
    """A significant gap whose validation metric is within noise of the given reference, the training metric below it."""
    if diagnosis.reference_source != "given" or not (np.isfinite(train) and np.isfinite(val)):
        return False
    se = metric_se(val, diagnosis.n_val, metric=diagnosis.metric)
    train_se = metric_se(train, diagnosis.n_train, metric=diagnosis.metric)
    return (val - train > max(diagnosis.tolerance, diagnosis.margin * se)
            and val - diagnosis.reference_error <= min(diagnosis.margin, MEMORISED_SES) * math.hypot(
                se, diagnosis.reference_se)
            and diagnosis.reference_error - train > diagnosis.margin * math.hypot(train_se, diagnosis.reference_se))


def _label_at(diagnosis: Diagnosis, train: float, val: float) -> str:
    """The fit label of one epoch, judged with the diagnosis' reference, bars and validation size."""
    if not (np.isfinite(train) and np.isfinite(val)):
        return DIVERGED
    variance_bar = max(diagnosis.tolerance,
                       diagnosis.margin * metric_se(val, diagnosis.n_val, metric=diagnosis.metric))
    return fit_label(high_bias=train - diagnosis.reference_error > diagnosis.bias_threshold,
                     high_variance=val - train > variance_bar and not _memorised(diagnosis, train, val))


def _trend_words(trend) -> str:
    if trend is None:
        return ""
    return f" (fell {trend.drop:.3f} over the last {trend.epochs} epochs; noise {trend.noise:.3f})"
