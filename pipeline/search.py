"""Sample a search space into trials: ``search: {method: random, n_trials: N, seed: S}``.

Pure Python and NumPy: no Keras, no MLflow. The same spec gives the same trials on every run
(a seeded generator, values rounded to 4 significant digits), so a rerun finds the trials it
already finished by their keys. A grid of lists only is sampled without replacement: a grid over
``max_trials`` can be searched instead of refused. Each sampled configuration runs once per seed
of the ``seeds`` axis, as in a grid.

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

from pipeline.errors import FitcheckError
from pipeline.grid import Grid, TrialConfig, check_losses, expand_grid, incompatibility, no_trials_left, trial_config
from pipeline.spec import GridSpec, SearchSpec, SweepSpec, is_range

#: A sampled search draws at most this many times its ``n_trials`` before it settles for fewer distinct ones.
MAX_DRAWS_PER_TRIAL = 100
SIGNIFICANT_DIGITS = 4
_SAMPLED_AXES = ("depth", "width", "activation", "loss", "optimizer", "learning_rate", "batch_size", "epochs", "l2",
                 "dropout")


def search_trials(spec: SweepSpec, *, task: str) -> Grid:
    """The trials of a spec's search: the whole grid, or ``n_trials`` sampled configurations."""
    source = spec.source or "spec"
    if spec.search.method == "grid":
        return expand_grid(spec.grids, task=task, skip_invalid=spec.skip_invalid, source=source)
    return sample_trials(spec.grids, spec.search, task=task, skip_invalid=spec.skip_invalid, source=source)


def draw(rng: np.random.Generator, values: Any) -> Any:
    """One value of an axis: a list's element, or a point of a range (log-uniform with ``log``).

    Whole-number ranges give integers; real ranges are rounded to 4 significant digits, so run
    names stay short and a value written to MLflow reads back equal.
    """
    if not is_range(values):
        return values[int(rng.integers(len(values)))]
    whole = isinstance(values.low, int)
    low, high = (values.low, values.high + 1) if whole else (values.low, values.high)
    point = math.exp(rng.uniform(math.log(low), math.log(high))) if values.log else rng.uniform(low, high)
    if whole:
        return min(int(point), values.high)
    return min(max(float(f"{point:.{SIGNIFICANT_DIGITS}g}"), values.low), values.high)


def sample_trials(grids: list[GridSpec], search: SearchSpec, *, task: str, skip_invalid: bool,
                  source: str = "spec") -> Grid:
    """``search.n_trials`` distinct configurations of the grids (their union when a list), each once per seed.

    A configuration's grid is drawn first (uniformly), then each axis. Combinations whose loss
    does not fit the task raise :class:`~pipeline.errors.FitcheckError`, or are drawn again and
    counted as dropped with ``skip_invalid``; repeated draws are counted as collapsed.
    """
    check_losses(grids, task=task, skip_invalid=skip_invalid, source=source)
    rng = np.random.default_rng(search.seed)
    if not any(grid.ranges() for grid in grids):
        return _subset(grids, search, rng, task=task, skip_invalid=skip_invalid, source=source)
    configs: list[tuple[TrialConfig, list[int]]] = []
    seen: set[TrialConfig] = set()
    dropped = collapsed = 0
    for _ in range(MAX_DRAWS_PER_TRIAL * search.n_trials):
        if len(configs) == search.n_trials:
            break
        grid = grids[int(rng.integers(len(grids)))]
        point = {axis: draw(rng, getattr(grid, axis)) for axis in _SAMPLED_AXES}
        if incompatibility(task, point["loss"]):
            dropped += 1
            continue
        config = trial_config(**point, seed=0)
        if config in seen:
            collapsed += 1
            continue
        seen.add(config)
        configs.append((config, grid.seeds))
    if not configs:
        raise no_trials_left(task, source)
    trials = tuple(replace(config, seed=seed) for config, seeds in configs for seed in seeds)
    return Grid(trials, dropped, collapsed)


