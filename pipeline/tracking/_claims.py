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
#: Parents of one spec started this close to the latest one are rival claims to one sweep, made at
#: the same moment; an older parent is an earlier sweep of the spec (before a ``--restart``).
RIVALS_SECONDS = 10.0
#: Statuses of a trial run whose sweep process is at work on it: queued (claimed) or training.
IN_FLIGHT = ("RUNNING", "SCHEDULED")
#: Statuses of a trial run that hold its trial: done, in progress, or queued by a live sweep.
HOLDING = ("FINISHED", *IN_FLIGHT)


def _order(run: Run) -> tuple[int, str]:
    return run.info.start_time or 0, run.info.run_id


def first_claim(runs: Iterable[Run]) -> Run | None:
    """The earliest run (by start time, then run id): the winner among competing parents."""
    return min(runs, key=_order, default=None)


def current_sweep(parents: Iterable[Run]) -> Run | None:
    """The parent that every sweep of one spec resumes or joins: the first claim among the parents
    started within :data:`RIVALS_SECONDS` of the latest one; None when there is none.

    Rivals made at one moment resolve to the same run for every process that reads them, before
    and after the losers delete theirs; a ``--restart`` (a later parent) is not swallowed by the
    sweep it restarts.
    """
    parents = list(parents)
    if not parents:
        return None
    latest = max(_order(run)[0] for run in parents)
    return first_claim(run for run in parents if _order(run)[0] >= latest - RIVALS_SECONDS * 1000)


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
