"""Nested, class-stratified training subsets (the ``train_size`` axis) and their place in the grid and spec."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.data import subset_rows, training_subset
from pipeline.errors import FitcheckError
from pipeline.search import TrialConfig, expand_grid
from pipeline.spec import parse_spec

rng = np.random.default_rng(0)
Y = rng.choice(3, size=1000, p=[0.6, 0.3, 0.1])


def test_smaller_subsets_lie_inside_larger_ones():
    sizes = [0.05, 0.125, 0.25, 0.5, 700, 1.0]
    subsets = [set(training_subset(Y, size, task="multiclass", seed=3)) for size in sizes]
    assert [len(s) for s in subsets] == [50, 125, 250, 500, 700, 1000]
    assert all(small <= large for small, large in zip(subsets, subsets[1:]))


@pytest.mark.parametrize("size", [3, 10, 0.05, 0.25, 0.5, 777])
def test_each_subset_holds_each_class_in_its_share_to_within_one_row(size):
    rows = training_subset(Y, size, task="multiclass", seed=1)
    counts = np.bincount(Y[rows], minlength=3)
    expected = len(rows) * np.bincount(Y) / len(Y)
    assert np.all(np.abs(counts - expected) <= 1.0 + 1e-9)
    assert np.all(counts >= 1)  # the first rows hold one of each class


def test_the_order_is_fixed_by_the_seed_and_differs_between_seeds():
    first = training_subset(Y, 0.25, task="multiclass", seed=7)
    assert np.array_equal(first, training_subset(Y, 0.25, task="multiclass", seed=7))
    assert not np.array_equal(first, training_subset(Y, 0.25, task="multiclass", seed=8))


def test_regression_subsets_are_nested_random_rows():
    y = rng.normal(size=200)
    small, large = (set(training_subset(y, size, task="regression", seed=0)) for size in (20, 0.5))
    assert small <= large and (len(small), len(large)) == (20, 100)


def test_sizes_beyond_the_split_are_refused():
    assert (subset_rows(0.001, 1000), subset_rows(2, 1000)) == (2, 2)  # at least two rows
    with pytest.raises(FitcheckError, match=r"^spec.yaml: grid.train_size must be at most the 1000 rows of the "
                                            r"training split \(or a fraction of it\) but got 1001$"):
        subset_rows(1001, 1000, source="spec.yaml", key="grid.train_size")


def test_train_size_at_its_default_keeps_the_trial_key_and_name():
    config = TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)
    assert config.key("abc") == "7f13000a27d6cbbd"  # as before the axis existed: old runs resume
    assert config.name() == "d1w8-relu-adam-mse-lr0.01-bs32-e10-s0"
    smaller = TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0, train_size=0.25)
    assert smaller.key("abc") != config.key("abc")
    assert smaller.name(["depth", "train_size"]) == "d1-n0.25"
    assert config.name(["depth", "train_size"]) == "d1-n1"


def test_the_grid_expands_train_size_and_the_spec_keeps_its_old_hash():
    spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [0, 1], "train_size": [0.5, 1, 300]}},
                      source="lc.yaml")
    grid = expand_grid(spec.grid, task="binary", skip_invalid=False)
    assert [config.train_size for config in grid.trials] == [0.5, 1.0, 300] * 2
    plain = {"dataset": {"synthetic": "moons"}, "grid": {"depth": [0, 1]}}
    assert parse_spec(plain, source="a").fingerprint() == parse_spec(
        {**plain, "grid": {"depth": [0, 1], "train_size": 1.0}, "learning_curve": {"top": 2}},
        source="a").fingerprint()


@pytest.mark.parametrize("raw, message", [
    ({"grid": {"train_size": [0]}}, "grid.train_size[0]: must be a fraction in (0, 1] of the training split or "
                                    "a whole number of rows >= 2 but got 0"),
    ({"grid": {"train_size": [2.5]}}, "grid.train_size[0]: must be a fraction"),
    ({"learning_curve": {"sizes": [0.5, 1]}}, "learning_curve.sizes: must list at least 3 distinct sizes"),
    ({"learning_curve": {"top": 0}}, "learning_curve.top: must be a whole number"),
])
def test_bad_train_sizes_are_refused_with_the_key(raw, message):
    with pytest.raises(FitcheckError) as error:
        parse_spec({"dataset": {"synthetic": "moons"}, **raw}, source="lc.yaml")
    assert str(error.value).startswith(f"lc.yaml: {message}")
