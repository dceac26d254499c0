"""Advice quotes what the sweep itself measured of the change it names."""

from __future__ import annotations

from pipeline.diagnostics import measured_neighbour, neighbour_sentence, order_by_measurement
from pipeline.diagnostics._remedies import AdviceItem

RUN = {"depth": 1, "width": 32, "optimizer": "sgd", "learning_rate": 0.001, "epochs": 20, "seed": 0}
RAISE = AdviceItem("raise the learning rate (learning_rate 0.001 → 0.01)", "learning_rate", 0.001, 0.01, "still learning")


def test_the_closest_trial_on_the_advised_side_with_everything_else_equal_is_quoted():
    trials = [({**RUN, "learning_rate": 0.1}, 0.12), ({**RUN, "learning_rate": 0.01}, 0.08),
              ({**RUN, "learning_rate": 0.0001}, 0.80), ({**RUN, "learning_rate": 0.01, "seed": 1}, 0.01)]
    neighbour = measured_neighbour(RAISE, RUN, trials)
    assert neighbour == ({**RUN, "learning_rate": 0.01}, 0.08)
    assert neighbour_sentence(RAISE, neighbour, own=0.62, metric="error") == (
        "measured in this sweep: learning_rate 0.01 reached a validation error of 8.0% (this run 62.0%)")


def test_no_quote_without_a_trial_that_made_that_change_alone():
    trials = [({**RUN, "learning_rate": 0.0001}, 0.8), ({**RUN, "learning_rate": 0.01, "depth": 2}, 0.05)]
    assert measured_neighbour(RAISE, RUN, trials) is None
    generic = AdviceItem("add capacity (more units or layers)", "capacity", None, None, "")
    assert measured_neighbour(generic, RUN, [({**RUN, "depth": 2}, 0.05)]) is None


def test_a_named_change_quotes_the_trial_that_used_that_value():
    switch = AdviceItem("switch the optimizer (optimizer sgd → adam)", "optimizer", "sgd", "adam", "converged")
    trials = [({**RUN, "optimizer": "rmsprop"}, 0.07), ({**RUN, "optimizer": "adam"}, 0.06)]
    neighbour = measured_neighbour(switch, RUN, trials)
    assert neighbour == ({**RUN, "optimizer": "adam"}, 0.06)
    assert neighbour_sentence(switch, neighbour, own=0.13, metric="error") == (
        "measured in this sweep: optimizer adam reached a validation error of 6.0% (this run 13.0%)")


def test_ignored_axes_need_not_match():
    logistic = {**RUN, "depth": 0, "width": 0, "activation": "none"}
    deeper = AdviceItem("add capacity (depth 0 → 1)", "depth", 0, 1, "converged")
    trials = [({**RUN, "depth": 1}, 0.05)]
    assert measured_neighbour(deeper, logistic, trials) is None
    assert measured_neighbour(deeper, logistic, trials, ignore=("width", "activation")) == trials[0]


def _change(axis: str, to) -> AdviceItem:
    return AdviceItem(f"change {axis}", axis, None, to, "")


def test_measured_changes_lead_strongest_first_and_the_unmeasured_keep_their_order():
    items = [_change("width", 64), _change("optimizer", "adam"), _change("epochs", 60), _change("learning_rate", 0.1)]
    advised, worse = order_by_measurement(items, [None, 0.10, None, 0.05], own=0.20, n_val=400, metric="error")
    assert [item.axis for item in advised] == ["learning_rate", "optimizer", "width", "epochs"] and worse == ()


def test_a_change_within_noise_keeps_its_place_and_one_worse_beyond_two_errors_is_not_advised():
    items = [_change("width", 64), _change("optimizer", "adam"), _change("learning_rate", 0.1)]
    # on 100 rows the SE of a 20% error is 4 pp: 18% is within noise, 45% is far worse
    advised, worse = order_by_measurement(items, [0.18, None, 0.45], own=0.20, n_val=100, metric="error")
    assert [item.axis for item in advised] == ["width", "optimizer"] and [item.axis for item in worse] == ["learning_rate"]


def test_when_every_change_measured_worse_the_advice_is_kept_whole():
    items = [_change("width", 64)]
    advised, worse = order_by_measurement(items, [0.9], own=0.1, n_val=1000, metric="error")
    assert advised == tuple(items) and worse == ()


def test_rmse_is_ordered_on_its_own_noise():
    items = [_change("width", 64), _change("l2", 0.001)]
    advised, _ = order_by_measurement(items, [None, 0.5], own=1.0, n_val=500, metric="rmse")
    assert [item.axis for item in advised] == ["l2", "width"]
