"""The stopping rules: recommendation, online stop and Keras EarlyStopping replay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.diagnostics import (
    early_stopping_settings,
    online_stop,
    patience_floor,
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


def test_a_flat_noisy_tail_is_not_trained_for_nothing():
    # falls to 0.2 by epoch 20, then a flat tail whose noise puts the smoothed minimum at the very end
    rng = np.random.default_rng(0)
    epochs = np.arange(1, 61)
    curve = 0.2 + 0.3 * np.exp(-0.3 * (epochs - 1)) + rng.normal(scale=0.004, size=60)
    late = recommend_stop(curve, patience=len(curve))  # the first minimum of the whole smoothed curve
    assert (recommend_stop(curve), late) == (29, 60)
    assert curve[28] - curve.min() < 0.004  # within one noise SD of the best: the last 31 epochs buy nothing


def test_patience_is_how_many_later_smoothed_epochs_must_not_beat_the_pick():
    curve = np.array([0.5, 0.4, 0.3, 0.31, 0.3, 0.2, 0.2])  # a plateau, then a second descent
    assert recommend_stop(curve, window=1, patience=2) == 3
    assert recommend_stop(curve, window=1, patience=3) == 6
    with pytest.raises(ValueError, match="patience must be at least 1"):
        recommend_stop(curve, patience=0)


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


def test_early_stopping_settings_restore_the_closest_epoch_any_patience_can():
    curve = u_shape(noise=0.005, seed=3)
    recommended = recommend_stop(curve)
    settings_ = early_stopping_settings(curve, recommended_epochs=recommended, min_delta=0.0,
                                        monitor="val_accuracy", mode="max")
    _, restored = replay_keras_early_stopping(curve, patience=settings_["patience"])
    reachable = {replay_keras_early_stopping(curve, patience=p)[1] for p in range(1, len(curve) + 1)}
    assert recommended == 19
    assert 19 not in reachable  # no patience restores the recommendation itself ...
    assert restored == 20  # ... and epoch 20, one away, is the closest any patience restores
    assert settings_ == {"monitor": "val_accuracy", "mode": "max", "patience": 5, "min_delta": 0.0,
                         "restore_best_weights": True}


def test_a_noisy_curve_never_gets_patience_one():
    curve = u_shape(noise=0.005, seed=3)
    assert replay_keras_early_stopping(curve, patience=1) == (10, 9)  # patience 1 stops on noise at epoch 10
    assert patience_floor(curve, recommended_epochs=19, min_delta=0.0) == 5
    assert early_stopping_settings(curve, recommended_epochs=19, min_delta=0.0, monitor="val_error",
                                   mode="min")["patience"] == 5


def test_a_clean_curve_keeps_patience_one():
    curve = u_shape(noise=0.0)
    assert patience_floor(curve, recommended_epochs=20, min_delta=0.0) == 1
    assert early_stopping_settings(curve, recommended_epochs=20, min_delta=0.0, monitor="val_error",
                                   mode="min")["patience"] == 1


def test_a_first_epoch_recommendation_shows_no_descent_to_judge_noise_by():
    flat = np.full(12, 0.4)
    assert patience_floor(flat, recommended_epochs=1, min_delta=0.01) == 5
    assert patience_floor(np.array([0.4]), recommended_epochs=1, min_delta=0.01) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40), st.data(),
       st.sampled_from([0.0, 0.01, 0.05]))
def test_settings_pick_the_smallest_patience_above_the_noise_floor_that_restores_the_closest_epoch(
        values, data, min_delta):
    """For any curve and target epoch: the patience is at least the noise floor; no patience at or
    above the floor restores an epoch closer to the target; and no smaller such patience restores
    one as close."""
    curve = np.array(values)
    target = data.draw(st.integers(1, len(curve)))
    patience = early_stopping_settings(curve, recommended_epochs=target, min_delta=min_delta,
                                       monitor="val_error", mode="min")["patience"]
    floor = patience_floor(curve, recommended_epochs=target, min_delta=min_delta)

    def distance(p):
        return abs(replay_keras_early_stopping(curve, patience=p, min_delta=min_delta)[1] - target)

    assert patience >= floor
    assert all(distance(p) >= distance(patience) for p in range(floor, len(curve) + floor + 1))
    assert all(distance(p) > distance(patience) for p in range(floor, patience))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=80))
def test_recommendation_is_always_a_trained_epoch(values):
    curve = np.array(values)
    assert 1 <= recommend_stop(curve) <= len(curve)
    trained, kept = online_stop(curve)
    assert 1 <= kept <= trained <= len(curve)
