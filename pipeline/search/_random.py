"""Random search: ``search: {method: random, n_trials: N, seed: S}``.

The same spec gives the same trials on every run (a seeded generator, values rounded to 4
significant digits), so a rerun finds the trials it already finished by their keys. A grid of
lists only is sampled without replacement: a grid over ``max_trials`` can be searched instead of
refused. Each sampled configuration runs once per seed of the ``seeds`` axis, as in a grid.

Example
-------
>>> from pipeline.spec import parse_spec
>>> spec = parse_spec({"dataset": {"synthetic": "moons"}, "search": {"method": "random", "n_trials": 3},
...                    "grid": {"learning_rate": {"low": 1e-4, "high": 0.1, "log": True}}}, source="inline")
>>> [t.learning_rate for t in sample_trials(spec.grids, spec.search, task="binary", skip_invalid=False).trials]
[0.008145, 0.0006447, 0.0001327]
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from pipeline.search._base import PlannedSampler
from pipeline.search._grid import Grid, TrialConfig, check_losses, expand_grid, incompatibility, no_trials_left
from pipeline.search._sampling import SIGNIFICANT_DIGITS, _axis_values, _configuration, _holds, _sampled_axes
from pipeline.search._space import check_n_trials
from pipeline.spec import GridSpec, SearchSpec, SweepSpec, is_range
from pipeline.spec._values import whole_range

#: A sampled search draws at most this many times its ``n_trials`` before it settles for fewer distinct ones.
MAX_DRAWS_PER_TRIAL = 100
#: ... and stops once this many draws in a row gave nothing new (a space mostly drawn already).
MAX_FRUITLESS_DRAWS = 1000
#: A space of lists up to this size is expanded and sampled without replacement; a larger one is drawn from.
MAX_EXPANDED = 100_000


class RandomSampler(PlannedSampler):
    """``search.n_trials`` configurations of the spec's grids drawn at random (:func:`sample_trials`)."""

    def __init__(self, spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b""):
        super().__init__(sample_trials(spec.grids, spec.search, task=task, skip_invalid=spec.skip_invalid,
                                       source=spec.source or "spec", model=model, builder=builder))


def draw(rng: np.random.Generator, values: Any) -> Any:
    """One value of an axis: a list's element, or a point of a range (log-uniform with ``log``).

    Whole-number ranges give integers; real ranges are rounded to 4 significant digits, so run
    names stay short and a value written to MLflow reads back equal.
    """
    if not is_range(values):
        return values[int(rng.integers(len(values)))]
    whole = whole_range(values)
    low, high = (values.low, values.high + 1) if whole else (values.low, values.high)
    point = math.exp(rng.uniform(math.log(low), math.log(high))) if values.log else rng.uniform(low, high)
    if whole:
        return min(int(point), values.high)
    return float(min(max(float(f"{point:.{SIGNIFICANT_DIGITS}g}"), values.low), values.high))


def sample_trials(grids: list[GridSpec], search: SearchSpec, *, task: str, skip_invalid: bool,
                  source: str = "spec", model: str = "", builder: bytes = b"") -> Grid:
    """``search.n_trials`` distinct configurations of the grids (their union when a list), each once per seed.

    A configuration's grid is drawn first (uniformly), then each axis. Combinations whose loss
    does not fit the task raise :class:`~pipeline.errors.FitcheckError`, or are drawn again and
    counted as dropped with ``skip_invalid``; repeated draws are counted as collapsed. ``n_trials`` over
    the configurations a finite space holds is refused before any draw; the draws stop after
    :data:`MAX_FRUITLESS_DRAWS` in a row give nothing new.
    """
    check_losses(grids, task=task, skip_invalid=skip_invalid, source=source)
    size = check_n_trials(grids, search, task=task, model=model, source=source)
    rng = np.random.default_rng(search.seed)
    if not any(grid.ranges() for grid in grids) and size is not None and size <= MAX_EXPANDED:
        return _subset(grids, search, rng, task=task, skip_invalid=skip_invalid, source=source, model=model,
                       builder=builder)
    configs: list[tuple[TrialConfig, list[int]]] = []
    seen: set[TrialConfig] = set()
    dropped = collapsed = fruitless = 0
    for _ in range(MAX_DRAWS_PER_TRIAL * search.n_trials):
        if len(configs) == search.n_trials or fruitless >= MAX_FRUITLESS_DRAWS:
            break
        fruitless += 1
        grid = grids[int(rng.integers(len(grids)))]
        point = {axis: draw(rng, _axis_values(grid, axis)) for axis in _sampled_axes(grid, model)}
        if incompatibility(task, point["loss"]):
            dropped += 1
            continue
        config = _configuration(point, seed=0, model=model, builder=builder)
        if config in seen:
            collapsed += 1
            continue
        seen.add(config)
        configs.append((config, grid.seeds))
        fruitless = 0
    if not configs:
        raise no_trials_left(task, source)
    trials = tuple(replace(config, seed=seed) for config, seeds in configs for seed in seeds)
    return Grid(trials, dropped, collapsed)


def _subset(grids: list[GridSpec], search: SearchSpec, rng: np.random.Generator, *, task: str, skip_invalid: bool,
            source: str, model: str, builder: bytes) -> Grid:
    """A grid of lists: ``n_trials`` of its distinct configurations without replacement, in grid order."""
    unseeded = [grid.model_copy(update={"seeds": [0]}) for grid in grids]
    every = expand_grid(unseeded, task=task, skip_invalid=skip_invalid, source=source, model=model, builder=builder)
    picked = sorted(rng.choice(len(every.trials), size=min(search.n_trials, len(every.trials)), replace=False))
    seeds = [grid.seeds for grid in grids]
    trials = []
    for position in picked:
        config = every.trials[position]
        for seed in next(s for grid, s in zip(grids, seeds) if _holds(grid, config)):
            trials.append(replace(config, seed=seed))
    return Grid(tuple(dict.fromkeys(trials)), every.n_dropped_invalid, every.n_collapsed)
