"""Which trials can train together as one fused Keras model, and how to pack them into groups.

Pure Python: no Keras, no MLflow. Trials that share the optimizer, learning rate, batch size,
epochs and seed (hence the order of the batches) and train on the same rows can be trained as
one model holding one independent sub-network per trial, with the sum of their losses (see
:mod:`pipeline.training._fused`). The executors ask :func:`plan_groups` how to pack their jobs;
it never changes which trials run, only which ones share a model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence

from pipeline.errors import FitcheckError
from pipeline.search import TrialConfig
from pipeline.spec import FUSION_MEMBER, FUSION_SHARED

#: Axes the trials of one fused group must share: one optimizer steps every sub-network, over one batch stream
#: (declared ``fusion=SHARED`` in :data:`pipeline.spec.AXIS_TABLE`).
SHARED_AXES = FUSION_SHARED
#: Axes that only shape a sub-network (its layers, head and loss): they may differ within a group (``fusion=MEMBER``).
MEMBER_AXES = FUSION_MEMBER
#: Largest group: sub-networks per fused model (memory grows with it; past a few dozen, gains do not).
MAX_GROUP = 16
#: Groups each worker gets at least (when there are enough trials): a worker that finishes early finds
#: another group to take, and the sweep logs one group while the next one trains.
GROUPS_PER_WORKER = 2

Job = tuple[int, TrialConfig]


def fusable(config: TrialConfig) -> bool:
    """True when fitcheck builds the trial's model itself and trains it with a plain ``fit``.

    Every field of :class:`TrialConfig` that is neither shared by a group (:data:`SHARED_AXES`)
    nor part of a sub-network (:data:`MEMBER_AXES`) must be at its default: a field added later
    (a user's model builder, early stopping, an axis declared without ``fusion``) keeps its trials
    out of fused groups.

    Examples
    --------
    >>> fusable(TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0))
    True
    """
    known = set(SHARED_AXES) | set(MEMBER_AXES)
    return all(getattr(config, field.name) == field.default
               for field in dataclasses.fields(config) if field.name not in known)


def fusion_key(config: TrialConfig) -> Hashable:
    """What trials of one group share: equal keys (of fusable trials) may train as one model.

    Examples
    --------
    >>> a = TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)
    >>> fusion_key(a) == fusion_key(TrialConfig(3, 64, "tanh", "binary_crossentropy", "adam", 0.01, 32, 10, 0, l2=0.1))
    True
    """
    return tuple(getattr(config, axis) for axis in SHARED_AXES)


def plan_groups(jobs: Sequence[Job], *, workers: int, max_group: int = MAX_GROUP) -> list[list[Job]]:
    """Pack ``(index, config)`` jobs into groups that each train as one model, in job order.

    A group holds fusable jobs of one :func:`fusion_key`, at most ``max_group`` of them; a job
    that is not fusable is a group of its own. Groups are then split in halves, the largest
    first, until there are :data:`GROUPS_PER_WORKER` x ``workers`` groups (or every group is a
    single job), so every worker stays busy and the sweep logs results while training goes on.

    Examples
    --------
    >>> adam = [(i, TrialConfig(i + 1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)) for i in range(6)]
    >>> sgd = (6, TrialConfig(1, 8, "relu", "mse", "sgd", 0.01, 32, 10, 0))
    >>> [[index for index, _ in group] for group in plan_groups([*adam, sgd], workers=1, max_group=4)]
    [[0, 1, 2, 3], [4, 5], [6]]
    >>> [[index for index, _ in group] for group in plan_groups(adam, workers=2)]
    [[0, 1], [2], [3, 4], [5]]
    """
    if workers < 1:
        raise FitcheckError(f"workers must be at least 1 but got {workers}")
    if max_group < 1:
        raise FitcheckError(f"max_group must be at least 1 but got {max_group}")
    by_key: dict[Hashable, list[Job]] = {}
    groups: list[list[Job]] = []
    for job in jobs:
        if not fusable(job[1]):
            groups.append([job])
            continue
        key = fusion_key(job[1])
        if key not in by_key or len(by_key[key]) == max_group:
            by_key[key] = []
            groups.append(by_key[key])
        by_key[key].append(job)
    while len(groups) < GROUPS_PER_WORKER * workers:
        largest = max(range(len(groups)), key=lambda position: len(groups[position]), default=None)
        if largest is None or len(groups[largest]) == 1:
            break
        group = groups[largest]
        half = (len(group) + 1) // 2
        groups[largest:largest + 1] = [group[:half], group[half:]]
    return groups
