"""Who owns a sweep or a trial when several processes reach for it at once.

MLflow offers no lock, so fitcheck claims by writing first and reading back: a process creates
its parent run (or its trial runs), waits :data:`SETTLE_SECONDS` so that every claim made at the
same moment is visible, reads all claims, and keeps only what it won. Every process applies the
same rule to the same runs, so exactly one wins each sweep and each trial. Pure: no MLflow calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeline import names

if TYPE_CHECKING:
    from mlflow.entities import Run

#: How long a claim waits before reading back the competing claims.
SETTLE_SECONDS = 1.0
#: Statuses of a trial run that hold its trial: done, in progress, or queued by a live sweep.
HOLDING = ("FINISHED", "RUNNING", "SCHEDULED")


def _order(run: Run) -> tuple[int, str]:
    return run.info.start_time or 0, run.info.run_id


def first_claim(runs: Iterable[Run]) -> Run | None:
    """The earliest run (by start time, then run id): the winner among competing parents."""
    return min(runs, key=_order, default=None)


def trial_holders(runs: Iterable[Run]) -> dict[str, str]:
    """Per trial key, the run id that holds the trial: its FINISHED run, else its earliest
    RUNNING or SCHEDULED run. Keys whose runs all failed or were killed are left out."""
    holders: dict[str, Run] = {}
    for run in runs:
        key = run.data.tags.get(names.TRIAL_KEY_TAG)
        if not key or run.info.status not in HOLDING:
            continue
        held = holders.get(key)
        rank = (run.info.status != "FINISHED", *_order(run))
        if held is None or rank < (held.info.status != "FINISHED", *_order(held)):
            holders[key] = run
    return {key: run.info.run_id for key, run in holders.items()}
