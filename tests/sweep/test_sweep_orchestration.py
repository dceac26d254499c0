"""The sweep's orchestration in seconds: resume, stale and interrupted runs, failures, ``reference_error: sweep``.

Real Keras training in this process (:class:`InProcessExecutor`) and a real SQLite tracking store;
only the Ctrl-C is raised by the test's executor, at a chosen point, instead of by a signal
(tests/test_reliability.py sends real signals to a real sweep process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline import names
from pipeline.diagnostics import diagnose, reference_from_sweep
from pipeline.executors import InProcessExecutor
from pipeline.spec import parse_spec
from pipeline.sweep import Sweep, SweepOptions
from pipeline.tracking import SweepTracker
from pipeline.runs import curves_frame
from synthetic_sweep import InterruptedExecutor

ROOT = Path(__file__).resolve().parents[2]
N_TRIALS = 3  # depth 0 collapses relu/tanh: 1 + 2
EPOCHS = 3


def tiny_spec(tmp_path: Path, **changes):
    """tests/specs/tiny.yaml with one loss, ``EPOCHS`` epochs and top-level keys replaced."""
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"].update(epochs=[EPOCHS], loss=["binary_crossentropy"])
    raw.update(changes)
    return parse_spec(raw, source=str(tmp_path / "tiny.yaml"))


def run(spec, uri: str, experiment: str, executor=None):
    options = SweepOptions(tracking_uri=uri, experiment=experiment, report=False, progress=False)
    return Sweep(spec, options, tracker=SweepTracker(uri, settle_seconds=0), executor=executor or InProcessExecutor()).run()


def trial_runs(client: MlflowClient, parent_id: str):
    parent = client.get_run(parent_id)
    return client.search_runs([parent.info.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    """One SQLite store for the module (each test has an experiment of its own): creating a store costs seconds."""
    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return folder, uri, MlflowClient(uri)


@pytest.fixture
def store(module_store, monkeypatch):
    """The module's store, with its folder as the working folder (MLflow puts artifacts there)."""
    folder, uri, client = module_store
    monkeypatch.chdir(folder)
    return uri, client


@pytest.fixture(scope="module")
def finished(module_store):
    """One finished tiny sweep in experiment ``finished``, shared by the tests that only add to it."""
    folder, uri, client = module_store
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return folder, uri, client, run(tiny_spec(folder), uri, "finished")


def test_every_trial_is_logged_and_labelled_by_its_own_curves(finished):
    _, _, client, result = finished
    assert (result.n_trials, len(result.records), result.n_skipped, result.n_failed) == (N_TRIALS, N_TRIALS, 0, 0)
    runs = trial_runs(client, result.parent_run_id)
    runs = [r for r in runs if r.info.status == "FINISHED"]  # the stale-run test may have run first
    assert len(runs) == N_TRIALS
    for trial in runs:
        curves = {name: [m.value for m in sorted(client.get_metric_history(trial.info.run_id, name),
                                                  key=lambda m: m.step)]
                  for name in names.curve_columns(names.BINARY)}
        assert all(len(values) == EPOCHS for values in curves.values())
        expected = diagnose(curves_frame(curves), task=names.BINARY, n_train=210, n_val=90, reference_error=0.08)
        assert trial.data.tags[names.DIAGNOSIS_TAG] == expected.label
        assert trial.data.tags[names.DIAGNOSIS_AT_RECOMMENDED_TAG] == expected.label_at_recommended
        assert trial.data.metrics[names.RECOMMENDED_EPOCHS] == expected.recommended_epochs
        assert {a.path for a in client.list_artifacts(trial.info.run_id)} == {
            "curves.csv", "curves.png", "diagnosis.json"}
    depth0 = [r for r in runs if r.data.params["depth"] == "0"]
    # a straight line cannot separate the moons: logistic regression is biased on them
    assert len(depth0) == 1
    assert {r.data.tags[names.DIAGNOSIS_TAG] for r in depth0} <= {names.HIGH_BIAS, names.HIGH_BIAS_HIGH_VARIANCE}
    assert result.labels() == {label: sum(r.data.tags[names.DIAGNOSIS_TAG] == label for r in runs)
                               for label in {r.data.tags[names.DIAGNOSIS_TAG] for r in runs}}


def test_rerun_resumes_and_adds_nothing(finished, monkeypatch):
    folder, uri, client, first = finished
    monkeypatch.chdir(folder)
    before = {r.info.run_id for r in trial_runs(client, first.parent_run_id)}
    second = run(tiny_spec(folder), uri, "finished")
    assert second.parent_run_id == first.parent_run_id
    assert (second.n_skipped, len(second.records)) == (N_TRIALS, 0)
    assert {r.info.run_id for r in trial_runs(client, first.parent_run_id)} == before


def test_run_left_running_by_a_dead_process_is_killed_and_trained_again(finished, monkeypatch):
    folder, uri, client, first = finished
    monkeypatch.chdir(folder)
    tmp_path = folder
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = trial_runs(client, first.parent_run_id)[0]
    client.update_run(stale.info.run_id, status="RUNNING")
    client.set_tag(stale.info.run_id, names.PID_TAG, str(dead.pid))

    second = run(tiny_spec(tmp_path), uri, "finished")
    assert (second.n_skipped, len(second.records)) == (N_TRIALS - 1, 1)
    runs = trial_runs(client, first.parent_run_id)
    killed = [r for r in runs if r.info.status == "KILLED"]
    assert [r.info.run_id for r in killed] == [stale.info.run_id]
    assert killed[0].data.tags[names.ERROR_TAG] == "sweep process died; run again by resume"
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert sorted(r.data.tags[names.TRIAL_KEY_TAG] for r in finished) == sorted(
        {r.data.tags[names.TRIAL_KEY_TAG] for r in runs})


