"""Learning curves over training-set size in a real sweep: nested runs, resume, failure isolation, the
verdicts on experiments/learning_curve.yaml, the parent's curves in MLflow and the report's section.

Real Keras training in this process (:class:`InProcessExecutor`) and a real SQLite store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.executors import InProcessExecutor, TrialDone, TrialStarted
from pipeline.spec import load_spec, parse_spec
from pipeline.sweep import Sweep, SweepOptions
from pipeline.tracking import SweepTracker
from pipeline.training import TrialOutcome

ROOT = Path(__file__).resolve().parents[2]


def run(spec, uri: str, *, executor=None, report: bool = False, learning_curve: bool = False):
    options = SweepOptions(tracking_uri=uri, report=report, progress=False, learning_curve=learning_curve)
    return Sweep(spec, options, tracker=SweepTracker(uri, settle_seconds=0), executor=executor or InProcessExecutor()).run()


def children(client: MlflowClient, parent_id: str):
    parent = client.get_run(parent_id)
    return client.search_runs([parent.info.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")


class FailingSizeExecutor(InProcessExecutor):
    """Trains in this process, except that every trial at ``train_size`` fails."""

    def __init__(self, train_size: float):
        self.train_size = train_size

    def run(self, jobs, data):
        for index, config in jobs:
            if config.train_size == self.train_size:
                yield TrialStarted(index)
                yield TrialDone(TrialOutcome(index, "FAILED", {}, error="RuntimeError: boom"))
            else:
                yield from super().run([(index, config)], data)


@pytest.mark.slow
def test_learning_curve_runs_are_nested_trials_that_fail_alone_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"].update(epochs=[3], loss=["binary_crossentropy"], activation=["relu"])  # d0 and d1: 2 trials
    spec = parse_spec(raw, source=str(tmp_path / "tiny.yaml"))

    first = run(spec, uri, executor=FailingSizeExecutor(0.25), learning_curve=True)  # the defaults: top 3
    sizes = sorted((r.config.depth, r.config.train_size, r.n_train, r.outcome.status) for r in first.records)
    assert sizes == [(0, 0.125, 26, "FINISHED"), (0, 0.25, 52, "FAILED"), (0, 0.5, 105, "FINISHED"),
                     (0, 1.0, 210, "FINISHED"), (1, 0.125, 26, "FINISHED"), (1, 0.25, 52, "FAILED"),
                     (1, 0.5, 105, "FINISHED"), (1, 1.0, 210, "FINISHED")]
    assert first.n_trials == 8 and first.n_failed == 2
    assert sorted(name for name, _, _ in first.learning_curves) == ["d0", "d1"]  # 3 sizes each: judged
    runs = children(client, first.parent_run_id)
    assert sorted((r.data.params["train_size"], r.data.params[names.N_TRAIN_PARAM]) for r in runs
                  if r.data.params["depth"] == "1") == [("0.125", "26"), ("0.25", "52"), ("0.5", "105"), ("1.0", "210")]
    assert {r.info.run_name for r in runs} >= {"d0-n0.125", "d1-n0.5", "d1"}

    second = run(spec, uri, learning_curve=True)  # resumes: only the two failed trials train again
    assert second.parent_run_id == first.parent_run_id
    assert (second.n_skipped, sorted(r.name for r in second.records)) == (6, ["d0-n0.25", "d1-n0.25"])
    verdicts = {name: verdict for name, _, verdict in second.learning_curves}
    assert [verdicts["d1"].n_train, verdicts["d0"].n_train] == [(26, 52, 105, 210)] * 2
    parent = client.get_run(second.parent_run_id)
    history = client.get_metric_history(parent.info.run_id, names.learning_curve_metric(names.LC_VAL_PREFIX, "binary",
                                                                                        "d1"))
    assert sorted(m.step for m in history) == [26, 52, 105, 210]
    largest = {r.info.run_name: r for r in children(client, first.parent_run_id)}["d1"]
    assert largest.data.tags[names.MORE_DATA_HELPS_TAG] == verdicts["d1"].more_data_helps
    assert names.LC_EXPECTED_AT_2X in largest.data.metrics
    assert "**More data?**" in largest.data.tags[names.NOTE_TAG]
    assert "Learning curves over training-set size" in parent.data.tags[names.NOTE_TAG]


def test_a_size_beyond_the_training_split_is_refused_before_anything_is_written(tmp_path):
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"]["train_size"] = [0.5, 5000]
    spec = parse_spec(raw, source="tiny.yaml")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(FitcheckError, match=r"^tiny.yaml: grid.train_size must be at most the 210 rows of the training split \(or a fraction of it\) but got 5000$"):
        Sweep(spec, SweepOptions(tracking_uri=uri, report=False, progress=False)).run()
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_the_example_shows_both_outcomes_in_mlflow_and_the_report(tmp_path, monkeypatch):
    """experiments/learning_curve.yaml: the network's curve still falls (more data helps), logistic
    regression's has flattened above the reference (it does not)."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run(load_spec(ROOT / "experiments" / "learning_curve.yaml"), uri, report=True)
    verdicts = {name: verdict.more_data_helps for name, _, verdict in result.learning_curves}
    assert verdicts == {"d2-lr0.005": names.MORE_DATA_YES, "d0-lr0.05": names.MORE_DATA_NO}
    html = result.report_path.read_text()
    assert 'id="data-size"' in html and "more data will not help" in html and "more data would help" in html
