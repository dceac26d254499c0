"""What to do about each label: one line for a run, and a headline with next steps for a group of runs.

The one place advice is worded. Each recommendation rests on evidence a checker can verify
(:func:`~pipeline.diagnostics.advice_contradictions`): "train longer" only while the training
metric or loss still falls by more than its noise, "add capacity" only for high bias whose error
stopped falling (and never first while the loss still falls), "lower the learning rate" only for an
unstable run, "stop early at epoch k" only when the label at k improves on the label at the end; each
item a concrete change of the run's configuration (:mod:`pipeline.diagnostics._remedies`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.diagnostics._labels import label_improves
from pipeline.diagnostics._remedies import (ADD_CAPACITY, LOWER_LEARNING_RATE, MORE_DATA, RAISE_LEARNING_RATE,
                                             STOP_EARLY, TRAIN_LONGER, AdviceItem, RunState, remedies)
from pipeline.names import (
    DIVERGED,
    FAILED,
    GOOD_FIT,
    HIGH_BIAS,
    HIGH_BIAS_HIGH_VARIANCE,
    HIGH_VARIANCE,
    MORE_DATA_NO,
    MORE_DATA_YES,
    PRUNED,
    UNDIAGNOSED,
)

__all__ = ["ADD_CAPACITY", "LABEL_ADVICE", "LOWER_LEARNING_RATE", "MORE_DATA", "RAISE_LEARNING_RATE", "STOP_EARLY",
           "TRAIN_LONGER", "UNDECIDED_BIAS_ADVICE", "advice", "advice_items"]

#: Per label: a headline and the next steps to try, cheapest first.
LABEL_ADVICE = {
    GOOD_FIT: ("Training error is close to the reference and the validation gap is small.", [
        "Confirm on the held-out test set before trusting the ranking.",
        "Among configurations tied within one standard error, prefer the simplest (fewest parameters, "
        "then fewest epochs).",
        "Train for the recommended number of epochs: later epochs did not lower the smoothed validation error.",
    ]),
    HIGH_BIAS: ("The network cannot fit the training set: avoidable bias (train error minus reference) is large.", [
        "Where the training loss or error was still falling at the end (converged: no), the run was still "
        "learning: train longer or raise the learning rate before judging capacity.",
        "Where both had stopped falling, add capacity (more layers or wider layers); where a trial used plain "
        "sgd, switch it to an adaptive optimizer such as adam.",
        "Where a trial used l2 or dropout, loosen it (smaller l2, less dropout).",
        "Check the features: a better representation often beats a bigger network.",
    ]),
    HIGH_VARIANCE: ("The network fits the training set but not the validation set: the gap is large.", [
        "Where the label or the validation error at the recommended epoch is better than at the end, stop "
        "there (early stopping); while training and validation both still improve, train longer.",
        "Get more training data, or augment it: it lowers variance without adding bias.",
        "Regularise where there is no more data: raise l2 or dropout.",
        "Use a smaller network if the gap stays large after regularising.",
    ]),
    HIGH_BIAS_HIGH_VARIANCE: ("Both: the training error is high and validation is worse still.", [
        "Fix bias first (more epochs while the training error still falls, else capacity or a better "
        "optimiser), then regularise the variance away.",
        "Check the data: label noise or a shift between the train and validation split gives this picture.",
    ]),
    DIVERGED: ("The loss became NaN or infinite.", [
        "Lower the learning rate, or use adam instead of plain sgd.",
        "Standardise the inputs; clip gradients for deep networks.",
    ]),
    FAILED: ("The trial failed with an error, not because its loss became NaN or infinite.", [
        "Read the error (the run's fitcheck.error tag), fix the model builder or the configuration, and run the "
        "same command again to retry it.",
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


_TITLES = {GOOD_FIT: "Good fit", HIGH_BIAS: "High bias", HIGH_VARIANCE: "High variance",
           HIGH_BIAS_HIGH_VARIANCE: "High bias and high variance"}


def advice_items(label: str, *, still_falling: bool, converged: bool | None, label_at_recommended: str,
                 recommended_epochs: int | None, epochs_run: int, more_data: str | None = None,
                 config: Mapping[str, object] | None = None, loss_falling: bool = False, unstable: bool = False,
                 memorised_noise: bool = False, stop_gain: bool = False,
                 bias_decided: bool = True) -> tuple[AdviceItem, ...]:
    """The structured advice for a run: concrete changes of its configuration, most effective first.

    The arguments are :func:`advice`'s; the phrases of the items are what its line joins.
    """
    if label == DIVERGED:
        return (AdviceItem(LOWER_LEARNING_RATE, "learning_rate", (config or {}).get("learning_rate"), None,
                           "the loss became NaN or infinite"),)
    early = recommended_epochs is not None and recommended_epochs < epochs_run
    stop_helps = early and (label_improves(label_at_recommended, over=label) or stop_gain)
    state = RunState(label=label, learning=still_falling or loss_falling, converged=converged,
                     error_flat=not still_falling, unstable=unstable,
                     stop_epoch=recommended_epochs if stop_helps else None, epochs_run=epochs_run,
                     memorised_noise=memorised_noise, more_data=more_data,
                     fixed_by_stopping=stop_helps and label_at_recommended == GOOD_FIT, stop_gain=stop_gain,
                     val_improving=recommended_epochs is not None and recommended_epochs >= epochs_run,
                     bias_decided=bias_decided)
    return remedies(state, config)


def advice(label: str, *, still_falling: bool, converged: bool | None, label_at_recommended: str,
           recommended_epochs: int | None, epochs_run: int, bias_decided: bool = True,
           more_data: str | None = None, config: Mapping[str, object] | None = None, loss_falling: bool = False,
           unstable: bool = False, memorised_noise: bool = False, stop_gain: bool = False) -> str:
    """One line of advice for a run: the concrete changes the evidence supports, most effective first.

    Parameters
    ----------
    label : str
        The fit label at the end of the run.
    still_falling : bool
        Whether the training metric still fell by more than its noise over the last part of the run.
    converged : bool or None
        Whether neither the training metric nor the training loss still fell (None: too few epochs).
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
        "get more training data" is then advised only when it does not say no.
    config : mapping, optional
        What the run used (``optimizer``, ``learning_rate``, ``epochs``, ``depth``, ``width``, ``l2``,
        ``dropout``, ``n_train``...): each change then names its value and the next one, and none
        proposes what the run already has.
    loss_falling : bool, default False
        The training loss still fell beyond its noise (still learning even if the error was flat).
    unstable : bool, default False
        A loss or the validation metric jumped by much more than its noise: lower the learning rate first.
    memorised_noise : bool, default False
        The validation metric is within noise of the reference: more data is not advised.

    Examples
    --------
    >>> advice("high_variance", still_falling=False, converged=True, label_at_recommended="good_fit",
    ...        recommended_epochs=12, epochs_run=40)
    'High variance: stop early at epoch 12.'
    >>> advice("high_variance", still_falling=False, converged=True, label_at_recommended="high_variance",
    ...        recommended_epochs=12, epochs_run=40, config={"l2": 0.0, "dropout": 0.0, "n_train": 300})
    'High variance: add regularisation (l2 0 → 0.001); add regularisation (dropout 0 → 0.2); get more training data (n_train 300 → 600); use a smaller network.'
    """
    if label == DIVERGED:
        return ("Training diverged: lower the learning rate, clip gradients or check the inputs "
                "for unscaled or non-finite values.")
    items = advice_items(label, still_falling=still_falling, converged=converged,
                         label_at_recommended=label_at_recommended, recommended_epochs=recommended_epochs,
                         epochs_run=epochs_run, more_data=more_data, config=config, loss_falling=loss_falling,
                         unstable=unstable, memorised_noise=memorised_noise, stop_gain=stop_gain,
                         bias_decided=bias_decided)
    undecided = "" if bias_decided else (" The bias is undecided: the reference error cannot rule it in or "
                                         "out; give reference_error to decide it.")
    curve = {MORE_DATA_YES: " The learning curve over training-set size is still falling: more data would help.",
             MORE_DATA_NO: " The learning curve over training-set size has flattened: more data will not help."
             }.get(more_data, "")
    if more_data == MORE_DATA_YES and any(item.change.startswith(MORE_DATA) for item in items):
        curve = ""  # the item says it
    learning = (still_falling or loss_falling) and label in (HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE)
    title = _TITLES[label] + (", still learning" if learning else "") + (", unstable" if unstable else "")
    told = "" if label == HIGH_BIAS and bias_decided else undecided
    if label == GOOD_FIT and not items:
        memorised = (" The gap is noise the network memorised: validation is within noise of the reference."
                     if memorised_noise else "")
        return f"{title}: the training error is near the reference and validation tracks training.{memorised}{told}{curve}"
    if not items:  # high bias after too few epochs to tell whether training still improves
        return (f"{title}: run several epochs to see whether the training error is still falling before "
                f"changing the model.{curve}")
    return f"{title}: {'; '.join(item.change for item in items)}.{told}{curve}"
