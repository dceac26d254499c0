"""Hand-made curves for each label, edge cases and the Diagnosis views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline import names
from pipeline.diagnostics import diagnose, reference_from_sweep
from pipeline.errors import FitcheckError

EPOCHS = np.arange(1, 31)


def curves(train_error, val_error, train_loss=None, val_loss=None, metric="error") -> pd.DataFrame:
    train_error = np.asarray(train_error, dtype=float)
    val_error = np.asarray(val_error, dtype=float)
    return pd.DataFrame({
        "epoch": np.arange(1, len(train_error) + 1),
        "train_loss": train_error * 2 + 0.05 if train_loss is None else train_loss,
        "val_loss": val_error * 2 + 0.05 if val_loss is None else val_loss,
        f"train_{metric}": train_error, f"val_{metric}": val_error,
    })


def decay(start, end, rate=0.3, epochs=EPOCHS):
    return end + (start - end) * np.exp(-rate * (epochs - 1))


def test_good_fit():
    run = curves(decay(0.5, 0.11), decay(0.5, 0.12))
    d = diagnose(run, task="binary", n_train=5000, n_val=2000, reference_error=0.10)
    assert (d.label, d.label_at_recommended) == ("good_fit", "good_fit")
    assert d.converged
    assert d.recommended_epochs == 30  # a still-falling curve: train to the end


def test_a_run_restored_to_its_recommended_epoch_is_described_at_that_epoch():
    train = decay(0.5, 0.10, rate=0.5)
    val = 0.11 + 0.35 * np.exp(-0.4 * (EPOCHS - 1)) + 0.004 * np.maximum(0, EPOCHS - 10)
    last = diagnose(curves(train, val), task="binary", n_train=500, n_val=2000, reference_error=0.10)
    d = diagnose(curves(train, val), task="binary", n_train=500, n_val=2000, reference_error=0.10, restored_epoch=11)
    assert (d.label, d.label_at_recommended, d.recommended_epochs, d.epochs_run) == ("good_fit", "good_fit", 11, 30)
    assert (d.train_metric, d.val_metric) == (train[10], val[10])
    assert d.early_stopping == last.early_stopping  # the whole curve still sets the stopping rule
    assert "stop early" not in d.advice and "restored to epoch 11 of the 30 trained" in " ".join(d.notes)
    for wrong in (0, 31):
        with pytest.raises(FitcheckError, match=f"restored_epoch must be .* \\(1 to 30\\) but got {wrong}"):
            diagnose(curves(train, val), task="binary", n_train=500, n_val=2000, restored_epoch=wrong)


def test_high_bias_unconverged_says_train_longer():
    run = curves(decay(0.5, 0.0, rate=0.02), decay(0.5, 0.0, rate=0.02) + 0.01)
    d = diagnose(run, task="binary", n_train=5000, n_val=2000, reference_error=0.05)
    assert d.label == "high_bias"
    assert not d.converged
    assert d.recommended_epochs == 30
    assert "train longer" in d.advice


def test_high_bias_converged_says_add_capacity():
    run = curves(decay(0.5, 0.30), decay(0.5, 0.31))
    d = diagnose(run, task="binary", n_train=5000, n_val=2000, reference_error=0.05)
    assert d.label == "high_bias"
    assert d.converged
    assert "capacity" in d.advice


def test_high_variance_that_early_stopping_fixes():
    train = decay(0.5, 0.10, rate=0.5)
    val = 0.11 + 0.35 * np.exp(-0.4 * (EPOCHS - 1)) + 0.004 * np.maximum(0, EPOCHS - 10)
    d = diagnose(curves(train, val), task="binary", n_train=500, n_val=2000, reference_error=0.10)
    assert d.label == "high_variance"
    assert d.label_at_recommended == "good_fit"
    assert d.recommended_epochs == 11  # raw minimum at 10; the smoothed one, one epoch later
    assert d.epochs_saved == 19
    assert d.regret == pytest.approx(0.0, abs=0.02)
    assert "stop early at epoch 11" in d.advice
    assert d.early_stopping["monitor"] == "val_accuracy"


def test_high_bias_high_variance():
    run = curves(decay(0.5, 0.25), decay(0.5, 0.40))
    d = diagnose(run, task="multiclass", n_train=300, n_val=1000, reference_error=0.05)
    assert d.label == "high_bias_high_variance"


def test_regression_uses_rmse_and_relative_tolerance():
    run = curves(decay(3.0, 1.0), decay(3.0, 1.6), metric="rmse")
    d = diagnose(run, task="regression", n_train=1000, n_val=1000, reference_error=1.0)
    assert d.metric == "rmse"
    assert d.tolerance == pytest.approx(0.1)
    assert d.label == "high_variance"
    assert d.early_stopping["monitor"] == "val_root_mean_squared_error"


def test_one_epoch():
    d = diagnose(curves([0.2], [0.21]), task="binary", n_train=1000, n_val=1000, reference_error=0.2)
    assert (d.label, d.recommended_epochs, d.epochs_saved, d.regret) == ("good_fit", 1, 0, 0.0)
    assert not d.converged
    assert d.early_stopping["patience"] == 1


def test_flat_curves_recommend_the_first_epoch():
    flat = np.full(20, 0.3)
    d = diagnose(curves(flat, flat), task="binary", n_train=1000, n_val=1000, reference_error=0.3)
    assert (d.label, d.recommended_epochs, d.epochs_saved, d.converged) == ("good_fit", 1, 19, True)


def test_nan_in_a_curve_is_diverged_and_stops_before_it():
    train, val = decay(0.5, 0.1)[:10], decay(0.5, 0.12)[:10]
    val[6] = np.nan
    d = diagnose(curves(train, val), task="binary", n_train=1000, n_val=1000, reference_error=0.1)
    assert d.label == "diverged"
    assert d.diverged_epoch == 7
    assert d.recommended_epochs == 6
    assert d.label_at_recommended == "high_bias"  # still 9 points above the reference at epoch 6


def test_inf_at_the_first_epoch_leaves_nothing_to_recommend():
    d = diagnose(curves([np.inf, np.inf], [0.5, 0.5]), task="binary", n_train=100, n_val=100)
    assert (d.label, d.label_at_recommended, d.recommended_epochs) == ("diverged", "diverged", None)
    assert d.metrics() == {"reference_error": 0.0, "bias_decided": 1.0}  # nothing trained: convergence untold
    assert d.converged is None and d.tags()[names.CONVERGED_TAG] == "cannot_tell"
    payload = json.loads(json.dumps(d.to_dict()))
    assert {key: payload[key] for key in ("label", "label_at_recommended", "recommended_epochs", "epochs_run",
                                           "train_metric", "val_metric", "diverged_epoch", "early_stopping",
                                           "at_recommended", "regret", "recommended_val_metric")} == {
        "label": "diverged", "label_at_recommended": "diverged", "recommended_epochs": None, "epochs_run": 2,
        "train_metric": None,  # inf is not JSON: it becomes null
        "val_metric": None, "diverged_epoch": 1, "early_stopping": None, "at_recommended": {}, "regret": None,
        "recommended_val_metric": None,
    }
    assert payload["advice"].startswith("Training diverged")


def test_exploding_training_loss_is_diverged():
    loss = np.array([0.7, 0.5, 0.4, 0.6, 5.0, 40.0, 900.0])
    error = np.array([0.5, 0.3, 0.2, 0.3, 0.5, 0.5, 0.5])
    d = diagnose(curves(error, error + 0.01, train_loss=loss, val_loss=loss),
                 task="binary", n_train=1000, n_val=1000, reference_error=0.1)
    assert d.label == "diverged"
    assert d.diverged_epoch == 5
    assert d.recommended_epochs == 3
    assert "learning rate" in d.advice


def test_validation_better_than_training_is_not_variance():
    run = curves(decay(0.5, 0.30), decay(0.5, 0.22))
    d = diagnose(run, task="binary", n_train=1000, n_val=1000, reference_error=0.25)
    assert d.variance_gap < 0
    assert d.label == "high_bias"


def test_missing_reference_is_assumed_zero_and_said():
    d = diagnose(curves(decay(0.5, 0.1), decay(0.5, 0.11)), task="binary", n_train=1000, n_val=1000)
    assert (d.reference_error, d.reference_source, d.label) == (0.0, "assumed_zero", "high_bias")
    assert any("taken as 0" in note for note in d.notes)


@pytest.mark.parametrize(("train", "source", "noted"), [
    (0.10, "estimated", True), (0.10, "sweep_best_val", True), (0.10, "given", False),
    (0.20, "estimated", False),  # bias found: nothing was hidden
])
def test_an_estimated_reference_says_it_may_hide_bias(train, source, noted):
    d = diagnose(curves(decay(0.5, train), decay(0.5, train + 0.005)), task="binary", n_train=5000,
                 n_val=5000, reference_error=0.1, reference_source=source)
    assert ("high_bias" in d.label) is (train == 0.20)
    assert any("at or above the Bayes error" in note for note in d.notes) is noted


def test_to_dict_and_metrics_are_serialisable():
    d = diagnose(curves(decay(0.5, 0.1), decay(0.5, 0.2)), task="binary", n_train=1000, n_val=1000,
                 reference_error=0.1)
    payload = json.loads(json.dumps(d.to_dict()))
    for key in ("label", "label_at_recommended", "recommended_epochs", "avoidable_bias",
                "variance_gap", "variance_gap_se", "reference_error", "early_stopping"):
        assert key in payload
    assert {"patience", "min_delta", "monitor", "restore_best_weights"} <= set(payload["early_stopping"])
    assert payload["label"] == d.label
    metrics = d.metrics()
    assert {"recommended_epochs", "avoidable_bias", "variance_gap", "variance_gap_se",
            "reference_error"} <= set(metrics)
    assert all(isinstance(value, float) for value in metrics.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking"}, "task must be one of"),
        ({"n_val": 0}, "n_val must be a positive whole number"),
        ({"reference_error": -0.1}, "reference_error must be"),
        ({"reference_source": "oracle"}, "reference_source must be one of"),
    ],
)
def test_bad_arguments_raise_fitcheck_error(kwargs, message):
    arguments = {"task": "binary", "n_train": 100, "n_val": 100, **kwargs}
    with pytest.raises(FitcheckError, match=message):
        diagnose(curves([0.2], [0.2]), **arguments)


def test_missing_column_is_named():
    with pytest.raises(FitcheckError, match="val_rmse"):
        diagnose(curves([0.2], [0.2]), task="regression", n_train=10, n_val=10)


def test_reference_from_sweep_takes_the_best_finite_value():
    assert reference_from_sweep([0.3, np.nan, 0.12, np.inf]) == 0.12
    with pytest.raises(FitcheckError):
        reference_from_sweep([np.nan])


def test_flat_training_error_with_a_falling_loss_is_still_learning_and_capacity_comes_second():
    # logistic regression on an XOR-like rule: the loss still falls, the training error sits at 0.20 (issue 21:
    # a falling loss is not convergence, so "add capacity" is never the advice alone)
    epochs = np.arange(1, 151)
    train_error = np.where(epochs < 60, 0.2 + 0.3 * np.exp(-0.1 * epochs), 0.2)
    train_error = train_error + np.where(epochs % 2 == 0, 0.003, -0.003)  # jitter of a few rows
    loss = 0.45 + 0.3 * np.exp(-0.01 * epochs)  # still falling by more than 1% over the last fifth
    d = diagnose(curves(train_error, train_error + 0.01, train_loss=loss, val_loss=loss + 0.02),
                 task="binary", n_train=350, n_val=150, reference_error=0.1)
    assert (d.label, d.converged, d.still_falling, d.loss_falling) == ("high_bias", False, False, True)
    assert d.advice.startswith("High bias, still learning: train longer (epochs 150 → 450); raise the learning rate")
    assert [item.axis for item in d.advice_items][:3] == ["epochs", "learning_rate", "capacity"]


def test_one_epoch_of_high_bias_advises_neither_more_epochs_nor_capacity():
    d = diagnose(curves([0.4], [0.41]), task="binary", n_train=1000, n_val=1000, reference_error=0.1)
    assert (d.label, d.converged, d.still_falling) == ("high_bias", None, False)
    assert d.advice == ("High bias: run several epochs to see whether the training error is still falling "
                        "before changing the model.")


def test_stop_early_is_advised_where_the_validation_error_is_lower_beyond_noise_even_if_the_label_is_not():
    # high variance at the end and at the recommended epoch, but validation error 0.24 at the end against
    # about 0.20 at epoch 12 on 2000 rows: stopping there is worth it, and more data comes before regularisation
    train = decay(0.5, 0.02, rate=0.5)
    val = 0.2 + 0.3 * np.exp(-0.4 * (EPOCHS - 1)) + 0.002 * np.maximum(0, EPOCHS - 10)
    d = diagnose(curves(train, val), task="binary", n_train=500, n_val=2000, reference_error=0.02)
    assert (d.label, d.label_at_recommended, d.recommended_epochs) == ("high_variance", "high_variance", 12)
    assert d.advice == ("High variance: stop early at epoch 12; get more training data; add regularisation "
                        "(L2, dropout); use a smaller network.")


@pytest.mark.parametrize(("task", "monitor", "mode"), [
    ("binary", None, "max"), ("binary", "val_accuracy", "max"), ("binary", "val_error", "min"),
    ("regression", None, "min"), ("regression", "val_rmse", "min"),
])
def test_early_stopping_monitor_is_one_the_logs_hold(task, monitor, mode):
    metric = "rmse" if task == "regression" else "error"
    d = diagnose(curves(decay(0.5, 0.1), decay(0.5, 0.12), metric=metric), task=task, n_train=1000,
                 n_val=1000, reference_error=0.1, monitor=monitor)
    default = "val_root_mean_squared_error" if task == "regression" else "val_accuracy"
    assert (d.early_stopping["monitor"], d.early_stopping["mode"]) == (monitor or default, mode)


def test_an_unknown_monitor_is_refused_with_the_names_accepted():
    with pytest.raises(FitcheckError, match="monitor must be one of val_accuracy, val_error but got 'val_auc'"):
        diagnose(curves([0.2], [0.2]), task="binary", n_train=10, n_val=10, monitor="val_auc")


def test_recommended_val_metric_is_the_smoothed_validation_metric_at_the_recommended_epoch():
    val = np.array([0.5, 0.3, 0.2, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    d = diagnose(curves(val - 0.01, val), task="binary", n_train=1000, n_val=1000, reference_error=0.0)
    assert d.recommended_epochs == 4
    assert d.recommended_val_metric == pytest.approx((0.3 + 0.2 + 0.1 + 0.2 + 0.3) / 5)
    assert d.metrics()["recommended_val_error"] == pytest.approx(0.22)


def test_a_small_validation_set_says_which_gap_it_cannot_see():
    # 91 validation rows: a 0.04 gap is below the 0.061 that noise allows, so no variance is claimed
    d = diagnose(curves(decay(0.5, 0.10), decay(0.5, 0.14)), task="binary", n_train=5000, n_val=91,
                 reference_error=0.1)
    assert d.label == "good_fit"
    assert "with 91 validation rows a gap under 0.061 cannot be told from noise (this run's gap: 0.04)" in d.notes


def test_a_large_validation_set_has_nothing_to_confess():
    d = diagnose(curves(decay(0.5, 0.10), decay(0.5, 0.11)), task="binary", n_train=5000, n_val=10_000,
                 reference_error=0.1)
    assert d.notes == ()
    assert d.bias_decided


@pytest.mark.parametrize(("train", "n_train", "decided", "label"), [
    (0.12, 300, False, "good_fit"),  # 2 points over a reference known to +-1.8 points: cannot tell
    (0.10, 300, False, "good_fit"),  # even no bias: the reference may be 2.9 points too high
    (0.10, 3000, True, "good_fit"),  # no bias even if the reference were 0.9 points lower
    (0.20, 300, True, "high_bias"),  # 10 points: high bias whatever the reference's noise
    (0.11, 100_000, True, "good_fit"),  # a precise estimate: within tolerance is decided
])
def test_bias_is_undecided_when_the_estimated_reference_cannot_rule_it_out(train, n_train, decided, label):
    d = diagnose(curves(decay(0.5, train), decay(0.5, train + 0.005)), task="binary", n_train=n_train,
                 n_val=20_000, reference_error=0.1, reference_source="estimated")
    assert (d.label, d.bias_decided) == (label, decided)
    assert d.metrics()[names.BIAS_DECIDED] == float(decided)
    assert d.tags() == {names.DIAGNOSIS_TAG: label, names.DIAGNOSIS_AT_RECOMMENDED_TAG: label,
                        names.BIAS_DECIDED_TAG: str(decided).lower(), names.CONVERGED_TAG: "yes",
                        names.UNSTABLE_TAG: "false", names.BORDERLINE_TAG: "bias" if train == 0.12 else "false"}
    undecided_notes = [note for note in d.notes if "leaves the bias verdict undecided" in note]
    assert len(undecided_notes) == (0 if decided else 1)
    if train == 0.12:
        assert undecided_notes[0] == (
            "the reference was estimated from the training split (300 rows, standard error 0.018): avoidable "
            "bias under 0.029 cannot be told from its uncertainty, so this run's 0.02 leaves the bias verdict "
            "undecided")
        assert "bias is undecided" in d.advice


def test_a_given_reference_always_decides_the_bias():
    d = diagnose(curves(decay(0.5, 0.12), decay(0.5, 0.125)), task="binary", n_train=300, n_val=20_000,
                 reference_error=0.1)
    assert d.bias_decided
