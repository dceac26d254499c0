"""Two ``fitcheck sweep`` processes of one spec started at the same moment, into one store or server.

Each time: both exit 0, MLflow holds one sweep (one parent) with exactly one FINISHED run per trial
key, and between them the two processes ran every trial once: what one ran, the other reports as
held by another fitcheck process. Real processes, real stores, several times in a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, InputTag

from pipeline import names
from pipeline.tracking import DatasetFrame
from pipeline.tracking._claiming import again_if_raced

from sweep_processes import N_TINY_TRIALS, assert_one_sweep, assert_split_between, short_spec, sweep_at_once

pytestmark = pytest.mark.slow


# Sleeps until the given moment, then makes the first client of the store (MLflow creates it then).
CREATE_STORE = """
import sys, time
from pipeline.tracking import make_client
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
make_client(sys.argv[1]).search_experiments(max_results=1)
"""


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_create_one_sqlite_store_at_the_same_moment(tmp_path, attempt):
    """Without the folder lock MLflow's schema creation races (duplicate column name: step, or
    table latest_metrics already exists) in most such attempts."""
    uri, moment = f"sqlite:///{tmp_path / 'mlflow.db'}", str(time.time() + 8)
    processes = [subprocess.Popen([sys.executable, "-c", CREATE_STORE, uri, moment], stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-2000:]
    assert [e.name for e in MlflowClient(uri).search_experiments()] == ["Default"]


@pytest.mark.parametrize("attempt", range(3))
def test_same_spec_twice_at_once_into_a_fresh_sqlite_store(tmp_path, attempt):
    """Two processes create one SQLite store at once (a schema race in MLflow without fitcheck's lock)."""
    spec, uri = short_spec(tmp_path), f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcomes = sweep_at_once((spec, tmp_path), (spec, tmp_path), uri=uri)
    assert_split_between(outcomes, N_TINY_TRIALS)
    assert_one_sweep(MlflowClient(uri), "tiny", N_TINY_TRIALS)


def test_same_spec_twice_at_once_into_an_existing_sqlite_store_then_again(tmp_path):
    """The store and the experiment exist: both sweeps make a parent and the first one wins. Run again
    at once, both resume that sweep and find every trial finished."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(uri).create_experiment("tiny")
    spec = short_spec(tmp_path)
    assert_split_between(sweep_at_once((spec, tmp_path), (spec, tmp_path), uri=uri), N_TINY_TRIALS)
    parent_id = assert_one_sweep(MlflowClient(uri), "tiny", N_TINY_TRIALS)

    again = sweep_at_once((spec, tmp_path), (spec, tmp_path), uri=uri)
    assert_split_between(again, N_TINY_TRIALS, finished_before=N_TINY_TRIALS)
    assert assert_one_sweep(MlflowClient(uri), "tiny", N_TINY_TRIALS) == parent_id == again[0].sweep_run_id


def test_same_spec_twice_at_once_through_a_server(mlflow_server, tmp_path):
    experiment = f"together-{os.getpid()}"
    spec = short_spec(tmp_path)
    outcomes = sweep_at_once((spec, tmp_path), (spec, tmp_path), uri=mlflow_server.uri,
                             extra=("--no-report", "--experiment", experiment))
    assert_split_between(outcomes, N_TINY_TRIALS)
    assert_one_sweep(MlflowClient(mlflow_server.uri), experiment, N_TINY_TRIALS)


def test_two_sweeps_log_one_dataset_at_the_same_moment(mlflow_server):
    """Both parents find no row for the dataset and both insert one; the store refuses the second
    (without the retry, in about 6 of 15 such attempts); made again, it links to the first."""
    client = MlflowClient(mlflow_server.uri)
    for attempt in range(10):
        experiment_id = client.create_experiment(f"one-dataset-{os.getpid()}-{attempt}")
        frame = pd.DataFrame({"x": np.arange(50.0) + attempt, "y": np.arange(50) % 2})
        inputs = [DatasetInput(DatasetFrame(frame, "d", "y").to_mlflow_entity(),
                               [InputTag(names.DATASET_CONTEXT_TAG, "training")])]
        parents = [client.create_run(experiment_id).info.run_id for _ in range(2)]
        start, refused = threading.Barrier(2), []

        def log(run_id: str) -> None:
            start.wait()
            try:
                again_if_raced(lambda: client.log_inputs(run_id, inputs))
            except Exception as error:  # noqa: BLE001 - the test counts every refusal
                refused.append(error)

        threads = [threading.Thread(target=log, args=(run_id,)) for run_id in parents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert refused == []
        assert [len(client.get_run(run_id).inputs.dataset_inputs) for run_id in parents] == [1, 1]
