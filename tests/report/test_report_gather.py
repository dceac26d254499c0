"""Gathering a sweep from MLflow: which parent, which children, and clear errors for wrong names."""

from __future__ import annotations

from collections import Counter

import pytest
from mlflow import MlflowClient

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.report import gather_sweep
from synthetic_sweep import SYNTHETIC_GRID, log_synthetic_sweep


def test_gathers_parent_trials_and_curves(sweep_store):
    sweep = gather_sweep(sweep_store.uri, experiment_name=sweep_store.experiment)
    assert sweep.run_id == sweep_store.sweep_run_id
    assert len(sweep.trials) == sweep_store.n_trials
    assert sweep.params["dataset"] == "synthetic-moons" and sweep.task == names.BINARY and sweep.metric == "error"
    assert sweep.grid == SYNTHETIC_GRID
    labels = Counter((trial.status, trial.label) for trial in sweep.trials)
    assert labels == {("FINISHED", names.HIGH_BIAS): 12, ("FINISHED", names.HIGH_VARIANCE): 4,
                      ("FINISHED", names.GOOD_FIT): 4, ("FINISHED", names.HIGH_BIAS_HIGH_VARIANCE): 3,
                      ("FAILED", names.DIVERGED): 1}
    trial = next(trial for trial in sweep.trials if trial.run_name == "trial-0000")
    assert trial.label == names.HIGH_BIAS and trial.params["depth"] == 1 and trial.params["optimizer"] == "sgd"
    assert set(trial.curves) == {names.TRAIN_LOSS, names.VAL_LOSS, "train_error", "val_error"}
    steps, val_errors = zip(*trial.curves["val_error"])
    assert steps == tuple(range(1, 31))
    assert trial.summary[names.summary_metric("best_val", names.BINARY)] == min(val_errors) == val_errors[23]
    assert trial.summary[names.BEST_EPOCH] == 24
    failed = [(trial.run_name, trial.label, trial.error) for trial in sweep.trials if trial.status == "FAILED"]
    assert failed == [("trial-0018", names.DIVERGED, "loss became NaN at epoch 8")]


def test_latest_sweep_by_default_and_by_run_id(store_uri):
    uri = store_uri
    first = log_synthetic_sweep(uri, "twice", n_trials=3, seed=1)
    second = log_synthetic_sweep(uri, "twice", n_trials=5, seed=2)
    assert gather_sweep(uri, experiment_name="twice").run_id == second
    older = gather_sweep(uri, sweep_run_id=first)
    assert older.run_id == first and len(older.trials) == 3 and older.experiment_name == "twice"


def test_one_trial_per_key_when_a_failed_run_was_rerun(store_uri):
    uri = store_uri
    parent = log_synthetic_sweep(uri, "resumed", n_trials=4)
    client = MlflowClient(uri)
    finished = gather_sweep(uri, sweep_run_id=parent).trials[0]
    stale = client.create_run(client.get_experiment_by_name("resumed").experiment_id, start_time=1, tags={
        names.ROLE_TAG: names.ROLE_TRIAL, names.PARENT_RUN_TAG: parent, names.TRIAL_KEY_TAG: finished.trial_key})
    client.set_terminated(stale.info.run_id, status="KILLED")
    sweep = gather_sweep(uri, sweep_run_id=parent)
    assert len(sweep.trials) == 4 and sweep.n_superseded_runs == 1
    assert finished.run_id in {trial.run_id for trial in sweep.trials}


def test_unknown_experiment_names_the_ones_that_exist(sweep_store):
    with pytest.raises(FitcheckError, match=r"no experiment named 'nope'; experiments: .*'synthetic'"):
        gather_sweep(sweep_store.uri, experiment_name="nope")


def test_unknown_run_and_non_sweep_run(sweep_store):
    with pytest.raises(FitcheckError, match="no run 'deadbeef'"):
        gather_sweep(sweep_store.uri, sweep_run_id="deadbeef")
    child = gather_sweep(sweep_store.uri, experiment_name=sweep_store.experiment).trials[0].run_id
    with pytest.raises(FitcheckError, match="is not a fitcheck sweep"):
        gather_sweep(sweep_store.uri, sweep_run_id=child)


def test_experiment_without_sweeps_and_missing_store(store_uri, tmp_path):
    uri = store_uri
    MlflowClient(uri).create_experiment("empty")
    with pytest.raises(FitcheckError, match="'empty' holds no fitcheck sweep"):
        gather_sweep(uri, experiment_name="empty")
    with pytest.raises(FitcheckError, match="give an experiment name or a sweep run id; experiments: .*'empty'"):
        gather_sweep(uri)
    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    with pytest.raises(FitcheckError, match="no MLflow store"):
        gather_sweep(missing, experiment_name="empty")
    assert not (tmp_path / "absent.db").exists()
