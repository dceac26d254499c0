"""The grid sampler: ``search: {method: grid}``, the default, runs every combination of the grid."""

from __future__ import annotations

from pipeline.search._base import PlannedSampler
from pipeline.search._grid import expand_grid
from pipeline.spec import SweepSpec


class GridSampler(PlannedSampler):
    """Every trial of the spec's grid (or union of grids), in :func:`~pipeline.search.expand_grid`'s order.

    Example
    -------
    >>> from pipeline.spec import parse_spec
    >>> spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [1, 2]}}, source="inline")
    >>> sampler = GridSampler(spec, task="binary")
    >>> [trial.depth for trial in sampler.ask(1)], sampler.exhausted
    ([1, 2], True)
    """

    def __init__(self, spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b""):
        super().__init__(expand_grid(spec.grids, task=task, skip_invalid=spec.skip_invalid,
                                     source=spec.source or "spec", model=model, builder=builder))
