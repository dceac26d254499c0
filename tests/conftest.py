"""Shared fixtures: a real ``mlflow server`` on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import sys

import pytest

from tracking_server import MlflowServer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> MlflowServer:
    """One real tracking server for the whole test session."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_leaked_tracking_state():
    """``mlflow.set_tracking_uri`` and ``mlflow.set_experiment`` also set ``MLFLOW_TRACKING_URI`` and
    ``MLFLOW_EXPERIMENT_ID`` for every later call and subprocess (an experiment id of another store):
    undo both after each test, and end a run a failed test left active."""
    yield
    if "mlflow" in sys.modules:
        mlflow = sys.modules["mlflow"]
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        mlflow.tracking.fluent._active_experiment_id = None  # what set_experiment sets; MLflow has no unset
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(name, None)
