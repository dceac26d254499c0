"""The reference-error estimate: the lower of a tree ensemble's and a linear model's CV error."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import FitcheckError
from pipeline.sweep import BASELINES, baseline_errors, estimate_reference_error

FLIP = 0.1


def flipped(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels flipped at rate FLIP, so the Bayes error is FLIP."""
    return np.where(rng.uniform(size=len(y)) < FLIP, 1 - y, y)


def test_oblique_boundary_is_estimated_by_the_linear_baseline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 10))
    y = flipped((X @ rng.normal(size=10) > 0).astype(int), rng)
    errors = baseline_errors(X, y, task="binary")
    estimate = estimate_reference_error(X, y, task="binary")
    assert set(errors) == set(BASELINES)
    assert estimate == errors["linear"] < errors["hist_gradient_boosting"] - 0.03
    assert abs(estimate - FLIP) < 0.03  # close to the Bayes error


def test_axis_aligned_interaction_is_estimated_by_the_trees():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(1500, 4))
    y = flipped(((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int), rng)
    errors = baseline_errors(X, y, task="binary")
    assert errors["linear"] > 0.4  # a straight line cannot separate XOR
    assert estimate_reference_error(X, y, task="binary") == errors["hist_gradient_boosting"]
    assert abs(errors["hist_gradient_boosting"] - FLIP) < 0.04


def test_regression_and_multiclass_estimates():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 5))
    y = X @ rng.normal(size=5) + rng.normal(scale=1.0, size=1000)
    assert estimate_reference_error(X, y, task="regression") == pytest.approx(1.0, abs=0.08)
    labels = np.argmax(X @ rng.normal(size=(5, 3)), axis=1)
    assert estimate_reference_error(X, labels, task="multiclass") < 0.1


@pytest.mark.parametrize(("X", "y", "task", "message"), [
    (np.zeros((10, 2)), np.arange(10) % 2, "binary", "at least 20 training rows"),
    (np.zeros((30, 2)), np.zeros(30), "binary", "two classes"),
    (np.zeros((30, 2)), np.arange(30) % 2, "ranking", "task must be one of"),
])
def test_bad_input_is_a_one_line_error(X, y, task, message):
    with pytest.raises(FitcheckError, match=message):
        estimate_reference_error(X, y, task=task)
