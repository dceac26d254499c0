"""Run trials one after another in the calling process: no workers to start or feed.

For tests and notebooks, where a sweep of a few small trials should not pay for spawning
processes that each import TensorFlow. It shares the caller's TensorFlow settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pipeline.data import PreparedData
from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted
from pipeline.grid import TrialConfig


class InProcessExecutor(Executor):
    """Train each trial in this process, in order."""

    def run(self, jobs: Sequence[tuple[int, TrialConfig]], data: PreparedData) -> Iterator[Event]:
        from pipeline.training import train_trial

        for index, config in jobs:
            yield TrialStarted(index)
            yield TrialDone(train_trial(index, config, data))
