"""A report of a sweep that did not finish (interrupted, or still running): built, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.report import build_report
from pipeline.spec import parse_spec
from pipeline.sweep import Sweep, SweepOptions
from pipeline.tracking import SweepTracker
from synthetic_sweep import InterruptedExecutor

ROOT = Path(__file__).resolve().parents[2]


def _tiny(tmp_path: Path):
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"].update(epochs=[3], loss=["binary_crossentropy"])
    return parse_spec(raw, source=str(tmp_path / "tiny.yaml"))


@pytest.mark.slow
def test_the_report_of_an_interrupted_sweep_is_built_and_says_it_did_not_finish(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = SweepOptions(tracking_uri=uri, experiment="cut", report=False, progress=False)
    with pytest.raises(KeyboardInterrupt):
        Sweep(_tiny(tmp_path), options, tracker=SweepTracker(uri, settle_seconds=0),
              executor=InterruptedExecutor(after=1, fuse=False)).run()
    html = build_report(uri, experiment_name="cut", out=tmp_path / "cut.html").read_text(encoding="utf-8")
    assert "This sweep did not finish (KILLED)" in html
    assert "reference error: not logged: the sweep did not finish" in html
    # the finished trial, the one cut short and the one claimed but never started (both KILLED: the store
    # cannot tell them apart), all listed
    assert html.count("<tr data-run=") == 3
    assert html.count('class="status-finished"') == 1 and html.count('class="status-killed"') == 2


@pytest.mark.slow
def test_the_report_of_a_sweep_still_running_says_so(tmp_path):
    """A parent left RUNNING (a rival process's trials still in flight) has no reference yet: built, and says so."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = SweepOptions(tracking_uri=uri, experiment="live", report=False, progress=False)
    with pytest.raises(KeyboardInterrupt):
        Sweep(_tiny(tmp_path), options, tracker=SweepTracker(uri, settle_seconds=0),
              executor=InterruptedExecutor(after=1, fuse=False)).run()
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("live")
    parent = [run for run in client.search_runs([experiment.experiment_id])
              if run.data.tags.get("fitcheck.role") == "sweep"][0]
    client.update_run(parent.info.run_id, status="RUNNING")
    html = build_report(uri, experiment_name="live", out=tmp_path / "live.html").read_text(encoding="utf-8")
    assert "This sweep did not finish (RUNNING)" in html
