"""Shared fixtures: a real ``mlflow server`` on a free 127.0.0.1 port."""

from __future__ import annotations

import os

import pytest

from tracking_server import MlflowServer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> MlflowServer:
    """One real tracking server for the whole test session."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()
