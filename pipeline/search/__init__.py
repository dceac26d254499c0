"""Which trials to run: the grid expanded as data, and the samplers that draw from it."""

from __future__ import annotations

from pipeline.search._grid import Grid, LOSSES_BY_TASK, Pruning, TrialConfig, expand_grid, varying_axes
from pipeline.search._sampling import TpeSearch, sample_trials, search_trials

__all__ = ["Grid", "LOSSES_BY_TASK", "Pruning", "TpeSearch", "TrialConfig", "expand_grid", "sample_trials", "search_trials", "varying_axes"]
