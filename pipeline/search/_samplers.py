"""The sampler a spec's ``search.method`` names."""

from __future__ import annotations

from pipeline.search._base import Sampler
from pipeline.search._grid import Grid
from pipeline.search._grid_sampler import GridSampler
from pipeline.search._random import RandomSampler
from pipeline.search._space import with_task_loss
from pipeline.search._tpe import TpeSampler
from pipeline.spec import SweepSpec

#: The sampler of each ``search.method``.
SAMPLERS: dict[str, type[Sampler]] = {"grid": GridSampler, "random": RandomSampler, "tpe": TpeSampler}


def make_sampler(spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b"") -> Sampler:
    """The sampler of the spec's search, over fitcheck's MLP or, with ``model`` (a builder's reference)
    and ``builder`` (the function serialised), over a model builder's hyperparameters. A grid that names
    no loss trains with the task's (:func:`~pipeline.search.with_task_loss`).

    Example
    -------
    >>> from pipeline.spec import parse_spec
    >>> spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [1, 2], "seeds": [0, 1]}},
    ...                   source="inline")
    >>> sampler = make_sampler(spec, task="binary")
    >>> sampler.n_trials, sampler.varying
    (4, ('depth', 'seed'))
    """
    return SAMPLERS[spec.search.method](with_task_loss(spec, task), task=task, model=model, builder=builder)


def search_trials(spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b"") -> Grid:
    """The trials of a spec's grid, or of its ranges sampled at random for any other method: all drawn up front."""
    planned = GridSampler if spec.search.method == "grid" else RandomSampler
    return planned(with_task_loss(spec, task), task=task, model=model, builder=builder).grid
