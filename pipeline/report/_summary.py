"""Stage 2 of the report: turn a gathered :class:`LoggedSweep` into plain tables the figures and template use.

Pure: no MLflow, no matplotlib, no HTML. One row per trial in :func:`trial_frame`; per-axis summaries,
the label grid, advice and the curve payload the browser draws on demand are all derived from it.
"""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from pipeline import names
from pipeline.diagnostics import (LABEL_ADVICE, UNDECIDED_BIAS_ADVICE, concentration, curve_summary,
                                  data_size_verdict, rank_trials)
from pipeline.names import ENDED_EARLY, FAILED, GOOD_FIT, HIGH_VARIANCE, LABELS, NOT_RANKED, UNDIAGNOSED
from pipeline.report._gather import LoggedSweep, LoggedTrial

NOT_SHOWN_AXES = ("seed",)
TRIAL_COLUMNS = ("run_id", "run_name", "status", names.TRIAL_KEY_TAG, "label", "label_at_recommended",
                 "bias_undecided", "error", names.BEST_VAL, names.BEST_EPOCH, names.FINAL_TRAIN, names.FINAL_VAL, "gap",
                 names.RECOMMENDED_EPOCHS, "rec_train", "rec_val", names.N_PARAMETERS_PARAM, names.TRAIN_SECONDS,
                 names.N_TRAIN_PARAM, names.BORDERLINE, names.UNSTABLE, "still_learning")
#: Axes that do not make a configuration: its size (a learning curve's points are one configuration).
SIZE_AXES = ("train_size",)


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _trial_row(trial: LoggedTrial, task: str, axes: list[str]) -> dict:
    """One leaderboard row: the run's logged summary metrics, else the curve summary of its curves."""
    summary = {**curve_summary({key: [value for _, value in points] for key, points in trial.curves.items()},
                               task=task), **trial.summary}
    row = {axis: trial.params.get(axis) for axis in axes}
    row.update(
        run_id=trial.run_id, run_name=trial.run_name, status=trial.status, trial_key=trial.trial_key,
        label=trial.label or (FAILED if trial.status == "FAILED" else UNDIAGNOSED),
        label_at_recommended=trial.label_at_recommended, error=trial.error,
        bias_undecided=trial.bias_decided is False and trial.label in (GOOD_FIT, HIGH_VARIANCE),
        n_parameters=_number(trial.params.get(names.N_PARAMETERS_PARAM)),
        n_train=_number(trial.params.get(names.N_TRAIN_PARAM)),
        best_val=_number(summary.get(names.summary_metric(names.BEST_VAL, task))),
        best_epoch=_number(summary.get(names.BEST_EPOCH)),
        final_train=_number(summary.get(names.summary_metric(names.FINAL_TRAIN, task))),
        final_val=_number(summary.get(names.summary_metric(names.FINAL_VAL, task))),
        gap=_number(summary.get(names.VARIANCE_GAP)),
        recommended_epochs=_number(summary.get(names.RECOMMENDED_EPOCHS)),
        train_seconds=_number(summary.get(names.TRAIN_SECONDS)),
    )
    # the diagnosis's qualifiers, logged as 1.0 / 0.0 metrics (older runs lack them: False)
    row[names.BORDERLINE] = summary.get(names.BORDERLINE) == 1.0
    row[names.UNSTABLE] = summary.get(names.UNSTABLE) == 1.0
    row["still_learning"] = summary.get(names.CONVERGED) == 0.0
    if row["gap"] is None and row[names.FINAL_TRAIN] is not None and row[names.FINAL_VAL] is not None:
        row["gap"] = row[names.FINAL_VAL] - row[names.FINAL_TRAIN]
    row["rec_train"], row["rec_val"] = (_at_epoch(trial.curves.get(f"{split}_{names.task_metric(task)}", []),
                                                  row[names.RECOMMENDED_EPOCHS]) for split in ("train", "val"))
    # the diagnosis's own (smoothed) value at the recommended epoch ranks trials, as in the CLI summary
    row["rec_val"] = _number(summary.get(names.summary_metric(names.RECOMMENDED_VAL, task), row["rec_val"]))
    return row


