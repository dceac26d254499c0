"""The sampler: which trials a sweep runs, asked for a batch at a time and told how each did.

Every search method is a sampler behind this one interface, so the sweep has one loop: ask a batch,
train it, tell each trial's value, until the sampler is exhausted. A sampler never trains, never
talks to MLflow and never imports Keras.
"""

from __future__ import annotations

import abc

from pipeline.search._grid import Grid, TrialConfig, varying_axes


class Sampler(abc.ABC):
    """Trials on demand: :meth:`ask` for up to ``count`` more configurations, :meth:`tell` each trial's value.

    A trial is a configuration with its seed; a configuration runs once per seed of the grid, and
    :meth:`ask` gives all of a configuration's trials together, in seed order.
    """

    #: Combinations dropped because their loss does not fit the task (``skip_invalid``).
    n_dropped_invalid: int = 0

    @property
    @abc.abstractmethod
    def n_trials(self) -> int:
        """How many trials the sweep asks in all (each configuration once per seed)."""

    @property
    @abc.abstractmethod
    def varying(self) -> tuple[str, ...]:
        """The axes that take more than one value: run names and the MLflow UI's columns name only these."""

    @property
    def planned(self) -> tuple[TrialConfig, ...]:
        """The trials known before the first :meth:`ask`: all of a fixed plan's, none of an adaptive search's."""
        return ()

    @property
    def checked(self) -> tuple[TrialConfig, ...]:
        """The configurations the sweep builds and checks before anything is written: every planned trial; an
        adaptive search gives configurations that between them take every value of every axis."""
        return self.planned

    @property
    @abc.abstractmethod
    def exhausted(self) -> bool:
        """Whether :meth:`ask` has nothing more to give."""

    @abc.abstractmethod
    def ask(self, count: int) -> list[TrialConfig]:
        """The trials of up to ``count`` more configurations; empty once the sampler is exhausted."""

    def tell(self, config: TrialConfig, value: float | None) -> None:
        """A trial's value (its best validation value, lower is better), or None when it failed or was not run.

        Called once per asked trial, in the order asked. Does nothing by default: a fixed plan learns nothing.
        """


class PlannedSampler(Sampler):
    """A sampler whose trials are all drawn before the sweep starts; the first :meth:`ask` gives them all."""

    def __init__(self, grid: Grid):
        self.grid = grid
        self.n_dropped_invalid = grid.n_dropped_invalid
        self._asked = False

    @property
    def n_trials(self) -> int:
        return len(self.grid.trials)

    @property
    def varying(self) -> tuple[str, ...]:
        return varying_axes(self.grid.trials)

    @property
    def planned(self) -> tuple[TrialConfig, ...]:
        return self.grid.trials

    @property
    def exhausted(self) -> bool:
        return self._asked

    def ask(self, count: int) -> list[TrialConfig]:
        """Every trial of the plan at the first call, whatever ``count``; nothing after."""
        if self._asked:
            return []
        self._asked = True
        return list(self.grid.trials)
