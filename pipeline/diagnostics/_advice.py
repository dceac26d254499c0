"""What to do about each label: one line for a run, and a headline with next steps for a group of runs."""

from __future__ import annotations

from pipeline.names import DIVERGED, GOOD_FIT, HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE, HIGH_VARIANCE, UNDIAGNOSED

#: Per label: a headline and the next steps to try, cheapest first.
LABEL_ADVICE = {
    GOOD_FIT: ("Training error is close to the reference and the validation gap is small.", [
        "Confirm on the held-out test set before trusting the ranking.",
        "Among the good fits, prefer the cheapest (fewest parameters, fewest epochs).",
        "Stop training at the recommended epoch; later epochs buy nothing.",
    ]),
    HIGH_BIAS: ("The network cannot fit the training set: avoidable bias (train error minus reference) is large.", [
        "Add capacity: more layers or wider layers.",
        "Train longer, raise the learning rate, or switch to an adaptive optimizer such as adam.",
        "Loosen regularisation (smaller l2, less dropout).",
        "Check the features: a better representation often beats a bigger network.",
    ]),
    HIGH_VARIANCE: ("The network fits the training set but not the validation set: the gap is large.", [
        "Stop at the recommended epoch (early stopping) instead of the last one.",
        "Regularise: raise l2 or dropout.",
        "Get more training data, or augment it.",
        "Use a smaller network if the gap stays large after regularising.",
    ]),
    HIGH_BIAS_HIGH_VARIANCE: ("Both: the training error is high and validation is worse still.", [
        "Fix bias first (capacity, optimizer, training length), then regularise the variance away.",
        "Check the data: label noise or a shift between the train and validation split gives this picture.",
    ]),
    DIVERGED: ("The loss became NaN or infinite, or the run failed.", [
        "Lower the learning rate, or use adam instead of plain sgd.",
        "Standardise the inputs; clip gradients for deep networks.",
        "Read the error tag on the run for failures that are not divergence.",
    ]),
    UNDIAGNOSED: ("These runs carry no diagnosis tag (still running, or logged by an older fitcheck).", [
        "Re-run `fitcheck diagnose` on the sweep, or resume it to finish the missing trials.",
    ]),
}


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
