"""Ranking a sweep's trials without mistaking noise for a winner: the one-standard-error rule.

Pure: tables in, tables and sentences out. Never reads MLflow; the caller gathers one row per
trial (its smoothed validation metric at the recommended epoch, size and epochs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics._noise import metric_se
from pipeline.errors import FitcheckError
from pipeline.names import GOOD_FIT


def mlp_parameter_count(depth: int, width: int, n_features: int, n_outputs: int) -> int:
    """Weights and biases of fitcheck's MLP: ``depth`` hidden layers of ``width`` units.

    ``n_outputs`` is the output layer's units: 1 for binary tasks (sigmoid, or one linear unit
    for hinge losses) and regression, the number of classes for softmax heads. ``width`` is
    ignored when ``depth`` is 0 (fitcheck logs width 0 for such trials).

    Examples
    --------
    >>> mlp_parameter_count(0, 0, 20, 1), mlp_parameter_count(2, 32, 20, 1)
    (21, 1761)
    """
    minimums = {"depth": (depth, 0), "width": (width, 1 if depth else 0), "n_features": (n_features, 1),
                "n_outputs": (n_outputs, 1)}
    for name, (value, minimum) in minimums.items():
        if value < minimum:
            raise FitcheckError(f"{name} must be a whole number >= {minimum} but got {value!r}.")
    sizes = [n_features] + [width] * depth + [n_outputs]
    return int(sum((inputs + 1) * outputs for inputs, outputs in zip(sizes[:-1], sizes[1:])))


def rank_trials(frame: pd.DataFrame, *, metric: str, n_val: int, value: str = "recommended_val",
                parameters: str = "n_parameters", epochs: str = names.RECOMMENDED_EPOCHS,
                label: str = "label_at_recommended", eligible: str = "eligible") -> pd.DataFrame:
    """Rank trials by a validation metric (lower is better) and mark those tied with the best.

    A trial is tied with the best when its value is within one standard error of the best
    value (the metric's SE on ``n_val`` rows at the best value, as in the one-standard-error
    rule). Among the tied trials one whose label at its recommended epoch is a good fit is
    preferred (when the frame has a ``label`` column), then the simplest: fewest parameters,
    then fewest epochs, then the best value. Trials without a finite value are ranked last and
    never tied.

    Parameters
    ----------
    frame : DataFrame
        One row per trial with columns ``value``, ``parameters`` and ``epochs``.
    metric : {"error", "rmse"}
    n_val : int
        Validation rows the values were measured on.
    value, parameters, epochs : str
        Column names: the smoothed validation metric at the recommended epoch
        (``Diagnosis.recommended_val_metric``), a size (``mlp_parameter_count``, or any
        capacity proxy where larger is more complex) and the recommended epochs.
    label : str, default "label_at_recommended"
        Column of each trial's label at its recommended epoch (``Diagnosis.label_at_recommended``); optional.
    eligible : str, default "eligible"
        Optional boolean column: False for a trial that takes part in the ranking and the ties but
        cannot be the pick (one pruned before its last epoch: its value still defeats a claim that
        another configuration leads). The pick is the preferred eligible tied trial, else the best
        eligible one.

    Returns
    -------
    DataFrame
        ``frame`` (same index) with ``rank`` (1 is best; equal values share a rank), ``se``,
        ``tied_with_best`` and ``pick`` (True for exactly one row when any value is finite).

    Examples
    --------
    >>> trials = pd.DataFrame({"recommended_val": [0.150, 0.147, 0.160, 0.30],
    ...                        "n_parameters": [5377, 200_000, 1000, 21], "recommended_epochs": [40, 30, 50, 10]})
    >>> ranked = rank_trials(trials, metric="error", n_val=150)
    >>> ranked[["rank", "tied_with_best", "pick"]].values.tolist()
    [[2, True, False], [1, True, False], [3, True, True], [4, False, False]]
    """
    missing = [column for column in (value, parameters, epochs) if column not in frame.columns]
    if missing:
        raise FitcheckError(f"the trials table must have columns {value}, {parameters}, {epochs} "
                            f"but lacks {', '.join(missing)}.")
    ranked = frame.copy()
    values = pd.to_numeric(ranked[value], errors="coerce").astype(float)
    finite = np.isfinite(values)
    ranked["rank"] = values.where(finite).rank(method="min", na_option="bottom").astype(int)
    ranked["se"] = [metric_se(v, n_val, metric=metric) if ok else np.nan for v, ok in zip(values, finite)]
    ranked["tied_with_best"] = False
    ranked["pick"] = False
    if finite.any():
        best = values[finite].idxmin()
        ranked["tied_with_best"] = finite & (values <= values[best] + ranked.at[best, "se"])
        not_good = (ranked[label] != GOOD_FIT) if label in ranked.columns else False
        can_pick = (ranked[eligible].fillna(True).astype(bool) if eligible in ranked.columns
                    else pd.Series(True, index=ranked.index)) & finite
        candidates = ranked.assign(_value=values, _not_good=not_good)  # filtered after: an empty frame would
        tied = candidates[ranked["tied_with_best"] & can_pick]          # take an assigned column's rows
        if tied.empty:  # only trials that cannot be picked are tied with the best: the best of the others
            others = candidates[can_pick].assign(_not_good=False)
            tied = others[others["_value"] == others["_value"].min()]
        if len(tied):
            pick = tied.sort_values(["_not_good", parameters, epochs, "_value"], kind="stable").index[0]
            ranked.loc[pick, "pick"] = True
    return ranked


def ranking_sentence(ranked: pd.DataFrame, *, n_val: int, name: str | None = None) -> str:
    """One plain sentence on how many trials the validation set can tell apart from the best.

    Parameters
    ----------
    ranked : DataFrame
        The output of :func:`rank_trials`.
    n_val : int
        Validation rows.
    name : str, optional
        A column naming each trial; the pick is then named.

    Examples
    --------
    >>> trials = pd.DataFrame({"recommended_val": [0.150, 0.147, 0.160, 0.158], "name": list("abcd"),
    ...                        "n_parameters": [5377, 200_000, 1000, 900], "recommended_epochs": [40, 30, 50, 60]})
    >>> ranked = rank_trials(trials, metric="error", n_val=150)
    >>> print(ranking_sentence(ranked, n_val=150, name="name"))  # doctest: +NORMALIZE_WHITESPACE
    4 configurations are indistinguishable on 150 validation rows (within one standard error, 0.029,
    of the best); the simplest of them, d, is recommended.
    """
    tied = ranked[ranked["tied_with_best"]]
    if tied.empty or not ranked["pick"].any():
        return "No trial has a finite validation metric to rank."
    best = ranked.loc[ranked["rank"].idxmin()]
    pick = ranked[ranked["pick"]].iloc[0]
    named = f", {pick[name]}," if name else ""
    stopped = int((~tied["eligible"].fillna(True).astype(bool)).sum()) if "eligible" in tied.columns else 0
    if len(tied) == 1 and bool(pick["tied_with_best"]):
        return (f"The best configuration{named} leads the others by more than one standard error "
                f"({best['se']:.2g}) on {n_val} validation rows.")
    if not bool(pick["tied_with_best"]):
        return (f"The best validation value on {n_val} validation rows belongs to {len(tied)} configuration"
                f"{'s' * (len(tied) > 1)} stopped by pruning before the last epoch; of those trained to the end, "
                f"the best{named} is recommended (train the pruned one{'s' * (len(tied) > 1)} to the end to compare).")
    pruned = f" ({stopped} of them pruned before the last epoch)" if stopped else ""
    return (f"{len(tied)} configurations are indistinguishable on {n_val} validation rows (within one "
            f"standard error, {best['se']:.2g}, of the best){pruned}; the simplest "
            f"{'fully trained ' if stopped else ''}of them{named} is recommended.")
