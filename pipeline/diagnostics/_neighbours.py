"""What the sweep itself measured of an advised change: the neighbouring configuration that made it.

Advice says "learning_rate 0.001 → 0.01"; when the sweep also ran this configuration at 0.01 (or further
that way) with every other axis the same, its validation metric is the measured answer, quoted beside
the advice. Pure: configurations and values in, a sentence out; it never reads MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pipeline.diagnostics._remedies import AdviceItem


def measured_neighbour(item: AdviceItem, config: Mapping[str, object],
                       trials: Sequence[tuple[Mapping[str, object], float]]) -> tuple[Mapping[str, object], float] | None:
    """The trial that made ``item``'s change of ``config``: the same on every other axis of ``config``, its
    value of ``item.axis`` on the side of ``item.to`` (closest to it first); None when the sweep has none.

    Examples
    --------
    >>> item = AdviceItem("raise the learning rate (learning_rate 0.001 → 0.01)", "learning_rate", 0.001, 0.01, "")
    >>> run = {"depth": 1, "learning_rate": 0.001}
    >>> measured_neighbour(item, run, [({"depth": 1, "learning_rate": 0.1}, 0.09),
    ...                                ({"depth": 2, "learning_rate": 0.01}, 0.05)])
    ({'depth': 1, 'learning_rate': 0.1}, 0.09)
    """
    start, target = _number(item.from_), _number(item.to)
    if start is None or target is None or target == start or item.axis not in config:
        return None
    others = [axis for axis in config if axis != item.axis]
    found = []
    for trial, value in trials:
        moved = _number(trial.get(item.axis))
        if (moved is None or not math.isfinite(value) or (moved - start) * (target - start) <= 0
                or any(trial.get(axis) != config[axis] for axis in others)):
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
