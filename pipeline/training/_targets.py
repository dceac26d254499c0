"""The output head of a task and loss: its units and activation, how labels become the loss's
targets (:meth:`OutputHead.encode`) and how the model's outputs become labels again
(:meth:`OutputHead.decode`).

Numpy only: it imports neither Keras nor MLflow. :func:`pipeline.training._model.build_model` turns a head
into a Keras layer; the sweep, :class:`pipeline.training._callbacks.EpochEndEvaluation`,
:class:`pipeline.fit_diagnostics.FitDiagnostics` and the diagnostics benchmark read outputs
through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.names import BINARY, REGRESSION, TASKS
from pipeline.spec import MARGIN_LOSSES, SOFTMAX_LOSSES

# how labels are written as targets
INDEX = "index"  # a vector of class indices (sparse categorical crossentropy)
ONE_HOT = "one_hot"  # one row of n_classes 0/1 per sample
BINARY01 = "binary01"  # one column of 0/1
SIGNED = "signed"  # one column of -1/+1 (margin losses)
VALUE = "value"  # one column of the regression target


@dataclass(frozen=True)
class OutputHead:
    """The last layer of a task's model and how its targets and outputs are read.

    Attributes
    ----------
    task : {"binary", "multiclass", "regression"}
    units : int
        One per class for softmax heads, else 1.
    activation : {"sigmoid", "softmax", "linear"}
        ``"linear"`` on one classification unit is a margin or logit, read at threshold 0;
        ``"sigmoid"`` is a probability, read at 0.5.
    encoding : {"index", "one_hot", "binary01", "signed", "value"}
        How labels are written as the loss's targets.

    Examples
    --------
    >>> head = output_head("binary", "hinge", n_classes=2)
    >>> head.encode(np.array([0, 1]))[:, 0].tolist(), head.decode(np.array([[-0.3], [0.2]])).tolist()
    ([-1.0, 1.0], [0, 1])
    """

    task: str
    units: int
    activation: str
    encoding: str

    def encode(self, labels: np.ndarray) -> np.ndarray:
        """Targets in the form the loss expects, from class indices or regression values."""
        labels = np.asarray(labels)
        if self.encoding == ONE_HOT:
            return np.eye(self.units, dtype=np.float32)[labels]
        if self.encoding == SIGNED:
            return (2.0 * labels - 1.0).astype(np.float32).reshape(-1, 1)
        if self.encoding in (BINARY01, VALUE):
            return labels.astype(np.float32).reshape(-1, 1)
        return labels.astype(np.int64)

    def labels(self, targets: np.ndarray) -> np.ndarray:
        """Class indices (int64) or regression values (float64) from targets in this encoding."""
        targets = np.asarray(targets)
        if self.encoding == ONE_HOT:
            return targets.argmax(axis=1)
        flat = targets.reshape(len(targets))
        if self.encoding == VALUE:
            return flat.astype(np.float64)
        if self.encoding == SIGNED:
            return (flat > 0).astype(np.int64)
        return flat.astype(np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Predicted class indices, or regression values, from model outputs of shape (n, units)."""
        outputs = np.asarray(outputs)
        if self.task == REGRESSION:
            return outputs[:, 0]
        if self.units > 1:
            return outputs.argmax(axis=1)
        threshold = 0.5 if self.activation == "sigmoid" else 0.0
        return (outputs[:, 0] > threshold).astype(np.int64)


def output_head(task: str, loss: str, n_classes: int) -> OutputHead:
    """The head fitcheck builds for a task and loss.

    Regression: one linear unit. Softmax losses, and any loss on a multiclass task: one softmax
    unit per class (index targets for the sparse loss, else one-hot). Margin losses on a binary
    task: one linear unit with -1/+1 targets. Any other binary loss: one sigmoid unit, 0/1 targets.

    Examples
    --------
    >>> output_head("multiclass", "mse", n_classes=3)
    OutputHead(task='multiclass', units=3, activation='softmax', encoding='one_hot')
    """
    _check_task(task)
    if task == REGRESSION:
        return OutputHead(task, 1, "linear", VALUE)
    if loss in SOFTMAX_LOSSES:
        return OutputHead(task, n_classes, "softmax", INDEX if loss.startswith("sparse") else ONE_HOT)
    if task != BINARY:
        return OutputHead(task, n_classes, "softmax", ONE_HOT)
    if loss in MARGIN_LOSSES:
        return OutputHead(task, 1, "linear", SIGNED)
    return OutputHead(task, 1, "sigmoid", BINARY01)


def head_of(task: str, targets: np.ndarray, *, units: int, loss: str = "", from_logits: bool = False) -> OutputHead:
    """The head a user's own model and targets follow (what :class:`FitDiagnostics` reads).

    Supported conventions:

    - regression: one linear unit, the target values;
    - several units (softmax probabilities or logits alike, read by argmax): class-index targets,
      or one-hot rows of ``units`` columns;
    - one unit on a binary task: a margin or logit (threshold 0) when the targets hold -1
      (``-1/+1`` targets), the loss is a margin loss (``hinge``, ``squared_hinge``) or
      ``from_logits`` is set; otherwise a sigmoid probability (threshold 0.5) with 0/1 targets.

    Raises
    ------
    ValueError
        For a regression model with several units or a multiclass model with one.
    """
    _check_task(task)
    targets = np.asarray(targets)
    if task == REGRESSION:
        if units != 1:
            raise ValueError(f"a regression model must have 1 output unit but got {units}.")
        return OutputHead(task, 1, "linear", VALUE)
    if units > 1:
        one_hot = targets.ndim == 2 and targets.shape[1] == units
        return OutputHead(task, units, "linear" if from_logits else "softmax", ONE_HOT if one_hot else INDEX)
    if task != BINARY:
        raise ValueError(f"a {task} model must have one output unit per class but got {units}.")
    signed = targets.size > 0 and float(targets.min()) < 0
    margin = signed or from_logits or loss in MARGIN_LOSSES
    return OutputHead(task, 1, "linear" if margin else "sigmoid", SIGNED if signed else BINARY01)


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)} but got {task!r}.")
