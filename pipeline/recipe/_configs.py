"""Configurations as the next round writes them: one changed axis, compared by identity, written as a sub-grid.

Pure: dicts in, dicts out. A configuration is what a trial's MLflow params hold (its axes, ``seed`` and
``train_size``) with ``n_train``, the rows it trained on; a model builder's trial holds ``model``, the training
axes and the builder's hyperparameters instead of fitcheck's model axes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline import names
from pipeline.spec import AXIS_TABLE, by_name
from pipeline.spec._axes import ALWAYS, TRAINING_KEYS, trial_values
from pipeline.spec._sections import RESERVED_HYPERPARAMETERS

#: What tells two configurations apart: everything but the seed, and the rows trained on instead of ``train_size``.
NOT_IDENTITY = ("seed", "train_size")


def identity(config: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """A configuration's identity, its values as text (as MLflow params hold them), seed and ``train_size`` left out.

    >>> identity({"depth": 0, "width": 32, "learning_rate": 1, "seed": 3, "n_train": 700})
    (('depth', '0'), ('learning_rate', '1.0'), ('n_train', '700'), ('width', '0'))
    """
    held = trial_values(dict(config)) if "depth" in config else dict(config)
    return tuple(sorted((key, str(value)) for key, value in held.items() if key not in NOT_IDENTITY))


def changed(config: Mapping[str, object], axis: str, value: object, grids: Iterable[Mapping]) -> dict[str, object]:
    """``config`` with ``axis`` set to ``value``, as a trial would hold it; a network given its first hidden layer
    (depth 0 → 1) takes each hidden-layer axis's first value in ``grids`` (the previous spec's), else its default."""
    new = {**config, axis: value}
    if axis == "depth" and not config.get("depth") and value:
        new.update({layer.name: first_value(layer.name, grids) for layer in AXIS_TABLE
                    if layer.hidden_layer and config.get(layer.name, layer.absent) == layer.absent})
    return trial_values(new) if "depth" in new else new


def first_value(axis: str, grids: Iterable[Mapping]) -> object:
    """The first value a spec's grids list for ``axis`` that a hidden layer can have, else the axis's default."""
    declared = by_name(axis)
    for grid in grids:
        values = grid.get(declared.key) if isinstance(grid, Mapping) else None
        for value in values if isinstance(values, list) else [values]:
            if value is not None and not isinstance(value, Mapping) and value != declared.absent:
                return value
    return declared.default


def spec_grids(spec: Mapping[str, Any]) -> list[Mapping]:
    """A spec's ``grid`` as a list of sub-grids (a single grid is a list of one)."""
    grid = spec.get("grid") or {}
    return [g for g in (grid if isinstance(grid, list) else [grid]) if isinstance(g, Mapping)]


def sub_grid(config: Mapping[str, object], seeds: Iterable[int], grids: Iterable[Mapping]) -> dict[str, list]:
    """One configuration as a spec's sub-grid of single values, run once per seed of ``seeds``.

    fitcheck's MLP: every axis in the spec's order, those shown only away from their default (``l2``,
    ``dropout``, ``train_size``) left out at it; a depth-0 network's hidden-layer axes at their first values
    in ``grids`` (they collapse). A model builder's trial: the training axes, then its hyperparameters.

    >>> sub_grid({"depth": 1, "width": 8, "activation": "relu", "l2": 0.0, "seed": 0, "n_train": 700}, [0, 1], [])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'depth': [1], 'width': [8], 'activation': ['relu'], 'loss': ['binary_crossentropy'], 'optimizer': ['adam'],
     'learning_rate': [0.001], 'batch_size': [32], 'epochs': [20], 'seeds': [0, 1]}
    """
    grids = list(grids)
    seeds = sorted(set(seeds))
    if names.MODEL_PARAM in config:
        training = {axis.key: seeds if axis.name == "seed" else [config[axis.name]]
                    for axis in AXIS_TABLE if axis.key in TRAINING_KEYS and axis.name in config}
        return {**training, **{name: [value] for name, value in config.items()
                               if name not in names.AXES and name not in RESERVED_HYPERPARAMETERS}}
    written: dict[str, list] = {}
    for axis in AXIS_TABLE:
        value = config.get(axis.name, axis.default)
        if axis.name == "seed":
            written[axis.key] = seeds
            continue
        if axis.hidden_layer and not config.get("depth") and value == axis.absent:
            value = first_value(axis.name, grids)
        if axis.name_rule != ALWAYS and value == axis.default:
            continue
        written[axis.key] = [value]
    return written
