"""The sweep end to end: real Keras training, a real ``mlflow server`` (``mlflow run``: tests/test_mlflow_run.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from pipeline import names
from pipeline.diagnostics import diagnose
from pipeline.runs import curves_frame

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "specs" / "tiny.yaml"
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
N_TINY_TRIALS = 6  # depth 0 collapses relu/tanh: 2 + 2 x 2
TINY_EPOCHS = 6

pytestmark = pytest.mark.slow


def fitcheck(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([FITCHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    return result


def children(client: MlflowClient, parent_id: str, experiment_id: str):
    return client.search_runs([experiment_id], filter_string=f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")


def only_parent(client: MlflowClient, experiment_name: str):
    experiment = client.get_experiment_by_name(experiment_name)
    parents = client.search_runs([experiment.experiment_id],
                                 filter_string=f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")
    assert len(parents) == 1
    return experiment, parents[0]


def diagnosis_of(curves: dict[str, list[float]], **reference):
    """The diagnosis the tiny sweep's logged curves give (210 training rows, 90 validation rows)."""
    return diagnose(curves_frame(curves), task="binary", n_train=210, n_val=90, monitor="val_error", **reference)


def histories(client: MlflowClient, run) -> dict[str, list[float]]:
    out = {}
    for name in names.curve_columns("binary"):
        history = sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
        out[name] = [m.value for m in history]
        assert [m.step for m in history] == list(range(1, len(history) + 1))
    return out


@pytest.fixture(scope="module")
def server_sweep(mlflow_server, tmp_path_factory):
    """The tiny sweep with two workers against a real tracking server over HTTP."""
    folder = tmp_path_factory.mktemp("server-sweep")
    experiment = f"tiny-{uuid.uuid4().hex[:6]}"
    result = fitcheck("sweep", str(TINY), "--workers", "2", "--tracking-uri", mlflow_server.uri,
                      "--experiment", experiment, "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return MlflowClient(mlflow_server.uri), experiment, folder, result


@pytest.fixture(scope="module")
def one_worker_sweep(tmp_path_factory):
    """The same sweep with one worker into the embedded SQLite default."""
    folder = tmp_path_factory.mktemp("sqlite-sweep")
    result = fitcheck("sweep", str(TINY), "--workers", "1", "--no-progress", "--no-report", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (folder / "mlflow.db").exists()
    return MlflowClient(f"sqlite:///{folder / 'mlflow.db'}"), "tiny", folder, result


def test_server_sweep_logs_parent_and_complete_children(server_sweep):
    client, experiment_name, folder, result = server_sweep
    experiment, parent = only_parent(client, experiment_name)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["grid_size"] == str(N_TINY_TRIALS) and parent.data.params["task"] == "binary"
    assert parent.data.metrics["reference_error"] == pytest.approx(0.08)
    assert parent.inputs.dataset_inputs, "dataset logged with log_input"
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"tiny.yaml", "report.html"}
    runs = children(client, parent.info.run_id, experiment.experiment_id)
    assert len(runs) == N_TINY_TRIALS
    keys = set()
    for run in runs:
        assert run.info.status == "FINISHED"
        assert set(names.AXES) <= set(run.data.params)
        expected = diagnosis_of(histories(client, run), reference_error=0.08, reference_source="given")
        assert run.data.tags[names.DIAGNOSIS_TAG] == expected.label  # the label its own curves give
        assert run.data.tags[names.DIAGNOSIS_AT_RECOMMENDED_TAG] == expected.label_at_recommended
        for metric in ("recommended_epochs", "avoidable_bias", "variance_gap", "variance_gap_se", "reference_error",
                       "best_val_error", "best_epoch", "train_seconds"):
            assert metric in run.data.metrics
        curves = histories(client, run)
        assert all(len(values) == TINY_EPOCHS for values in curves.values())
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"curves.png", "curves.csv", "diagnosis.json"} <= artifacts
        keys.add(run.data.tags[names.TRIAL_KEY_TAG])
    assert len(keys) == N_TINY_TRIALS
    assert "diagnosis:" in result.stdout and "wall time" in result.stdout


