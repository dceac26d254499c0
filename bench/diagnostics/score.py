"""Score fitcheck's diagnostics and stopping rule against the corpus truth, next to the peers.

    .venv/bin/python bench/diagnostics/score.py [--corpus bench/diagnostics/corpus]

Truth comes from data the diagnostics never see: avoidable bias = final training metric - Bayes
error (eta, or sigma for regression); variance = final metric on 20,000 fresh points - final
training metric. Each is clearly high at or above HIGH, clearly not at or below LOW, and a run
with either inside the grey band between is left out of label scoring. Regression amounts are
in units of sigma. Stopping regret is the fresh-sample metric at the chosen epoch relative to
its minimum over all epochs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import generate  # noqa: E402
import peers  # noqa: E402

from pipeline.diagnostics import (  # noqa: E402
    LABELS,
    advice_contradictions,
    cap_reference,
    diagnose,
    online_stop,
    recommend_stop,
)
from pipeline.diagnostics._noise import metric_se  # noqa: E402

BAND = {"error": (0.01, 0.03), "rmse": (0.05, 0.15)}  # (LOW, HIGH); rmse in units of sigma
FIT_LABELS = LABELS[:4]
MARGINS = (0, 1, 1.645, 2, 3)
STOPPING_RULE = "fitcheck recommended_epochs (offline)"
KERAS_TEN = "Keras EarlyStopping patience 10"


def truth(run: pd.Series, curves: pd.DataFrame) -> str | None:
    """The true label at the final epoch, or None inside the grey band."""
    metric = "rmse" if run.task == "regression" else "error"
    low, high = BAND[metric]
    scale = run.bayes_error if metric == "rmse" else 1.0
    train, fresh = curves[f"train_{metric}"].iloc[-1], curves[f"fresh_{metric}"].iloc[-1]
    bias, variance = (train - run.bayes_error) / scale, (fresh - train) / scale
    if low < bias < high or low < variance < high:
        return None
    return peers._label(bias >= high, variance >= high)


def best_reached(runs: pd.DataFrame, curves: dict, split: str = "val") -> dict:
    """Per dataset: the lowest metric on ``split`` any of its runs reached at any epoch.

    On ``"val"`` this is the sweep's own fallback reference; on ``"fresh"`` it is the best
    true error any trained model reached, which no estimate built from a trained model beats.
    """
    best: dict = {}
    for run in runs.itertuples():
        metric = "rmse" if run.task == "regression" else "error"
        value = curves[run.run_id][f"{split}_{metric}"].min()
        best[run.data_seed] = min(best.get(run.data_seed, np.inf), value)
    return best


def capped_references(runs: pd.DataFrame, curves: dict) -> dict:
    """Per dataset: its estimated reference capped as the sweep caps it (``cap_reference``): by the
    lowest validation metric its runs reached, plus the allowance for picking the best of K runs."""
    best = best_reached(runs, curves, "val")
    capped = {}
    for data_seed, group in runs.groupby("data_seed"):
        run = group.iloc[0]
        capped[data_seed] = cap_reference(run.reference_estimated, best_val=best[data_seed], n_val=int(run.n_val),
                                          n_trials=len(group), metric="rmse" if run.task == "regression" else "error")
    return capped


REFERENCES = {  # name: (reference error of a run, given its dataset's best values; source)
    "given (the Bayes error)": (lambda run, best: run.bayes_error, "given"),
    "estimated (as the sweep does: lower of trees and linear)": (
        lambda run, best: run.reference_estimated, "estimated"),
    "trees alone (HistGradientBoosting)": (lambda run, best: run.reference_hgb, "estimated"),
    "linear model alone": (lambda run, best: run.reference_linear, "estimated"),
    "estimated, capped by the sweep's best (cap_reference, as the sweep does)": (
        lambda run, best: best["capped"][run.data_seed].value, "estimated"),
    "estimated, min with the sweep's best validation": (
        lambda run, best: min(run.reference_estimated, best["val"][run.data_seed]), "estimated"),
    "best fresh-sample error any run reached (oracle)": (
        lambda run, best: best["fresh"][run.data_seed], "estimated"),
    "none (taken as 0)": (lambda run, best: None, "given"),
    "half the estimate (undershoots)": (lambda run, best: 0.5 * run.reference_estimated, "estimated"),
}


def _fit_label(run, curves: dict, reference, source: str, **options) -> str:
    return diagnose(curves[run.run_id], task=run.task, n_train=run.n_train, n_val=run.n_val,
                    reference_error=reference, reference_source=source, **options).label


def reference_sensitivity(runs: pd.DataFrame, curves: dict, scored: pd.DataFrame) -> pd.DataFrame:
    """fitcheck's label accuracy with each reference, and how it treats the true good fits."""
    best = {split: best_reached(runs, curves, split) for split in ("val", "fresh")}
    best["capped"] = capped_references(runs, curves)
    truth_of = scored.set_index("run_id")["truth"]
    table = runs[runs["run_id"].isin(truth_of.index)]
    part_two = table["family"].isin(generate.PARTS[1])
    rows = {}
    for name, (reference, source) in REFERENCES.items():
        labels = pd.Series([_fit_label(run, curves, reference(run, best), source)
                            for run in table.itertuples()], index=table["run_id"])
        right = labels == truth_of[labels.index]
        good = truth_of[labels.index] == "good_fit"
        rows[name] = {
            "label accuracy": right.mean(),
            "balanced (mean recall of the labels)": right.groupby(truth_of[labels.index]).mean().mean(),
            f"nonlinear rules ({(~part_two).sum()})": right[~part_two.to_numpy()].mean(),
            f"linear rules ({part_two.sum()})": right[part_two.to_numpy()].mean(),
            f"true good fits kept ({good.sum()})": f"{(labels[good] == 'good_fit').sum()}",
        }
    return pd.DataFrame(rows).T


