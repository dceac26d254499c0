"""The report rebuilt from a real ``mlflow server`` alone, with links into its UI."""

from __future__ import annotations

import pytest

from pipeline.report import build_report, gather_sweep
from synthetic_sweep import log_synthetic_sweep

pytestmark = pytest.mark.slow


def test_report_from_a_tracking_server(mlflow_server, tmp_path):
    grid = {"depth": [1, 8], "width": [64], "optimizer": ["sgd", "adam"], "learning_rate": [0.01], "epochs": [10]}
    run_id = log_synthetic_sweep(mlflow_server.uri, "report-over-http", grid=grid, n_trials=4)
    sweep = gather_sweep(mlflow_server.uri, experiment_name="report-over-http")
    assert sweep.run_id == run_id and len(sweep.trials) == 4
    assert all(trial.curves for trial in sweep.trials)
    html = build_report(mlflow_server.uri, sweep_run_id=run_id, out=tmp_path / "r.html").read_text(encoding="utf-8")
    base = f"{mlflow_server.uri}/#/experiments/{sweep.experiment_id}/runs/"
    assert f'href="{base}{run_id}"' in html
    for trial in sweep.trials:
        assert f'href="{base}{trial.run_id}"' in html
