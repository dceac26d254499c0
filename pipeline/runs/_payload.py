"""What a trial's MLflow run holds besides its per-epoch curves: summary metrics, tags, description and files.

One function builds it, for a trial that just ended, for a trial diagnosed later
(``reference_error: sweep``) and for a user's own run (``fitcheck diagnose --write``), so all
write the same things. Draws the PNG; never talks to MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.runs._descriptions import trial_description
from pipeline.runs._untrusted import one_line
from pipeline.diagnostics import Diagnosis, curve_summary


@dataclass(frozen=True)
class TrialPayload:
    """Summary metrics, tags and files (name to bytes) for one trial run."""

    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: dict[str, bytes]


def curves_frame(curves: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Curves as a table with a 1-based ``epoch`` column, one row per epoch."""
    frame = pd.DataFrame({name: pd.Series(values, dtype=float) for name, values in curves.items()})
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def recommended_train_metric(diagnosis: Diagnosis) -> dict[str, float]:
    """The training metric at the recommended epoch (``recommended_train_error``), beside the
    diagnosis's ``recommended_val_<metric>`` in MLflow's charts; empty where undefined or not finite."""
    value = diagnosis.at_recommended.get("epoch_train_metric")
    if value is None or not np.isfinite(value):
        return {}
    return {names.summary_metric(names.RECOMMENDED_TRAIN, diagnosis.task): float(value)}


def trial_payload(curves: Mapping[str, Sequence[float]], *, task: str, title: str,
                  diagnosis: Diagnosis | None = None, failure: str | None = None,
                  diverged_epoch: int | None = None, train_seconds: float | None = None,
                  reference_error: float | None = None, pruned_epoch: int | None = None,
                  stopped_epoch: int | None = None, kept_epoch: int | None = None,
                  kept_values: Mapping[str, float] | None = None, plot: bool = True) -> TrialPayload:
    """The metrics, tags and files of a trial run.

    Parameters
    ----------
    curves : mapping of curve name to per-epoch values
    task : {"binary", "multiclass", "regression"}
    title : str
        The trial's name, the plot's title.
    diagnosis : Diagnosis, optional
    failure : str, optional
        Why the trial failed; a failed trial is labelled ``diverged`` whatever its diagnosis.
    diverged_epoch, train_seconds, reference_error : optional
    pruned_epoch : int, optional
        The rung successive halving pruned the trial at: the label is ``pruned``, not a fit label.
    stopped_epoch, kept_epoch, kept_values : optional
        Early stopping: where the trial stopped, the epoch whose weights it kept, and the validation
        values measured again on those weights (``val_<metric>`` is logged as ``kept_val_<metric>``).
    plot : bool, default True
        Add ``curves.csv`` and the ``curves.png`` plot; False for a rewrite whose plot is unchanged or drawn later.
    """
    metrics: dict[str, float] = {} if train_seconds is None else {names.TRAIN_SECONDS: train_seconds}
    metrics.update(curve_summary(curves, task=task))
    tags: dict[str, str] = {names.NOTE_TAG: trial_description(
        diagnosis, failure=failure, diverged_epoch=diverged_epoch, pruned_epoch=pruned_epoch,
        stopped_epoch=stopped_epoch, kept_epoch=kept_epoch)}
    if stopped_epoch is not None:
        metric = names.val_curve(names.task_metric(task))
        metrics.update({names.STOPPED_EPOCH: stopped_epoch, names.KEPT_EPOCH: kept_epoch})
        if metric in (kept_values or {}):
            metrics[names.summary_metric(names.KEPT_VAL, task)] = kept_values[metric]
    artifacts: dict[str, bytes] = {}
    if diagnosis is not None:
        metrics.update(diagnosis.metrics())
        metrics.update(recommended_train_metric(diagnosis))
        tags.update(diagnosis.tags())  # the labels and whether the bias verdict is decided
        artifacts["diagnosis.json"] = json.dumps(diagnosis.to_dict(), indent=2, default=str).encode()
    if pruned_epoch is not None and failure is None:
        tags.update({names.DIAGNOSIS_TAG: names.PRUNED, names.DIAGNOSIS_AT_RECOMMENDED_TAG: names.PRUNED,
                     names.PRUNED_TAG: str(pruned_epoch)})
        # the MLflow view sorts by this metric: a trial cut short must not head it (its curves stay logged)
        metrics.pop(names.summary_metric(names.RECOMMENDED_VAL, task), None)
    if failure is not None:
        tags.update({names.DIAGNOSIS_TAG: names.DIVERGED if diverged_epoch else names.FAILED,
                     names.ERROR_TAG: one_line(failure)})
        if diverged_epoch:
            tags[names.DIVERGED_EPOCH_TAG] = str(diverged_epoch)
    if curves and plot:
        from pipeline.runs._plots import curve_plot_png

        artifacts["curves.csv"] = curves_frame(curves).to_csv(index=False).encode()
        artifacts["curves.png"] = curve_plot_png(
            curves, task=task, title=title, label=tags.get(names.DIAGNOSIS_TAG),
            recommended_epochs=diagnosis.recommended_epochs if diagnosis else None, reference_error=reference_error)
    return TrialPayload(metrics, tags, artifacts)
