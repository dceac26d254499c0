"""Andrew Ng's Machine Learning Yearning worked examples, at dev-set sizes where the gaps are
and are not statistically meaningful."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.diagnostics import diagnose


def one_epoch(train_error: float, val_error: float) -> pd.DataFrame:
    return pd.DataFrame({"epoch": [1], "train_loss": [0.3], "val_loss": [0.4],
                         "train_error": [train_error], "val_error": [val_error]})


@pytest.mark.parametrize(
    ("train_error", "val_error", "optimal", "n_val", "expected"),
    [
        # optimal error ~ 0, large dev set: every gap above two points is significant
        (0.01, 0.11, 0.0, 5_000, "high_variance"),
        (0.15, 0.16, 0.0, 5_000, "high_bias"),
        (0.15, 0.30, 0.0, 5_000, "high_bias_high_variance"),
        (0.005, 0.01, 0.0, 1_000_000, "good_fit"),
        # optimal error 14%
        (0.15, 0.16, 0.14, 5_000, "good_fit"),
        (0.15, 0.30, 0.14, 5_000, "high_variance"),
        # tiny dev sets: the same gaps are within noise, so no variance is claimed
        (0.01, 0.11, 0.0, 20, "good_fit"),
        (0.15, 0.30, 0.0, 15, "high_bias"),
        (0.15, 0.30, 0.14, 15, "good_fit"),
    ],
)
def test_machine_learning_yearning_examples(train_error, val_error, optimal, n_val, expected):
    diagnosis = diagnose(one_epoch(train_error, val_error), task="binary", n_train=10_000,
                         n_val=n_val, reference_error=optimal)
    assert diagnosis.label == expected
    assert diagnosis.avoidable_bias == pytest.approx(train_error - optimal)
    assert diagnosis.variance_gap == pytest.approx(val_error - train_error)


def test_variance_gap_se_is_binomial_in_n_val():
    small = diagnose(one_epoch(0.01, 0.11), task="binary", n_train=10_000, n_val=100, reference_error=0.0)
    large = diagnose(one_epoch(0.01, 0.11), task="binary", n_train=10_000, n_val=10_000, reference_error=0.0)
    assert small.variance_gap_se == pytest.approx(10 * large.variance_gap_se, rel=0.05)
    assert large.variance_gap_se == pytest.approx((0.11 * 0.89 / 10_000) ** 0.5, rel=0.01)


def test_estimated_reference_widens_the_bias_bar():
    # 4 points of avoidable bias against a reference estimated on 100 rows (SE ~ 3.5 points)
    curves = one_epoch(0.14, 0.15)
    given = diagnose(curves, task="binary", n_train=100, n_val=5_000, reference_error=0.10)
    estimated = diagnose(curves, task="binary", n_train=100, n_val=5_000, reference_error=0.10,
                         reference_source="estimated")
    assert given.label == "high_bias"
    assert estimated.label == "good_fit"
