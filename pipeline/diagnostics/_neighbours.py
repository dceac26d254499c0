"""What the sweep itself measured of an advised change: the neighbouring configuration that made it.

Advice says "learning_rate 0.001 → 0.01"; when the sweep also ran this configuration at 0.01 (or further
that way) with every other axis the same, its validation metric is the measured answer, quoted beside
the advice. Pure: configurations and values in, a sentence out; it never reads MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._remedies import AdviceItem

#: A measured change leads the advice when it beat the run by more than this many standard errors of the
#: difference, and is left out of it when it was worse by more than :data:`WORSE_SES`.
BETTER_SES, WORSE_SES = 1.0, 2.0


def measured_neighbour(item: AdviceItem, config: Mapping[str, object],
                       trials: Sequence[tuple[Mapping[str, object], float]], *,
                       ignore: Collection[str] = ()) -> tuple[Mapping[str, object], float] | None:
    """The trial that made ``item``'s change of ``config``: the same on every other axis of ``config`` (but
    ``ignore``), its value of ``item.axis`` equal to a named ``item.to`` (``optimizer sgd → adam``) or, for a
    number, on the side of ``item.to`` (closest to it first); None when the sweep has none.

    Examples
    --------
    >>> item = AdviceItem("raise the learning rate (learning_rate 0.001 → 0.01)", "learning_rate", 0.001, 0.01, "")
    >>> run = {"depth": 1, "learning_rate": 0.001}
    >>> measured_neighbour(item, run, [({"depth": 1, "learning_rate": 0.1}, 0.09),
    ...                                ({"depth": 2, "learning_rate": 0.01}, 0.05)])
    ({'depth': 1, 'learning_rate': 0.1}, 0.09)
    """
    if item.to is None or item.axis not in config:
        return None
    others = [axis for axis in config if axis != item.axis and axis not in ignore]
    same = [(trial, value) for trial, value in trials
            if math.isfinite(value) and all(trial.get(axis) == config[axis] for axis in others)]
    start, target = _number(item.from_), _number(item.to)
    if start is None or target is None:  # a named value: the trial that used exactly it
        named = [(trial, value) for trial, value in same if str(trial.get(item.axis)) == str(item.to)]
        return named[0] if named else None
    if target == start:
        return None
    found = []
    for trial, value in same:
        moved = _number(trial.get(item.axis))
        if moved is None or (moved - start) * (target - start) <= 0:
            continue
        found.append((abs(math.log(moved / target)) if moved > 0 and target > 0 else abs(moved - target), trial, value))
    if not found:
        return None
    _, trial, value = min(found, key=lambda entry: entry[0])
    return trial, value


def order_by_measurement(items: Sequence[AdviceItem], measured: Sequence[float | None], *, own: float, n_val: int,
                         metric: str) -> tuple[tuple[AdviceItem, ...], tuple[AdviceItem, ...]]:
    """``items`` with the changes the sweep measured to help first (best first), and those it measured to hurt
    beyond noise apart: ``(advised, measured_worse)``. ``measured`` holds each item's neighbour's validation
    metric (None: not measured); ``own`` is the run's. At least one item stays advised.

    >>> up = AdviceItem("raise the learning rate (learning_rate 0.001 → 0.01)", "learning_rate", 0.001, 0.01, "")
    >>> adam = AdviceItem("switch the optimizer (optimizer sgd → adam)", "optimizer", "sgd", "adam", "")
    >>> wider = AdviceItem("add capacity (width 32 → 64)", "width", 32, 64, "")
    >>> advised, worse = order_by_measurement([wider, adam, up], [None, 0.07, 0.30], own=0.13, n_val=300,
    ...                                       metric="error")
    >>> [item.axis for item in advised], [item.axis for item in worse]
    (['optimizer', 'width'], ['learning_rate'])
    """
    def beyond(value: float) -> float:
        """How many standard errors of the difference ``value`` is below the run's own (negative: above)."""
        spread = math.hypot(metric_se(own, n_val, metric=metric), metric_se(value, n_val, metric=metric))
        return (own - value) / spread if spread > 0 else math.copysign(math.inf, own - value) if own != value else 0.0

    scored = [(item, None if value is None or not math.isfinite(value) else beyond(value))
              for item, value in zip(items, measured)]
    better = sorted((entry for entry in scored if entry[1] is not None and entry[1] > BETTER_SES),
                    key=lambda entry: -entry[1])
    worse = [item for item, score in scored if score is not None and score < -WORSE_SES]
    if len(worse) == len(items):
        worse = []
    rest = [item for item, score in scored if item not in worse and (score is None or score <= BETTER_SES)]
    return tuple(item for item, _ in better) + tuple(rest), tuple(worse)


def neighbour_sentence(item: AdviceItem, neighbour: tuple[Mapping[str, object], float], *, own: float,
                       metric: str) -> str:
    """``item``'s measured answer in words, e.g. ``"measured in this sweep: learning_rate 0.01 reached a
    validation error of 8.2% (this run 11.5%)"``."""
    trial, value = neighbour
    shown = trial[item.axis]
    shown = f"{shown:g}" if isinstance(shown, float) else str(shown)
    return (f"measured in this sweep: {item.axis} {shown} reached a validation {metric} of {_metric(value, metric)} "
            f"(this run {_metric(own, metric)})")


def _metric(value: float, metric: str) -> str:
    return f"{value:.1%}" if metric == "error" else f"{value:.4g}"


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
