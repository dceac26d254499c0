"""``search: {method: recipe}`` end to end on a real ``mlflow server``: rounds of real sweeps, each a parent run
linked to the round before and described by the diagnoses that led to it, within the budget; run again, it resumes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline import SweepOptions, names, run_sweep

pytestmark = pytest.mark.slow


def spec(experiment: str) -> dict:
    return {"experiment": experiment, "dataset": {"synthetic": "moons", "n_samples": 300, "noise": 0.25, "seed": 0},
            "split": {"validation": 0.3, "seed": 0}, "reference_error": 0.08,
            "search": {"method": "recipe", "rounds": 3, "budget": 7},
            "grid": {"depth": [0, 1, 2], "width": [4, 16], "learning_rate": [0.002], "epochs": [4]}}


def test_a_recipe_search_runs_rounds_within_its_budget_and_resumes(mlflow_server):
    experiment = f"recipe-{uuid.uuid4().hex[:8]}"
    options = SweepOptions(tracking_uri=mlflow_server.uri, executor="inprocess", progress=False, report=False)
    result = run_sweep(spec(experiment), options)
    rounds = result.rounds
    assert 1 <= len(rounds) <= 3 and rounds[-1].spent <= 7 and result.stopped == rounds[-1].stopped != ""
    assert rounds[0].n_trials == 3 and rounds[0].why[0].startswith(
        "a first round of 3 configurations spanning the grid: depth 0, 1, 2 with width 4, 4, 16")
    assert [done.spent for done in rounds] == [sum(r.n_trials for r in rounds[:k + 1]) for k in range(len(rounds))]
    assert result.parent_run_id == rounds[-1].parent_run_id
    client = MlflowClient(mlflow_server.uri)
    for done in rounds:
        parent = client.get_run(done.parent_run_id)
        assert parent.data.tags[names.RECIPE_ROUND_TAG] == str(done.number)
        previous = rounds[done.number - 2].parent_run_id if done.number > 1 else None
        assert parent.data.tags.get(names.PREVIOUS_SWEEP_TAG) == previous
        assert parent.data.tags[names.NOTE_TAG].startswith(f"**Recipe round {done.number}** ({done.n_trials} trials")
        logged = json.loads(Path(client.download_artifacts(done.parent_run_id, names.RECIPE_ROUND_FILE)).read_text())
        assert logged["number"] == done.number and logged["why"] == list(done.why)
        trials = client.search_runs([parent.info.experiment_id],
                                    f"tags.`{names.PARENT_RUN_TAG}` = '{done.parent_run_id}'")
        assert len(trials) == done.n_trials and {t.info.status for t in trials} == {"FINISHED"}
    for done in rounds[1:]:  # a later round holds the changes the advice named, one configuration each (one seed)
        assert sum("→ new configuration: " in why for why in done.why) == done.n_trials

    again = run_sweep(spec(experiment), options)
    assert [done.parent_run_id for done in again.rounds] == [done.parent_run_id for done in rounds]
    assert again.stopped == result.stopped and len(again.records) == 0  # every trial resumed, none run again


def test_a_recipe_whose_every_trial_diverges_stops_and_says_why(tmp_path, monkeypatch):
    """SGD at learning rate 10 on a regression: every trial of round 1 diverges; the recipe stops, the round stands."""
    raw = {"experiment": "recipe-diverge", "dataset": {"synthetic": "friedman1", "n_samples": 200, "n_features": 5},
           "split": {"validation": 0.3}, "reference_error": 0.5, "search": {"method": "recipe", "budget": 6},
           "grid": {"depth": [1, 2], "width": [16], "loss": ["mse"], "optimizer": ["sgd"], "learning_rate": [10.0],
                    "epochs": [3]}}
    monkeypatch.chdir(tmp_path)  # the report goes to ./reports
    options = SweepOptions(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", executor="inprocess", progress=False,
                           report=True)
    result = run_sweep(raw, options)
    assert [done.n_trials for done in result.rounds] == [2] and result.labels() == {names.DIVERGED: 2}
    assert result.stopped.startswith("cannot go on: sweep ") and "holds no finished trial" in result.stopped
    assert result.report_path is not None and result.report_path.exists()