def test_interrupted_sweep_ends_its_runs_killed_and_resumes(tmp_path, store):
    uri, client = store
    with pytest.raises(KeyboardInterrupt):
        run(tiny_spec(tmp_path), uri, "interrupted", executor=InterruptedExecutor(after=2))
    parent = client.search_runs([client.get_experiment_by_name("interrupted").experiment_id],
                                f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")[0]
    assert parent.info.status == "KILLED"
    runs = trial_runs(client, parent.info.run_id)
    assert sorted(r.info.status for r in runs) == ["FINISHED", "FINISHED", "KILLED"]

    resumed = run(tiny_spec(tmp_path), uri, "interrupted")
    assert resumed.parent_run_id == parent.info.run_id
    assert (resumed.n_skipped, len(resumed.records)) == (2, N_TRIALS - 2)
    runs = trial_runs(client, parent.info.run_id)
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * N_TRIALS + ["KILLED"]
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


def test_diverging_trial_fails_alone(tmp_path, store):
    uri, client = store
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "diverge.yaml").read_text())
    result = run(parse_spec(raw, source=str(tmp_path / "diverge.yaml")), uri, "diverge")
    assert result.n_failed == 1 and result.labels()[names.DIVERGED] == 1
    runs = {r.data.params["optimizer"]: r for r in trial_runs(client, result.parent_run_id)}
    failed, fine = runs["sgd"], runs["adam"]
    assert failed.info.status == "FAILED" and fine.info.status == "FINISHED"
    epoch = int(failed.data.tags[names.DIVERGED_EPOCH_TAG])
    assert failed.data.tags[names.ERROR_TAG] == f"loss diverged (non-finite) at epoch {epoch}"
    assert failed.data.tags[names.DIAGNOSIS_TAG] == names.DIVERGED
    assert len(client.get_metric_history(failed.info.run_id, names.TRAIN_LOSS)) == epoch
    assert fine.data.tags[names.DIAGNOSIS_TAG] != names.DIVERGED


def test_sweep_reference_covers_trials_of_earlier_invocations(tmp_path, store):
    """``reference_error: sweep``: a resumed sweep diagnoses every trial, the earlier ones too,
    against the best validation error of the whole sweep, and each gets its diagnosis.json."""
    uri, client = store
    spec = tiny_spec(tmp_path, reference_error="sweep")
    first = run(spec, uri, "sweep-reference")
    runs = trial_runs(client, first.parent_run_id)
    best_run = min(runs, key=lambda r: r.data.metrics["best_val_error"])
    client.delete_run(best_run.info.run_id)  # the rerun trains this trial again; the others were earlier
    stale = next(r for r in runs if r.info.run_id != best_run.info.run_id)
    client.log_metric(stale.info.run_id, names.REFERENCE_ERROR, 0.999)  # as if diagnosed against a partial sweep

    second = run(spec, uri, "sweep-reference")
    assert (second.n_skipped, len(second.records)) == (N_TRIALS - 1, 1)
    runs = trial_runs(client, first.parent_run_id)
    val_curves = [m.value for r in runs for m in client.get_metric_history(r.info.run_id, "val_error")]
    assert len(runs) == N_TRIALS
    parent = client.get_run(first.parent_run_id)
    assert parent.data.tags[names.REFERENCE_SOURCE_TAG] == names.REFERENCE_SWEEP_BEST
    expected = reference_from_sweep(val_curves)
    assert parent.data.metrics[names.REFERENCE_ERROR] == pytest.approx(expected)
    for trial in runs:
        assert trial.data.metrics[names.REFERENCE_ERROR] == pytest.approx(expected)
        assert {"diagnosis.json", "curves.png"} <= {a.path for a in client.list_artifacts(trial.info.run_id)}
        logged = json.loads(Path(client.download_artifacts(trial.info.run_id, "diagnosis.json", str(tmp_path)))
                            .read_text())
        assert logged["reference_error"] == pytest.approx(expected)
        assert logged["label"] == trial.data.tags[names.DIAGNOSIS_TAG]


def test_bad_data_writes_nothing(tmp_path):
    """The store is created only once spec, data and grid are known good."""
    (tmp_path / "one_class.csv").write_text("x,y\n1,a\n2,a\n3,a\n")
    spec = tiny_spec(tmp_path, dataset={"csv": str(tmp_path / "one_class.csv"), "target": "y"})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    from pipeline.errors import FitcheckError

    with pytest.raises(FitcheckError, match="one_class.csv"):
        Sweep(spec, SweepOptions(tracking_uri=uri, report=False, progress=False), executor=InProcessExecutor()).run()
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize("reference", ["estimate", 0.08])
def test_every_trial_gets_its_curve_plot_once_the_reference_is_settled(store, tmp_path, reference):
    """An estimated reference may be capped after the trials: the plots wait for it (drawn once, at the end);
    a given one is final, so each trial's plot is logged with it."""
    uri, client = store
    result = run(tiny_spec(tmp_path, reference_error=reference), uri, f"plots-{reference}")
    for trial in trial_runs(client, result.parent_run_id):
        assert {"curves.csv", "curves.png"} <= {a.path for a in client.list_artifacts(trial.info.run_id)}
