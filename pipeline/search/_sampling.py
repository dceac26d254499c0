"""Sample a search space into trials: ``search: {method: random, n_trials: N, seed: S}``.

Pure Python and NumPy: no Keras, no MLflow. The same spec gives the same trials on every run
(a seeded generator, values rounded to 4 significant digits), so a rerun finds the trials it
already finished by their keys. A grid of lists only is sampled without replacement: a grid over
``max_trials`` can be searched instead of refused. Each sampled configuration runs once per seed
of the ``seeds`` axis, as in a grid.

Example
-------
>>> from pipeline.spec._spec import parse_spec
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
from pipeline.search._grid import (TRAINING_FIELDS, Grid, TrialConfig, check_losses, expand_grid, incompatibility,
                           no_trials_left, trial_config)
from pipeline.spec import GridSpec, SearchSpec, SweepSpec, is_range

#: A sampled search draws at most this many times its ``n_trials`` before it settles for fewer distinct ones.
MAX_DRAWS_PER_TRIAL = 100
SIGNIFICANT_DIGITS = 4
_SAMPLED_AXES = ("depth", "width", "activation", "loss", "optimizer", "learning_rate", "batch_size", "epochs", "l2",
                 "dropout", "train_size")
#: The axes a model builder's trial samples besides its hyperparameters.
_BUILDER_TRAINING_AXES = tuple(axis for axis in TRAINING_FIELDS if axis != "seed")


def _sampled_axes(grid: GridSpec, model: str) -> tuple[str, ...]:
    """The axes one configuration draws: fitcheck's MLP axes, or a builder's training axes and hyperparameters."""
    return _BUILDER_TRAINING_AXES + tuple(sorted(grid.hyperparameters)) if model else _SAMPLED_AXES


def _axis_values(grid: GridSpec, axis: str):
    """An axis's list or range: a grid field, or one of a builder's hyperparameters."""
    return grid.hyperparameters[axis] if axis in grid.hyperparameters else getattr(grid, axis)


def _configuration(point: dict, *, seed: int, model: str, builder: bytes) -> TrialConfig:
    """The trial of one drawn point: fitcheck's MLP, or the builder's model with its hyperparameters."""
    if not model:
        return trial_config(**point, seed=seed)
    hyperparameters = tuple(sorted((axis, value) for axis, value in point.items() if axis not in TRAINING_FIELDS))
    return TrialConfig(0, 0, "none", point["loss"], point["optimizer"], float(point["learning_rate"]),
                       point["batch_size"], point["epochs"], seed, model=model, hyperparameters=hyperparameters,
                       builder=builder, train_size=point["train_size"])


def search_trials(spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b"") -> Grid:
    """The trials of a spec's search: the whole grid, or ``n_trials`` sampled configurations (of fitcheck's
    MLP, or with ``model`` and ``builder`` of a model builder, see :func:`pipeline.search._grid.expand_grid`)."""
    source = spec.source or "spec"
    if spec.search.method == "grid":
        return expand_grid(spec.grids, task=task, skip_invalid=spec.skip_invalid, source=source, model=model,
                           builder=builder)
    return sample_trials(spec.grids, spec.search, task=task, skip_invalid=spec.skip_invalid, source=source,
                         model=model, builder=builder)


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
                  source: str = "spec", model: str = "", builder: bytes = b"") -> Grid:
    """``search.n_trials`` distinct configurations of the grids (their union when a list), each once per seed.

    A configuration's grid is drawn first (uniformly), then each axis. Combinations whose loss
    does not fit the task raise :class:`~pipeline.errors.FitcheckError`, or are drawn again and
    counted as dropped with ``skip_invalid``; repeated draws are counted as collapsed.
    """
    check_losses(grids, task=task, skip_invalid=skip_invalid, source=source)
    rng = np.random.default_rng(search.seed)
    if not any(grid.ranges() for grid in grids):
        return _subset(grids, search, rng, task=task, skip_invalid=skip_invalid, source=source, model=model,
                       builder=builder)
    configs: list[tuple[TrialConfig, list[int]]] = []
    seen: set[TrialConfig] = set()
    dropped = collapsed = 0
    for _ in range(MAX_DRAWS_PER_TRIAL * search.n_trials):
        if len(configs) == search.n_trials:
            break
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


def _holds(grid: GridSpec, config: TrialConfig) -> bool:
    """Whether ``config`` is one of ``grid``'s configurations (a depth-0 one matches on its non-collapsed axes)."""
    if config.model:
        return all(config.axis(axis) in _axis_values(grid, axis) for axis in _sampled_axes(grid, config.model))
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

    def __init__(self, spec: SweepSpec, *, task: str, model: str = "", builder: bytes = b""):
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
        self._model, self._builder = model, builder
        for axis in _sampled_axes(self.grid, model):
            values = losses if axis == "loss" else _axis_values(self.grid, axis)
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
            asked.append((trial.number, _configuration(point, seed=0, model=self._model, builder=self._builder)))
        self.n_asked += len(asked)
        return asked

    def tell(self, number: int, value: float | None) -> None:
        """The trial's value (lower is better), or None when it failed."""
        if value is None or not math.isfinite(value):
            self.study.tell(number, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, value)
