"""Commands that fail or only read create nothing: no tracking store, no experiment, no run.

Through the CLI: ``fitcheck report`` and ``fitcheck diagnose --run-id`` on a store that does not
exist, or on an existing store with no such experiment or run, and a sweep refused once its data
is read (too few rows to estimate the reference error), each leave the folder or the store as they
found it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.entities import ViewType

from pipeline.cli import main

ROWS = "".join(f"{i},{i * 7 % 5},{i % 2}\n" for i in range(23))  # 18 training rows after the validation split


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    return line


def listing(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def store_content(uri: str) -> list:
    """Every experiment and run the store holds, deleted ones included."""
    client = MlflowClient(uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    runs = client.search_runs([e.experiment_id for e in experiments], run_view_type=ViewType.ALL)
    return sorted((e.experiment_id, e.name, e.lifecycle_stage) for e in experiments) + sorted(
        (r.info.run_id, r.info.status, r.info.lifecycle_stage) for r in runs)


@pytest.fixture
def empty_folder(tmp_path, monkeypatch) -> Path:
    """An empty working folder, with no tracking URI in the environment: the default store is ./mlflow.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def existing_store(tmp_path_factory) -> str:
    """A store with one experiment and one finished run."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("kept"))
    client.set_terminated(run.info.run_id)
    return uri


@pytest.mark.parametrize("command", [
    ("diagnose", "--run-id", "0123456789abcdef"),
    ("report", "--experiment", "anything"),
    ("report", "--sweep-run-id", "0123456789abcdef"),
])
def test_reading_a_store_that_does_not_exist_creates_none(command, empty_folder):
    line = one_line_error(run_cli(*command))
    assert line == ("fitcheck: error: no MLflow store at 'sqlite:///mlflow.db': the file does not exist; "
                    "pass the --tracking-uri the sweep wrote to")
    assert listing(empty_folder) == []


def test_reading_a_file_store_that_does_not_exist_creates_none(tmp_path):
    uri = f"file://{tmp_path / 'mlruns'}"
    line = one_line_error(run_cli("diagnose", "--run-id", "0123456789abcdef", "--tracking-uri", uri))
    assert line == (f"fitcheck: error: no MLflow store at {uri!r}: the folder does not exist; "
                    "pass the --tracking-uri the sweep wrote to")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("command, message", [
    (("diagnose", "--run-id", "0123456789abcdef"), "run '0123456789abcdef' not found"),
    (("report", "--experiment", "absent"), "no experiment named 'absent'"),
    (("report", "--sweep-run-id", "0123456789abcdef"), "no run '0123456789abcdef'"),
])
def test_reading_what_an_existing_store_lacks_changes_nothing(command, message, existing_store, empty_folder):
    before = store_content(existing_store)
    line = one_line_error(run_cli(*command, "--tracking-uri", existing_store))
    assert message in line
    assert store_content(existing_store) == before
    assert listing(empty_folder) == []


def _too_small_for_a_reference(folder: Path) -> Path:
    (folder / "d.csv").write_text("a,b,y\n" + ROWS)
    spec = folder / "spec.yaml"
    spec.write_text("dataset: {csv: d.csv, target: y}\ngrid: {depth: [0], epochs: [1]}\n")
    return spec


@pytest.mark.slow  # runs the fitcheck command; tests/test_sweep_orchestration.py checks the same in-process
def test_a_sweep_refused_after_reading_its_data_creates_no_store(empty_folder):
    spec = _too_small_for_a_reference(empty_folder)
    line = one_line_error(run_cli("sweep", str(spec), "--workers", "1", "--no-progress"))
    assert line == (f"fitcheck: error: {spec}: reference_error: estimate: the reference error needs at least 20 "
                    "training rows but got 18 (dataset d.csv); give a known error rate instead, or 'sweep', or "
                    "pass --reference-error")
    assert listing(empty_folder) == ["d.csv", "spec.yaml"]


@pytest.mark.slow  # runs the fitcheck command; tests/test_sweep_orchestration.py checks the same in-process
def test_a_sweep_refused_after_reading_its_data_adds_no_experiment(existing_store, empty_folder):
    before = store_content(existing_store)
    spec = _too_small_for_a_reference(empty_folder)
    one_line_error(run_cli("sweep", str(spec), "--workers", "1", "--no-progress", "--tracking-uri", existing_store))
    assert store_content(existing_store) == before
