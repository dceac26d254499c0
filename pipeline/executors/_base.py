"""The executor seam: run these trials, report events as they happen."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pipeline.data import PreparedData
from pipeline.training import Job, plan_groups
from pipeline.search import TrialConfig
from pipeline.training import TrialOutcome


@dataclass(frozen=True)
class TrialStarted:
    """A worker took trial ``index``."""

    index: int


@dataclass(frozen=True)
class TrialDone:
    """Trial ``outcome.index`` ended, finished or failed."""

    outcome: TrialOutcome


Event = TrialStarted | TrialDone


class Executor(abc.ABC):
    """Runs trials somewhere (local processes, a Ray cluster) and yields their events.

    An executor trains and measures; it never talks to MLflow. It yields exactly one
    :class:`TrialStarted` and one :class:`TrialDone` per job, a ``FAILED`` one when the trial's
    worker died. With ``fuse`` on, it packs compatible jobs into groups that train as one model
    (:mod:`pipeline.training._fusion`); the events stay one per trial.
    """

    #: Train compatible trials as one fused model (see :func:`pipeline.training._fusion.plan_groups`).
    fuse: bool = True

    def warm_up(self, data: PreparedData) -> None:  # noqa: B027 - optional hook
        """Optionally start workers early; called once before :meth:`run`. Default: nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers started by :meth:`warm_up` when :meth:`run` never ran. Default: nothing."""

    @abc.abstractmethod
    def run(self, jobs: Sequence[tuple[int, TrialConfig]], data: PreparedData) -> Iterator[Event]:
        """Run ``(index, config)`` jobs on ``data``; yield events until every job is done."""


def job_groups(jobs: Sequence[Job], *, fuse: bool, workers: int) -> list[list[Job]]:
    """The groups ``workers`` workers train ``jobs`` in: fused groups with ``fuse``, else one job each."""
    return plan_groups(jobs, workers=workers) if fuse else [[job] for job in jobs]
