"""Expand a grid into trials and refuse combinations that make no sense for the task.

Pure Python: no Keras, no MLflow.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from pipeline.errors import FitcheckError
from pipeline.names import MODEL_PARAM
from pipeline.spec import (AXES, AXIS_TABLE, HIDDEN_LAYER_AXES, LOSSES_BY_TASK, TRAINING_AXES, GridSpec,
                           incompatibility)
from pipeline.spec._axes import (ADDED_DEFAULTS, ALWAYS, AWAY_FROM_DEFAULT, EXPANSION_ORDER, RUN_NAME_ORDER,
                                 builder_values, by_name, trial_values)
from pipeline.spec._sinks import capped


@dataclass(frozen=True)
class Pruning:
    """Where a trial reports its validation metric to successive halving, and the rungs' spacing.

    ``record`` is a file of the sweep's own (see :class:`pipeline.pruning.RungRecord`); it is not
    part of a trial's key or params.
    """

    record: str
    min_epochs: int = 5
    reduction_factor: int = 3


#: Fields added after runs were first logged, with their defaults: at them, a trial's key is as before.
_ADDED_FIELDS = {"model": "", "hyperparameters": (), "early_stopping": False, **ADDED_DEFAULTS}
#: Fields that say how a trial runs, not what it is.
_NOT_IDENTITY = ("builder", "pruning")


def _with_axes(cls: type) -> type:
    """Give ``cls`` one field per axis of :data:`~pipeline.spec._axes.AXIS_TABLE`, before :func:`dataclass` reads them.

    Fields in order: the required axes (positional), the other axes with their defaults, the class's own
    fields, then the axes added later (``train_size``): ``TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)``.
    """
    own = dict(cls.__dict__.get("__annotations__", {}))
    first = {axis.name: axis.kind for axis in AXIS_TABLE if not axis.added}
    last = {axis.name: axis.kind for axis in AXIS_TABLE if axis.added}
    cls.__annotations__ = {**first, **own, **last}
    for axis in AXIS_TABLE:
        if not axis.required:
            setattr(cls, axis.name, axis.default)
    return cls


@dataclass(frozen=True)
@_with_axes
class TrialConfig:
    """One point of the grid with its seed: everything needed to build and train a model.

    One field per grid axis of :data:`pipeline.spec.AXIS_TABLE` (added by :func:`_with_axes`), and the
    fields below.
    """

    #: The model builder's reference (``package.module:function``); empty for fitcheck's MLP.
    model: str = ""
    #: The builder's hyperparameters as sorted ``(name, value)`` pairs.
    hyperparameters: tuple[tuple[str, object], ...] = ()
    #: The builder function, serialised with cloudpickle so that worker processes and Ray actors
    #: can call one defined in a notebook; not part of the trial's identity.
    builder: bytes = field(default=b"", compare=False, repr=False)
    #: End the trial with the online recommendation rule (:class:`pipeline.diagnostics.OnlineStop`).
    early_stopping: bool = False
    #: Successive halving against the sweep's other trials; None: never pruned.
    pruning: Pruning | None = None

    def _identity(self) -> dict[str, object]:
        """Every field that identifies the trial; fields added later count only away from their default,
        so the keys of runs logged before them stay the same. Neither the builder's bytes nor where the
        trial reports to the pruner are part of it."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_IDENTITY}
        return {name: value for name, value in values.items()
                if name not in _ADDED_FIELDS or value != _ADDED_FIELDS[name]}

    def key(self, data_fingerprint: str) -> str:
        """A stable hash of this configuration, the dataset fingerprint and the seed."""
        identity = self._identity()
        if self.hyperparameters:
            identity["hyperparameters"] = [list(pair) for pair in self.hyperparameters]
        payload = json.dumps({**identity, "data": data_fingerprint}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def name(self, varying: Collection[str] | None = None) -> str:
        """A readable run name, e.g. ``d2w32-relu-adam-mse-lr0.001-bs32-e10-s0``.

        With ``varying`` (the axes that differ across the sweep, see :func:`varying_axes`), only
        those axes are named, so names fit MLflow's run name column: ``d2w32-lr0.001``. Width,
        activation and dropout are not named for a depth-0 network, nor l2 and dropout when 0, nor a
        ``train_size`` of the whole training split unless it varies (``-n0.25``: a quarter of it).
        """
        shown = set(AXES) if not varying else set(varying)
        if self.model:
            return capped(self._builder_name(shown if varying else None))
        hidden = self.depth > 0
        parts = [axis.label.format(getattr(self, axis.name)) for axis in RUN_NAME_ORDER if axis.name in shown
                 and (hidden or not axis.hidden_layer) and self._named(axis.name, bool(varying))]
        return capped("".join(parts).strip("-") or "d0")

    def _named(self, axis: str, varying: bool) -> bool:
        """Whether a run name shows ``axis`` by its rule (see :data:`pipeline.spec._axes.AXIS_TABLE`)."""
        rule, value = by_name(axis).name_rule, getattr(self, axis)
        if rule == ALWAYS:
            return True
        return value != by_name(axis).default or (rule != AWAY_FROM_DEFAULT and varying)

    def _builder_name(self, shown: Collection[str] | None) -> str:
        """A builder trial's name: its hyperparameters, then the training axes by the rules of an MLP's name
        (``train_size`` when it is not the whole split or varies), e.g. ``filters16-depth2-adam-n0.25``."""
        parts = [f"{name}{value:g}" if isinstance(value, float) else f"{name}{value}"
                 for name, value in self.hyperparameters if shown is None or name in shown]
        parts += [axis.label.format(getattr(self, axis.name)).lstrip("-") for axis in RUN_NAME_ORDER
                  if axis.name in TRAINING_AXES and (shown is None or axis.name in shown)
                  and self._named(axis.name, shown is not None)]
        return "-".join(parts) or self.model.rpartition(":")[2]

    def params(self) -> dict[str, object]:
        """Every axis as an MLflow param; for a builder's trial, the training axes, ``model`` and its hyperparameters."""
        # an axis added later is left out of the key at its default, never out of the params
        identity = {**self._identity(), **{axis: getattr(self, axis) for axis in ADDED_DEFAULTS}}
        if not self.model:
            return identity
        training = {axis: value for axis, value in identity.items() if axis in TRAINING_AXES or axis in _ADDED_FIELDS}
        training.pop("model", None)
        training.pop("hyperparameters", None)  # left out of the identity when a builder has none
        return {**training, MODEL_PARAM: self.model, **dict(self.hyperparameters)}

    def axis(self, name: str) -> object:
        """The value of axis ``name``: a field, or one of the builder's hyperparameters (None when absent)."""
        return dict(self.hyperparameters).get(name, getattr(self, name, None))


def varying_axes(trials: Iterable[TrialConfig]) -> tuple[str, ...]:
    """The axes that take more than one value across ``trials``, in :data:`pipeline.names.AXES` order.

    Width, activation and dropout count only among networks with hidden layers (a depth-0
    network's collapsed values are not a variation).

    Examples
    --------
    >>> a = TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)
    >>> b = TrialConfig(0, 0, "none", "mse", "adam", 0.1, 32, 10, 0)
    >>> varying_axes([a, b])
    ('depth', 'learning_rate')
    """
    trials = list(trials)
    if any(trial.model for trial in trials):  # a builder's sweep: its hyperparameters, then the training axes
        candidates = list(dict.fromkeys(name for trial in trials for name, _ in trial.hyperparameters))
        candidates += list(TRAINING_AXES)
        return tuple(axis for axis in candidates if len({repr(t.axis(axis)) for t in trials}) > 1)
    deep = [trial for trial in trials if trial.depth > 0]
    return tuple(axis for axis in AXES
                 if len({getattr(t, axis) for t in (deep if axis in HIDDEN_LAYER_AXES else trials)}) > 1)


@dataclass(frozen=True)
class Grid:
    """The trials of a sweep and what was dropped on the way."""

    trials: tuple[TrialConfig, ...]
    n_dropped_invalid: int
    n_collapsed: int


def trial_config(**values: Any) -> TrialConfig:
    """One configuration of fitcheck's MLP, its axes by name; a depth-0 network's hidden-layer axes collapse.

    >>> trial_config(depth=0, width=8, activation="relu", loss="mse", optimizer="adam", learning_rate=0.1,
    ...              batch_size=32, epochs=10, seed=0, l2=0, dropout=0.5).name()
    'd0-adam-mse-lr0.1-bs32-e10-s0'
    """
    return TrialConfig(**trial_values(values))


def builder_config(values: dict[str, Any], *, model: str, hyperparameters: tuple[tuple[str, object], ...],
                   builder: bytes) -> TrialConfig:
    """One configuration of a model builder: its training axes' ``values`` and its ``hyperparameters``."""
    return TrialConfig(**builder_values(values), model=model, hyperparameters=hyperparameters, builder=builder)


def check_losses(grids: list[GridSpec], *, task: str, skip_invalid: bool, source: str) -> None:
    """Refuse a loss that cannot train the task, unless ``skip_invalid`` drops such combinations."""
    for loss in dict.fromkeys(loss for grid in grids for loss in grid.loss):  # the first in spec order
        reason = incompatibility(task, loss)
        if reason and not skip_invalid:
            raise FitcheckError(
                f"{source}: grid.loss: {reason} (set 'skip_invalid: true' to drop such combinations)"
            )


def no_trials_left(task: str, source: str) -> FitcheckError:
    """The error when every combination was dropped as invalid for the task."""
    return FitcheckError(f"{source}: grid: every combination was dropped as invalid for a {task} target; "
                         f"accepted losses: {', '.join(sorted(LOSSES_BY_TASK[task]))}")


def expand_grid(grids: GridSpec | list[GridSpec], *, task: str, skip_invalid: bool, source: str = "spec",
                model: str = "", builder: bytes = b"") -> Grid:
    """All trials of the grid (or of the union of a list of grids), in a stable order.

    With ``model`` (a builder's reference, and ``builder`` the function serialised), each trial is
    one combination of the training axes and the builder's hyperparameters. Else a depth-0 network (logistic or linear regression) has no hidden width, activation or
    dropout, so those axes collapse for it instead of training the same model many times.
    Combinations whose loss does not fit the task raise :class:`FitcheckError`, or are
    dropped and counted when ``skip_invalid`` is true.
    """
    grids = grids if isinstance(grids, list) else [grids]
    check_losses(grids, task=task, skip_invalid=skip_invalid, source=source)
    if model:
        return _builder_grid(grids, task=task, model=model, builder=builder, source=source)
    seen: set[TrialConfig] = set()
    trials: list[TrialConfig] = []
    dropped = collapsed = 0
    for values in itertools.chain.from_iterable(_combinations(grid, EXPANSION_ORDER) for grid in grids):
        if incompatibility(task, values["loss"]):
            dropped += 1
            continue
        config = trial_config(**values)
        if config in seen:
            collapsed += 1
            continue
        seen.add(config)
        trials.append(config)
    if not trials:
        raise no_trials_left(task, source)
    return Grid(tuple(trials), dropped, collapsed)


def _combinations(grid: GridSpec, order: Iterable) -> Iterable[dict[str, Any]]:
    """Every combination of the grid's ``order`` axes, by trial name, the last axis varying fastest."""
    names = [axis.name for axis in order]
    for values in itertools.product(*(getattr(grid, axis.key) for axis in order)):
        yield dict(zip(names, values))


def _builder_grid(grids: list[GridSpec], *, task: str, model: str, builder: bytes, source: str) -> Grid:
    """The trials of a builder's grid (losses already checked): no MLP axes, so nothing collapses."""
    trials: list[TrialConfig] = []
    dropped = 0
    for grid in grids:
        names = sorted(grid.hyperparameters)
        for values in itertools.product(*(grid.hyperparameters[name] for name in names)):
            for training in _combinations(grid, [axis for axis in EXPANSION_ORDER if axis.name in TRAINING_AXES]):
                if incompatibility(task, training["loss"]):
                    dropped += 1
                    continue
                config = builder_config(training, model=model, hyperparameters=tuple(zip(names, values)),
                                        builder=builder)
                if config not in trials:
                    trials.append(config)
    if not trials:
        raise no_trials_left(task, source)
    return Grid(tuple(trials), dropped, 0)
