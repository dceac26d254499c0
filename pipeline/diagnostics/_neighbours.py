"""What the sweep itself measured of an advised change: the neighbouring configuration that made it.

Advice says "learning_rate 0.001 → 0.01"; when the sweep also ran this configuration at 0.01 (or further
that way) with every other axis the same, its validation metric is the measured answer, quoted beside
the advice. Pure: configurations and values in, a sentence out; it never reads MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from pipeline.diagnostics._remedies import AdviceItem


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