def reference_ceiling(runs: pd.DataFrame, curves: dict, scored: pd.DataFrame) -> tuple[int, int]:
    """Most scored runs labelled right by any one estimated reference per dataset that is not
    below the best error reached there (either baseline's cross-validated error, or any run's
    validation or fresh-sample error): the ceiling of estimates built from trained models."""
    best = {split: best_reached(runs, curves, split) for split in ("val", "fresh")}
    truth_of = scored.set_index("run_id")["truth"]
    correct = 0
    for data_seed, group in runs[runs["run_id"].isin(truth_of.index)].groupby("data_seed"):
        run = group.iloc[0]
        floor = min(run.reference_estimated, best["val"][data_seed], best["fresh"][data_seed])
        correct += max(
            sum(_fit_label(other, curves, reference, "estimated") == truth_of[other.run_id]
                for other in group.itertuples())
            for reference in np.linspace(floor, 1.5 * floor, 51)
        )
    return correct, len(truth_of)


def label_table(runs: pd.DataFrame, curves: dict) -> pd.DataFrame:
    """One row per run: truth and every labeller's label."""
    capped = capped_references(runs, curves)
    rows = []
    for run in runs.itertuples():
        run_curves = curves[run.run_id]
        metric = "rmse" if run.task == "regression" else "error"
        rows.append({
            "run_id": run.run_id, "family": run.family, "kind": run.kind,
            "n_train": run.n_train, "truth": truth(run, run_curves),
            "fitcheck (given)": _fit_label(run, curves, run.bayes_error, "given"),
            "fitcheck (estimated)": _fit_label(run, curves, run.reference_estimated, "estimated"),
            "fitcheck (estimated, capped)": _fit_label(run, curves, capped[run.data_seed].value, "estimated"),
            "fixed threshold (given)": peers.fixed_threshold(run_curves, metric=metric,
                                                             reference=run.bayes_error),
            "fixed threshold (estimated)": peers.fixed_threshold(run_curves, metric=metric,
                                                                 reference=run.reference_estimated),
            "sk-autod": peers.sk_autod(run_curves),
            "trainspotter": peers.trainspotter(run_curves),
        })
    return pd.DataFrame(rows)


