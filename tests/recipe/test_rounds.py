"""A recipe search's pieces as pure functions: the first round spans capacity, and when the recipe stops."""

from __future__ import annotations

import json

import pytest

from pipeline import names
from pipeline.diagnostics import AdviceItem
from pipeline.recipe import FinishedTrial, Round, first_round, next_round, stop_reason

MLP = {"depth": 1, "width": 8, "activation": "tanh", "loss": "binary_crossentropy", "optimizer": "adam",
       "learning_rate": 0.001, "batch_size": 32, "epochs": 20, "seed": 0, "l2": 0.0, "dropout": 0.0,
       "train_size": 1.0, "n_train": 700}


def test_the_first_round_spans_depth_and_width_together_and_keeps_every_seed():
    grids, why = first_round({"grid": [{"depth": [3, 0], "width": [64, 8, 16], "seeds": [1, 0]},
                                       {"depth": [1], "activation": ["tanh", "relu"]}]})
    assert grids == [{"depth": [0], "width": [8], "seeds": [0, 1], "activation": ["tanh"]},
                     {"depth": [1], "width": [16], "seeds": [0, 1], "activation": ["tanh"]},
                     {"depth": [3], "width": [64], "seeds": [0, 1], "activation": ["tanh"]}]
    assert why == ("a first round of 3 configurations spanning the grid: depth 0, 1, 3 with width 8, 16, 64; "
                   "held: activation tanh (first listed)")


def test_the_first_round_trains_longest_at_the_middle_learning_rate_without_regularisation():
    grids, why = first_round({"grid": {"depth": [1], "width": [8], "optimizer": ["sgd", "adam"],
                                       "learning_rate": [0.1, 0.0001, 0.001, 0.01], "epochs": [10, 60, 30],
                                       "l2": [0.01, 0.0], "dropout": [0.5, 0.2], "batch_size": [128, 32]}})
    assert grids == [{"depth": [1], "width": [8], "optimizer": ["sgd"], "learning_rate": [0.001], "epochs": [60],
                      "l2": [0.0], "dropout": [0.2], "batch_size": [128]}]
    assert why == ("a first round of 1 configuration; held: optimizer sgd (first listed), learning_rate 0.001 "
                   "(middle), epochs 60 (largest), l2 0.0 (smallest), dropout 0.2 (smallest), batch_size 128 "
                   "(first listed)")


def test_a_builders_first_round_spans_its_numeric_hyperparameters_only():
    grids, _ = first_round({"model": "models.py:build", "grid": {
        "hyperparameters": {"units": [128, 16, 32], "kind": ["b", "a"]}, "learning_rate": [0.01, 0.001],
        "epochs": [5, 40]}})
    assert [(grid["units"], grid["kind"], grid["learning_rate"], grid["epochs"]) for grid in grids] == [
        ([16], ["b"], [0.001], [40]), ([32], ["b"], [0.001], [40]), ([128], ["b"], [0.001], [40])]


def test_a_grid_of_one_configuration_is_a_first_round_of_one():
    grids, why = first_round({"grid": {"depth": [2], "width": [8]}})
    assert grids == [{"depth": [2], "width": [8]}] and why == "a first round of 1 configuration"


def good(value: float, label: str = names.GOOD_FIT) -> FinishedTrial:
    return FinishedTrial("d1w8", MLP, value, label)


@pytest.mark.parametrize(("best", "spent", "number_done", "expected"), [
    (good(0.095), 6, 1, ("reached: d1w8 is a good fit at validation error 9.5%, within one standard error (1.7%) "
                         "of the reference error 8.0%")),
    (good(0.11), 6, 1, ""),  # a good fit, 1.8 SE above the reference: go on
    (good(0.085, names.HIGH_VARIANCE), 6, 1, ""),  # near the reference but not a good fit
    (good(0.11), 39, 1, "budget spent: 39 of 40 trials, no room for a configuration of 2 seeds"),
    (good(0.11), 40, 1, "budget spent: 40 of 40 trials"),
    (good(0.11), 6, 4, "rounds spent: 4 of 4"),
    (None, 6, 1, ""),
])
def test_the_recipe_stops_at_the_reference_or_when_the_budget_or_rounds_are_spent(best, spent, number_done, expected):
    assert stop_reason(best, reference_error=0.08, n_val=300, metric="error", spent=spent, budget=40,
                       number_done=number_done, rounds=4, per_configuration=2) == expected


def test_a_change_the_sweep_cannot_make_does_not_use_up_a_trials_changes():
    more = AdviceItem("get more training data (n_train 700 → 1400)", "n_train", 700, 1400, "the gap")
    l2 = AdviceItem("add regularisation (l2 0 → 0.001)", "l2", 0.0, 0.001, "the gap")
    smaller = AdviceItem("use a smaller network (width 8 → 4)", "width", 8, 4, "the gap")
    source = FinishedTrial("d1w8", MLP, 0.2, names.HIGH_VARIANCE, advice_items=(more, l2, smaller))
    plan = next_round({"grid": {"depth": [1]}}, [source], n_val=300, metric="error", n_train_full=700,
                      items_per_trial=2)
    assert [grid.get("l2", [0.0])[0] for grid in plan.configurations] == [0.001, 0.0]
    assert [grid["width"][0] for grid in plan.configurations] == [8, 4]
    assert plan.reasons[0].outcome.startswith("no change: the training split has no more rows to give")


def test_a_rounds_description_escapes_what_it_quotes_and_says_why_it_stopped():
    done = Round(2, "abc", 4, 10, ("d1 [x](http://e.org): add capacity",), "d1w8", 0.1, names.GOOD_FIT,
                 "rounds spent: 2 of 2")
    text = done.description(metric="error", escape=lambda line: line.replace("[", "\\["))
    assert text.splitlines() == ["**Recipe round 2** (4 trials; 10 so far)", "", "- d1 \\[x](http://e.org): add capacity",
                                 "", "Recommended so far: d1w8, validation error 10.0% (good fit)", "",
                                 "The recipe stopped here: rounds spent: 2 of 2"]


def test_a_round_reads_back_what_it_logged_and_nothing_else():
    done = Round(2, "abc", 3, 6, ("widen", "regularise"), "d1w8", 0.1, names.GOOD_FIT, "reached", ("left",))
    assert Round.from_logged(json.loads(done.to_json())) == done
    assert Round.from_logged({**json.loads(done.to_json()), "added_later": 1}) == done
    assert [Round.from_logged(logged) for logged in (None, [1, 2], {"number": 1})] == [None, None, None]
