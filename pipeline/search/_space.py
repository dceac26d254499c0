"""The search space as a whole: the loss a grid that names none trains with, and how many distinct
configurations the grids hold (so a search asking for more is refused before it draws).

Pure Python: no Keras, no MLflow.
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.errors import FitcheckError
from pipeline.names import BINARY, MULTICLASS, REGRESSION
from pipeline.search._grid import incompatibility
from pipeline.search._sampling import _axis_values, _sampled_axes
from pipeline.spec import HIDDEN_LAYER_AXES, GridSpec, SearchSpec, SweepSpec, is_range
from pipeline.spec._values import whole_range

#: The loss a grid that names none trains each task with.
DEFAULT_LOSSES = {BINARY: "binary_crossentropy", MULTICLASS: "sparse_categorical_crossentropy", REGRESSION: "mse"}


def with_task_loss(spec: SweepSpec, task: str) -> SweepSpec:
    """The spec with each grid that names no ``loss`` given the task's (:data:`DEFAULT_LOSSES`); the same
    object when nothing changes (a binary task, or every grid names its loss).

    >>> from pipeline.spec import parse_spec
    >>> with_task_loss(parse_spec({"dataset": {"sklearn": "wine"}}, source="s"), "multiclass").grid.loss
    ['sparse_categorical_crossentropy']
    """
    default = DEFAULT_LOSSES[task]
    grids = [grid if "loss" in grid.model_fields_set or grid.loss == [default]
             else grid.model_copy(update={"loss": [default]}) for grid in spec.grids]
    if all(new is old for new, old in zip(grids, spec.grids)):
        return spec
    return spec.model_copy(update={"grid": grids if isinstance(spec.grid, list) else grids[0]})


def _distinct(values: Any) -> int | None:
    """How many distinct values an axis takes: a list's, a whole-number range's; None for a real range."""
    if not is_range(values):
        return len(set(values))
    return values.high - values.low + 1 if whole_range(values) else None


def _product(counts: list[int | None]) -> int | None:
    return None if None in counts else math.prod(counts)  # type: ignore[arg-type]


def grid_size(grid: GridSpec, *, task: str, model: str = "") -> int | None:
    """The distinct configurations of one grid (seeds not counted): the product of its axes' distinct values,
    a depth-0 network's hidden-layer axes collapsed and losses that do not fit the task left out; None when a
    real-valued range makes the space unbounded."""
    counts = {axis: _distinct(_axis_values(grid, axis)) for axis in _sampled_axes(grid, model)}
    counts["loss"] = len({loss for loss in grid.loss if not incompatibility(task, loss)})
    if model:
        return _product(list(counts.values()))
    depth = grid.depth
    depths = set(depth) if not is_range(depth) else set(range(depth.low, depth.high + 1))
    shallow, deep = int(0 in depths), len(depths - {0})
    others = [count for axis, count in counts.items() if axis != "depth" and axis not in HIDDEN_LAYER_AXES]
    hidden = [counts[axis] for axis in HIDDEN_LAYER_AXES]
    terms = ([_product(others)] if shallow else []) + ([_product([deep, *others, *hidden])] if deep else [])
    return _product(terms) if None in terms else sum(terms)  # type: ignore[arg-type]


def space_size(grids: list[GridSpec], *, task: str, model: str = "") -> int | None:
    """The distinct configurations the grids hold (their sum: at most the union's), or None when unbounded."""
    sizes = [grid_size(grid, task=task, model=model) for grid in grids]
    return None if None in sizes else sum(sizes)  # type: ignore[arg-type]


def check_n_trials(grids: list[GridSpec], search: SearchSpec, *, task: str, model: str, source: str) -> int | None:
    """Refuse ``search.n_trials`` over the distinct configurations a finite space holds, before any draw;
    the space's size (None: unbounded)."""
    size = space_size(grids, task=task, model=model)
    if size is not None and search.n_trials is not None and search.n_trials > size:
        held = f"the {size} distinct configurations the grid holds" if len(grids) == 1 else \
            f"the at most {size} distinct configurations the grids hold"
        raise FitcheckError(f"{source}: search.n_trials: {search.n_trials} is more than {held}; set n_trials to at "
                            f"most {size}, or use method: grid to run every one")
    return size