def validation_values(trials: list[LoggedTrial], task: str) -> list[float | None]:
    """Each trial's ranking value, in the order given: its validation metric at the recommended epoch (its best
    where it has none); None for a trial that diverged, failed or was pruned, which is never a candidate."""
    values = []
    for trial in trials:
        row = _trial_row(trial, task, [])
        value = row["rec_val"] if row["rec_val"] is not None else row[names.BEST_VAL]
        values.append(None if row["label"] in NOT_RANKED else value)
    return values


def _at_epoch(curve: list[tuple[int, float]], epoch: float | None) -> float | None:
    """The curve's value at ``epoch`` (the model after that many epochs), if logged."""
    if epoch is None:
        return None
    return next((_number(value) for step, value in curve if step == int(epoch)), None)


def axes_of(sweep: LoggedSweep) -> list[str]:
    """Grid axes in :data:`names.AXES` order (then any others the grid names) that the trials carry as params."""
    present = {key for trial in sweep.trials for key in trial.params}
    return [axis for axis in names.AXES if axis in present] + sorted((set(sweep.grid) & present) - set(names.AXES))


def fixed_axes(frame: pd.DataFrame, axes: list[str]) -> dict[str, object]:
    """Axes with one value across the trials, and that value: the sweep's fixed settings."""
    return {axis: frame[axis].iloc[0] for axis in axes if len(frame) and frame[axis].astype(str).nunique() == 1}


def ranked(frame: pd.DataFrame, *, metric: str, n_val: int) -> pd.DataFrame:
    """Trials ranked by validation metric at their recommended epoch, with ties (within one standard
    error of the best) and the pick: the simplest of the tied (:func:`pipeline.diagnostics.rank_trials`).
    A pruned trial takes part in the ties (its value can defeat a lead) but is never the pick; diverged
    trials, trials without a value and the smaller sizes of a learning curve come last."""
    fitted = full_size(frame)
    fitted = fitted[~fitted["label"].isin(ENDED_EARLY)].assign(  # a pruned trial counts in the ties, never as the pick
        rec_val=lambda f: f["rec_val"].fillna(f[names.BEST_VAL]),
        n_parameters=lambda f: f[names.N_PARAMETERS_PARAM].fillna(0),
        eligible=lambda f: f["label"] != names.PRUNED)
    if fitted["rec_val"].notna().any():
        ranks = rank_trials(fitted, metric=metric, n_val=max(n_val, 1), value="rec_val",
                            parameters=names.N_PARAMETERS_PARAM, epochs=names.RECOMMENDED_EPOCHS)
        frame = frame.join(ranks[["rank", "se", "tied_with_best", "pick", "eligible"]])
    else:
        frame = frame.assign(rank=None, se=None, tied_with_best=False, pick=False)
    frame = frame.assign(tied_with_best=frame["tied_with_best"].fillna(False).astype(bool),
                         pick=frame["pick"].fillna(False).astype(bool))
    return frame.sort_values(["rank", names.N_PARAMETERS_PARAM], na_position="last", kind="stable").reset_index(
        drop=True)


def full_size(frame: pd.DataFrame, *, largest: float | None = None) -> pd.DataFrame:
    """The trials at the sweep's largest training size (``largest``, else the frame's; runs without
    ``n_train`` count as full): the ones ranked against each other; a learning curve's smaller sizes are
    evidence, not candidates."""
    largest = frame[names.N_TRAIN_PARAM].max() if largest is None else largest
    return frame[frame[names.N_TRAIN_PARAM].isna() | (frame[names.N_TRAIN_PARAM] == largest)]


def learning_curves(frame: pd.DataFrame, axes: list[str], *, metric: str, n_val: int,
                    reference: float | None) -> list[dict]:
    """Per configuration trained at two or more training sizes: its points (training rows, train and
    validation metric at the recommended epoch), its largest trial's name and label, and, from three
    sizes, the verdict on more data (:func:`pipeline.diagnostics.data_size_verdict`)."""
    config_axes = [axis for axis in axes if axis not in SIZE_AXES]
    fitted = frame[~frame["label"].isin(ENDED_EARLY) & frame[names.N_TRAIN_PARAM].notna() & frame["rec_val"].notna()]
    curves = []
    for _, group in fitted.groupby([fitted[axis].astype(str) for axis in config_axes], sort=False):
        group = group.sort_values(names.N_TRAIN_PARAM).drop_duplicates(names.N_TRAIN_PARAM, keep="last")
        if len(group) < 2:
            continue
        trains = group["rec_train"].tolist()
        has_train = all(_number(value) is not None for value in trains)
        verdict = None
        if len(group) >= 3 and n_val:
            verdict = data_size_verdict(group[names.N_TRAIN_PARAM].astype(int).tolist(), group["rec_val"].tolist(),
                                        n_val=n_val, metric=metric, reference_error=reference,
                                        train_metric=trains if has_train else None)
        last = group.iloc[-1]
        curves.append({"name": last["run_name"], "run_id": last["run_id"], "label": last["label"],
                       "n_train": group[names.N_TRAIN_PARAM].astype(int).tolist(), "val": group["rec_val"].tolist(),
                       "train": trains if has_train else None, "verdict": verdict})
    order = {names.MORE_DATA_YES: 0, names.MORE_DATA_NO: 1, names.MORE_DATA_CANNOT_TELL: 2}
    return sorted(curves, key=lambda curve: (order.get(curve["verdict"].more_data_helps, 3) if curve["verdict"]
                                             else 3, curve["val"][-1]))


