"""Run trials one after another in the calling process: no workers to start or feed.

For tests and notebooks, where a sweep of a few small trials should not pay for spawning
processes that each import TensorFlow. It shares the caller's TensorFlow settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pipeline.data import PreparedData
from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted, job_groups
from pipeline.search import TrialConfig


class InProcessExecutor(Executor):
    """Train each trial (or fused group of trials, with ``fuse``) in this process, in order."""

    def __init__(self, *, fuse: bool = True):
        self.fuse = fuse

    def run(self, jobs: Sequence[tuple[int, TrialConfig]], data: PreparedData) -> Iterator[Event]:
        from pipeline.training import train_group

        for group in job_groups(jobs, fuse=self.fuse, workers=1):
            for index, _ in group:
                yield TrialStarted(index)
            for outcome in train_group(group, data):
                yield TrialDone(outcome)
