"""A recipe search's first round: a few configurations spanning the grid's capacity, not the whole grid.

Pure: the spec as a dict in, the first round's sub-grids and why out. The rounds after it follow the diagnoses
(:func:`pipeline.recipe.next_round`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.recipe._configs import spec_grids
from pipeline.spec import (
    AXES,
    AXIS_TABLE,
    CAPACITY_AXES,
    FIRST_LISTED,
    LARGEST,
    MIDDLE,
    SMALLEST,
    by_key,
    by_name,
)

#: Configurations in a first round: the smallest, the middle and the largest network of the grid.
FIRST_ROUND_SIZE = 3
#: A grid's key for a model builder's own hyperparameters, as a parsed spec dumps it.
HYPERPARAMETERS_KEY = "hyperparameters"


def first_round(spec: Mapping[str, Any]) -> tuple[list[dict[str, list]], str]:
    """The first round's sub-grids and why: :data:`FIRST_ROUND_SIZE` networks from the smallest to the largest.

    Each axis that sizes the network (``depth`` and ``width``; a model builder's numeric hyperparameters) takes
    its smallest, middle and largest value over the grid, together; every other axis the value its declaration
    starts from (:attr:`pipeline.spec.Axis.start`: the most epochs, the middle learning rate, the least
    regularisation, otherwise the first listed; a builder's other hyperparameters their first listed); each
    configuration runs once per seed of the grid.

    >>> grids, why = first_round({"grid": {"depth": [0, 1, 2, 4], "width": [8, 64], "activation": ["tanh", "relu"],
    ...                                    "learning_rate": [0.1, 0.001, 0.01], "epochs": [10, 30], "seeds": [0, 1]}})
    >>> [(grid["depth"], grid["width"], grid["activation"], grid["learning_rate"], grid["epochs"]) for grid in grids]
    [([0], [8], ['tanh'], [0.01], [30]), ([2], [8], ['tanh'], [0.01], [30]), ([4], [64], ['tanh'], [0.01], [30])]
    >>> why
    'a first round of 3 configurations spanning the grid: depth 0, 2, 4 with width 8, 8, 64; held: activation tanh (first listed), learning_rate 0.01 (middle), epochs 30 (largest)'
    """
    values = _values(spec)
    builder = spec.get("model") is not None or any(key not in _GRID_KEYS for key in values)
    spanned = [key for key, listed in values.items() if len(listed) > 1 and _sizes_network(key, listed, builder)]
    held = {key: _start(key, listed) for key, listed in values.items() if key not in spanned and key != _SEEDS}
    grids: list[dict[str, list]] = []
    for step in range(FIRST_ROUND_SIZE):
        grid = {key: sorted(listed) if key == _SEEDS else [_at(sorted(listed), step) if key in spanned else
                                                           held[key][0]]
                for key, listed in values.items()}
        if grid not in grids:
            grids.append(grid)
    span = " with ".join(f"{key} {', '.join(str(grid[key][0]) for grid in grids)}" for key in spanned)
    fixed = ", ".join(f"{key} {value} ({start.replace('_', ' ')})" for key, (value, start) in held.items()
                      if len(values[key]) > 1)
    count = f"{len(grids)} configuration{'s' * (len(grids) != 1)}"
    why = f"a first round of {count} spanning the grid: {span}" if span else f"a first round of {count}"
    return grids, why + (f"; held: {fixed}" if fixed else "")


def grid_axes(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The axes the spec's grid varies (more than one value over its sub-grids), by their trial names.

    >>> grid_axes({"grid": [{"depth": [0, 1], "seeds": [0]}, {"depth": [2], "learning_rate": [0.1, 0.01]}]})
    ('depth', 'learning_rate')
    """
    values = _values(spec)
    return tuple(axis.name for axis in AXIS_TABLE if len(values.get(axis.key, ())) > 1)


_GRID_KEYS = frozenset(by_name(axis).key for axis in AXES)
_SEEDS = by_name("seed").key


def _values(spec: Mapping[str, Any]) -> dict[str, list]:
    """Each grid key's values over every sub-grid, in the order first listed (a builder's hyperparameters flat)."""
    values: dict[str, list] = {}
    for grid in spec_grids(spec):
        flat = {**{key: listed for key, listed in grid.items() if key != HYPERPARAMETERS_KEY},
                **(grid.get(HYPERPARAMETERS_KEY) or {})}
        for key, listed in flat.items():
            known = values.setdefault(key, [])
            known.extend(value for value in (listed if isinstance(listed, list) else [listed]) if value not in known)
    return values


def _sizes_network(key: str, listed: list, builder: bool) -> bool:
    """Whether ``key`` sizes the network: fitcheck's capacity axes, or a builder's numeric hyperparameter."""
    if key in _GRID_KEYS:
        return not builder and by_name(key).capacity if key in CAPACITY_AXES else False
    return builder and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in listed)


def _start(key: str, listed: list) -> tuple[object, str]:
    """The value a first round holds ``key`` at, and which of :data:`pipeline.spec.STARTS` it is."""
    start = by_key(key).start if key in _GRID_KEYS else FIRST_LISTED
    if start == FIRST_LISTED or len(listed) == 1:
        return listed[0], FIRST_LISTED
    ordered = sorted(listed)
    return {SMALLEST: ordered[0], MIDDLE: ordered[(len(ordered) - 1) // 2], LARGEST: ordered[-1]}[start], start


def _at(ordered: list, step: int) -> object:
    """The value at ``step`` of :data:`FIRST_ROUND_SIZE` evenly spaced positions of ``ordered`` (first to last)."""
    return ordered[round(step * (len(ordered) - 1) / (FIRST_ROUND_SIZE - 1))]
