"""Advice never contradicts the curves: every benchmark run, and hand-made contradictions the checker catches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.diagnostics import advice_contradictions, diagnose

BENCH = Path(__file__).resolve().parents[2] / "bench" / "diagnostics"


def corpus_runs(name: str):
    runs = pd.read_csv(BENCH / name / "runs.csv")
    for run in runs.itertuples():
        yield run, pd.read_csv(BENCH / name / "curves" / f"{run.run_id}.csv")


@pytest.mark.parametrize("corpus", ["corpus", "corpus_holdout"])
def test_no_benchmark_run_gets_advice_its_curves_contradict(corpus):
    found, diagnosed = [], 0
    for run, curves in corpus_runs(corpus):
        for reference, source in ((run.bayes_error, "given"), (run.reference_estimated, "estimated")):
            diagnosis = diagnose(curves, task=run.task, n_train=run.n_train, n_val=run.n_val,
                                 reference_error=reference, reference_source=source)
            found += [f"{run.run_id} ({source}): {line}" for line in advice_contradictions(diagnosis, curves)]
            diagnosed += 1
    assert diagnosed == 352
    assert found == []


def table(train, val):
    train, val = np.asarray(train, dtype=float), np.asarray(val, dtype=float)
    return pd.DataFrame({"epoch": np.arange(1, len(train) + 1), "train_loss": train * 2, "val_loss": val * 2,
                         "train_error": train, "val_error": val})


def test_train_longer_on_a_flat_training_curve_is_caught():
    curves = table(np.full(30, 0.3), np.full(30, 0.31))
    d = diagnose(curves, task="binary", n_train=1000, n_val=1000, reference_error=0.05)
    assert d.advice.startswith("High bias: add capacity")
    wrong = dataclasses.replace(d, advice="High bias: train longer or raise the learning rate.")
    assert advice_contradictions(d, curves) == []
    assert advice_contradictions(wrong, curves) == [
        "advises 'train longer' but neither the training error nor the training loss fell by more than its noise "
        "over the last epochs (fell 0.000 over the last 6 epochs; noise 0.014)",
        "advises 'raise the learning rate' for a run that was not still learning or was unstable"]


def test_add_capacity_while_training_still_falls_or_without_bias_is_caught():
    falling = table(np.linspace(0.5, 0.3, 30), np.linspace(0.5, 0.3, 30) + 0.01)
    d = diagnose(falling, task="binary", n_train=1000, n_val=1000, reference_error=0.05)
    assert d.advice.startswith("High bias, still learning: train longer (epochs 30 → 90)")
    wrong = dataclasses.replace(d, advice="High bias: add capacity (more units or layers).")
    assert advice_contradictions(wrong, falling) == [
        "advises 'add capacity' but the training error had not stopped falling (fell 0.034 over the last 6 "
        "epochs; noise 0.014)",
        "advises 'add capacity' first while the training loss still fell (0.069 over the last 6 epochs; noise 6e-05)"]
    good = diagnose(table(np.full(30, 0.1), np.full(30, 0.1)), task="binary", n_train=1000, n_val=1000,
                    reference_error=0.1)
    wrong = dataclasses.replace(good, advice="Good fit: add capacity anyway.")
    assert advice_contradictions(wrong, table(np.full(30, 0.1), np.full(30, 0.1))) == [
        "advises 'add capacity' for a run labelled good_fit"]


def test_stop_early_where_the_label_is_no_better_is_caught():
    # high variance throughout: stopping at epoch 5 leaves it high variance
    curves = table(np.linspace(0.2, 0.01, 30), np.linspace(0.35, 0.30, 30))
    d = diagnose(curves, task="binary", n_train=1000, n_val=1000, reference_error=0.17)
    assert d.label == "high_variance"
    wrong = dataclasses.replace(d, advice="High variance: stop early at epoch 5.")
    assert advice_contradictions(wrong, curves) == [
        "advises stopping at epoch 5, where the label is high_variance: no better than high_variance at the end"]


def test_patience_below_the_noise_floor_is_caught():
    rng = np.random.default_rng(0)
    val = 0.2 + 0.3 * np.exp(-0.2 * np.arange(40)) + rng.normal(scale=0.01, size=40)
    curves = table(val - 0.02, val)
    d = diagnose(curves, task="binary", n_train=1000, n_val=1000, reference_error=0.18)
    assert d.early_stopping["patience"] >= 5
    wrong = dataclasses.replace(d, early_stopping={**d.early_stopping, "patience": 1})
    assert advice_contradictions(wrong, curves) == [
        "suggests EarlyStopping patience 1, below the 5 epochs the curve's noise calls for"]
