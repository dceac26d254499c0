"""Expand a grid into trials and refuse combinations that make no sense for the task.

Pure Python: no Keras, no MLflow.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass

from pipeline.errors import FitcheckError
from pipeline.names import AXES, FULL_TRAIN_SIZE
from pipeline.spec import GridSpec

#: Losses each task accepts. Binary targets may also be read as two classes (softmax).
LOSSES_BY_TASK = {
    "binary": {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "hinge", "squared_hinge", "mse", "mae", "huber"},
    "multiclass": {"categorical_crossentropy", "sparse_categorical_crossentropy", "mse", "mae", "huber"},
    "regression": {"mse", "mae", "huber"},
}


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
    #: The training rows it trains on: a fraction in (0, 1] of the training split, or a row count >= 2
    #: (:func:`pipeline.data.training_subset`); nested subsets, so a smaller size's rows are in a larger's.
    train_size: float | int = FULL_TRAIN_SIZE

    def key(self, data_fingerprint: str) -> str:
        """A stable hash of this configuration, the dataset fingerprint and the seed.

        A field added later is left out of the hash at its default, so runs logged before it existed resume.
        """
        fields = asdict(self)
        if self.train_size == FULL_TRAIN_SIZE:
            del fields["train_size"]
        payload = json.dumps({**fields, "data": data_fingerprint}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def name(self, varying: Collection[str] | None = None) -> str:
        """A readable run name, e.g. ``d2w32-relu-adam-mse-lr0.001-bs32-e10-s0``.

        With ``varying`` (the axes that differ across the sweep, see :func:`varying_axes`), only
        those axes are named, so names fit MLflow's run name column: ``d2w32-lr0.001``. Width,
        activation and dropout are not named for a depth-0 network, nor l2 and dropout when 0, nor a
        ``train_size`` of the whole training split unless it varies (``-n0.25``: a quarter of it).
        """
        shown = set(AXES) if not varying else set(varying)
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

    def params(self) -> dict[str, object]:
        """Every axis as an MLflow param."""
        return asdict(self)


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


def expand_grid(grids: GridSpec | list[GridSpec], *, task: str, skip_invalid: bool, source: str = "spec") -> Grid:
    """All trials of the grid (or of the union of a list of grids), in a stable order.

    A depth-0 network (logistic or linear regression) has no hidden width, activation or
    dropout, so those axes collapse for it instead of training the same model many times.
    Combinations whose loss does not fit the task raise :class:`FitcheckError`, or are
    dropped and counted when ``skip_invalid`` is true.
    """
    grids = grids if isinstance(grids, list) else [grids]
    for loss in {loss for grid in grids for loss in grid.loss}:
        reason = incompatibility(task, loss)
        if reason and not skip_invalid:
            raise FitcheckError(
                f"{source}: grid.loss: {reason} (set 'skip_invalid: true' to drop such combinations)"
            )
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
        if depth == 0:
            width, activation, dropout = 0, "none", 0.0
        config = TrialConfig(depth, width, activation, loss, optimizer, float(lr), batch, epochs, seed,
                             float(l2), float(dropout), train_size)
        if config in seen:
            collapsed += 1
            continue
        seen.add(config)
        trials.append(config)
    if not trials:
        raise FitcheckError(f"{source}: grid: every combination was dropped as invalid for a {task} target; "
                            f"accepted losses: {', '.join(sorted(LOSSES_BY_TASK[task]))}")
    return Grid(tuple(trials), dropped, collapsed)
