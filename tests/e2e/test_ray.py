"""The Ray executor end to end: a real local Ray head, a real ``mlflow server``, the tiny sweep."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from pipeline import names
from pipeline.data import load_dataset
from pipeline.diagnostics import diagnose
from pipeline.runs import curves_frame
from pipeline.executors import LocalExecutor, TrialDone, TrialStarted
from pipeline.search import expand_grid
from pipeline.spec import load_spec
from tracking_server import free_port
from test_sweep import FITCHECK, N_TINY_TRIALS, TINY, TINY_EPOCHS, children, histories, only_parent

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
TINY_SPEC = load_spec(TINY)


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """``ray start --head --block`` on 127.0.0.1 with 2 CPUs and token auth; its processes end with it."""
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "head.log"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--num-cpus", "2", "--port", str(port), "--node-ip-address", "127.0.0.1",
         "--include-dashboard=false", "--disable-usage-stats"],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while subprocess.run([RAY, "health-check", "--address", address], capture_output=True, env=env).returncode:
        assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(1)
    yield address, env
    head.terminate()  # --block: ray start stops the head's processes when it is told to end
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait()


def sweep(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([FITCHECK, "sweep", str(TINY), "--no-progress", "--no-report", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=env)


def local_curves() -> dict[str, dict[str, list[float]]]:
    """The tiny sweep's curves from the local executor, by trial key (no tracking needed)."""
    data = load_dataset(TINY_SPEC.dataset, TINY_SPEC.split)
    trials = expand_grid(TINY_SPEC.grid, task=data.task, skip_invalid=False).trials
    fingerprint = data.fingerprint()
    done = [event.outcome for event in LocalExecutor(2).run(list(enumerate(trials)), data)
            if isinstance(event, TrialDone)]
    return {trials[outcome.index].key(fingerprint): outcome.curves for outcome in done}


def test_ray_executor_logs_the_same_numbers_as_local(ray_head, mlflow_server, tmp_path):
    address, env = ray_head
    client = MlflowClient(mlflow_server.uri)
    experiment_name = f"ray-{uuid.uuid4().hex[:6]}"
    on_ray = sweep("--executor", "ray", "--ray-address", address, "--workers", "2",
                   "--tracking-uri", mlflow_server.uri, "--experiment", experiment_name, cwd=tmp_path, env=env)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]

    experiment, parent = only_parent(client, experiment_name)
    assert parent.info.status == "FINISHED"
    runs = children(client, parent.info.run_id, experiment.experiment_id)
    assert len(runs) == N_TINY_TRIALS
    local = local_curves()
    assert {run.data.tags[names.TRIAL_KEY_TAG] for run in runs} == set(local)
    for run in runs:
        assert run.info.status == "FINISHED"
        expected = diagnose(curves_frame(histories(client, run)), task="binary", n_train=210, n_val=90,
                            reference_error=0.08, monitor="val_error")
        assert run.data.tags[names.DIAGNOSIS_TAG] == expected.label  # the label its own curves give
        assert {"curves.png", "curves.csv", "diagnosis.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
        on_local = local[run.data.tags[names.TRIAL_KEY_TAG]]
        for name, values in histories(client, run).items():
            assert len(values) == TINY_EPOCHS
            np.testing.assert_allclose(values, on_local[name], rtol=1e-4, atol=1e-5, err_msg=name)


class _KillsTheWorker:
    """Unpickling this ends the process: an actor that receives it dies before it trains."""

    def __reduce__(self):
        return os._exit, (1,)


def test_a_dead_ray_worker_fails_its_trials_and_the_sweep_goes_on():
    from pipeline.executors._ray import RayExecutor

    data = load_dataset(TINY_SPEC.dataset, TINY_SPEC.split)
    data.feature_names = [_KillsTheWorker()]
    trials = expand_grid(TINY_SPEC.grid, task=data.task, skip_invalid=False).trials[:3]
    events = list(RayExecutor(workers=2).run(list(enumerate(trials)), data))
    started = sorted(event.index for event in events if isinstance(event, TrialStarted))
    done = [event.outcome for event in events if isinstance(event, TrialDone)]
    assert started == [0, 1, 2] and sorted(outcome.index for outcome in done) == [0, 1, 2]
    assert all(outcome.status == "FAILED" and "Ray worker died" in outcome.error for outcome in done)
