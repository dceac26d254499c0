"""Expand a grid into trials and refuse combinations that make no sense for the task.

Pure Python: no Keras, no MLflow.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields

from pipeline.errors import FitcheckError
from pipeline.names import AXES, FULL_TRAIN_SIZE, MODEL_PARAM
from pipeline.spec import GridSpec

#: The fields of a trial that configure training, whatever builds its model.
TRAINING_FIELDS = ("loss", "optimizer", "learning_rate", "batch_size", "epochs", "seed", "train_size")

#: Losses each task accepts. Binary targets may also be read as two classes (softmax).
LOSSES_BY_TASK = {
    "binary": {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "hinge", "squared_hinge", "mse", "mae", "huber"},
    "multiclass": {"categorical_crossentropy", "sparse_categorical_crossentropy", "mse", "mae", "huber"},
    "regression": {"mse", "mae", "huber"},
}


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
_ADDED_FIELDS = {"model": "", "hyperparameters": (), "early_stopping": False, "train_size": FULL_TRAIN_SIZE}
#: Fields that say how a trial runs, not what it is.
_NOT_IDENTITY = ("builder", "pruning")


@dataclass(frozen=True)
class TrialConfig:
    """One point of the grid with its seed: everything needed to build and train a model."""

    depth: int
    width: int
    activation: str
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    seed: int
    l2: float = 0.0
    dropout: float = 0.0
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
    #: The training rows it trains on: a fraction in (0, 1] of the training split, or a row count >= 2
    #: (:func:`pipeline.data._prepare.training_subset`); nested subsets, so a smaller size's rows are in a larger's.
    train_size: float | int = FULL_TRAIN_SIZE

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
            return self._builder_name(shown if varying else None)
        hidden = self.depth > 0
        parts = [
            ("depth", f"d{self.depth}", True), ("width", f"w{self.width}", hidden),
            ("activation", f"-{self.activation}", hidden), ("optimizer", f"-{self.optimizer}", True),
            ("loss", f"-{self.loss}", True), ("learning_rate", f"-lr{self.learning_rate:g}", True),
            ("batch_size", f"-bs{self.batch_size}", True), ("epochs", f"-e{self.epochs}", True),
            ("l2", f"-l2{self.l2:g}", bool(self.l2)), ("dropout", f"-do{self.dropout:g}", hidden and bool(self.dropout)),
            ("seed", f"-s{self.seed}", True), ("train_size", f"-n{self.train_size:g}", bool(varying) or self.train_size != FULL_TRAIN_SIZE),
        ]
        return "".join(text for axis, text, on in parts if on and axis in shown).strip("-") or "d0"

    def _builder_name(self, shown: Collection[str] | None) -> str:
        """A builder trial's name: its hyperparameters, then the training axes, e.g. ``filters16-depth2-adam``."""
        parts = [f"{name}{value:g}" if isinstance(value, float) else f"{name}{value}"
                 for name, value in self.hyperparameters if shown is None or name in shown]
        training = [("optimizer", self.optimizer), ("loss", self.loss), ("learning_rate", f"lr{self.learning_rate:g}"),
                    ("batch_size", f"bs{self.batch_size}"), ("epochs", f"e{self.epochs}"), ("seed", f"s{self.seed}")]
        parts += [text for axis, text in training if shown is None or axis in shown]
        return "-".join(parts) or self.model.rpartition(":")[2]

    def params(self) -> dict[str, object]:
        """Every axis as an MLflow param; for a builder's trial, the training axes, ``model`` and its hyperparameters."""
        identity = {**self._identity(), "train_size": self.train_size}  # a learning curve's axis, always shown
        if not self.model:
            return identity
        training = {axis: value for axis, value in identity.items() if axis in TRAINING_FIELDS or axis in _ADDED_FIELDS}
        del training["model"], training["hyperparameters"]
        return {**training, MODEL_PARAM: self.model, **dict(self.hyperparameters)}

    def axis(self, name: str) -> object:
        """The value of axis ``name``: a field, or one of the builder's hyperparameters (None when absent)."""
        return dict(self.hyperparameters).get(name, getattr(self, name, None))


#: Axes a depth-0 network does not have (they collapse for it).
HIDDEN_LAYER_AXES = ("width", "activation", "dropout")


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
        candidates += list(TRAINING_FIELDS)
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


def incompatibility(task: str, loss: str) -> str | None:
    """Why ``loss`` cannot train a ``task`` model, or None when it can."""
    if loss in LOSSES_BY_TASK[task]:
        return None
    accepted = ", ".join(sorted(LOSSES_BY_TASK[task]))
    return f"loss '{loss}' does not fit a {task} target; a {task} target accepts: {accepted}"


def trial_config(depth: int, width: int, activation: str, loss: str, optimizer: str, learning_rate: float,
                 batch_size: int, epochs: int, seed: int, l2: float, dropout: float,
                 train_size: float | int = FULL_TRAIN_SIZE) -> TrialConfig:
    """One configuration; a depth-0 network's width, activation and dropout collapse (it has no hidden layer)."""
    if depth == 0:
        width, activation, dropout = 0, "none", 0.0
    return TrialConfig(depth, width, activation, loss, optimizer, float(learning_rate), batch_size, epochs, seed,
                       float(l2), float(dropout), train_size=train_size)


def check_losses(grids: list[GridSpec], *, task: str, skip_invalid: bool, source: str) -> None:
    """Refuse a loss that cannot train the task, unless ``skip_invalid`` drops such combinations."""
    for loss in {loss for grid in grids for loss in grid.loss}:
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
    combinations = itertools.chain.from_iterable(
        itertools.product(grid.depth, grid.width, grid.activation, grid.loss, grid.optimizer, grid.learning_rate,
                          grid.batch_size, grid.epochs, grid.l2, grid.dropout, grid.seeds, grid.train_size)
        for grid in grids)
    for depth, width, activation, loss, optimizer, lr, batch, epochs, l2, dropout, seed, train_size in combinations:
        if incompatibility(task, loss):
            dropped += 1
            continue
        config = trial_config(depth, width, activation, loss, optimizer, lr, batch, epochs, seed, l2, dropout,
                              train_size)
        if config in seen:
            collapsed += 1
            continue
        seen.add(config)
        trials.append(config)
    if not trials:
        raise no_trials_left(task, source)
    return Grid(tuple(trials), dropped, collapsed)


def _builder_grid(grids: list[GridSpec], *, task: str, model: str, builder: bytes, source: str) -> Grid:
    """The trials of a builder's grid (losses already checked): no MLP axes, so nothing collapses."""
    trials: list[TrialConfig] = []
    dropped = 0
    for grid in grids:
        names = sorted(grid.hyperparameters)
        for values in itertools.product(*(grid.hyperparameters[name] for name in names)):
            for loss, optimizer, lr, batch, epochs, seed, train_size in itertools.product(
                    grid.loss, grid.optimizer, grid.learning_rate, grid.batch_size, grid.epochs, grid.seeds,
                    grid.train_size):
                if incompatibility(task, loss):
                    dropped += 1
                    continue
                config = TrialConfig(0, 0, "none", loss, optimizer, float(lr), batch, epochs, seed, model=model,
                                     hyperparameters=tuple(zip(names, values)), builder=builder,
                                     train_size=train_size)
                if config not in trials:
                    trials.append(config)
    if not trials:
        raise no_trials_left(task, source)
    return Grid(tuple(trials), dropped, 0)