def varying_axes(frame: pd.DataFrame, axes: list[str]) -> list[str]:
    """Axes with more than one value among the trials."""
    return [axis for axis in axes if frame[axis].astype(str).nunique() > 1]


def trial_frame(sweep: LoggedSweep) -> pd.DataFrame:
    """One row per trial: every axis, labels, best/final train and validation metric, gap, epochs."""
    axes = axes_of(sweep)
    rows = [_trial_row(trial, sweep.task, axes) for trial in sweep.trials]
    return pd.DataFrame(rows, columns=[*axes, *TRIAL_COLUMNS])


def label_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """``(label, count)`` in the fixed label order, only labels that occur."""
    counts = Counter(frame["label"])
    return [(label, counts[label]) for label in (*LABELS, UNDIAGNOSED) if counts[label]]


def _majority(labels: pd.Series) -> str:
    counts = Counter(labels)
    return max((*LABELS, UNDIAGNOSED), key=lambda label: (counts[label], -(*LABELS, UNDIAGNOSED).index(label)))


def value_order(values: pd.Series) -> list:
    """The distinct values of a column, numbers ascending, then strings."""
    unique = list(dict.fromkeys(values.dropna()))
    return sorted(unique, key=lambda value: (isinstance(value, str), value if not isinstance(value, str) else 0,
                                             str(value)))


def axis_effects(frame: pd.DataFrame, axis: str) -> list[dict]:
    """Per value of ``axis``: trial count, mean train/val metric and gap, and the share of each label."""
    effects = []
    for value in value_order(frame[axis]):
        group = frame[frame[axis] == value]
        fitted = group[~group["label"].isin(NOT_RANKED)]
        shares = [(label, count, count / len(group)) for label, count in label_counts(group)]
        effects.append({
            "value": value, "n": len(group), "train": fitted[names.FINAL_TRAIN].mean(), "val": fitted[names.FINAL_VAL].mean(),
            "gap": fitted["gap"].mean(), "gap_se": fitted["gap"].std() / math.sqrt(len(fitted)) if len(fitted) > 1
            else 0.0, names.BEST_VAL: fitted[names.BEST_VAL].min(), "majority": _majority(group["label"]), "shares": shares,
            "train_values": fitted[names.FINAL_TRAIN].dropna().tolist(), "val_values": fitted[names.FINAL_VAL].dropna().tolist(),
            "rec_train_values": fitted["rec_train"].dropna().tolist(), "rec_val_values": fitted["rec_val"].dropna().tolist(),
        })
    return effects


def label_grid(frame: pd.DataFrame, row_axis: str, column_axis: str) -> dict:
    """Majority label per (row value, column value) cell, with counts, e.g. depth x optimizer."""
    columns = value_order(frame[column_axis])
    rows = []
    for row_value in value_order(frame[row_axis]):
        cells = []
        for column_value in columns:
            group = frame[(frame[row_axis] == row_value) & (frame[column_axis] == column_value)]
            majority = _majority(group["label"]) if len(group) else None
            cells.append({"label": majority, "n": len(group),
                          "n_majority": int((group["label"] == majority).sum()) if majority else 0,
                          names.BEST_VAL: group[names.BEST_VAL].min() if len(group) else None})
        rows.append({"value": row_value, "cells": cells})
    return {"row_axis": row_axis, "column_axis": column_axis, "columns": columns, "rows": rows}


