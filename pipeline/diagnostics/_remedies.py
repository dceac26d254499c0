"""The next configuration to try: concrete changes of what a run used, ordered by expected effect.

Pure: a label, the curves' verdicts and the run's configuration in, a tuple of :class:`AdviceItem` out.
Never proposes a value the run already has; without a configuration the changes stay generic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.names import GOOD_FIT, HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE, HIGH_VARIANCE, MORE_DATA_NO, MORE_DATA_YES

#: Optimizers that adapt their step per weight: "switch to adam" is only advised away from the others.
ADAPTIVE = frozenset({"adam", "adamw", "adamax", "nadam", "rmsprop", "adagrad", "adadelta", "lion", "ftrl"})
TRAIN_LONGER = "train longer"
ADD_CAPACITY = "add capacity"
STOP_EARLY = "stop early at epoch {k}"
RAISE_LEARNING_RATE = "raise the learning rate"
LOWER_LEARNING_RATE = "lower the learning rate"
MORE_DATA = "get more training data"
CURVE_FALLING = "the learning curve over training-set size is still falling"
EPOCHS_FACTOR = 3
LEARNING_RATE_FACTOR = 10.0
DEFAULT_L2, DEFAULT_DROPOUT, DROPOUT_STEP, MAX_DROPOUT = 1e-3, 0.2, 0.2, 0.5


@dataclass(frozen=True)
class AdviceItem:
    """One change to try: ``axis`` from the run's value (``from_``, None when unknown) ``to`` a new one.

    ``change`` is the phrase shown (``"train longer (epochs 20 → 60)"``); ``reason`` the evidence for it.
    ``to_dict`` names the fields ``change``, ``axis``, ``from``, ``to`` and ``reason``.
    """

    change: str
    axis: str
    from_: object
    to: object
    reason: str

    def to_dict(self) -> dict:
        return {"change": self.change, "axis": self.axis, "from": self.from_, "to": self.to, "reason": self.reason}


@dataclass(frozen=True)
class RunState:
    """What the curves said, for the remedies: the label's evidence and the run's dynamics."""

    label: str
    learning: bool
    converged: bool | None
    error_flat: bool
    unstable: bool
    stop_epoch: int | None
    epochs_run: int
    memorised_noise: bool = False
    more_data: str | None = None
    fixed_by_stopping: bool = False
    #: The validation metric at the recommended epoch is lower than at the end by more than its noise.
    stop_gain: bool = False
    #: The validation metric was still at its best at the last epoch (the recommendation is the end).
    val_improving: bool = False
    #: False when nothing measured separates the training error from what the task allows (no reference for
    #: a regression): no capacity change is advised on it.
    bias_decided: bool = True


def _item(verb: str, axis: str, config: Mapping, to_value, reason: str, *, generic: str | None = None) -> AdviceItem:
    """A change of ``axis`` to ``to_value`` (a function of the run's value, or None when it is unknown)."""
    from_value = config.get(axis)
    target = to_value(from_value) if from_value is not None else None
    if target is None:
        return AdviceItem(f"{verb} ({generic})" if generic else verb, axis, from_value, None, reason)
    return AdviceItem(f"{verb} ({axis} {_show(from_value)} → {_show(target)})", axis, from_value, target, reason)


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _whole(value, factor: int) -> int | None:
    """``value`` (a number, or its text as MLflow params hold it) times ``factor``, as a whole number."""
    number = _number(value)
    return None if number is None else int(number) * factor


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def remedies(state: RunState, config: Mapping[str, object] | None = None) -> tuple[AdviceItem, ...]:
    """Concrete changes for a run, most effective first; none it already has.

    Examples
    --------
    >>> state = RunState(label="high_bias", learning=True, converged=False, error_flat=False, unstable=False,
    ...                  stop_epoch=20, epochs_run=20)
    >>> [item.change for item in remedies(state, {"epochs": 20, "learning_rate": 0.001, "optimizer": "adam"})]
    ['train longer (epochs 20 → 60)', 'raise the learning rate (learning_rate 0.001 → 0.01)']
    """
    config = dict(config or {})
    config.setdefault("epochs", state.epochs_run)
    items: list[AdviceItem] = []
    if state.unstable:
        items.append(_item(LOWER_LEARNING_RATE, "learning_rate", config,
                           lambda lr: _rounded(_number(lr) / LEARNING_RATE_FACTOR) if _number(lr) else None,
                           "unstable: a loss or the validation metric jumped by much more than its noise",
                           generic="÷10"))
    if state.label == GOOD_FIT:
        return tuple(items)
    if state.unstable:  # its curves do not measure bias or variance yet: steady it first, then diagnose again
        if state.stop_epoch is not None and state.stop_epoch < state.epochs_run:
            items.append(AdviceItem(STOP_EARLY.format(k=state.stop_epoch), "epochs", state.epochs_run,
                                    state.stop_epoch, "the validation metric is better there than at the end"))
        return tuple(items)
    if state.label in (HIGH_BIAS, HIGH_BIAS_HIGH_VARIANCE):
        items += _bias_items(state, config)
    if state.label in (HIGH_VARIANCE, HIGH_BIAS_HIGH_VARIANCE):
        items += _variance_items(state, config)
    return tuple(items)


def _rounded(value: float) -> float:
    return float(f"{value:.3g}")


def _bias_items(state: RunState, config: dict) -> list[AdviceItem]:
    items = []
    if state.learning:
        reason = "still learning: the training loss or error was still falling beyond its noise"
        items.append(_item(TRAIN_LONGER, "epochs", config, lambda e: _whole(e, EPOCHS_FACTOR), reason))
        if not state.unstable:
            items.append(_item(RAISE_LEARNING_RATE, "learning_rate", config,
                               lambda lr: _rounded(_number(lr) * LEARNING_RATE_FACTOR) if _number(lr) else None,
                               reason, generic="×10"))
    if not (state.converged or (state.learning and state.error_flat)) or not state.bias_decided:
        return items
    reason = ("the training error had stopped falling" if state.converged
              else "the training error had stopped falling: if it stays flat once the loss has converged")
    depth, width = _number(config.get("depth")), _number(config.get("width"))
    if depth is not None and (depth == 0 or width is None):
        items.append(_item(ADD_CAPACITY, "depth", config, lambda d: int(_number(d)) + 1, reason))
    elif width is not None:
        items.append(_item(ADD_CAPACITY, "width", config, lambda w: _whole(w, 2), reason))
    else:
        items.append(AdviceItem(f"{ADD_CAPACITY} (more units or layers)", "capacity", None, None, reason))
    optimizer = config.get("optimizer")
    if optimizer is None or str(optimizer).lower() not in ADAPTIVE:
        items.append(_item("switch the optimizer", "optimizer", config, lambda _: "adam", reason,
                           generic="to an adaptive one such as adam, if plain sgd"))
    loosened = {"l2": lambda v: _rounded(_number(v) / LEARNING_RATE_FACTOR),
                "dropout": lambda v: _rounded(max(0.0, _number(v) - DROPOUT_STEP))}
    for axis, lower in loosened.items():
        if _number(config.get(axis)):  # only a regularisation the run used can be loosened
            items.append(_item("loosen regularisation", axis, config, lower, "regularisation adds bias"))
    return items


def _variance_items(state: RunState, config: dict) -> list[AdviceItem]:
    """Stop early where that fixes the label; regularise; more data (first when its learning curve says so)."""
    items = []
    if state.stop_epoch is not None and state.stop_epoch < state.epochs_run:
        why = ("the label at that epoch is better than at the end" if not state.stop_gain or state.fixed_by_stopping
               else "the validation metric there is lower than at the end by more than its noise")
        items.append(AdviceItem(STOP_EARLY.format(k=state.stop_epoch), "epochs", state.epochs_run,
                                state.stop_epoch, why))
        if state.fixed_by_stopping:
            return items  # the model at that epoch is a good fit: nothing else to change
    elif state.learning and state.val_improving and not state.unstable:
        # training and validation both still improving at the end: the gap is not the last word yet
        items.append(_item(TRAIN_LONGER, "epochs", config, lambda e: _whole(e, EPOCHS_FACTOR),
                           "still learning: the training loss still fell and validation was at its best at the end"))
    reason = "the validation metric is significantly above the training metric"
    l2, dropout = _number(config.get("l2")), _number(config.get("dropout"))
    regularise = [_item("add regularisation", "l2", config, lambda v: _rounded(_number(v) * 10) if _number(v)
                        else DEFAULT_L2, reason, generic="L2, dropout")]
    if (l2 is not None or dropout is not None) and (dropout is None or dropout < MAX_DROPOUT):
        regularise.append(_item("add regularisation", "dropout", config,
                                lambda v: _rounded(min(MAX_DROPOUT, (_number(v) or 0.0) + DROPOUT_STEP)), reason))
    more = []
    measured = state.more_data == MORE_DATA_YES
    if state.more_data != MORE_DATA_NO and not state.memorised_noise:
        more.append(_item(MORE_DATA, "n_train", config, lambda n: _whole(n, 2), CURVE_FALLING if measured else reason,
                          generic=CURVE_FALLING if measured else None))
    # more data first, as in the recipe: it lowers variance without adding bias; regularise where there is none
    items += more + regularise
    depth, width = _number(config.get("depth")), _number(config.get("width"))
    if width is not None and width >= 2 and depth:
        items.append(_item("use a smaller network", "width", config, lambda w: max(1, int(_number(w)) // 2), reason))
    elif depth is None:
        items.append(AdviceItem("use a smaller network", "capacity", None, None, reason))
    return items
