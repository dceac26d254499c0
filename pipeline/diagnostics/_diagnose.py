"""``diagnose``: label a run's fit from its curves and recommend where it should have stopped."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics._advice import advice, advice_items
from pipeline.diagnostics._curves import check_curves, checked_metric
from pipeline.diagnostics._judge import Dynamics, Judge, RunCurves, Stop, dynamics_of, run_curves, stop_at
from pipeline.diagnostics._labels import DIVERGED, GOOD_FIT, HIGH_VARIANCE
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._result import Diagnosis
from pipeline.diagnostics._stopping import DEFAULT_WINDOW
from pipeline.errors import FitcheckError
from pipeline.names import KERAS_VAL_ACCURACY, KERAS_VAL_RMSE, REFERENCE_SOURCES

DEFAULT_MARGIN = 1.645
ERROR_TOLERANCE = 0.02
RMSE_RELATIVE_TOLERANCE = 0.1
ESTIMATED_NOTE = ("the reference is an estimate (a baseline's cross-validated error, or the sweep's "
                  "best validation error), which sits at or above the Bayes error: avoidable bias "
                  "smaller than that excess goes unseen; give reference_error when a Bayes or "
                  "human-level error is known")
RUNNING_NOTE = ("training values are Keras running averages over each epoch (with dropout on), "
                "not an end-of-epoch evaluation: they overstate the training error")


def diagnose(
    curves: pd.DataFrame, *, task: str, n_train: int, n_val: int, reference_error: float | None = None,
    reference_source: str = "given", margin: float = DEFAULT_MARGIN, tolerance: float | None = None,
    window: int = DEFAULT_WINDOW, running_train: bool = False, monitor: str | None = None,
    restored_epoch: int | None = None, config: Mapping[str, object] | None = None,
) -> Diagnosis:
    """Label a run high bias, high variance, both or a good fit, and say when to stop.

    Avoidable bias is the training metric minus the reference error; the variance gap is
    the validation metric minus the training metric. Each counts as high only when it
    exceeds both ``tolerance`` (the smallest difference worth acting on) and ``margin``
    standard errors of its noise: the binomial SE of the validation error given ``n_val``
    (``rmse / sqrt(2 n_val)`` for RMSE) for the gap, and the SE of the reference itself
    when it was estimated rather than given. A significant gap whose validation metric is within
    noise of a given reference, the training metric below it, is memorised noise, not high variance. Whether the run
    was still learning or unstable is read from the loss curves too (``converged``, ``unstable``).

    Parameters
    ----------
    curves : DataFrame
        One row per epoch (``epoch`` 1-based) with ``train_loss``, ``val_loss`` and
        ``train_error``/``val_error`` (classification) or ``train_rmse``/``val_rmse``
        (regression), the training values measured at epoch end in inference mode.
    task : {"binary", "multiclass", "regression"}
    n_train, n_val : int
        Sizes of the training and validation splits.
    reference_error : float, optional
        Bayes, human-level or baseline error. None treats it as 0 and says so with
        ``reference_source="assumed_zero"``.
    reference_source : {"given", "estimated", "sweep_best_val"}, default "given"
        Where the reference came from; an estimate's own standard error widens the bias bar
        (on ``n_train`` rows for ``"estimated"``, ``n_val`` for ``"sweep_best_val"``).
    margin : float, default 1.645
        How many standard errors a gap must exceed to count: a one-sided test at the 5% level
        (the question is whether validation is *worse* than training, not whether it differs).
    tolerance : float, optional
        Smallest gap that matters: 0.02 (two percentage points) for error rates; for RMSE,
        10% of the reference error, or of the best validation RMSE when the reference is 0.
    window : int, default 5
        Smoothing window (odd, in epochs) of :func:`recommend_stop`.
    running_train : bool, default False
        The training curve is Keras's running average (autolog, ``MlflowCallback``); noted.
    monitor : str, optional
        The validation metric's name in the caller's logs, for the suggested ``EarlyStopping``:
        Keras' ``val_accuracy`` (maximised; the default for classification) or fitcheck's
        ``val_error``; ``val_root_mean_squared_error`` (the default for regression) or
        ``val_rmse``. fitcheck's own runs log ``val_error`` / ``val_rmse``.
    restored_epoch : int, optional
        The epoch (1-based) whose weights the run kept after training on, as an early stop that
        restores weights does (``FitDiagnostics(stop=True)``, ``EarlyStopping(restore_best_weights=True)``).
        The label, the evidence and the advice then describe that model rather than the last epoch
        trained; the recommendation and the ``EarlyStopping`` settings still read the whole curve.
    config : mapping, optional
        What the run used (``optimizer``, ``learning_rate``, ``epochs``, ``depth``, ``width``, ``l2``,
        ``dropout``, ``batch_size``, ``n_train``, a builder's hyperparameters): each advice item then names
        the change from its value to the next one (``Diagnosis.advice_items``), never one it already has.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> curves = pd.DataFrame({"epoch": [1], "train_loss": [0.1], "val_loss": [0.5],
    ...                        "train_error": [0.01], "val_error": [0.11]})
    >>> diagnose(curves, task="binary", n_train=10_000, n_val=10_000).label
    'high_variance'
    """
    metric = checked_metric(task)
    _check_arguments(n_train=n_train, n_val=n_val, margin=margin, reference_error=reference_error,
                     reference_source=reference_source)
    monitor, mode = _monitor(monitor, metric)
    table = check_curves(curves, task=task)
    if reference_error is None:
        reference_error, reference_source = 0.0, "assumed_zero"
    run = run_curves(table, metric=metric, restored_epoch=restored_epoch)
    if tolerance is None:
        tolerance = _default_tolerance(metric, reference_error, run.val[:run.usable])
    reference_rows = {"estimated": n_train, "sweep_best_val": n_val}.get(reference_source)
    reference_se = 0.0 if reference_rows is None else metric_se(reference_error, reference_rows, metric=metric)
    judge = Judge(metric=metric, n_train=n_train, n_val=n_val, reference=reference_error,
                   reference_se=reference_se, margin=margin, tolerance=tolerance,
                   memorised_rule=reference_source == names.REFERENCE_GIVEN,
                   bias_known=not (reference_source == "assumed_zero" and task == names.REGRESSION))
    final = judge.evidence(run.train[run.end - 1], run.val[run.end - 1]) if run.end else {}
    label = DIVERGED if run.diverged_epoch is not None and restored_epoch is None else final["label"]
    stop = stop_at(run, judge=judge, window=window, monitor=monitor, mode=mode, final_label=final.get("label"))
    dynamics = dynamics_of(run, judge=judge)
    bias_decided = _bias_decided(final, reference_se=reference_se, margin=margin, tolerance=tolerance)
    notes = _notes(run, final=final, label=label, stop=stop, dynamics=dynamics, running_train=running_train,
                   reference_source=reference_source, reference_rows=reference_rows, judge=judge,
                   bias_decided=bias_decided)
    return _assemble(run, final=final, label=label, stop=stop, dynamics=dynamics, judge=judge, notes=notes,
                     task=task, reference_source=reference_source, bias_decided=bias_decided,
                     restored=restored_epoch is not None, config=dict(config or {}))


def _assemble(run: RunCurves, *, final: dict, label: str, stop: Stop, dynamics: Dynamics, judge: Judge, notes: tuple,
              task: str, reference_source: str, bias_decided: bool, restored: bool, config: dict) -> Diagnosis:
    """The :class:`Diagnosis` of the judged pieces, its advice worded from them and the configuration."""
    bias_decided = bias_decided and judge.bias_known
    end_val = _number(run.val[run.end - 1]) if run.end else None
    stop_gain = (stop.recommended is not None and stop.recommended < run.end and end_val is not None
                 and stop.recommended_val is not None
                 and end_val - stop.recommended_val > judge.margin * metric_se(end_val, judge.n_val, metric=judge.metric))
    worded = dict(still_falling=dynamics.still_falling, converged=dynamics.converged,
                  label_at_recommended=stop.label_at_recommended, recommended_epochs=stop.recommended,
                  epochs_run=run.end if restored else run.epochs, config=config,
                  loss_falling=dynamics.loss_falling, unstable=dynamics.unstable,
                  memorised_noise=final.get("memorised_noise", False), stop_gain=stop_gain)
    return Diagnosis(
        label=label, label_at_recommended=stop.label_at_recommended, recommended_epochs=stop.recommended,
        epochs_run=run.epochs, n_train=int(judge.n_train), n_val=int(judge.n_val), task=task, metric=judge.metric,
        # the same epoch as the evidence: the restored one, else the last, or the last before a divergence
        train_metric=_number(run.train[run.end - 1]) if run.end else None,
        val_metric=_number(run.val[run.end - 1]) if run.end else None,
        reference_error=float(judge.reference), reference_source=reference_source,
        avoidable_bias=final.get(names.AVOIDABLE_BIAS), variance_gap=final.get(names.VARIANCE_GAP),
        variance_gap_se=final.get(names.VARIANCE_GAP_SE), bias_threshold=final.get("bias_threshold"),
        variance_threshold=final.get("variance_threshold"), converged=dynamics.converged,
        still_falling=dynamics.still_falling, bias_decided=bias_decided,
        recommended_val_metric=stop.recommended_val, regret=stop.regret, epochs_saved=stop.saved,
        early_stopping=stop.settings, advice=advice(label, bias_decided=bias_decided, **worded),
        margin=float(judge.margin), tolerance=float(judge.tolerance), diverged_epoch=run.diverged_epoch,
        at_recommended=stop.at_recommended, notes=notes, unstable=dynamics.unstable,
        unstable_epoch=dynamics.stability.epoch, loss_falling=dynamics.loss_falling,
        borderline=tuple(final.get("borderline", ())), memorised_noise=bool(final.get("memorised_noise", False)),
        evidence_epoch=run.end or None, stop_monitor=stop.stop_monitor, reference_se=float(judge.reference_se),
        advice_items=advice_items(label, bias_decided=bias_decided, **worded), config=config,
    )


def reference_from_sweep(val_metrics) -> float:
    """The last-resort reference error: the best (lowest) finite validation metric of a sweep.

    Examples
    --------
    >>> reference_from_sweep([0.2, float("nan"), 0.15])
    0.15
    """
    values = np.asarray(list(val_metrics), dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise FitcheckError("no finished trial has a finite validation metric to use as reference.")
    return float(values.min())


def _notes(run: RunCurves, *, final: dict, label: str, stop: Stop, dynamics: Dynamics, running_train: bool,
           reference_source: str, reference_rows: int | None, judge: Judge, bias_decided: bool) -> tuple[str, ...]:
    """What the label cannot say by itself: how the curves were measured and what the data cannot tell."""
    notes = (RUNNING_NOTE,) if running_train else ()
    if reference_source in ("estimated", "sweep_best_val") and label in (GOOD_FIT, HIGH_VARIANCE):
        notes += (ESTIMATED_NOTE,)
    if reference_source == "assumed_zero" and not judge.bias_known:
        notes += ("no reference error was given: for a regression nothing separates the training RMSE from "
                  "the noise the target holds, so the bias is not judged; give reference_error to judge it",)
    elif reference_source == "assumed_zero":
        notes += ("no reference error was given: it is taken as 0, so all training error counts "
                  "as avoidable bias",)
    if run.end != run.usable:
        notes += (f"the weights were restored to epoch {run.end} of the {run.epochs} trained: the label, evidence "
                  f"and advice describe that model",)
    if dynamics.converged is False:
        loss = dynamics.loss
        notes += ("still learning: the training " + (f"loss fell {loss.drop:.3g} over the last {loss.epochs} epochs "
                  f"(noise {loss.noise:.2g})" if loss.falling else f"{judge.metric} was still falling") +
                  ": train longer or raise the learning rate before judging capacity",)
    shaky = dynamics.stability
    if shaky.unstable:
        notes += (f"unstable: {shaky.curve} rose {shaky.rise:.3g} in one epoch at epoch {shaky.epoch}, far beyond its "
                  "noise: lower the learning rate",)
    if final.get("memorised_noise"):
        notes += (f"the gap ({final[names.VARIANCE_GAP]:.2g}) is noise the network memorised: the validation "
                  f"{judge.metric} is within noise of the reference, so it is not high variance and more data "
                  "would not lower it",)
    for quantity in final.get("borderline", ()):
        value, bar = ((final[names.AVOIDABLE_BIAS], final["bias_threshold"]) if quantity == "bias"
                      else (final[names.VARIANCE_GAP], final["variance_threshold"]))
        notes += (f"borderline {quantity}: {value:.2g} is within one standard error of its threshold {bar:.2g}; "
                  "a few validation rows either way would change the label",)
    if stop.stop_monitor == names.VAL_LOSS:
        notes += (f"the validation {judge.metric} moves in steps near its standard error on {judge.n_val} rows: "
                  "the recommended epoch and the EarlyStopping settings follow the validation loss",)
    end_val = float(run.val[run.end - 1]) if run.end else math.nan
    if (stop.recommended is not None and stop.recommended < run.end and stop.recommended_val is not None
            and stop.recommended_val - end_val > judge.margin * metric_se(end_val, judge.n_val, metric=judge.metric)):
        notes += (f"the last epoch's validation {judge.metric} ({end_val:.3g}) is lower than the smoothed value at "
                  f"the recommended epoch ({stop.recommended_val:.3g}) beyond its noise: the curve improved again "
                  "after the stop rule settled" + (" (the run is unstable: a jump inflates the smoothed values "
                  "around it)" if shaky.unstable else "") + "; keep the last epoch's weights, or stop with a "
                  "longer patience",)
    if stop.worse_than_end:
        notes += (f"at the recommended epoch {stop.recommended} the label is {stop.label_at_recommended}, "
                  f"worse than {final['label']} at the end: the smoothed validation {judge.metric} is lowest there "
                  "(within noise of later epochs), but the training metric had not come down yet; train to the "
                  "end for the better-fitting model at about the same validation error",)
    return notes + _detection_notes(final, n_val=judge.n_val, reference_rows=reference_rows,
                                    reference_source=reference_source, reference_se=judge.reference_se,
                                    margin=judge.margin, tolerance=judge.tolerance, bias_decided=bias_decided)


def _default_tolerance(metric: str, reference: float, val: np.ndarray) -> float:
    if metric == "error":
        return ERROR_TOLERANCE
    scale = reference if reference > 0 else (float(np.min(val)) if len(val) else 0.0)
    return RMSE_RELATIVE_TOLERANCE * scale


def _bias_decided(final: dict, *, reference_se: float, margin: float, tolerance: float) -> bool:
    """Whether the bias verdict at the end holds anywhere within the reference's uncertainty.

    High bias is decided (an estimate sits at or above the Bayes error, so the true bias is
    larger still). No high bias is decided only if a reference ``margin`` standard errors lower
    would still leave the bias within ``tolerance``. A given reference has no uncertainty.
    """
    if not final or reference_se == 0.0 or final[names.AVOIDABLE_BIAS] > final["bias_threshold"]:
        return True
    return final[names.AVOIDABLE_BIAS] + margin * reference_se <= tolerance


def _detection_notes(final: dict, *, n_val: int, reference_rows: int | None, reference_source: str,
                     reference_se: float, margin: float, tolerance: float, bias_decided: bool) -> tuple[str, ...]:
    """Plain words for what the validation size and the reference's uncertainty cannot tell."""
    notes: tuple[str, ...] = ()
    if not final:
        return notes
    gap, variance_bar = final[names.VARIANCE_GAP], margin * final[names.VARIANCE_GAP_SE]
    if gap <= final["variance_threshold"] and variance_bar > tolerance:
        notes += (f"with {n_val} validation rows a gap under {variance_bar:.2g} cannot be told from noise "
                  f"(this run's gap: {gap:.2g})",)
    if not bias_decided:
        where = ("the sweep's best validation error" if reference_source == names.REFERENCE_SWEEP_BEST
                 else "the training split")
        notes += (f"the reference was estimated from {where} ({reference_rows} rows, standard error "
                  f"{reference_se:.2g}): avoidable bias under {margin * reference_se:.2g} cannot be told from "
                  f"its uncertainty, so this run's {final[names.AVOIDABLE_BIAS]:.2g} leaves the bias verdict undecided",)
    return notes


def _monitor(monitor: str | None, metric: str) -> tuple[str, str]:
    """The ``EarlyStopping`` monitor name and its mode; the name must be one the logs can hold."""
    modes = ({KERAS_VAL_RMSE: "min", names.val_curve(metric): "min"} if metric == "rmse"
             else {KERAS_VAL_ACCURACY: "max", names.val_curve(metric): "min"})
    if monitor is None:
        return next(iter(modes.items()))
    if monitor not in modes:
        raise FitcheckError(f"monitor must be one of {', '.join(modes)} but got {monitor!r}.")
    return monitor, modes[monitor]


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _check_arguments(*, n_train, n_val, margin, reference_error, reference_source) -> None:
    for name, value in (("n_train", n_train), ("n_val", n_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise FitcheckError(f"{name} must be a positive whole number but got {value!r}.")
    if not margin >= 0:
        raise FitcheckError(f"margin cannot be negative but got {margin!r}.")
    if reference_error is not None and not (math.isfinite(reference_error) and reference_error >= 0):
        raise FitcheckError(f"reference_error must be a finite number >= 0 but got {reference_error!r}.")
    if reference_source not in REFERENCE_SOURCES:
        raise FitcheckError(
            f"reference_source must be one of {', '.join(REFERENCE_SOURCES)} but got {reference_source!r}."
        )
