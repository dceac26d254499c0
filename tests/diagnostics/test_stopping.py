"""The stopping rules: recommendation, online stop and Keras EarlyStopping replay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.diagnostics import (
    early_stopping_settings,
    online_stop,
    recommend_stop,
    replay_keras_early_stopping,
    smooth,
)


def u_shape(epochs=60, best=20, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.arange(1, epochs + 1)
    return 0.2 + 0.0005 * (x - best) ** 2 + rng.normal(scale=noise, size=epochs)


def test_recommend_stop_ignores_a_lucky_dip():
    curve = u_shape(noise=0.0)
    curve[44] = 0.1  # a single noisy epoch far past the real minimum
    assert int(np.argmin(curve)) + 1 == 45
    assert recommend_stop(curve) == 20


def test_recommend_stop_is_near_the_true_minimum_under_noise():
    picks = [recommend_stop(u_shape(noise=0.01, seed=seed)) for seed in range(50)]
    raw = [int(np.argmin(u_shape(noise=0.01, seed=seed))) + 1 for seed in range(50)]
    assert np.mean(np.abs(np.array(picks) - 20)) < np.mean(np.abs(np.array(raw) - 20))


def test_min_delta_prefers_the_earliest_of_a_flat_bottom():
    curve = np.array([1.0, 0.5, 0.30, 0.29, 0.29, 0.28, 0.28])
    assert recommend_stop(curve, window=1) == 6
    assert recommend_stop(curve, window=1, min_delta=0.025) == 3


def test_smooth_rejects_an_even_window():
    with pytest.raises(ValueError, match="odd"):
        smooth(np.ones(3), window=4)


def test_replay_matches_keras_semantics():
    curve = np.array([1.0, 0.9, 0.95, 0.96, 0.97, 0.98])
    assert replay_keras_early_stopping(curve, patience=3) == (5, 2)
    assert replay_keras_early_stopping(curve, patience=10) == (6, 2)
    # an improvement smaller than min_delta does not count
    assert replay_keras_early_stopping(np.array([1.0, 0.99, 0.98, 0.97]), patience=2,
                                       min_delta=0.05) == (3, 1)


def test_online_stop_stops_after_patience_on_the_smoothed_curve():
    curve = u_shape(noise=0.0)
    trained, kept = online_stop(curve, patience=5, window=5)
    assert 20 < trained < 35
    assert kept == 20


def test_early_stopping_settings_reproduce_the_recommendation():
    curve = u_shape(noise=0.005, seed=3)
    recommended = recommend_stop(curve)
    settings_ = early_stopping_settings(curve, recommended_epochs=recommended, min_delta=0.0,
                                        monitor="val_accuracy", mode="max")
    _, restored = replay_keras_early_stopping(curve, patience=settings_["patience"])
    assert abs(restored - recommended) <= 3
    assert settings_["restore_best_weights"] is True


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=80))
def test_recommendation_is_always_a_trained_epoch(values):
    curve = np.array(values)
    assert 1 <= recommend_stop(curve) <= len(curve)
    trained, kept = online_stop(curve)
    assert 1 <= kept <= trained <= len(curve)
