"""TPE search: ``search: {method: tpe, n_trials: N, seed: S}``, Optuna's sampler asked in batches."""

from __future__ import annotations

import math
from dataclasses import replace

from pipeline.errors import FitcheckError
from pipeline.search._base import Sampler
from pipeline.search._grid import TrialConfig, check_losses, incompatibility, no_trials_left
from pipeline.search._sampling import SIGNIFICANT_DIGITS, _axis_values, _configuration, _sampled_axes
from pipeline.search._space import check_n_trials
from pipeline.spec import SweepSpec, is_range
from pipeline.spec._values import whole_range


class TpeSampler(Sampler):
    """Optuna's TPE sampler over one grid, asked for a batch of configurations at a time (ask and tell).

    Optuna is the optional extra ``fitcheck[optuna]``, imported here only. The study lives in
    memory in the sweep process; a rerun asks again from the same seed and tells the trials it
    already finished their logged values, so with the same batch size it asks the same trials.
    Axes with one value are fixed; lists are categorical; ranges are uniform or log-uniform.
    A configuration's value is the mean of its seeds' values; one failed seed fails it.
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
        self.grid, self.n_configurations, self.seeds = spec.grids[0], spec.search.n_trials, spec.grids[0].seeds
        check_losses(spec.grids, task=task, skip_invalid=spec.skip_invalid, source=source)
        check_n_trials(spec.grids, spec.search, task=task, model=model, source=source)
        losses = [loss for loss in self.grid.loss if not incompatibility(task, loss)]
        if not losses:
            raise no_trials_left(task, source)
        self._optuna = optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._fixed, self._distributions = {}, {}
        self._model, self._builder = model, builder
        #: Each axis's values a check up front builds (a range's both ends): see :attr:`checked`.
        self._extremes: dict[str, list] = {}
        for axis in _sampled_axes(self.grid, model):
            values = losses if axis == "loss" else _axis_values(self.grid, axis)
            if is_range(values):
                if whole_range(values):
                    self._distributions[axis] = optuna.distributions.IntDistribution(values.low, values.high,
                                                                                     log=values.log)
                else:
                    self._distributions[axis] = optuna.distributions.FloatDistribution(
                        float(values.low), float(values.high), log=values.log)
                self._extremes[axis] = list(dict.fromkeys([values.low, values.high]))
                continue
            self._extremes[axis] = list(dict.fromkeys(values))
            if len(values) == 1:
                self._fixed[axis] = values[0]
            else:
                self._distributions[axis] = optuna.distributions.CategoricalDistribution(values)
        self.study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=spec.search.seed, constant_liar=True))
        self.n_asked = 0
        #: Asked configurations not yet told, in the order asked: Optuna's trial number, its trials (one per
        #: seed) and the values told so far by position.
        self._waiting: list[tuple[int, list[TrialConfig], dict[int, float | None]]] = []

    @property
    def n_trials(self) -> int:
        return self.n_configurations * len(self.seeds)

    @property
    def varying(self) -> tuple[str, ...]:
        """The axes TPE chooses, and ``seed`` when there are several."""
        return tuple(self._distributions) + (("seed",) if len(self.seeds) > 1 else ())

    @property
    def checked(self) -> tuple[TrialConfig, ...]:
        """Configurations that between them take every value of every axis (a range at both ends), each once:
        built and checked before anything is written, as a fixed plan's trials are."""
        n_configurations = max((len(values) for values in self._extremes.values()), default=1)
        points = [{axis: values[i % len(values)] for axis, values in self._extremes.items()}
                  for i in range(n_configurations)]
        return tuple(dict.fromkeys(_configuration(point, seed=self.seeds[0], model=self._model, builder=self._builder)
                                   for point in points))

    @property
    def exhausted(self) -> bool:
        return self.n_asked >= self.n_configurations

    def ask(self, count: int) -> list[TrialConfig]:
        """The trials of up to ``count`` more configurations, each once per seed."""
        asked, n_configurations = [], min(count, self.n_configurations - self.n_asked)
        for _ in range(n_configurations):
            trial = self.study.ask(self._distributions)
            point = {**self._fixed, **trial.params}
            point = {axis: (float(f"{value:.{SIGNIFICANT_DIGITS}g}") if isinstance(value, float) else value)
                     for axis, value in point.items()}
            config = _configuration(point, seed=0, model=self._model, builder=self._builder)
            self._waiting.append((trial.number, [replace(config, seed=seed) for seed in self.seeds], {}))
            asked += self._waiting[-1][1]
        self.n_asked += n_configurations
        return asked

    def tell(self, config: TrialConfig, value: float | None) -> None:
        """A trial's value; once every seed of its configuration is told, the study is told their mean."""
        for _, trials, told in self._waiting:
            position = next((i for i, trial in enumerate(trials) if trial == config and i not in told), None)
            if position is not None:
                told[position] = value
                break
        else:
            raise FitcheckError(f"TpeSampler.tell: a trial must be asked before it is told, once, but got {config}")
        while self._waiting and len(self._waiting[0][2]) == len(self._waiting[0][1]):
            number, trials, told = self._waiting.pop(0)
            values = [told[position] for position in range(len(trials))]
            mean = None if None in values else sum(values) / len(values)
            if mean is None or not math.isfinite(mean):
                self.study.tell(number, state=self._optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(number, mean)
