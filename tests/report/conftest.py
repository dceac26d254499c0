"""Synthetic sweeps in temporary SQLite MLflow stores, logged with MlflowClient (no training)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from synthetic_sweep import log_synthetic_sweep

XSS = "<script>alert(1)</script>"


@dataclass
class Store:
    uri: str
    experiment: str
    sweep_run_id: str
    n_trials: int


@pytest.fixture(scope="session")
def store_uri(tmp_path_factory) -> str:
    """One SQLite MLflow store for the session (creating one costs seconds); tests use their own experiments."""
    return f"sqlite:///{tmp_path_factory.mktemp('report-store') / 'mlflow.db'}"


@pytest.fixture(scope="session")
def sweep_store(store_uri) -> Store:
    """A 24-trial synthetic sweep with every label, including diverged (FAILED) trials."""
    run_id = log_synthetic_sweep(store_uri, "synthetic", n_trials=24, seed=3)
    return Store(store_uri, "synthetic", run_id, 24)


@pytest.fixture(scope="session")
def xss_store(store_uri) -> Store:
    """A sweep whose experiment, dataset, spec name, grid axis values and error tags are ``<script>`` tags."""
    uri = store_uri
    grid = {"depth": [1, 8], "width": [64], "activation": ["relu", XSS], "optimizer": ["sgd", "adam"],
            "learning_rate": [0.01], "epochs": [12]}
    run_id = log_synthetic_sweep(uri, XSS, n_trials=8, dataset=XSS, spec_name=XSS, grid=grid)
    return Store(uri, XSS, run_id, 8)
