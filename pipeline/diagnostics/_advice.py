"""What to do about each label: one line for a run, and a headline with next steps for a group of runs.

The one place advice is worded. Each recommendation rests on evidence a checker can verify
(:func:`~pipeline.diagnostics.advice_contradictions`): "train longer" only while the training
metric still falls by more than its noise, "add capacity" only for converged high bias, "stop
early at epoch k" only when the label at k improves on the label at the end.
"""

from __future__ import annotations

from pipeline.diagnostics._labels import label_improves
from pipeline.names import (DIVERGED, GOOD_FIT, HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE, HIGH_VARIANCE, MORE_DATA_NO,
                            MORE_DATA_YES, PRUNED, UNDIAGNOSED)

TRAIN_LONGER = "train longer"
ADD_CAPACITY = "add capacity"
STOP_EARLY = "stop early at epoch {k}"

#: Per label: a headline and the next steps to try, cheapest first.
LABEL_ADVICE = {
    GOOD_FIT: ("Training error is close to the reference and the validation gap is small.", [
        "Confirm on the held-out test set before trusting the ranking.",
        "Among configurations tied within one standard error, prefer the simplest (fewest parameters, "
        "then fewest epochs).",
        "Train for the recommended number of epochs: later epochs did not lower the smoothed validation error.",
    ]),
    HIGH_BIAS: ("The network cannot fit the training set: avoidable bias (train error minus reference) is large.", [
        "Where the training error was still falling at the end, train longer or raise the learning rate.",
        "Where it had stopped falling, add capacity (more layers or wider layers) or switch to an "
        "adaptive optimizer such as adam.",
        "Loosen regularisation (smaller l2, less dropout).",
        "Check the features: a better representation often beats a bigger network.",
    ]),
    HIGH_VARIANCE: ("The network fits the training set but not the validation set: the gap is large.", [
        "Where the label at the recommended epoch is better than at the end, stop there (early stopping).",
        "Regularise: raise l2 or dropout.",
        "Get more training data, or augment it.",
        "Use a smaller network if the gap stays large after regularising.",
    ]),
    HIGH_BIAS_HIGH_VARIANCE: ("Both: the training error is high and validation is worse still.", [
        "Fix bias first (more epochs while the training error still falls, else capacity or a better "
        "optimiser), then regularise the variance away.",
        "Check the data: label noise or a shift between the train and validation split gives this picture.",
    ]),
    DIVERGED: ("The loss became NaN or infinite, or the run failed.", [
        "Lower the learning rate, or use adam instead of plain sgd.",
        "Standardise the inputs; clip gradients for deep networks.",
        "Read the error tag on the run for failures that are not divergence.",
    ]),
    PRUNED: ("Successive halving stopped these trials: at a rung their validation error was not among the "
             "best of the sweep's trials.", [
        "Read each one's curves up to the rung: a slow starter may deserve a run without pruning.",
        "Spend the epochs saved on the configurations that went on.",
    ]),
    UNDIAGNOSED: ("These runs carry no diagnosis tag (still running, or logged by an older fitcheck).", [
        "Re-run `fitcheck diagnose` on the sweep, or resume it to finish the missing trials.",
    ]),
}

#: For runs whose bias verdict is undecided (an estimated reference too uncertain to rule bias in
#: or out): a headline and next steps, shown apart from the plain good fits.
UNDECIDED_BIAS_ADVICE = (
    "No significant bias was found, but the estimated reference is too uncertain to rule it out.", [
        "Give reference_error when a Bayes or human-level error is known: it decides the bias verdict.",
        "Otherwise compare these runs with each other: the reference cannot separate them from high bias.",
    ])


def advice(label: str, *, still_falling: bool, converged: bool, label_at_recommended: str,
           recommended_epochs: int | None, epochs_run: int, bias_decided: bool = True,
           more_data: str | None = None) -> str:
    """One line of advice for a run, naming the cheapest fix the evidence supports.

    Parameters
    ----------
    label : str
        The fit label at the end of the run.
    still_falling, converged : bool
        Whether the training metric still fell by more than its noise over the last part of the
        run, and whether it had stopped doing so (both False when one epoch cannot tell).
    label_at_recommended : str
        The fit label at the recommended epoch.
    recommended_epochs : int or None
        The recommended epoch.
    epochs_run : int
        Epochs the run trained.
    bias_decided : bool, default True
        False when an estimated reference cannot rule avoidable bias in or out.
    more_data : {"yes", "no", "cannot_tell"}, optional
        The configuration's learning-curve verdict over training-set size, where one was measured:
        "get more training data" is then advised only when it says yes, and ruled out when it says no.

    Examples
    --------
    >>> advice("high_variance", still_falling=False, converged=True, label_at_recommended="good_fit",
    ...        recommended_epochs=12, epochs_run=40)
    'High variance: stop early at epoch 12.'
    """
    if label == DIVERGED:
        return ("Training diverged: lower the learning rate, clip gradients or check the inputs "
                "for unscaled or non-finite values.")
    undecided = "" if bias_decided else (" The bias is undecided: the estimated reference cannot rule "
                                         "it out; give reference_error to decide it.")
    curve = {MORE_DATA_YES: " The learning curve over training-set size is still falling: more data would help.",
             MORE_DATA_NO: " The learning curve over training-set size has flattened: more data will not help."
             }.get(more_data, "")
    if label == GOOD_FIT:
        return f"Good fit: the training error is near the reference and validation tracks training.{undecided}{curve}"
    if still_falling:
        bias = f"{TRAIN_LONGER} or raise the learning rate: the training error was still falling"
    elif converged:
        bias = (f"{ADD_CAPACITY} (more units or layers) or switch to a better optimiser: the training error "
                "had stopped falling")
    else:
        bias = "run several epochs to see whether the training error is still falling before changing the model"
    stop_helps = (recommended_epochs is not None and recommended_epochs < epochs_run
                  and label_improves(label_at_recommended, over=label))
    regularise = {MORE_DATA_YES: "get more training data (the learning curve over training-set size is still "
                                 "falling), add regularisation (L2, dropout) or use a smaller network",
                  MORE_DATA_NO: "add regularisation (L2, dropout) or use a smaller network"}.get(
        more_data, "add regularisation (L2, dropout), get more training data or use a smaller network")
    variance = STOP_EARLY.format(k=recommended_epochs) if stop_helps else regularise
    if label == HIGH_BIAS:
        return f"High bias: {bias}.{curve}"
    told = curve if stop_helps or more_data == MORE_DATA_NO else ""  # "yes" is in the variance advice already
    if label == HIGH_VARIANCE:
        return f"High variance: {variance}.{undecided}{told}"
    return f"High bias and high variance: first {bias}; then {variance}.{told}"
