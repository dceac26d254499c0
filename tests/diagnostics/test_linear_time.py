"""The linear-time stopping and divergence rules give exactly what the plain per-epoch loops give.

The loops below are the definitions (each epoch judged on its own); the product computes the same
in linear time so that a 1,000,000-epoch curve is diagnosed in seconds (bench/diagnose_scale.py).
Curves are drawn on a grid of 1/50 so that ties, where an off-by-one would show, are common.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import names
from pipeline.diagnostics import early_stopping_settings, recommend_stop, replay_keras_early_stopping, smooth
from pipeline.diagnostics._curves import EXPLOSION_FACTOR, diverged_at

curves = st.lists(st.integers(0, 50).map(lambda k: k / 50), min_size=1, max_size=60).map(np.array)


def smooth_by_definition(values: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    return np.array([values[i - min(half, i, len(values) - 1 - i): i + min(half, i, len(values) - 1 - i) + 1].mean()
                     for i in range(len(values))])


def recommend_by_definition(values: np.ndarray, window: int, patience: int, min_delta: float) -> int:
    smoothed = smooth_by_definition(values, window)
    return next(epoch + 1 for epoch in range(len(smoothed))
                if smoothed[epoch] - smoothed[epoch: epoch + patience + 1].min() <= min_delta)


def patience_by_replaying_each(values: np.ndarray, recommended: int, min_delta: float, floor: int) -> int:
    best_patience, best_distance = floor, None
    for patience in range(floor, max(floor, len(values)) + 1):
        distance = abs(replay_keras_early_stopping(values, patience=patience, min_delta=min_delta)[1] - recommended)
        if best_distance is None or distance < best_distance:
            best_patience, best_distance = patience, distance
        if distance == 0:
            break
    return best_patience


@settings(max_examples=300, deadline=None)
@given(curves, st.sampled_from([1, 3, 5, 7]))
def test_smooth_equals_the_mean_of_each_window(values, window):
    np.testing.assert_array_equal(smooth(values, window=window), smooth_by_definition(values, window))


@settings(max_examples=300, deadline=None)
@given(curves, st.sampled_from([1, 3, 5]), st.integers(1, 12), st.sampled_from([0.0, 0.01, 0.05]))
def test_recommend_stop_equals_the_epoch_by_epoch_rule(values, window, patience, min_delta):
    assert recommend_stop(values, window=window, patience=patience, min_delta=min_delta) == \
        recommend_by_definition(values, window, patience, min_delta)


@settings(max_examples=300, deadline=None)
@given(curves, st.data(), st.sampled_from([0.0, 0.01, 0.05]))
def test_early_stopping_patience_equals_replaying_every_patience(values, data, min_delta):
    recommended = data.draw(st.integers(1, len(values)))
    settings_found = early_stopping_settings(values, recommended_epochs=recommended, min_delta=min_delta,
                                             monitor="val_error", mode="min")
    from pipeline.diagnostics import patience_floor

    floor = patience_floor(values, recommended_epochs=recommended, min_delta=min_delta)
    assert settings_found["patience"] == patience_by_replaying_each(values, recommended, min_delta, floor)


def diverged_by_definition(table: pd.DataFrame) -> int | None:
    values = table.drop(columns="epoch").to_numpy()
    loss = table[names.TRAIN_LOSS].to_numpy()
    for row in range(len(table)):
        if not np.isfinite(values[row]).all():
            return row + 1
        if row and loss[row] > loss[0] and loss[row] > EXPLOSION_FACTOR * max(np.min(loss[: row + 1]), 0.0):
            return row + 1
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.01, 0.1, 0.5, 1.0, 3.0, 20.0, np.inf, np.nan]), min_size=1, max_size=30))
def test_diverged_at_equals_the_row_by_row_scan(losses):
    table = pd.DataFrame({"epoch": np.arange(1, len(losses) + 1), names.TRAIN_LOSS: losses,
                          names.VAL_LOSS: np.ones(len(losses)), "train_error": 0.1, "val_error": 0.2})
    assert diverged_at(table) == diverged_by_definition(table)
