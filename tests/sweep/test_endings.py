"""How a sweep ends when its end fails: a report that cannot be written, a rerun of a finished sweep, a bad name.

Real Keras training in this process and a real SQLite store: after any failure at the end (report, views,
store), every finished trial is FINISHED, the summary is there, and the failure is one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mlflow import MlflowClient

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.executors import InProcessExecutor
from pipeline.spec import DICT_SOURCE, parse_spec
from pipeline.sweep import Sweep, SweepOptions
from pipeline.tracking import SweepTracker

ROOT = Path(__file__).resolve().parents[2]


def _spec(tmp_path: Path, raw_grid=None):
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"].update(epochs=[3], loss=["binary_crossentropy"])
    if raw_grid is not None:
        raw["grid"] = raw_grid
    return parse_spec(raw, source=str(tmp_path / "tiny.yaml"))


def _sweep(spec, uri: str, experiment: str, *, report: bool = False):
    options = SweepOptions(tracking_uri=uri, experiment=experiment, report=report, progress=False)
    return Sweep(spec, options, tracker=SweepTracker(uri, settle_seconds=0), executor=InProcessExecutor()).run()


def _reports_is_a_file(folder: Path) -> str:
    (folder / "reports").write_text("a file where the reports folder goes")
    return "File exists"


def _disk_full(folder: Path) -> str:
    """The report's file on a device that is always full: the kernel's own ENOSPC."""
    (folder / "reports").mkdir()
    (folder / "reports" / "blocked.html").symlink_to("/dev/full")
    return "No space left on device"


@pytest.mark.slow
@pytest.mark.parametrize("block", [_reports_is_a_file, _disk_full], ids=["reports-is-a-file", "disk-full"])
def test_a_report_that_cannot_be_written_is_one_line_and_the_trials_stand(tmp_path, monkeypatch, block):
    monkeypatch.chdir(tmp_path)
    reason = block(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _sweep(_spec(tmp_path), uri, "blocked", report=True)
    assert result.report_path is None
    assert len(result.ending_errors) == 1 and result.ending_errors[0].startswith("report not written: ")
    assert reason in result.ending_errors[0] and "\n" not in result.ending_errors[0]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("blocked").experiment_id])
    assert {run.info.status for run in runs} == {"FINISHED"}  # the parent and its 3 trials
    assert len(runs) == 4 and sum(result.labels().values()) == 3


@pytest.mark.slow
def test_rerunning_a_finished_sweep_returns_the_whole_sweep(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = _spec(tmp_path)
    first = _sweep(spec, uri, "again")
    second = _sweep(spec, uri, "again")  # the same notebook cell, run twice
    assert second.records == [] and second.n_skipped == 3
    assert len(second.trials) == 3 and list(second.trials["run_id"]) == list(first.trials["run_id"])
    assert second.labels() == first.labels() and sum(second.labels().values()) == 3
    assert len(second.summary_frame(second.task)) == 3
    assert list(second.trials["label"]) == list(first.trials["label"])


@pytest.mark.slow
def test_a_list_of_grids_is_logged_as_given_and_a_dict_spec_is_named_by_its_experiment(tmp_path):
    import json

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    base = {"width": [8], "learning_rate": [0.02], "batch_size": [32], "epochs": [2], "loss": ["binary_crossentropy"],
            "optimizer": ["adam"]}
    raw = yaml.safe_load((ROOT / "tests" / "specs" / "tiny.yaml").read_text())
    raw["grid"] = [{**base, "depth": [0]}, {**base, "depth": [1], "activation": ["relu"]}]
    raw["experiment"] = "grids"
    spec = parse_spec(raw, source=DICT_SOURCE)  # a dict spec, as from a notebook
    result = _sweep(spec, uri, "grids")
    parent = MlflowClient(uri).get_run(result.parent_run_id)
    assert parent.info.run_name == "sweep-grids"
    grids = json.loads(parent.data.params[names.GRID_PARAM])
    assert isinstance(grids, list) and [g["depth"] for g in grids] == [[0], [1]]


@pytest.mark.parametrize("experiment", ["x" * 600, "two\nlines", "clear\x1b[2J"])
def test_an_experiment_name_mlflow_would_refuse_is_one_line_and_exit_2(tmp_path, experiment):
    from pipeline.cli import main

    with pytest.raises(FitcheckError, match="--experiment"):
        SweepOptions(experiment=experiment)
    outcome = CliRunner().invoke(main, ["sweep", str(ROOT / "tests" / "specs" / "tiny.yaml"), "--experiment",
                                        experiment, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert outcome.exit_code == 2, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fitcheck: error: --experiment") and "\x1b" not in lines[0]
    assert not (tmp_path / "m.db").exists()
