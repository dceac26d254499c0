"""Logging onto a run someone else started (``ActiveRunLog``), MLflow errors as fitcheck's, and the
words handed to the sweep's writer: real SQLite stores in a temporary folder."""

from __future__ import annotations

import warnings

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from pipeline.errors import FitcheckError
from pipeline.runs import SweepDescriptions
from pipeline.tracking import ActiveRunLog, SweepTracker, store_errors


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)  # artifacts land here
    uri = f"sqlite:///{tmp_path}/m.db"
    mlflow.set_tracking_uri(uri)
    return uri


def test_logs_params_stepped_metrics_tags_and_a_file_onto_the_active_run(store):
    log = ActiveRunLog("Owner")
    log.begin(enabled=True)
    log.metrics({"val_error": 0.5}, step=1)  # no active run yet: nothing, and no error
    with mlflow.start_run() as run:
        log.params({"n_train": 10})
        log.metrics({"val_error": 0.25}, step=2)
        log.tags({"diagnosis": "good_fit"})
        log.json_file({"label": "good_fit"}, "diagnosis.json")
    client = mlflow.MlflowClient(store)
    logged = client.get_run(run.info.run_id).data
    assert (logged.params, logged.tags["diagnosis"]) == ({"n_train": "10"}, "good_fit")
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_error")] == [(2, 0.25)]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["diagnosis.json"]


def test_a_failure_warns_once_naming_the_owner_and_logging_stays_off_until_begin(store):
    log = ActiveRunLog("FitDiagnostics")
    log.begin(enabled=True)
    with mlflow.start_run() as run, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log.params({"n_train": 10})
        log.params({"n_train": 11})  # MLflow refuses to change a param
        log.metrics({"val_error": 0.25}, step=1)  # off: not logged
        log.begin(enabled=True)
        log.metrics({"val_error": 0.5}, step=2)
    failures = [w for w in caught if "FitDiagnostics: MLflow logging failed" in str(w.message)]
    assert len(failures) == 1 and failures[0].category is RuntimeWarning
    history = mlflow.MlflowClient(store).get_metric_history(run.info.run_id, "val_error")
    assert [(m.step, m.value) for m in history] == [(2, 0.5)]


def test_store_errors_become_one_fitcheck_line_and_fitchecks_own_pass_unchanged():
    with pytest.raises(FitcheckError, match=r"^cannot read: no such run$"):
        with store_errors("cannot read"):
            raise MlflowException("no such run\nsecond line")
    with pytest.raises(FitcheckError, match=r"^ours$"):
        with store_errors("cannot read"):
            raise FitcheckError("ours")


def test_the_sweep_hands_its_words_to_a_tracker_that_has_none(store):
    own, given = SweepDescriptions(), SweepDescriptions()
    assert SweepTracker(store, texts=own).describing(given).texts is own
    assert SweepTracker(store).describing(given).texts is given
