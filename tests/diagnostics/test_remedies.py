"""Issue 21: advice grounded in the loss curves and the run's configuration; stops that respect the
metric's resolution; borderline labels said; memorised noise not called high variance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics import (advice_contradictions, diagnose, loss_trend, recommend_stop,
                                  stability)


def curves(train_error, val_error, train_loss, val_loss) -> pd.DataFrame:
    return pd.DataFrame({"epoch": np.arange(1, len(train_error) + 1), "train_loss": train_loss, "val_loss": val_loss,
                         "train_error": train_error, "val_error": val_error})


def digits_sgd_run() -> pd.DataFrame:
    """Logistic regression on digits, SGD at 1e-3 for 20 epochs: the loss falls every epoch, the error sits flat."""
    epochs = 20
    train_loss = np.linspace(2.406, 2.360, epochs)
    rng = np.random.default_rng(3)
    train_error = 0.81 + rng.choice([-1, 0, 1], size=epochs) / 1437
    val_error = 0.818 + rng.choice([-1, 0, 1], size=epochs) / 360
    return curves(train_error, val_error, train_loss, train_loss + 0.01)


def test_a_still_falling_training_loss_with_a_flat_error_is_still_learning_not_a_capacity_problem():
    run = digits_sgd_run()
    config = {"optimizer": "sgd", "learning_rate": 0.001, "epochs": 20, "depth": 0, "width": 0}
    d = diagnose(run, task="multiclass", n_train=1437, n_val=360, reference_error=0.02, config=config)
    assert d.label == "high_bias"
    assert (d.still_falling, d.loss_falling, d.converged) == (False, True, False)
    assert d.tags()[names.CONVERGED_TAG] == "no" and d.to_dict()["converged"] is False
    assert d.advice.startswith("High bias, still learning: train longer (epochs 20 → 60); raise the learning rate "
                               "(learning_rate 0.001 → 0.01)")
    assert not d.advice.split(": ", 1)[1].startswith("add capacity")
    assert any(note.startswith("still learning: the training loss fell") for note in d.notes)
    assert advice_contradictions(d, run) == []


def test_a_converged_loss_and_flat_error_is_a_capacity_problem_and_the_optimizer_is_only_switched_from_sgd():
    epochs = np.arange(1, 41)
    loss = 0.6 + 0.3 * np.exp(-0.5 * epochs)
    run = curves(np.full(40, 0.30), np.full(40, 0.31), loss, loss + 0.01)
    sgd = diagnose(run, task="binary", n_train=2000, n_val=2000, reference_error=0.05,
                   config={"optimizer": "sgd", "depth": 1, "width": 32, "l2": 0.0, "dropout": 0.0})
    assert (sgd.label, sgd.converged) == ("high_bias", True)
    assert [item.change for item in sgd.advice_items] == ["add capacity (width 32 → 64)",
                                                          "switch the optimizer (optimizer sgd → adam)"]
    adam = diagnose(run, task="binary", n_train=2000, n_val=2000, reference_error=0.05,
                    config={"optimizer": "adam", "depth": 0, "l2": 0.01, "dropout": 0.0})
    assert "adam" not in adam.advice and "switch" not in adam.advice
    assert "loosen regularisation (l2 0.01 → 0.001)" in adam.advice and "dropout" not in adam.advice
    assert "add capacity (depth 0 → 1)" in adam.advice
    none_used = diagnose(run, task="binary", n_train=2000, n_val=2000, reference_error=0.05,
                         config={"optimizer": "adam", "l2": 0, "dropout": 0})
    assert "loosen" not in none_used.advice
    assert advice_contradictions(sgd, run) == advice_contradictions(adam, run) == []


def test_advice_items_are_structured_and_in_the_json():
    epochs = np.arange(1, 31)
    train = 0.5 * np.exp(-0.3 * epochs) + 0.01
    val = 0.2 + 0.3 * np.exp(-0.4 * epochs) + 0.002 * epochs
    run = curves(train, val, train * 2, val * 2)
    d = diagnose(run, task="binary", n_train=300, n_val=2000, reference_error=0.02,
                 config={"l2": 0.0, "dropout": 0.0, "n_train": 300, "depth": 2, "width": 64})
    assert d.label == "high_variance"
    payload = json.loads(json.dumps(d.to_dict()))
    # the validation error rose from 0.222 at epoch 11 to 0.26 at the end, far beyond its noise on 2000 rows
    assert payload["advice_items"][0] == {"change": "stop early at epoch 11", "axis": "epochs", "from": 30, "to": 11,
                                          "reason": "the validation metric there is lower than at the end by more "
                                                    "than its noise"}
    assert payload["advice_items"][2] == {"change": "add regularisation (l2 0 → 0.001)", "axis": "l2", "from": 0.0,
                                          "to": 0.001, "reason": "the validation metric is significantly above the "
                                                                 "training metric"}
    assert [item["change"] for item in payload["advice_items"]][1:] == [
        "get more training data (n_train 300 → 600)", "add regularisation (l2 0 → 0.001)",
        "add regularisation (dropout 0 → 0.2)", "use a smaller network (width 64 → 32)"]
    assert payload["config"]["n_train"] == 300
    wrong = d.__class__(**{**d.__dict__, "advice_items": (d.advice_items[0].__class__(
        "add regularisation (l2 0.01 → 0.1)", "l2", 0.01, 0.1, "made up"),)})
    assert advice_contradictions(wrong, run) == ["advises 'add regularisation (l2 0.01 → 0.1)' but the run used l2 0.0"]


def test_an_oscillating_validation_error_is_unstable_and_is_told_to_lower_the_learning_rate():
    # quickstart's d3-tanh-rmsprop-mse: validation error 0.083, 0.507, 0.367, 0.233, ...
    val = np.array([0.30, 0.083, 0.507, 0.367, 0.233, 0.10, 0.08, 0.07, 0.075, 0.07, 0.068, 0.067])
    train = np.array([0.30, 0.08, 0.50, 0.36, 0.22, 0.09, 0.07, 0.065, 0.066, 0.064, 0.063, 0.062])
    run = curves(train, val, train, val)
    d = diagnose(run, task="binary", n_train=700, n_val=300, reference_error=0.06,
                 config={"optimizer": "rmsprop", "learning_rate": 0.01})
    assert d.label == "good_fit" and d.unstable and d.unstable_epoch == 3
    assert d.advice.startswith("Good fit, unstable: lower the learning rate (learning_rate 0.01 → 0.001)")
    assert d.tags()[names.UNSTABLE_TAG] == "true" and d.metrics()[names.UNSTABLE] == 1.0
    assert "raise the learning rate" not in d.advice
    assert advice_contradictions(d, run) == []
    assert stability(train_loss=train, val_loss=val, val_metric=val, n_val=300, metric="error").curve == "val_error"


def test_a_steadily_overfitting_run_is_not_unstable():
    epochs = np.arange(1, 61)
    train_loss = 0.7 * np.exp(-0.1 * epochs) + 0.01
    val_loss = 0.4 + 0.3 * np.exp(-0.2 * epochs) + 0.01 * epochs
    val = 0.2 + 0.2 * np.exp(-0.2 * epochs) + 0.002 * epochs
    d = diagnose(curves(train_loss / 3, val, train_loss, val_loss), task="binary", n_train=300, n_val=250,
                 reference_error=0.15)
    assert not d.unstable


def breast_cancer_run() -> pd.DataFrame:
    """114 validation rows: the error moves in steps of 1/114 and is flat from epoch 7, the loss still falls."""
    epochs = np.arange(1, 61)
    rng = np.random.default_rng(0)
    train = 0.30 * np.exp(-0.08 * (epochs - 1)) + 0.01
    val = np.round((0.04 + 0.3 * np.exp(-0.6 * (epochs - 1)) + rng.normal(0, 0.006, 60)) * 114) / 114
    val_loss = 0.082 + 0.056 * np.exp(-0.04 * (epochs - 1)) * (1 + rng.normal(0, 0.01, 60))
    return curves(train, val, train * 1.5 + 0.02, val_loss)


def test_a_coarse_validation_error_lets_the_validation_loss_decide_the_stop():
    run = breast_cancer_run()
    d = diagnose(run, task="binary", n_train=455, n_val=114, reference_error=0.02)
    assert recommend_stop(run["val_error"].to_numpy()) == 15  # the error alone stops early; the loss still falls
    assert d.stop_monitor == "val_loss" and d.early_stopping["monitor"] == "val_loss"
    assert d.early_stopping["mode"] == "min"
    assert d.recommended_epochs >= 45
    assert d.label_at_recommended == d.label == "good_fit"
    assert any("follow the validation loss" in note for note in d.notes)
    assert advice_contradictions(d, run) == []


def test_a_recommended_epoch_worse_than_the_end_says_why():
    # a large validation set (not coarse): the smoothed error's pick, epoch 15, is still high bias
    run = breast_cancer_run()
    val = (run["val_error"] - 0.01).clip(lower=0)
    d = diagnose(run.assign(val_error=val, val_loss=val), task="binary", n_train=455, n_val=1000,
                 reference_error=0.02)
    assert d.stop_monitor == "val_accuracy" and d.recommended_epochs == 15
    assert (d.label, d.label_at_recommended) == ("good_fit", "high_bias")
    assert any(note.startswith("at the recommended epoch 15 the label is high_bias, worse than good_fit at the end")
               for note in d.notes)


def test_a_restored_run_names_the_kept_epoch_as_its_evidence():
    run = breast_cancer_run()
    d = diagnose(run, task="binary", n_train=455, n_val=114, reference_error=0.02, restored_epoch=11)
    assert (d.evidence_epoch, d.epochs_run) == (11, 60)
    assert d.metrics()[names.EVIDENCE_EPOCH] == 11.0


def test_a_deciding_quantity_within_one_standard_error_of_its_threshold_is_borderline():
    # breast_cancer: "gap 3.5 pp ± 2.1 pp (counts above 3.4 pp)"
    flat = np.ones(30)
    near = diagnose(curves(flat * 0.0, flat * 0.035, flat * 0.05, flat * 0.1), task="binary", n_train=455, n_val=114,
                    reference_error=0.0)
    assert near.label == "high_variance" and near.borderline == ("variance",)
    assert near.tags()[names.BORDERLINE_TAG] == "variance" and near.to_dict()["borderline"] == ["variance"]
    assert any(note.startswith("borderline variance") for note in near.notes)
    clear = diagnose(curves(flat * 0.0, flat * 0.15, flat * 0.05, flat * 0.4), task="binary", n_train=455,
                     n_val=114, reference_error=0.0)
    assert clear.label == "high_variance" and clear.borderline == ()
    assert clear.tags()[names.BORDERLINE_TAG] == "false"


def test_a_gap_of_memorised_noise_is_not_high_variance_nor_more_data():
    # 15% label noise memorised: training error 0, validation error 16%, within noise of the Bayes error
    flat = np.ones(30)
    d = diagnose(curves(flat * 0.0, flat * 0.16, flat * 0.01, flat * 0.9), task="binary", n_train=300, n_val=250,
                 reference_error=0.15)
    assert d.variance_gap > d.variance_threshold
    assert (d.label, d.memorised_noise) == ("good_fit", True)
    assert "more training data" not in d.advice and "memorised" in d.advice
    far = diagnose(curves(flat * 0.0, flat * 0.30, flat * 0.01, flat * 0.9), task="binary", n_train=300, n_val=250,
                   reference_error=0.15)
    assert (far.label, far.memorised_noise) == ("high_variance", False)
    assert "get more training data" in far.advice


def test_loss_trend_tells_a_creeping_converged_loss_from_a_steady_fall():
    assert loss_trend(np.linspace(2.406, 2.360, 20)).falling
    assert not loss_trend(0.3 + np.exp(-0.5 * np.arange(30))).falling
    assert not loss_trend(np.full(3, 0.5)).falling


def test_the_description_names_the_kept_epoch_and_the_label_details():
    from pipeline.runs import trial_description

    run = digits_sgd_run()
    d = diagnose(run, task="multiclass", n_train=1437, n_val=360, reference_error=0.02, restored_epoch=15,
                 config={"epochs": 20, "learning_rate": 0.001})
    text = trial_description(d, stopped_epoch=20, kept_epoch=15)
    assert "### High bias (converged: no, still learning)" in text
    assert "**Evidence** (kept epoch 15 of the 20 trained)" in text
    assert "learning_rate 0.001 → 0.01" in text
