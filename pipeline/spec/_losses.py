"""Which loss fits which task, and what output head it needs: the one task x loss rule.

Spec validation (the accepted losses), grid expansion (:func:`incompatibility`), the output heads
(:mod:`pipeline.training._targets`) and a model builder's checks (:mod:`pipeline.training._builders`)
all read this table. Pure Python: it imports nothing but :mod:`pipeline.names`.

Example
-------
>>> sorted(LOSSES_BY_TASK["regression"])
['huber', 'mae', 'mse']
>>> incompatibility("regression", "hinge")
"loss 'hinge' does not fit a regression target; a regression target accepts: huber, mae, mse"
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.names import BINARY, MULTICLASS, TASKS

#: A loss read from one unit per class through a softmax (a binary target read as two classes).
SOFTMAX = "softmax"
#: A loss on one linear unit with -1/+1 targets (binary only).
MARGIN = "margin"
#: A loss on the task's own head: one sigmoid unit (binary), a softmax per class (multiclass), one linear unit.
TASK_HEAD = "task"


@dataclass(frozen=True)
class Loss:
    """A Keras loss fitcheck accepts: the tasks it can train, its head, whether it reads probabilities."""

    name: str
    tasks: tuple[str, ...]
    head: str = TASK_HEAD
    #: A crossentropy reads probabilities, or logits when compiled with ``from_logits=True``.
    crossentropy: bool = False


#: Every loss, in the order the spec's messages list them.
LOSS_TABLE = (
    Loss("binary_crossentropy", (BINARY,), crossentropy=True),
    Loss("categorical_crossentropy", (BINARY, MULTICLASS), head=SOFTMAX, crossentropy=True),
    Loss("sparse_categorical_crossentropy", (BINARY, MULTICLASS), head=SOFTMAX, crossentropy=True),
    Loss("hinge", (BINARY,), head=MARGIN),
    Loss("squared_hinge", (BINARY,), head=MARGIN),
    Loss("mse", TASKS),
    Loss("mae", TASKS),
    Loss("huber", TASKS),
)
LOSSES = tuple(loss.name for loss in LOSS_TABLE)
#: Losses each task accepts. Binary targets may also be read as two classes (softmax).
LOSSES_BY_TASK = {task: {loss.name for loss in LOSS_TABLE if task in loss.tasks} for task in TASKS}
SOFTMAX_LOSSES = frozenset(loss.name for loss in LOSS_TABLE if loss.head == SOFTMAX)
MARGIN_LOSSES = frozenset(loss.name for loss in LOSS_TABLE if loss.head == MARGIN)
CROSSENTROPY_LOSSES = frozenset(loss.name for loss in LOSS_TABLE if loss.crossentropy)


def incompatibility(task: str, loss: str) -> str | None:
    """Why ``loss`` cannot train a ``task`` model, or None when it can."""
    if loss in LOSSES_BY_TASK[task]:
        return None
    accepted = ", ".join(sorted(LOSSES_BY_TASK[task]))
    return f"loss '{loss}' does not fit a {task} target; a {task} target accepts: {accepted}"