def grid_axes(frame: pd.DataFrame, axes: list[str]) -> tuple[str, str] | None:
    """The two axes for the label grid: depth x optimizer when both vary, else the first two that vary."""
    varying = [axis for axis in varying_axes(frame, axes) if axis not in NOT_SHOWN_AXES]
    preferred = [axis for axis in ("depth", "optimizer") if axis in varying]
    chosen = preferred + [axis for axis in varying if axis not in preferred]
    return (chosen[0], chosen[1]) if len(chosen) >= 2 else None


def best_trial(frame: pd.DataFrame) -> dict | None:
    """The trial with the lowest validation metric at its recommended epoch (the leaderboard's ranking
    value; the best validation value where there is none), among those that did not diverge or get pruned."""
    fitted = frame[~frame["label"].isin(NOT_RANKED)]
    value = fitted["rec_val"].fillna(fitted[names.BEST_VAL])
    return None if value.isna().all() else fitted.loc[value.idxmin()].to_dict()


def advice_items(frame: pd.DataFrame, axes: list[str], curves: list[dict] | None = None) -> list[dict]:
    """For each label that occurs: what it means, what to try next, where it concentrates, its best trial,
    and what the learning curves over training-set size (``curves``, :func:`learning_curves`) of its
    configurations say about more data."""
    items = []
    judged = [curve for curve in curves or [] if curve["verdict"] is not None]
    for label, count in label_counts(frame):
        headline, steps = LABEL_ADVICE[label]
        group = frame[frame["label"] == label]
        candidates = full_size(group, largest=frame[names.N_TRAIN_PARAM].max())  # not a learning curve's smaller sizes
        best = best_trial(candidates) if len(candidates) else None
        shown_axes = [axis for axis in varying_axes(frame, axes) if axis not in NOT_SHOWN_AXES]
        items.append({"label": label, "count": count, "headline": headline, "steps": [*steps, *_qualifiers(group)],
                      "where": concentration(frame, frame["label"] == label, axes=shown_axes), "best": best,
                      "data_size": [(curve["name"], curve["verdict"].advice) for curve in judged
                                    if curve["label"] == label]})
    undecided = frame[frame["bias_undecided"].fillna(False).astype(bool)]
    if len(undecided):
        headline, steps = UNDECIDED_BIAS_ADVICE
        items.append({"label": "bias_undecided", "count": len(undecided), "headline": headline, "steps": steps,
                      "where": None, "best": best_trial(undecided), "data_size": []})
    return items


def _qualifiers(group: pd.DataFrame) -> list[str]:
    """What qualifies a label's trials: how many are borderline, still learning or unstable, and what that means."""
    said = []
    for column, words in ((names.BORDERLINE, "borderline: a deciding quantity within one standard error of its "
                                             "threshold, so a few validation rows either way would change the label"),
                          ("still_learning", "still learning (converged: no): the training loss or error was still "
                                             "falling; train longer or raise the learning rate before judging capacity"),
                          (names.UNSTABLE, "unstable: a loss or the validation metric jumped far beyond its noise; "
                                           "lower the learning rate")):
        count = int(group[column].fillna(False).astype(bool).sum()) if column in group else 0
        if count:
            said.append(f"{count} of these {len(group)} trial{'s' if len(group) != 1 else ''} "
                        f"{'is' if count == 1 else 'are'} {words}.")
    return said


def _round(value: float) -> float | None:
    return float(f"{value:.4g}") if math.isfinite(value) else None


def curve_payload(sweep: LoggedSweep, frame: pd.DataFrame) -> dict:
    """The per-trial curves the browser draws on demand: compact, rounded to 4 significant digits."""
    metric = sweep.metric
    keys = (names.train_curve(metric), names.val_curve(metric), names.TRAIN_LOSS, names.VAL_LOSS)
    trials = []
    for trial, row in zip(sweep.trials, frame.itertuples(index=False)):
        trials.append({
            "id": trial.run_id, "name": trial.run_name, "label": row.label,
            "rec": _number(row.recommended_epochs), "best": _number(row.best_epoch),
            "curves": {key: [[step for step, _ in trial.curves[key]],
                             [_round(value) for _, value in trial.curves[key]]]
                       for key in keys if trial.curves.get(key)},
        })
    return {"metric": metric, "reference": _number(sweep.metrics.get(names.REFERENCE_ERROR)), "trials": trials}
