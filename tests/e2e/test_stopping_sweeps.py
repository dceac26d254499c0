"""Sampled searches and trials stopped early, end to end against a real ``mlflow server``: early stopping,
successive-halving pruning, a random search resumed after a SIGKILL and a TPE search resumed.

Real Keras training (in this process, :class:`InProcessExecutor`, except the killed sweep, a real
``fitcheck sweep`` process with two workers).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline import names
from pipeline.data import load_dataset
from pipeline.diagnostics import diagnose, recommend_stop
from pipeline.executors import InProcessExecutor
from pipeline.search import search_trials
from pipeline.spec import load_spec, parse_spec
from pipeline.sweep import Sweep, SweepOptions
from pipeline.tracking import SweepTracker
from pipeline.runs import curves_frame
from synthetic_sweep import InterruptedExecutor

ROOT = Path(__file__).resolve().parents[2]
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))

pytestmark = pytest.mark.slow


def spec_of(tmp_path: Path, name: str, *, grid: dict, **top):
    """tests/specs/tiny.yaml (noisy moons, 210 training and 90 validation rows) with ``grid`` and top-level keys."""
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"].update(loss=["binary_crossentropy"], **grid)
    raw.update(top)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path, parse_spec(raw, source=str(path))


def sweep(spec, uri: str, experiment: str, executor=None, **options):
    options = SweepOptions(tracking_uri=uri, experiment=experiment, progress=False, **{"report": False, **options})
    return Sweep(spec, options, tracker=SweepTracker(uri, settle_seconds=0),
                 executor=executor or InProcessExecutor()).run()


def trials_of(client: MlflowClient, parent_id: str) -> list:
    parent = client.get_run(parent_id)
    return client.search_runs([parent.info.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")


def history(client: MlflowClient, run, name: str = "val_error") -> list[float]:
    return [m.value for m in sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)]


def test_early_stopping_keeps_the_recommended_epoch_and_its_weights(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client, experiment = MlflowClient(mlflow_server.uri), f"early-{uuid.uuid4().hex[:6]}"
    _, spec = spec_of(tmp_path, "early.yaml", grid={"depth": [1], "width": [16], "activation": ["relu"],
                                                    "learning_rate": [0.05, 0.1], "epochs": [60]})
    stopped = sweep(spec, mlflow_server.uri, experiment, early_stopping=True)
    full = sweep(spec, mlflow_server.uri, experiment)  # the same trials, every epoch: a sweep of its own
    assert full.parent_run_id != stopped.parent_run_id and full.n_skipped == 0
    runs = trials_of(client, stopped.parent_run_id) + trials_of(client, full.parent_run_id)
    by_rate = {}
    for run in runs:
        by_rate.setdefault(run.data.params["learning_rate"], {})[run.data.params.get("early_stopping", "no")] = run
    assert len(by_rate) == 2 and all(set(pair) == {"True", "no"} for pair in by_rate.values())
    n_stopped = 0
    for pair in by_rate.values():
        early, whole = pair["True"], pair["no"]
        curve, whole_curve = history(client, early), history(client, whole)
        assert len(whole_curve) == 60
        assert curve == whole_curve[:len(curve)]  # the same training, cut short
        kept = recommend_stop(whole_curve)
        if names.STOPPED_EPOCH not in early.data.metrics:
            assert len(curve) == 60 and kept + 12 > 60  # the rule had not settled by the last epoch
            continue
        n_stopped += 1
        metrics = early.data.metrics
        assert metrics[names.STOPPED_EPOCH] == len(curve) == kept + 12  # patience 10 + half the smoothing window
        assert metrics[names.KEPT_EPOCH] == kept  # the online rule: the validation error's pick
        # the restored weights, measured again, give exactly the kept epoch's logged validation error
        assert metrics[names.summary_metric(names.KEPT_VAL, "binary")] == curve[kept - 1]
        # the diagnosis describes the model the trial left behind: the kept epoch's
        logged = {name: history(client, early, name) for name in names.curve_columns("binary")}
        expected = diagnose(curves_frame(logged), task="binary", n_train=210, n_val=90, reference_error=0.08,
                            restored_epoch=kept, monitor="val_error")
        assert early.data.tags[names.DIAGNOSIS_TAG] == expected.label
        # on 90 validation rows the error is coarse: the diagnosis breaks ties with the validation loss
        assert metrics[names.RECOMMENDED_EPOCHS] == expected.recommended_epochs
        assert metrics[names.summary_metric("final_val", "binary")] == curve[-1]  # the curves' own summary
        assert f"**Stopped early** at epoch {len(curve)}" in early.data.tags[names.NOTE_TAG]
    assert n_stopped >= 1


def test_pruned_trials_keep_their_curves_and_get_no_fit_label(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client, experiment = MlflowClient(mlflow_server.uri), f"prune-{uuid.uuid4().hex[:6]}"
    _, spec = spec_of(tmp_path, "prune.yaml", grid={"depth": [1], "width": [8], "activation": ["relu", "tanh"],
                                                    "learning_rate": [0.1, 0.01, 0.001], "epochs": [12]},
                      stopping={"prune": True, "min_epochs": 3, "reduction_factor": 3})
    result = sweep(spec, mlflow_server.uri, experiment, report=True)
    runs = trials_of(client, result.parent_run_id)
    assert len(runs) == 6 and all(run.info.status == "FINISHED" for run in runs)
    pruned = [run for run in runs if names.PRUNED_TAG in run.data.tags]
    assert pruned and len(pruned) < len(runs)  # the first trial always goes on
    assert result.labels()[names.PRUNED] == len(pruned)
    for run in pruned:
        epochs = int(run.data.tags[names.PRUNED_TAG])
        assert epochs in (3, 9)
        assert run.data.tags[names.DIAGNOSIS_TAG] == names.PRUNED
        assert run.data.tags[names.DIAGNOSIS_AT_RECOMMENDED_TAG] == names.PRUNED  # never an empty label (nan)
        # the MLflow view sorts by the recommended epoch's value: a trial cut short does not head it
        assert names.summary_metric(names.RECOMMENDED_VAL, "binary") not in run.data.metrics
        assert all(len(history(client, run, name)) == epochs for name in names.curve_columns("binary"))
        assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"curves.csv", "curves.png",
                                                                            "diagnosis.json"}
        assert run.data.tags[names.NOTE_TAG].split("\n")[1] == "### Pruned"
    for run in runs:
        if run not in pruned:
            assert len(history(client, run)) == 12 and run.data.tags[names.DIAGNOSIS_TAG] != names.PRUNED
    assert result.report_path is not None and "pruned" in result.report_path.read_text()


def test_a_resumed_sweep_prunes_against_the_trials_finished_before(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client, experiment = MlflowClient(mlflow_server.uri), f"prune-resume-{uuid.uuid4().hex[:6]}"
    # the best learning rate first: once it has reported, the others are pruned at the first rung
    _, spec = spec_of(tmp_path, "prune.yaml", grid={"depth": [1], "width": [8], "activation": ["relu"],
                                                    "learning_rate": [0.1, 0.0005, 0.0003], "epochs": [12]},
                      stopping={"prune": True, "min_epochs": 3, "reduction_factor": 3})
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, mlflow_server.uri, experiment, executor=InterruptedExecutor(after=1))
    resumed = sweep(spec, mlflow_server.uri, experiment)
    assert (resumed.n_skipped, len(resumed.records)) == (1, 2)
    # alone, the first of the two would have gone on; against the finished lr=0.1 trial both are pruned
    assert [record.outcome.pruned_epoch for record in resumed.records] == [3, 3]
    assert all(len(history(client, client.get_run(record.run_id))) == 3 for record in resumed.records)


def finished_trials(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_TRIAL}'")


def test_random_search_resumes_after_a_kill_with_the_same_trials(mlflow_server, tmp_path):
    client, experiment = MlflowClient(mlflow_server.uri), f"random-{uuid.uuid4().hex[:6]}"
    path, spec = spec_of(tmp_path, "random.yaml", grid={
        "depth": [1, 2], "width": {"low": 4, "high": 32}, "learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
        "epochs": [30]}, search={"method": "random", "n_trials": 6, "seed": 7}, experiment=experiment)
    command = [FITCHECK, "sweep", str(path), "--workers", "2", "--tracking-uri", mlflow_server.uri, "--no-progress",
               "--no-report"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while sum(r.info.status == "FINISHED" for r in finished_trials(client, experiment)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-2000:]
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {r.data.tags[names.TRIAL_KEY_TAG] for r in finished_trials(client, experiment)
              if r.info.status == "FINISHED"}
    assert 2 <= len(before) < 6
    time.sleep(1.5)  # orphaned workers notice their parent is gone
    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(before)} already finished (resumed)" in rerun.stdout
    runs = finished_trials(client, experiment)
    finished = [r.data.tags[names.TRIAL_KEY_TAG] for r in runs if r.info.status == "FINISHED"]
    loaded = load_spec(path)
    fingerprint = load_dataset(loaded.dataset, loaded.split).fingerprint()
    sampled = search_trials(loaded, task="binary").trials
    assert sorted(finished) == sorted(trial.key(fingerprint) for trial in sampled)  # each sampled trial once
    assert before <= set(finished)
    assert len({r.data.tags[names.PARENT_RUN_TAG] for r in runs}) == 1


def test_tpe_search_resumes_by_telling_what_finished(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = f"tpe-{uuid.uuid4().hex[:6]}"
    _, spec = spec_of(tmp_path, "tpe.yaml", grid={
        "depth": [1], "width": {"low": 4, "high": 32}, "learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
        "epochs": [3]}, search={"method": "tpe", "n_trials": 5, "seed": 0})
    first = sweep(spec, mlflow_server.uri, experiment, workers=2)
    assert (first.n_trials, first.n_skipped, len(first.records)) == (5, 0, 5)
    assert len({record.key for record in first.records}) == 5
    again = sweep(spec, mlflow_server.uri, experiment, workers=2)
    assert (again.parent_run_id, again.n_trials, again.n_skipped, len(again.records)) == (first.parent_run_id, 5, 5, 0)
