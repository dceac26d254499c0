"""The quickstart as a user runs it: two workers, a fresh SQLite store, every run complete, the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline import names
from pipeline.diagnostics import LABELS, advice_contradictions, diagnose
from pipeline.runs import curves_frame

ROOT = Path(__file__).resolve().parents[2]
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))

pytestmark = pytest.mark.slow


def test_quickstart_with_two_workers_on_a_fresh_sqlite_store(tmp_path):
    result = subprocess.run([FITCHECK, "sweep", str(ROOT / "experiments" / "quickstart.yaml"), "--workers", "2"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trial/s]" in result.stderr or "s/trial]" in result.stderr  # the progress bar with its ETA
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("quickstart")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get(names.ROLE_TAG) == names.ROLE_SWEEP]
    trials = [r for r in runs if r.data.tags.get(names.ROLE_TAG) == names.ROLE_TRIAL]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(trials) == int(parents[0].data.params["grid_size"]) == 26
    reference = parents[0].data.metrics  # estimated: the lower of the two baselines, each logged
    assert parents[0].data.tags[names.REFERENCE_SOURCE_TAG] == "estimated"
    estimate = min(reference["reference_error_hist_gradient_boosting"], reference["reference_error_linear"])
    # capped by the sweep's best validation error (plus the best-of-26 allowance) when the estimate is above it
    if names.REFERENCE_ESTIMATE in reference:
        assert reference[names.REFERENCE_ESTIMATE] == estimate and reference["reference_error"] < estimate
    else:
        assert reference["reference_error"] == estimate
    contradictions = []
    for run in trials:
        assert run.info.status == "FINISHED"
        assert run.data.tags[names.PARENT_RUN_TAG] == parents[0].info.run_id
        assert run.data.tags[names.DIAGNOSIS_TAG] in LABELS
        curves = {}
        for curve in names.curve_columns("binary"):
            history = sorted(client.get_metric_history(run.info.run_id, curve), key=lambda m: m.step)
            assert len(history) == 40
            curves[curve] = [m.value for m in history]
        diagnosis = diagnose(curves_frame(curves), task="binary", n_train=900, n_val=300,
                             reference_error=reference["reference_error"], reference_source="estimated",
                             monitor="val_error")
        assert run.data.tags[names.DIAGNOSIS_TAG] == diagnosis.label  # what is logged is what the curves say
        contradictions += [f"{run.info.run_name}: {text}" for text in advice_contradictions(diagnosis,
                                                                                          curves_frame(curves))]
    assert contradictions == []
    # the lesson in one sweep: logistic regression underfits the moons, a network fits them, and one overfits
    assert {run.data.tags[names.DIAGNOSIS_TAG] for run in trials} >= {names.HIGH_BIAS, names.GOOD_FIT,
                                                                      names.HIGH_VARIANCE}
    assert {run.data.tags[names.DIAGNOSIS_TAG] for run in trials if run.data.params["depth"] == "0"} == {
        names.HIGH_BIAS}
    assert {"depth", "activation", "loss", "optimizer"} <= set(trials[0].data.params)
    assert len({r.data.params["depth"] for r in trials}) == 4
    report = tmp_path / "reports" / "quickstart.html"
    assert report.exists() and report.stat().st_size > 10_000
    html = report.read_text()
    assert f"linear {reference['reference_error_linear']:.4g}" in html  # the baselines in the header
    assert "configurations are indistinguishable on 300 validation rows" in html
    assert "With 300 validation rows, a train/validation gap under" in html  # what the data cannot tell
    assert "indistinguishable on 300 validation rows" in result.stdout
    assert "report.html" in {a.path for a in client.list_artifacts(parents[0].info.run_id)}
