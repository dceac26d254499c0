"""The search space a sampler draws from: which axes a configuration draws, and the trial of a drawn point.

Shared by the random and TPE samplers (:mod:`pipeline.search._random`, :mod:`pipeline.search._tpe`).
Pure Python: no Keras, no MLflow.
"""

from __future__ import annotations

from pipeline.search._grid import TrialConfig, builder_config, trial_config
from pipeline.spec import HIDDEN_LAYER_AXES, SAMPLED, TRAINING_AXES, GridSpec, by_name

#: Real values drawn from a range are rounded to this many significant digits.
SIGNIFICANT_DIGITS = 4
#: The axes fitcheck's MLP draws per configuration (every one but the seed), in the order it draws them.
_SAMPLED_AXES = SAMPLED
#: The axes a model builder's trial samples besides its hyperparameters.
_BUILDER_TRAINING_AXES = tuple(axis for axis in SAMPLED if axis in TRAINING_AXES)


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
    hyperparameters = tuple(sorted((axis, value) for axis, value in point.items() if axis not in TRAINING_AXES))
    training = {axis: value for axis, value in point.items() if axis in TRAINING_AXES}
    return builder_config({**training, "seed": seed}, model=model, hyperparameters=hyperparameters, builder=builder)


def _holds(grid: GridSpec, config: TrialConfig) -> bool:
    """Whether ``config`` is one of ``grid``'s configurations (a depth-0 one matches on its non-collapsed axes)."""
    if config.model:
        return all(config.axis(axis) in _axis_values(grid, axis) for axis in _sampled_axes(grid, config.model))
    hidden = config.depth > 0
    return all(getattr(config, axis) in getattr(grid, by_name(axis).key) for axis in _SAMPLED_AXES
               if hidden or axis not in HIDDEN_LAYER_AXES)
