"""Faults injected for real: a killed sweep, a killed worker, a diverging trial, a tracking server that
goes away and comes back, two sweeps at once. Each test says what MLflow holds afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tracking_server import MlflowServer, free_port
from pipeline import names
from pipeline.tracking._claims import IN_FLIGHT

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs"
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
N_SLOW_TRIALS = 10

pytestmark = pytest.mark.slow


def start_sweep(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([FITCHECK, "sweep", *args, "--no-progress", "--no-report"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trial_runs(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], filter_string=f"tags.`{names.ROLE_TAG}` = '{names.ROLE_TRIAL}'")


def wait_for_finished(client: MlflowClient, experiment: str, count: int, process: subprocess.Popen,
                      timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        try:
            if sum(r.info.status == "FINISHED" for r in trial_runs(client, experiment)) >= count:
                return
        except Exception:  # the store may be busy or not yet created
            pass
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} finished trials after {timeout} s")


def worker_pids(parent: int) -> list[int]:
    """The sweep's spawned worker processes, read from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def assert_one_finished_run_per_trial(runs: list, n_trials: int) -> None:
    finished = [r.data.tags[names.TRIAL_KEY_TAG] for r in runs if r.info.status == "FINISHED"]
    assert len(finished) == len(set(finished)) == n_trials
    assert not [r for r in runs if r.info.status in IN_FLIGHT]


def test_sigkilled_sweep_resumes_with_one_finished_run_per_trial(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    process = start_sweep(str(SPECS / "slow.yaml"), "--workers", "2", "--tracking-uri", uri, cwd=tmp_path)
    wait_for_finished(client, "slow", 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = trial_runs(client, "slow")
    assert any(r.info.status in IN_FLIGHT for r in interrupted), "the kill left trials in flight (claimed or training)"
    time.sleep(1.5)  # orphaned workers notice their parent is gone
    rerun = subprocess.run([FITCHECK, "sweep", str(SPECS / "slow.yaml"), "--workers", "2", "--tracking-uri", uri,
                            "--no-progress", "--no-report"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    runs = trial_runs(client, "slow")
    assert_one_finished_run_per_trial(runs, N_SLOW_TRIALS)
    killed = [r for r in runs if r.info.status == "KILLED"]
    assert killed and all(names.ERROR_TAG in r.data.tags for r in killed)
    parents = {r.data.tags[names.PARENT_RUN_TAG] for r in runs}
    assert len(parents) == 1, "the rerun resumed the same parent run"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_sweep_ends_its_runs_killed(tmp_path, signum):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    process = start_sweep(str(SPECS / "slow.yaml"), "--workers", "2", "--tracking-uri", uri, cwd=tmp_path)
    wait_for_finished(client, "slow", 1, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "run the same command again to resume" in stderr
    runs = client.search_runs([client.get_experiment_by_name("slow").experiment_id])
    assert not [r for r in runs if r.info.status in IN_FLIGHT]
    assert any(r.info.status == "KILLED" for r in runs)


def test_killed_worker_loses_only_its_trial(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    process = start_sweep(str(SPECS / "slow.yaml"), "--workers", "2", "--tracking-uri", uri, cwd=tmp_path)
    wait_for_finished(client, "slow", 1, process)
    workers = worker_pids(process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-2000:]
    runs = trial_runs(client, "slow")
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert len(failed) == 1 and "worker process died" in failed[0].data.tags[names.ERROR_TAG]
    assert sum(r.info.status == "FINISHED" for r in runs) == N_SLOW_TRIALS - 1
    assert "1 failed" in stdout
    rerun = subprocess.run([FITCHECK, "sweep", str(SPECS / "slow.yaml"), "--tracking-uri", uri, "--no-progress",
                            "--no-report"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and "9 already finished" in rerun.stdout
    assert_one_finished_run_per_trial(trial_runs(client, "slow"), N_SLOW_TRIALS)


def test_diverging_trial_is_failed_with_its_curves_and_the_sweep_goes_on(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = subprocess.run([FITCHECK, "sweep", str(SPECS / "diverge.yaml"), "--workers", "1", "--tracking-uri", uri,
                             "--no-progress", "--no-report"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 failed" in result.stdout and "loss diverged" in result.stderr
    client = MlflowClient(uri)
    runs = {r.data.params["optimizer"]: r for r in trial_runs(client, "diverge")}
    diverged, healthy = runs["sgd"], runs["adam"]
    assert diverged.info.status == "FAILED" and healthy.info.status == "FINISHED"
    assert diverged.data.tags[names.DIAGNOSIS_TAG] == "diverged"
    epoch = int(diverged.data.tags[names.DIVERGED_EPOCH_TAG])
    assert 1 <= epoch <= 8 and f"epoch {epoch}" in diverged.data.tags[names.ERROR_TAG]
    assert len(client.get_metric_history(diverged.info.run_id, "train_loss")) == epoch
    again = subprocess.run([FITCHECK, "sweep", str(SPECS / "diverge.yaml"), "--workers", "1", "--tracking-uri", uri,
                            "--no-progress", "--no-report", "--fail-on-error"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 1 and "1 already finished" in again.stdout  # the failed trial ran again


def test_tracking_server_restart_mid_sweep_loses_nothing(tmp_path):
    server = MlflowServer(tmp_path / "server", port=free_port()).start()
    client = MlflowClient(server.uri)
    process = start_sweep(str(SPECS / "slow.yaml"), "--workers", "2", "--tracking-uri", server.uri, cwd=tmp_path)
    try:
        wait_for_finished(client, "slow", 1, process)
        server.stop()
        time.sleep(6)
        server.start()
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
        server.stop()
    server.start()
    try:
        assert process.returncode == 0, stderr[-3000:]
        assert "retrying" in stderr
        runs = trial_runs(client, "slow")
        assert_one_finished_run_per_trial(runs, N_SLOW_TRIALS)
        for run in runs:
            if run.info.status == "FINISHED":
                assert len(client.get_metric_history(run.info.run_id, "val_error")) == 40
    finally:
        server.stop()


def test_unreachable_tracking_uri_fails_before_training(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = subprocess.run([FITCHECK, "sweep", str(SPECS / "tiny.yaml"), "--tracking-uri", uri], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and time.monotonic() - started < 60
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and uri in lines[0] and "cannot reach" in lines[0]


def test_two_concurrent_sweeps_keep_their_runs_apart(mlflow_server, tmp_path):
    from pipeline.report import gather_sweep

    experiment = f"concurrent-{os.getpid()}"
    procs = [start_sweep(str(SPECS / spec), "--workers", "1", "--tracking-uri", mlflow_server.uri,
                         "--experiment", experiment, cwd=tmp_path)
             for spec in ("tiny.yaml", "tiny_circles.yaml")]
    for proc in procs:
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
    client = MlflowClient(mlflow_server.uri)
    exp = client.get_experiment_by_name(experiment)
    parents = client.search_runs([exp.experiment_id], filter_string=f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")
    assert len(parents) == 2
    sizes = {}
    for parent in parents:
        children = client.search_runs([exp.experiment_id],
                                      filter_string=f"tags.`{names.PARENT_RUN_TAG}` = '{parent.info.run_id}'")
        assert all(c.info.status == "FINISHED" for c in children)
        sweep = gather_sweep(mlflow_server.uri, sweep_run_id=parent.info.run_id)
        assert len(sweep.trials) == len(children)
        sizes[parent.data.params["dataset"]] = len(children)
    assert sizes == {"moons": 6, "circles": 6}