def margin_sensitivity(runs: pd.DataFrame, curves: dict, scored_ids: set) -> pd.DataFrame:
    """fitcheck's label accuracy on the scored runs for several margins (in standard errors)."""
    rows = {}
    for margin in MARGINS:
        for source in ("given", "estimated"):
            correct = []
            for run in runs[runs["run_id"].isin(scored_ids)].itertuples():
                reference = run.bayes_error if source == "given" else run.reference_estimated
                label = _fit_label(run, curves, reference, source, margin=margin)
                correct.append(label == truth(run, curves[run.run_id]))
            rows.setdefault(f"margin {margin:g} SE", {})[f"reference {source}"] = np.mean(correct)
    return pd.DataFrame(rows).T


def stopping_table(runs: pd.DataFrame, curves: dict) -> pd.DataFrame:
    """One row per run and stopping rule: epochs trained, epoch kept and regret on fresh data."""
    rows = []
    for run in runs.itertuples():
        run_curves = curves[run.run_id]
        metric = "rmse" if run.task == "regression" else "error"
        val = run_curves[f"val_{metric}"].to_numpy()
        fresh = run_curves[f"fresh_{metric}"].to_numpy()
        train_loss = run_curves["train_loss"].to_numpy()
        recommended = diagnose(run_curves, task=run.task, n_train=run.n_train, n_val=run.n_val,
                               reference_error=run.bayes_error).recommended_epochs
        noise = metric_se(val.min(), run.n_val, metric=metric)
        cheaper = {f"fitcheck recommend_stop, min_delta {d:g} SE": recommend_stop(val, min_delta=d * noise)
                   for d in (0.25, 0.5)}
        smoothed_minimum = recommend_stop(val, patience=len(val))
        rules = {
            STOPPING_RULE: (recommended, recommended),
            "previous rule: first minimum of the smoothed curve": (smoothed_minimum, smoothed_minimum),
            **{rule: (epochs, epochs) for rule, epochs in cheaper.items()},
            "fitcheck online (smoothed, patience 5)": online_stop(val, patience=5),
            "Keras EarlyStopping patience 5": peers.keras_patience(val, patience=5),
            KERAS_TEN: peers.keras_patience(val, patience=10),
            **{f"Prechelt GL_{a:g}": peers.prechelt_gl(val, alpha=a) for a in (1, 2, 5)},
            **{f"Prechelt PQ_{a:g} (k=5)": peers.prechelt_pq(val, train_loss, alpha=a) for a in (0.5, 1, 2)},
            **{f"Prechelt UP_{s} (k=5)": peers.prechelt_up(val, successive=s) for s in (2, 3)},
            "raw argmin of validation (full run)": (len(val), int(np.argmin(val)) + 1),
        }
        for rule, (trained, kept) in rules.items():
            rows.append({"run_id": run.run_id, "rule": rule, "epochs_trained": trained,
                         "epoch_kept": kept, "epochs_run": len(val),
                         "regret": (fresh[kept - 1] - fresh.min()) / fresh.min()})
    return pd.DataFrame(rows)


