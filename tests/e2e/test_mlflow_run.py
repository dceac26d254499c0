"""``mlflow run`` as users run it: the sweep lands in the spec's experiment (or ``--experiment-name``'s), a second
run resumes it, the run ``mlflow run`` makes links to it; MLflow's telemetry is off in fitcheck's processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline import names

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "specs" / "tiny.yaml"
N_TINY_TRIALS = 6


def mlflow_run(folder: Path, uri: str, *options: str) -> subprocess.CompletedProcess:
    """``mlflow run`` of the project's sweep entry point on the tiny spec, as in an activated environment."""
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    return subprocess.run(
        [mlflow_bin, "run", str(ROOT), "-e", "sweep", "-P", f"spec={TINY}", "-P", "workers=2", "--env-manager", "local",
         *options], capture_output=True, text=True, timeout=600, cwd=folder,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri,
             "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})


def sweeps(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return client.search_runs([found.experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")


@pytest.mark.slow
def test_mlflow_run_twice_resumes_one_sweep_in_the_specs_experiment(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    first = mlflow_run(tmp_path, uri)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    [parent] = sweeps(client, "tiny")  # the spec's experiment, not MLflow's Default
    launchers = client.search_runs(["0"])
    assert len(launchers) == 1 and launchers[0].data.tags[names.SWEEP_RUN_TAG] == parent.info.run_id
    assert parent.data.tags[names.LAUNCHER_RUN_TAG] == launchers[0].info.run_id
    assert "sweep-tiny" in launchers[0].data.tags[names.NOTE_TAG]
    # a SQLite store: the command that starts the UI, and the URL of the view it will serve
    assert f"start it first: mlflow ui --backend-store-uri {uri}" in first.stdout
    key = f"fitcheck-{parent.info.run_id}"
    assert f"http://127.0.0.1:5000/#/experiments/{parent.info.experiment_id}/runs?" in first.stdout
    assert f"viewStateShareKey={key}" in first.stdout
    assert names.SHARED_VIEW_TAG_PREFIX + key in client.get_experiment(parent.info.experiment_id).tags
    report = ROOT / "reports" / "tiny.html"  # `mlflow run` works in the project folder
    assert report.exists()
    report.unlink()

    second = mlflow_run(tmp_path, uri)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{N_TINY_TRIALS} already finished" in second.stdout
    [resumed] = sweeps(client, "tiny")
    assert resumed.info.run_id == parent.info.run_id and resumed.info.status == "FINISHED"
    trials = client.search_runs([resumed.info.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent.info.run_id}'")
    assert len(trials) == N_TINY_TRIALS
    latest = client.search_runs(["0"], order_by=["attributes.start_time DESC"])[0]
    assert resumed.data.tags[names.LAUNCHER_RUN_TAG] == latest.info.run_id != launchers[0].info.run_id
    (ROOT / "reports" / "tiny.html").unlink(missing_ok=True)


@pytest.mark.slow
def test_mlflow_run_experiment_name_is_the_sweeps(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = mlflow_run(tmp_path, uri, "--experiment-name", "from-mlflow-run")
    assert result.returncode == 0, result.stderr[-3000:]
    [parent] = sweeps(MlflowClient(uri), "from-mlflow-run")
    assert parent.data.tags[names.SPEC_NAME_TAG] == "tiny"
    report = ROOT / "reports" / "from-mlflow-run.html"
    assert report.exists()
    report.unlink()


_TELEMETRY_PROBE = """
import json, os
from pipeline.tracking import quiet_telemetry
quiet_telemetry()
found = {"switch": os.environ.get("MLFLOW_DISABLE_TELEMETRY"), "session": os.environ.get("_MLFLOW_TELEMETRY_SESSION_ID")}
if found["switch"] == "true":  # never start MLflow's telemetry from a test: it would post
    import mlflow
    from mlflow.telemetry.client import get_telemetry_client
    found["client"] = get_telemetry_client() is not None
print(json.dumps(found))
"""


@pytest.mark.parametrize(("users_switch", "expected"), [
    (None, {"switch": "true", "session": None, "client": False}),
    ("false", {"switch": "false", "session": "from-mlflow-run"}),
], ids=["off-by-default", "the-users-choice-wins"])
def test_telemetry_is_off_in_fitchecks_processes_unless_the_user_chose(users_switch, expected):
    # a bare environment: no pytest or CI variable, which would turn MLflow's telemetry off by themselves
    environ = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR") if key in os.environ}
    environ.update(PYTHONPATH=str(ROOT), _MLFLOW_TELEMETRY_SESSION_ID="from-mlflow-run",
                   **({"MLFLOW_DISABLE_TELEMETRY": users_switch} if users_switch else {}))
    result = subprocess.run([sys.executable, "-c", _TELEMETRY_PROBE], capture_output=True, text=True, timeout=120,
                            env=environ, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
