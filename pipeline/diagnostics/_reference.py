"""Keeping an estimated reference error honest against what the sweep's own networks reached.

Pure: takes numbers, returns numbers. Estimating the reference (baselines, cross-validation)
lives in ``pipeline.sweep._reference``; this module never trains anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline import names
from pipeline.diagnostics._noise import metric_se
from pipeline.errors import FitcheckError


@dataclass(frozen=True)
class CappedReference:
    """An estimated reference error after the cap: ``value`` is what to diagnose against."""

    value: float
    capped: bool
    cap: float
    estimate: float


def cap_reference(estimate: float, *, best_val: float, n_val: int, n_trials: int, metric: str) -> CappedReference:
    """Cap an estimated reference error by the best validation error the sweep reached.

    The lowest of ``n_trials`` noisy validation errors is optimistic: its expected shortfall is
    about ``SE * sqrt(2 ln K)`` for K trials (the expected maximum of K standard normals grows
    like ``sqrt(2 ln K)``). The cap is the best validation error plus that allowance, with SE
    the metric's standard error on ``n_val`` rows; an estimate above the cap is lowered to it,
    so the reference a user sees is never above what their own networks demonstrably reach.

    Parameters
    ----------
    estimate : float
        The estimated reference error (e.g. the baselines' cross-validated error).
    best_val : float
        The sweep's best validation metric: the lowest any finished trial reached (the smallest
        of the trials' ``best_val_<metric>``), the number a user sees in the leaderboard.
    n_val : int
        Validation rows.
    n_trials : int
        Trials the best was picked from (K).
    metric : {"error", "rmse"}

    Returns
    -------
    CappedReference

    Examples
    --------
    >>> capped = cap_reference(0.089, best_val=0.05, n_val=300, n_trials=30, metric="error")
    >>> round(capped.value, 3), capped.capped
    (0.084, True)
    """
    for name, value in (("estimate", estimate), (names.BEST_VAL, best_val)):
        if not (math.isfinite(value) and value >= 0):
            raise FitcheckError(f"{name} must be a finite number >= 0 but got {value!r}.")
    if n_trials < 1:
        raise FitcheckError(f"n_trials must be at least 1 but got {n_trials!r}.")
    allowance = metric_se(best_val, n_val, metric=metric) * math.sqrt(2.0 * math.log(n_trials))
    cap = best_val + allowance
    return CappedReference(value=min(estimate, cap), capped=estimate > cap, cap=cap, estimate=estimate)
