"""Ranking trials with the one-standard-error rule, parameter counts, capped references and
per-axis concentration with ties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline.diagnostics import cap_reference, concentration, mlp_parameter_count, rank_trials, ranking_sentence
from pipeline.errors import FitcheckError


def book_trials() -> pd.DataFrame:
    """Four networks within noise of each other on 150 validation rows, and logistic regression."""
    return pd.DataFrame({
        "name": ["d0", "d1w256", "d4w256-sgd", "d4w256-adam", "d1w256-adam"],
        "recommended_val": [0.197, 0.150, 0.147, 0.160, 0.155],
        "n_parameters": [21, 5633, 202_753, 202_753, 5633],
        "recommended_epochs": [60, 73, 30, 12, 20],
    }, index=[10, 11, 12, 13, 14])


def test_trials_within_one_standard_error_of_the_best_are_tied_and_the_simplest_is_picked():
    ranked = rank_trials(book_trials(), metric="error", n_val=150)
    assert ranked["rank"].tolist() == [5, 2, 1, 4, 3]
    assert ranked["se"].tolist() == pytest.approx([0.0327, 0.0295, 0.0293, 0.0303, 0.0298], abs=1e-4)
    assert ranked["tied_with_best"].tolist() == [False, True, True, True, True]
    # fewest parameters first (5633 twice), then fewest epochs
    assert ranked.index[ranked["pick"]].tolist() == [14]
    assert ranking_sentence(ranked, n_val=150, name="name") == (
        "4 configurations are indistinguishable on 150 validation rows (within one standard error, 0.029, "
        "of the best); the simplest of them, d1w256-adam, is recommended.")


def test_a_clear_winner_is_said_to_lead():
    trials = book_trials().assign(recommended_val=[0.30, 0.20, 0.05, 0.25, 0.22])
    ranked = rank_trials(trials, metric="error", n_val=1000)
    assert ranked.index[ranked["tied_with_best"]].tolist() == [12]
    assert ranked.index[ranked["pick"]].tolist() == [12]
    assert ranking_sentence(ranked, n_val=1000) == (
        "The best configuration leads the others by more than one standard error (0.007) on 1000 validation rows.")


def test_trials_without_a_value_rank_last_and_are_never_tied():
    trials = book_trials().assign(recommended_val=[np.nan, 0.15, np.nan, 0.16, np.inf])
    ranked = rank_trials(trials, metric="error", n_val=150)
    assert ranked["rank"].tolist() == [3, 1, 3, 2, 3]
    assert ranked["tied_with_best"].tolist() == [False, True, False, True, False]
    assert ranked["pick"].tolist() == [False, True, False, False, False]
    nothing = rank_trials(trials.assign(recommended_val=np.nan), metric="error", n_val=150)
    assert not nothing["pick"].any()
    assert ranking_sentence(nothing, n_val=150) == "No trial has a finite validation metric to rank."


def test_regression_ties_use_the_rmse_standard_error():
    trials = pd.DataFrame({"recommended_val": [1.00, 1.09, 1.11], "n_parameters": [10, 5, 1],
                           "recommended_epochs": [5, 5, 5]})
    ranked = rank_trials(trials, metric="rmse", n_val=50)  # SE = 1 / sqrt(100) = 0.1
    assert ranked["tied_with_best"].tolist() == [True, True, False]
    assert ranked["pick"].tolist() == [False, True, False]


def test_a_missing_column_is_named():
    with pytest.raises(FitcheckError, match="lacks n_parameters"):
        rank_trials(book_trials().drop(columns="n_parameters"), metric="error", n_val=150)


@pytest.mark.parametrize(("depth", "width", "n_features", "n_outputs", "loss"), [
    (0, 32, 20, 1, "binary_crossentropy"), (1, 256, 20, 1, "binary_crossentropy"),
    (4, 256, 20, 1, "hinge"), (2, 32, 10, 3, "categorical_crossentropy"),
])
def test_parameter_count_matches_the_keras_model_fitcheck_builds(depth, width, n_features, n_outputs, loss):
    from pipeline.search import TrialConfig
    from pipeline.training import build_model
    from pipeline.training import output_head

    task = "multiclass" if n_outputs > 1 else "binary"
    config = TrialConfig(depth=depth, width=width, activation="relu", loss=loss, optimizer="adam",
                         learning_rate=0.01, batch_size=32, epochs=1, seed=0)
    model = build_model(config, input_shape=(n_features,), head=output_head(task, loss, max(n_outputs, 2)))
    assert mlp_parameter_count(depth, width, n_features, n_outputs) == model.count_params()


def test_parameter_count_ignores_the_width_of_a_network_without_hidden_layers():
    assert mlp_parameter_count(0, 0, 20, 1) == mlp_parameter_count(0, 256, 20, 1) == 21


def test_parameter_count_refuses_nonsense():
    with pytest.raises(FitcheckError, match="width must be a whole number >= 1 but got 0"):
        mlp_parameter_count(1, 0, 20, 1)


def test_an_estimate_above_what_the_sweep_reached_is_capped():
    # the quickstart: estimate 0.089, best network 0.05 on 300 validation rows, 30 trials
    capped = cap_reference(0.089, best_val=0.05, n_val=300, n_trials=30, metric="error")
    se = math.sqrt(((0.05 * 300 + 1) / 302) * (1 - (0.05 * 300 + 1) / 302) / 300)
    assert capped.cap == pytest.approx(0.05 + se * math.sqrt(2 * math.log(30)))
    assert (capped.value, capped.capped, capped.estimate) == (capped.cap, True, 0.089)


def test_an_estimate_below_the_cap_is_kept_and_one_trial_gets_no_allowance():
    kept = cap_reference(0.06, best_val=0.05, n_val=300, n_trials=30, metric="error")
    assert (kept.value, kept.capped) == (0.06, False)
    single = cap_reference(1.5, best_val=1.2, n_val=50, n_trials=1, metric="rmse")
    assert (single.value, single.capped, single.cap) == (1.2, True, 1.2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"estimate": -0.1}, "estimate must be a finite number >= 0 but got -0.1"),
    ({"best_val": float("nan")}, "best_val must be a finite number >= 0 but got nan"),
    ({"n_trials": 0}, "n_trials must be at least 1 but got 0"),
])
def test_cap_reference_refuses_bad_numbers(kwargs, message):
    arguments = {"estimate": 0.1, "best_val": 0.1, "n_val": 100, "n_trials": 3, "metric": "error", **kwargs}
    with pytest.raises(FitcheckError, match=message):
        cap_reference(arguments.pop("estimate"), **arguments)


def test_a_tie_between_axis_values_is_called_a_tie():
    trials = pd.DataFrame({"depth": [0, 0, 1, 1, 4, 4], "optimizer": ["sgd", "adam", "sgd", "adam", "adam", "sgd"],
                           "label": ["high_bias", "high_bias", "good_fit", "high_variance", "good_fit",
                                     "high_variance"]})
    assert concentration(trials, trials["label"] == "high_variance", axes=["depth", "optimizer"]) == (
        "depth = 1 and depth = 4: 50% each of these trials (33% each of all trials)")
    assert concentration(trials, trials["label"] == "high_bias", axes=["depth", "optimizer"]) == (
        "depth = 0: 100% of these trials, 33% of all trials")


def test_no_concentration_for_a_spread_group_a_single_trial_or_everything():
    trials = pd.DataFrame({"depth": [0, 1, 2, 3, 4, 5], "optimizer": ["sgd", "adam"] * 3})
    assert concentration(trials, pd.Series([True] * 4 + [False] * 2), axes=["depth", "optimizer"]) is None
    assert concentration(trials, pd.Series([True] + [False] * 5), axes=["depth"]) is None
    assert concentration(trials, pd.Series([True] * 6), axes=["depth"]) is None


def test_among_tied_trials_a_good_fit_at_its_recommended_epoch_is_preferred_to_a_simpler_high_variance():
    # issue 21: breast_cancer, 114 validation rows: 3.5% good fit and 4.4% high variance are one example apart
    trials = pd.DataFrame({"recommended_val": [0.044, 0.035, 0.2], "n_parameters": [100, 100, 10],
                           "recommended_epochs": [10, 12, 5],
                           "label_at_recommended": ["high_variance", "good_fit", "high_bias"]})
    ranked = rank_trials(trials, metric="error", n_val=114)
    assert ranked["tied_with_best"].tolist() == [True, True, False]
    assert ranked["pick"].tolist() == [False, True, False]
    simplest = rank_trials(trials.assign(n_parameters=[50, 100, 10]), metric="error", n_val=114)
    assert simplest["pick"].tolist() == [False, True, False]  # the good fit, though the other is simpler
    no_labels = rank_trials(trials.drop(columns="label_at_recommended").assign(n_parameters=[50, 100, 10]),
                            metric="error", n_val=114)
    assert no_labels["pick"].tolist() == [True, False, False]  # without labels: the simplest, as before


def test_a_pruned_trial_with_the_better_value_defeats_a_lead_and_is_never_the_pick():
    """Issue 21: a pruned trial at 0.1111 beside a finished one at 0.1129 on 450 rows: no 'leads the others'."""
    trials = pd.DataFrame({"recommended_val": [0.1111, 0.1129, 0.25], "name": ["pruned", "finished", "weak"],
                           "n_parameters": [100, 200, 50], "recommended_epochs": [5, 11, 20],
                           "eligible": [False, True, True]})
    ranked = rank_trials(trials, metric="error", n_val=450)
    assert ranked["pick"].tolist() == [False, True, False]
    assert ranked["tied_with_best"].tolist() == [True, True, False]
    sentence = ranking_sentence(ranked, n_val=450, name="name")
    assert "leads the others" not in sentence
    assert sentence.startswith("2 configurations are indistinguishable on 450 validation rows")
    assert "(1 of them pruned before the last epoch); the simplest fully trained of them, finished, is" in sentence


def test_when_only_a_pruned_trial_is_best_the_best_finished_one_is_picked_and_the_sentence_says_so():
    trials = pd.DataFrame({"recommended_val": [0.05, 0.20, 0.25], "name": ["pruned", "finished", "weak"],
                           "n_parameters": [100, 200, 50], "recommended_epochs": [5, 11, 20],
                           "eligible": [False, True, True]})
    ranked = rank_trials(trials, metric="error", n_val=450)
    assert ranked["pick"].tolist() == [False, True, False]
    sentence = ranking_sentence(ranked, n_val=450, name="name")
    assert sentence.startswith("The best validation value on 450 validation rows belongs to 1 configuration stopped "
                               "by pruning before the last epoch; of those trained to the end, the best, finished, is")
