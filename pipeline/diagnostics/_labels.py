"""The fit label a run gets from whether its bias and its variance are significantly high."""

from __future__ import annotations

from pipeline.names import DIVERGED, GOOD_FIT, HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE, HIGH_VARIANCE, LABELS

__all__ = ["DIVERGED", "GOOD_FIT", "HIGH_BIAS", "HIGH_BIAS_HIGH_VARIANCE", "HIGH_VARIANCE", "LABELS", "fit_label",
           "label_improves"]


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


#: The problems each fit label names; a label improves on another when it names fewer of them.
PROBLEMS = {
    GOOD_FIT: frozenset(), HIGH_BIAS: frozenset({"bias"}), HIGH_VARIANCE: frozenset({"variance"}),
    HIGH_BIAS_HIGH_VARIANCE: frozenset({"bias", "variance"}),
}


def label_improves(label: str, *, over: str) -> bool:
    """Whether ``label`` names strictly fewer problems than ``over`` (e.g. good fit over high variance).

    High bias and high variance are different problems: neither improves on the other.
    Divergence is not a fit label; nothing improves on it or is improved on by it here.

    Examples
    --------
    >>> label_improves("good_fit", over="high_variance"), label_improves("high_bias", over="high_variance")
    (True, False)
    """
    if label not in PROBLEMS or over not in PROBLEMS:
        return False
    return PROBLEMS[label] < PROBLEMS[over]