def _subset(grids: list[GridSpec], search: SearchSpec, rng: np.random.Generator, *, task: str, skip_invalid: bool,
            source: str) -> Grid:
    """A grid of lists: ``n_trials`` of its distinct configurations without replacement, in grid order."""
    unseeded = [grid.model_copy(update={"seeds": [0]}) for grid in grids]
    every = expand_grid(unseeded, task=task, skip_invalid=skip_invalid, source=source)
    picked = sorted(rng.choice(len(every.trials), size=min(search.n_trials, len(every.trials)), replace=False))
    seeds = [grid.seeds for grid in grids]
    trials = []
    for position in picked:
        config = every.trials[position]
        for seed in next(s for grid, s in zip(grids, seeds) if _holds(grid, config)):
            trials.append(replace(config, seed=seed))
    return Grid(tuple(dict.fromkeys(trials)), every.n_dropped_invalid, every.n_collapsed)


def _holds(grid: GridSpec, config: TrialConfig) -> bool:
    """Whether ``config`` is one of ``grid``'s configurations (a depth-0 one matches on its non-collapsed axes)."""
    hidden = config.depth > 0
    return all(getattr(config, axis) in getattr(grid, axis) for axis in _SAMPLED_AXES
               if hidden or axis not in ("width", "activation", "dropout"))


class TpeSearch:
    """Optuna's TPE sampler over one grid, asked for a batch of configurations at a time (ask and tell).

    Optuna is the optional extra ``fitcheck[optuna]``, imported here only. The study lives in
    memory in the sweep process; a rerun asks again from the same seed and tells the trials it
    already finished their logged values, so with the same batch size it asks the same trials.
    Axes with one value are fixed; lists are categorical; ranges are uniform or log-uniform.
    """

    def __init__(self, spec: SweepSpec, *, task: str):
        source = spec.source or "spec"
        if len(spec.grids) != 1:
            raise FitcheckError(f"{source}: grid: a tpe search must search one grid (a mapping) but got a list of "
                                f"{len(spec.grids)} grids; merge them or use method: random")
        try:
            import optuna
        except ImportError:
            raise FitcheckError(f"{source}: search.method: tpe needs Optuna; pip install 'fitcheck[optuna]'") from None
        self.grid, self.n_trials, self.seeds = spec.grids[0], spec.search.n_trials, spec.grids[0].seeds
        check_losses(spec.grids, task=task, skip_invalid=spec.skip_invalid, source=source)
        losses = [loss for loss in self.grid.loss if not incompatibility(task, loss)]
        if not losses:
            raise no_trials_left(task, source)
        self._optuna = optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._fixed, self._distributions = {}, {}
        for axis in _SAMPLED_AXES:
            values = losses if axis == "loss" else getattr(self.grid, axis)
            if is_range(values):
                kind = optuna.distributions.IntDistribution if isinstance(values.low, int) else \
                    optuna.distributions.FloatDistribution
                self._distributions[axis] = kind(values.low, values.high, log=values.log)
            elif len(values) == 1:
                self._fixed[axis] = values[0]
            else:
                self._distributions[axis] = optuna.distributions.CategoricalDistribution(values)
        self.study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=spec.search.seed, constant_liar=True))
        self.n_asked = 0

    @property
    def varying(self) -> tuple[str, ...]:
        """The axes TPE chooses, and ``seed`` when there are several."""
        return tuple(self._distributions) + (("seed",) if len(self.seeds) > 1 else ())

    def ask(self, count: int) -> list[tuple[int, TrialConfig]]:
        """Up to ``count`` more configurations (seed 0), each with its Optuna trial number."""
        asked = []
        for _ in range(min(count, self.n_trials - self.n_asked)):
            trial = self.study.ask(self._distributions)
            point = {**self._fixed, **trial.params}
            point = {axis: (float(f"{value:.{SIGNIFICANT_DIGITS}g}") if isinstance(value, float) else value)
                     for axis, value in point.items()}
            asked.append((trial.number, trial_config(**point, seed=0)))
        self.n_asked += len(asked)
        return asked

    def tell(self, number: int, value: float | None) -> None:
        """The trial's value (lower is better), or None when it failed."""
        if value is None or not math.isfinite(value):
            self.study.tell(number, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, value)
