"""Which trials to run: the grid expanded as data, and the samplers that draw from it.

Every search method is a :class:`Sampler` (ask for trials, tell their values); the sweep runs one loop
over whichever :func:`make_sampler` gives. Optuna is imported by the TPE sampler only, when asked for.

Never imports: tensorflow, keras, mlflow, pipeline.training, pipeline.tracking, pipeline.sweep.
"""

from __future__ import annotations

from pipeline.search._base import PlannedSampler, Sampler
from pipeline.search._grid import Grid, LOSSES_BY_TASK, Pruning, TrialConfig, expand_grid, varying_axes
from pipeline.search._grid_sampler import GridSampler
from pipeline.search._random import RandomSampler, sample_trials
from pipeline.search._samplers import SAMPLERS, make_sampler, search_trials
from pipeline.search._space import DEFAULT_LOSSES, space_size, with_task_loss
from pipeline.search._tpe import TpeSampler

__all__ = ["DEFAULT_LOSSES", "Grid", "GridSampler", "LOSSES_BY_TASK", "PlannedSampler", "Pruning", "RandomSampler", "SAMPLERS",
           "Sampler", "TpeSampler", "TrialConfig", "expand_grid", "make_sampler", "sample_trials", "search_trials",
           "space_size", "varying_axes", "with_task_loss"]
