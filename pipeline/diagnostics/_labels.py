"""The fit label a run gets from whether its bias and its variance are significantly high."""

from __future__ import annotations

from pipeline.names import DIVERGED, GOOD_FIT, HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE, HIGH_VARIANCE, LABELS

__all__ = ["DIVERGED", "GOOD_FIT", "HIGH_BIAS", "HIGH_BIAS_HIGH_VARIANCE", "HIGH_VARIANCE", "LABELS", "fit_label"]


def fit_label(*, high_bias: bool, high_variance: bool) -> str:
    """The label for a run given whether its bias and its variance are significantly high.

    Examples
    --------
    >>> fit_label(high_bias=True, high_variance=False)
    'high_bias'
    """
    if high_bias and high_variance:
        return HIGH_BIAS_HIGH_VARIANCE
    if high_bias:
        return HIGH_BIAS
    if high_variance:
        return HIGH_VARIANCE
    return GOOD_FIT
