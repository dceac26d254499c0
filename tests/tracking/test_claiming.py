"""The claim protocol of concurrent sweeps, step by step on a real SQLite store (claims in order under its lock)
and on a real tracking server (claims that race, then read back).

Two :class:`SweepTracker` objects stand for two sweep processes reaching for one sweep at the same
moment; the claims are interleaved by hand, so each race is played out exactly, in seconds (the
real processes are in tests/e2e/test_reliability.py).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from pipeline import names
from pipeline.tracking import SweepTracker, WantedTrial, claim_trials, others_in_flight, settle_sweep
from pipeline.tracking._claims import RIVALS_SECONDS, current_sweep

SPEC_HASH = "abc-123"


@pytest.fixture(scope="module", params=["sqlite", "server"])
def store_uri(tmp_path_factory, request) -> str:
    if request.param == "server":
        return request.getfixturevalue("mlflow_server").uri
    return f"sqlite:///{tmp_path_factory.mktemp('claims') / 'mlflow.db'}"


@pytest.fixture
def trackers(store_uri, request):
    """Two trackers on one experiment of their own, as two processes would hold them."""
    pair = [SweepTracker(store_uri, settle_seconds=0) for _ in range(2)]
    for tracker in pair:
        tracker.use_experiment(request.node.name)
    return pair


def make_parent(tracker: SweepTracker, *, start_time: int | None = None) -> str:
    run = tracker.client.create_run(tracker.experiment_id, start_time=start_time, tags={
        names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_HASH_TAG: SPEC_HASH})
    tracker.parent_run_id = run.info.run_id
    return run.info.run_id


def wanted(*keys: str) -> list[WantedTrial]:
    return [WantedTrial(run_name=key, trial_key=key, params={"depth": 1}) for key in keys]


def statuses(client: MlflowClient, parent_id: str) -> dict[str, list[tuple[str, str]]]:
    """Per trial key, every run's (status, lifecycle stage), deleted ones included, in start order."""
    runs = client.search_runs([client.get_run(parent_id).info.experiment_id],
                              f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'", run_view_type=ViewType.ALL,
                              order_by=["attributes.start_time ASC"])
    found: dict[str, list[tuple[str, str]]] = {}
    for run in runs:
        found.setdefault(run.data.tags[names.TRIAL_KEY_TAG], []).append((run.info.status, run.info.lifecycle_stage))
    return found


def test_two_new_parents_settle_on_the_first(trackers):
    first, second = trackers
    now = int(time.time() * 1000)
    winner, loser = make_parent(first, start_time=now), make_parent(second, start_time=now + 1)
    assert settle_sweep(second, SPEC_HASH) is True  # the later parent joins the first, in either order
    assert settle_sweep(first, SPEC_HASH) is False
    assert first.parent_run_id == second.parent_run_id == winner
    assert first.client.get_run(loser).info.lifecycle_stage == "deleted"
    assert first.client.get_run(winner).info.status == "RUNNING"
    assert first.find_sweep(SPEC_HASH) == winner


def test_a_parent_from_before_a_restart_is_not_a_rival(trackers):
    first, second = trackers
    earlier = make_parent(first, start_time=1_000_000)
    restarted = make_parent(second, start_time=1_000_000 + int(RIVALS_SECONDS * 1000) + 1)
    assert settle_sweep(second, SPEC_HASH) is False
    assert first.find_sweep(SPEC_HASH) == restarted != earlier


def test_interleaved_trial_claims_give_each_trial_to_one_sweep(trackers):
    first, second = trackers
    second.parent_run_id = make_parent(first)
    claimed_first = claim_trials(first, wanted("a", "b"))  # "a" and "b" claimed first by the first sweep,
    claimed_second = claim_trials(second, wanted("a", "b", "c"))  # "c" only by the second
    assert (sorted(claimed_first.run_ids), claimed_first.n_held) == (["a", "b"], 0)
    assert (sorted(claimed_second.run_ids), claimed_second.n_held) == (["c"], 2)
    held = statuses(first.client, first.parent_run_id)
    with first.claims_in_order() as in_order:
        pass
    if in_order:  # SQLite: the second sweep read what the first held and claimed only the rest
        assert held == {"a": [("SCHEDULED", "active")], "b": [("SCHEDULED", "active")], "c": [("SCHEDULED", "active")]}
    else:  # a server: both claimed, the second's losing claims are deleted
        assert held == {"a": [("SCHEDULED", "active"), ("SCHEDULED", "deleted")],
                        "b": [("SCHEDULED", "active"), ("SCHEDULED", "deleted")],
                        "c": [("SCHEDULED", "active")]}
    assert others_in_flight(first, claimed_first.run_ids.values())

    for run_id in claimed_first.run_ids.values():
        first.trial_started(run_id)
        first.finish_trial(run_id, curves={}, metrics={}, tags={}, artifacts={}, status="FINISHED")
    assert others_in_flight(first, claimed_first.run_ids.values())  # the second sweep still holds "c"
    assert not others_in_flight(second, claimed_second.run_ids.values())


def test_a_finished_trial_beats_a_later_claim_and_a_failed_one_does_not(trackers):
    first, second = trackers
    second.parent_run_id = make_parent(first)
    done = claim_trials(first, wanted("done", "failed")).run_ids
    first.finish_trial(done["done"], curves={}, metrics={}, tags={}, artifacts={}, status="FINISHED")
    first.finish_trial(done["failed"], curves={}, metrics={}, tags={}, artifacts={}, status="FAILED")
    again = claim_trials(second, wanted("done", "failed"))
    assert (list(again.run_ids), again.n_held) == (["failed"], 1)


def test_a_claim_left_by_a_dead_sweep_is_stale(trackers):
    first, second = trackers
    second.parent_run_id = make_parent(first)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_id,) = claim_trials(first, wanted("queued")).run_ids.values()
    first.client.set_tag(run_id, names.PID_TAG, str(dead.pid))
    assert second.kill_stale(second.client.search_runs([second.experiment_id],
                                                       f"tags.`{names.TRIAL_KEY_TAG}` = 'queued'")) == 1
    assert list(claim_trials(second, wanted("queued")).run_ids) == ["queued"]


def test_an_interrupted_sweep_ends_its_claims_killed(trackers):
    first, _ = trackers
    make_parent(first)
    claim_trials(first, wanted("queued"))
    first.end_own_runs(status="KILLED")  # Ctrl-C before a worker took the trial
    assert statuses(first.client, first.parent_run_id) == {"queued": [("KILLED", "active")]}


def test_no_parents_no_current_sweep():
    assert current_sweep([]) is None
