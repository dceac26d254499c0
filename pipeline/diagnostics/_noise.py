"""Standard errors of the task metrics: how much of a gap is noise.

Error rates are binomial proportions; an RMSE over ``n`` roughly Gaussian residuals has a
standard error of about ``rmse / sqrt(2 n)`` (normal approximation of the chi distribution).
"""

from __future__ import annotations

import math


def error_rate_se(error: float, n: int) -> float:
    """Binomial standard error of an error rate measured on ``n`` examples.

    Uses the Agresti-Coull style shrunk proportion ``(e n + 1) / (n + 2)`` so that an error of
    exactly 0 or 1 still has a positive standard error.

    Examples
    --------
    >>> round(error_rate_se(0.1, 10_000), 4)
    0.003
    """
    shrunk = (error * n + 1.0) / (n + 2.0)
    return math.sqrt(shrunk * (1.0 - shrunk) / n)


def rmse_se(rmse: float, n: int) -> float:
    """Approximate standard error of an RMSE measured on ``n`` Gaussian residuals.

    Examples
    --------
    >>> rmse_se(1.0, 50)
    0.1
    """
    return abs(rmse) / math.sqrt(2.0 * n)


def metric_se(value: float, n: int, *, metric: str) -> float:
    """Standard error of the task metric ``"error"`` or ``"rmse"`` measured on ``n`` examples."""
    if n <= 0:
        raise ValueError(f"the sample size must be positive but got {n}.")
    return error_rate_se(value, n) if metric == "error" else rmse_se(value, n)
