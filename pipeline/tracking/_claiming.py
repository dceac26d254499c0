"""Two sweeps of one spec at once: each claims, waits, reads the rival claims back and keeps what it won.

On a SQLite store (one machine) the claims are made under a lock of the store's folder
(:meth:`SweepTracker.claims_in_order`), so they are in order and nothing waits: a sweep reads
what its rivals hold and claims the rest. On a store another machine may write to, the claims race and
settle: the rules (who wins) are :mod:`._claims`; the writes go through :class:`SweepTracker`. A sweep that
made a new parent run keeps it only if it is the first claim (:func:`settle_sweep`); a sweep claims
every trial it means to run before training any (:func:`claim_trials`), so each trial is trained by
exactly one process; and a sweep ends the shared parent only when no other process still has a
trial in flight (:func:`others_in_flight`). A write that two sweeps make identically at one moment
(the same dataset) is made once more if the rival's insert refused it (:func:`again_if_raced`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pipeline.tracking._claims import IN_FLIGHT, current_sweep, trial_holders
from pipeline.tracking._connection import with_retries

if TYPE_CHECKING:
    from pipeline.tracking._writer import SweepTracker

T = TypeVar("T")
#: How long a write refused by a rival's identical insert waits before it is made again.
RACED_WRITE_PAUSE = 0.5


@dataclass(frozen=True)
class WantedTrial:
    """A trial a sweep means to run: its run name, trial key and params."""

    run_name: str
    trial_key: str
    params: dict


@dataclass
class ClaimedTrials:
    """What a claim won: run id per trial key, and how many trials another live process holds."""

    run_ids: dict[str, str] = field(default_factory=dict)
    n_held: int = 0


def settle_sweep(tracker: SweepTracker, spec_hash: str) -> bool:
    """After ``tracker`` made a new parent run on a store another machine may write to: wait, and if a rival
    parent of the same spec is the first claim, delete ours and join it (reopen it). True when it joined a rival.
    A parent made under :meth:`SweepTracker.claims_in_order` needs none of it."""
    time.sleep(tracker.settle_seconds)
    parents = with_retries(lambda: tracker.reader.sweeps(tracker.experiment_id, spec_hash=spec_hash),
                           what="read rival sweeps")
    winner = current_sweep(parents)
    own = tracker.parent_run_id
    if winner is None or winner.info.run_id == own:
        return False
    tracker.withdraw(own)
    tracker.resume_sweep(winner.info.run_id)
    return True


def claim_trials(tracker: SweepTracker, wanted: Iterable[WantedTrial]) -> ClaimedTrials:
    """Create a SCHEDULED run for every wanted trial that no other run holds (:func:`trial_holders`).

    On a SQLite store, under its lock: what rivals hold is read first and only the rest is claimed. Elsewhere,
    every wanted trial is claimed, and after a wait the trials whose holder is our run are kept; our losing
    runs are deleted.
    """
    wanted = list(wanted)
    with tracker.claims_in_order() as in_order:
        if in_order:
            holders = trial_holders(_all_trial_runs(tracker))
            free = [trial for trial in wanted if trial.trial_key not in holders]
            return ClaimedTrials(_schedule(tracker, free), len(wanted) - len(free))
    claims = _schedule(tracker, wanted)
    if not claims:
        return ClaimedTrials()
    time.sleep(tracker.settle_seconds)
    holders = trial_holders(_all_trial_runs(tracker))
    won = {key: run_id for key, run_id in claims.items() if holders.get(key) == run_id}
    for key, run_id in claims.items():
        if key not in won:
            tracker.withdraw(run_id)
    return ClaimedTrials(won, len(claims) - len(won))


def _schedule(tracker: SweepTracker, wanted: Iterable[WantedTrial]) -> dict[str, str]:
    """A SCHEDULED run per wanted trial: its id by trial key."""
    return {trial.trial_key: tracker.schedule_trial(run_name=trial.run_name, trial_key=trial.trial_key,
                                                    params=trial.params)
            for trial in wanted}


def others_in_flight(tracker: SweepTracker, own_run_ids: Iterable[str]) -> bool:
    """Whether a trial run of the sweep other than ours is still RUNNING or SCHEDULED."""
    own = set(own_run_ids)
    return any(run.info.status in IN_FLIGHT and run.info.run_id not in own for run in _all_trial_runs(tracker))


def _all_trial_runs(tracker: SweepTracker) -> list:
    grouped = with_retries(tracker.trial_runs, what="read trial runs")
    return [run for runs in grouped.values() for run in runs]


def again_if_raced(call: Callable[[], T]) -> T:
    """Run ``call``; if MLflow refuses it, pause and run it once more (a second refusal is raised).

    Two sweeps logging the same dataset at one moment both find no row for it and both insert one;
    the store's unique key (experiment, name, digest) refuses the second insert. Made again, the
    write finds the row and only links the run to it.
    """
    from mlflow.exceptions import MlflowException

    try:
        return call()
    except MlflowException:
        time.sleep(RACED_WRITE_PAUSE)
        return call()
