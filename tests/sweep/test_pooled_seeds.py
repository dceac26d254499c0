"""A configuration's seeds give one learning curve and one data-size verdict, not one per seed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.search import TrialConfig
from pipeline.sweep._learning_curves import CurvePoint, curves_by_configuration


def _point(seed: int, train_size: float, n_train: int, val: float, train: float | None = 0.05) -> CurvePoint:
    config = TrialConfig(1, 8, "relu", "binary_crossentropy", "adam", 0.01, 32, 10, seed, train_size=train_size)
    return CurvePoint(config, n_train, val, train, f"run-s{seed}-n{n_train}")


def test_three_seeds_make_one_curve_of_their_means():
    points = [_point(seed, size, rows, val + 0.01 * seed)
              for seed in (0, 1, 2) for size, rows, val in ((0.25, 100, 0.30), (0.5, 200, 0.20), (1.0, 400, 0.15))]
    curves = curves_by_configuration(points)
    assert len(curves) == 1
    (curve,) = curves.values()
    assert [point.n_train for point in curve] == [100, 200, 400]
    assert [point.val_metric for point in curve] == pytest.approx([0.31, 0.21, 0.16])
    assert curve[-1].run_ids == ("run-s0-n400", "run-s1-n400", "run-s2-n400")


def test_other_configurations_stay_apart_and_a_missing_training_metric_is_not_averaged():
    points = [_point(0, 1.0, 400, 0.2), _point(0, 0.5, 200, 0.3, train=None), _point(1, 0.5, 200, 0.32)]
    other = [replace(point, config=replace(point.config, learning_rate=0.1)) for point in points[:2]]
    curves = curves_by_configuration(points + other)
    assert len(curves) == 2
    for curve in curves.values():
        assert curve[0].train_metric is None  # one seed lacked it at 200 rows
