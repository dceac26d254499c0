"""Successive halving prunes a trial only when it trails the rung's cut by more than the noise."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from pipeline.diagnostics import SuccessiveHalving, error_rate_se
from pipeline.diagnostics._pruning import Z

PRUNER = SuccessiveHalving(min_epochs=2, reduction_factor=3)


def test_one_example_apart_on_114_rows_is_not_a_reason_to_prune():
    cut = 0.1053  # 12 of 114 wrong
    assert PRUNER.prune([cut, 0.3, 0.31], cut + 1 / 114)  # without the validation size: pruned on one example
    assert not PRUNER.prune([cut, 0.3, 0.31], cut + 1 / 114, n_val=114)
    assert PRUNER.prune([cut, 0.3, 0.31], 0.30, n_val=114)  # far behind: pruned


@given(cut=st.floats(0.01, 0.5), gap=st.floats(0.0, 0.4), n_val=st.integers(20, 5000))
def test_a_trial_is_pruned_exactly_when_it_trails_the_cut_beyond_z_standard_errors(cut, gap, n_val):
    value = min(cut + gap, 1.0)
    margin = Z * math.hypot(error_rate_se(value, n_val), error_rate_se(cut, n_val))
    pruned = PRUNER.prune([cut, 1.0, 1.0], value, n_val=n_val)  # the cut is the best of four: only it goes on
    assert pruned == (value > cut + margin)
