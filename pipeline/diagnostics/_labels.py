"""The fit labels and the one line of advice that goes with each."""

from __future__ import annotations

GOOD_FIT = "good_fit"
HIGH_BIAS = "high_bias"
HIGH_VARIANCE = "high_variance"
HIGH_BIAS_HIGH_VARIANCE = "high_bias_high_variance"
DIVERGED = "diverged"

LABELS = (GOOD_FIT, HIGH_BIAS, HIGH_VARIANCE, HIGH_BIAS_HIGH_VARIANCE, DIVERGED)


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


def advice(label: str, *, converged: bool, label_at_recommended: str, recommended_epochs: int | None,
           epochs_run: int) -> str:
    """One line of advice for a label, naming the cheapest fix first."""
    stop_helps = (
        recommended_epochs is not None and recommended_epochs < epochs_run
        and label_at_recommended in (GOOD_FIT, HIGH_BIAS)
    )
    if label == DIVERGED:
        return ("Training diverged: lower the learning rate, clip gradients or check the inputs "
                "for unscaled or non-finite values.")
    if label == GOOD_FIT:
        return "Good fit: the training error is near the reference and validation tracks training."
    bias = ("train longer or raise the learning rate: the training curve was still falling"
            if not converged else
            "add capacity (more units or layers) or train longer with a better optimiser")
    variance = ("stop early at epoch {k}" if stop_helps else
                "add regularisation (L2, dropout), get more training data or stop earlier")
    variance = variance.format(k=recommended_epochs)
    if label == HIGH_BIAS:
        return f"High bias: {bias}."
    if label == HIGH_VARIANCE:
        return f"High variance: {variance}."
    return f"High bias and high variance: first {bias}; then {variance}."
