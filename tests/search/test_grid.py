"""Grid expansion: trial counts, depth-0 collapse, invalid combinations, stable trial keys."""

from __future__ import annotations

import pytest

from pipeline.errors import FitcheckError
from pipeline.search import expand_grid
from pipeline.spec import GridSpec


def test_product_and_depth_zero_collapse():
    grid = GridSpec(depth=[0, 1, 2], width=[8, 16], activation=["relu", "tanh"], loss=["mse"], optimizer=["adam"])
    expanded = expand_grid(grid, task="binary", skip_invalid=False)
    # depth 0 has no width or activation: 4 combinations collapse to 1
    assert len(expanded.trials) == 1 + 2 * 2 * 2
    assert expanded.n_collapsed == 3
    assert [t for t in expanded.trials if t.depth == 0][0].activation == "none"


def test_seeds_repeat_each_configuration():
    expanded = expand_grid(GridSpec(depth=[1], seeds=[0, 1, 2]), task="binary", skip_invalid=False)
    assert sorted(t.seed for t in expanded.trials) == [0, 1, 2]


def test_invalid_loss_for_task_is_refused_with_the_combination():
    grid = GridSpec(loss=["categorical_crossentropy", "mse"])
    with pytest.raises(FitcheckError, match="loss 'categorical_crossentropy' does not fit a regression target"):
        expand_grid(grid, task="regression", skip_invalid=False, source="s.yaml")


def test_skip_invalid_drops_and_counts():
    grid = GridSpec(depth=[1, 2], loss=["hinge", "binary_crossentropy", "mse"])
    expanded = expand_grid(grid, task="regression", skip_invalid=True)
    assert len(expanded.trials) == 2 and expanded.n_dropped_invalid == 4


def test_everything_invalid_is_an_error_even_when_skipping():
    with pytest.raises(FitcheckError, match="every combination was dropped"):
        expand_grid(GridSpec(loss=["hinge"]), task="multiclass", skip_invalid=True)


def test_trial_key_is_stable_and_depends_on_data_and_seed():
    a, b = expand_grid(GridSpec(seeds=[0, 1]), task="binary", skip_invalid=False).trials
    assert a.key("data1") == a.key("data1")
    assert a.key("data1") != a.key("data2")
    assert a.key("data1") != b.key("data1")


def test_trial_order_is_configurations_then_seeds_then_training_sizes():
    grid = GridSpec(depth=[1], l2=[0.0, 0.1], seeds=[0, 1], train_size=[0.5, 1.0])
    trials = expand_grid(grid, task="binary", skip_invalid=False).trials
    assert [(t.l2, t.seed, t.train_size) for t in trials] == [
        (0.0, 0, 0.5), (0.0, 0, 1.0), (0.0, 1, 0.5), (0.0, 1, 1.0),
        (0.1, 0, 0.5), (0.1, 0, 1.0), (0.1, 1, 0.5), (0.1, 1, 1.0)]
    assert [t.name() for t in trials[:2]] == ["d1w32-relu-adam-binary_crossentropy-lr0.001-bs32-e20-s0-n0.5",
                                              "d1w32-relu-adam-binary_crossentropy-lr0.001-bs32-e20-s0"]