def test_runs_are_searchable_by_params(server_sweep):
    client, experiment_name, _, _ = server_sweep
    experiment, parent = only_parent(client, experiment_name)
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"params.depth = '1' and params.loss = 'mse' and tags.`{names.PARENT_RUN_TAG}` = '{parent.info.run_id}'")
    assert sorted(r.data.params["activation"] for r in runs) == ["relu", "tanh"]


def test_worker_count_does_not_change_the_numbers(server_sweep, one_worker_sweep):
    by_key = {}
    for client, experiment_name, *_ in (server_sweep, one_worker_sweep):
        experiment, parent = only_parent(client, experiment_name)
        for run in children(client, parent.info.run_id, experiment.experiment_id):
            by_key.setdefault(run.data.tags[names.TRIAL_KEY_TAG], []).append(histories(client, run))
    assert len(by_key) == N_TINY_TRIALS
    for two_workers, one_worker in by_key.values():
        for name in two_workers:
            np.testing.assert_allclose(two_workers[name], one_worker[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_rerun_resumes_and_adds_nothing(one_worker_sweep):
    client, experiment_name, folder, _ = one_worker_sweep
    result = fitcheck("sweep", str(TINY), "--workers", "1", "--no-progress", "--no-report", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{N_TINY_TRIALS} already finished" in result.stdout
    experiment, parent = only_parent(client, experiment_name)
    assert len(children(client, parent.info.run_id, experiment.experiment_id)) == N_TINY_TRIALS


def test_csv_with_categorical_columns(tmp_path):
    result = fitcheck("sweep", str(ROOT / "experiments" / "churn_csv.yaml"), "--workers", "2", "--no-progress",
                      "--no-report", "--reference-error", "0.25", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment, parent = only_parent(client, "churn")
    assert parent.data.params["dataset"] == "churn.csv"
    assert parent.data.params["n_features"] == str(3 + 4 + 2)  # one-hot plan and region, two numeric
    runs = children(client, parent.info.run_id, experiment.experiment_id)
    assert len(runs) == 6 and all(r.info.status == "FINISHED" for r in runs)


def test_sweep_reference_covers_trials_of_earlier_invocations(tmp_path):
    """``reference_error: sweep``: a resumed sweep diagnoses every trial, the earlier ones too,
    against the best validation error of the whole sweep, and each gets its diagnosis.json."""
    spec = tmp_path / "tiny_sweep_reference.yaml"
    spec.write_text(TINY.read_text().replace("reference_error: 0.08", "reference_error: sweep"))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    first = fitcheck("sweep", str(spec), "--workers", "1", "--no-progress", "--no-report", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    experiment, parent = only_parent(client, "tiny")
    runs = children(client, parent.info.run_id, experiment.experiment_id)
    best_run = min(runs, key=lambda run: run.data.metrics["best_val_error"])
    client.delete_run(best_run.info.run_id)  # the rerun trains this trial again; the others were earlier
    stale = next(run for run in runs if run.info.run_id != best_run.info.run_id)
    client.log_metric(stale.info.run_id, "reference_error", 0.999)  # as if diagnosed against a partial sweep

    second = fitcheck("sweep", str(spec), "--workers", "1", "--no-progress", "--no-report", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"{N_TINY_TRIALS - 1} already finished" in second.stdout
    _, parent = only_parent(client, "tiny")
    runs = children(client, parent.info.run_id, experiment.experiment_id)
    assert len(runs) == N_TINY_TRIALS
    best = min(run.data.metrics["best_val_error"] for run in runs)
    assert parent.data.tags[names.REFERENCE_SOURCE_TAG] == "sweep_best_val"
    assert parent.data.metrics["reference_error"] == pytest.approx(best)
    for run in runs:
        assert run.data.metrics["reference_error"] == pytest.approx(best)
        expected = diagnosis_of(histories(client, run), reference_error=best, reference_source="sweep_best_val")
        assert run.data.tags[names.DIAGNOSIS_TAG] == expected.label
        assert {"diagnosis.json", "curves.png"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