def confusion(labels: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows: truth; columns: predicted."""
    return pd.crosstab(labels["truth"], labels[column]).reindex(
        index=FIT_LABELS, columns=FIT_LABELS, fill_value=0)


def markdown(frame: pd.DataFrame, formats: dict | None = None) -> str:
    """A pipe table of ``frame`` (index first); ``formats`` maps a column to a format spec."""
    formats = formats or {}
    header = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        cells = [format(value, formats.get(column, "")) for column, value in row.items()]
        lines.append("| " + " | ".join([str(index), *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus")
    args = parser.parse_args()
    runs = pd.read_csv(args.corpus / "runs.csv").sort_values("run_id")
    curves = {run_id: pd.read_csv(args.corpus / "curves" / f"{run_id}.csv") for run_id in runs["run_id"]}
    labels = label_table(runs, curves)
    scored = labels[labels["truth"].notna()]
    print(f"corpus: {len(runs)} runs, {sum(len(c) for c in curves.values())} epochs; "
          f"{len(scored)} scored, {len(labels) - len(scored)} in the grey band "
          f"(classification {BAND['error']}, regression {BAND['rmse']} x sigma)\n")
    print("truth labels:", scored["truth"].value_counts().to_dict(), "\n")
    labellers = [c for c in labels.columns if c not in ("run_id", "family", "kind", "n_train", "truth")]
    columns = {"label accuracy": [(scored[c] == scored["truth"]).mean() for c in labellers],
               "correct": [f"{(scored[c] == scored['truth']).sum()}/{len(scored)}" for c in labellers]}
    for size, group in scored.groupby("n_train"):
        columns[f"{size} train rows ({len(group)})"] = [(group[c] == group["truth"]).mean() for c in labellers]
    accuracy = pd.DataFrame(columns, index=labellers)
    print("## Label accuracy (scored runs)\n")
    print(markdown(accuracy, {c: ".1%" for c in accuracy.columns if c != "correct"}), "\n")
    for column in ("fitcheck (given)", "fitcheck (estimated)"):
        print(f"## Confusion matrix, {column} (rows: truth, columns: predicted)\n")
        print(markdown(confusion(scored, column)), "\n")
    capped = capped_references(runs, curves)
    print(f"Estimated reference capped by the sweep's best validation error (cap_reference) on "
          f"{sum(c.capped for c in capped.values())} of {len(capped)} datasets; label accuracy with the "
          f"reference estimated: {(scored['fitcheck (estimated)'] == scored['truth']).mean():.1%} before the cap, "
          f"{(scored['fitcheck (estimated, capped)'] == scored['truth']).mean():.1%} after\n")
    print("## fitcheck label accuracy by reference error (scored runs)\n")
    sensitivity = reference_sensitivity(runs, curves, scored)
    print(markdown(sensitivity, {c: ".1%" for c in sensitivity.columns[:4]}), "\n")
    reached, total = reference_ceiling(runs, curves, scored)
    print(f"Ceiling of estimates built from trained models (one reference per dataset, chosen "
          f"with hindsight, never below the best error reached there): {reached}/{total} = "
          f"{reached / total:.1%}\n")
    print("## fitcheck label accuracy by margin (scored runs)\n")
    print(markdown(margin_sensitivity(runs, curves, set(scored["run_id"])),
                   {"reference given": ".1%", "reference estimated": ".1%"}), "\n")
    stops = stopping_table(runs, curves)
    summary = stops.groupby("rule", sort=False).agg(
        median_regret=("regret", "median"),
        p90_regret=("regret", lambda r: r.quantile(0.9)),
        mean_epochs_trained=("epochs_trained", "mean"),
        mean_epoch_kept=("epoch_kept", "mean"),
    )
    print(f"## Early stopping ({len(runs)} runs, mean run length "
          f"{stops.groupby('run_id')['epochs_run'].first().mean():.1f} epochs)\n")
    print(markdown(summary, {"median_regret": ".2%", "p90_regret": ".2%",
                             "mean_epochs_trained": ".1f", "mean_epoch_kept": ".1f"}), "\n")
    ours, keras = summary.loc[STOPPING_RULE], summary.loc[KERAS_TEN]
    print(f"Against {KERAS_TEN}: median regret {ours.median_regret:.2%} vs {keras.median_regret:.2%}, "
          f"p90 {ours.p90_regret:.2%} vs {keras.p90_regret:.2%}, mean recommended epochs "
          f"{ours.mean_epochs_trained:.1f} vs 0.8 x {keras.mean_epochs_trained:.1f} = "
          f"{0.8 * keras.mean_epochs_trained:.1f}\n")
    found = contradictions(runs, curves)
    print(f"## Advice contradictions: {len(found)} in {2 * len(runs)} diagnoses (reference given and estimated)\n")
    for line in found:
        print(f"* {line}")


def contradictions(runs: pd.DataFrame, curves: dict) -> list[str]:
    """Every run's advice checked against its curves, with the reference given and estimated."""
    found = []
    for run in runs.itertuples():
        for reference, source in ((run.bayes_error, "given"), (run.reference_estimated, "estimated")):
            diagnosis = diagnose(curves[run.run_id], task=run.task, n_train=run.n_train, n_val=run.n_val,
                                 reference_error=reference, reference_source=source)
            found += [f"{run.run_id} ({source}): {line}"
                      for line in advice_contradictions(diagnosis, curves[run.run_id])]
    return found


if __name__ == "__main__":
    main()
