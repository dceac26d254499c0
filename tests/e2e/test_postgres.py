"""A real PostgreSQL behind a real ``mlflow server``, as the README sets it up for many concurrent sweeps.

A throwaway cluster of Debian's ``postgresql`` package (tests/postgres_server.py), a database for
MLflow, and an ``mlflow server`` on it. Two sweeps of one spec at once share one sweep and train
each trial once; two sweeps of different specs at once keep their sweeps and reports apart; and
``fitcheck report`` reads a sweep straight from the database through ``postgresql://``, the driver
that ``pip install "fitcheck[postgres]"`` brings.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline import names

from postgres_server import PostgresServer
from sweep_processes import (
    FITCHECK,
    N_TINY_TRIALS,
    assert_one_sweep,
    assert_split_between,
    short_spec,
    sweep_at_once,
)
from tracking_server import MlflowServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> PostgresServer:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server_on_postgres(postgres, tmp_path_factory) -> tuple[MlflowServer, str]:
    """An ``mlflow server`` whose backend store is a new PostgreSQL database; and that database's URI."""
    database = postgres.create_database("mlflow")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-on-postgres"), backend_store_uri=database).start()
    yield server, database
    server.stop()


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def report_rows(path: Path) -> list[str]:
    """The trial run ids a report's table lists."""
    return re.findall(r'<tr data-run="(\w+)"', path.read_text())


def test_same_spec_twice_at_once(server_on_postgres, tmp_path):
    server, _ = server_on_postgres
    spec = short_spec(tmp_path)
    outcomes = sweep_at_once((spec, tmp_path), (spec, tmp_path), uri=server.uri,
                             extra=("--no-report", "--experiment", "same-spec"))
    assert_split_between(outcomes, N_TINY_TRIALS)
    assert assert_one_sweep(MlflowClient(server.uri), "same-spec", N_TINY_TRIALS) == outcomes[0].sweep_run_id


def test_two_specs_at_once_keep_their_sweeps_and_reports_apart(server_on_postgres, tmp_path):
    server, database = server_on_postgres
    runs = {dataset: (short_spec(folder(tmp_path, dataset), spec), tmp_path / dataset)
            for dataset, spec in (("moons", "tiny.yaml"), ("circles", "tiny_circles.yaml"))}
    outcomes = dict(zip(runs, sweep_at_once(*runs.values(), uri=server.uri, extra=())))  # both into experiment 'tiny'
    client = MlflowClient(server.uri)
    for dataset, outcome in outcomes.items():
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        assert outcome.counts == {"grid": N_TINY_TRIALS, "run_now": N_TINY_TRIALS, "finished": 0, "held": 0}
        parent_id = assert_one_sweep(client, "tiny", N_TINY_TRIALS, dataset=dataset)
        assert outcome.sweep_run_id == parent_id
        report = runs[dataset][1] / re.search(r"^report: (.+)$", outcome.stdout, re.M).group(1)
        trial_ids = {run.info.run_id for run in client.search_runs(
            [client.get_experiment_by_name("tiny").experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")}
        assert parent_id in report.read_text() and set(report_rows(report)) == trial_ids

    direct = subprocess.run([FITCHECK, "report", "--sweep-run-id", outcomes["moons"].sweep_run_id,
                             "--tracking-uri", database, "--out", str(tmp_path / "direct.html")],
                            capture_output=True, text=True, timeout=300)
    assert direct.returncode == 0, direct.stderr[-3000:]
    assert len(report_rows(tmp_path / "direct.html")) == N_TINY_TRIALS


def test_reading_an_empty_database_refuses_and_creates_no_tables(postgres):
    empty = postgres.create_database("empty_for_report")
    result = subprocess.run([FITCHECK, "report", "--experiment", "tiny", "--tracking-uri", empty],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"fitcheck: error: no MLflow store at {empty!r}: the database holds no MLflow "
                                      "tables; pass the --tracking-uri the sweep wrote to")
    from sqlalchemy import create_engine, inspect

    engine = create_engine(empty)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


LONG_BUILDER = '''
import keras


def build(hp, input_shape, task, n_outputs):
    inputs = keras.Input(input_shape)
    hidden = keras.layers.Dense(hp["units"] + 0 * len(hp["note"]), activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
'''


def test_names_and_values_at_the_sinks_limits_fit_postgres(server_on_postgres, tmp_path):
    """A builder's 300-character string value and a long axis name make run names past PostgreSQL's
    ``varchar(250)``: capped with a hash, distinct, every trial FINISHED, the values logged whole."""
    import yaml

    server, _ = server_on_postgres
    (tmp_path / "long_builder.py").write_text(LONG_BUILDER)
    notes = ["a" * 300, "a" * 299 + "b"]  # differ only past the cap
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "specs" / "tiny.yaml").read_text())
    raw.update(experiment="long-names", model="long_builder:build",
               grid={"units": [4], "note": notes, "epochs": [2], "learning_rate": [0.01]})
    spec = tmp_path / "long.yaml"
    spec.write_text(yaml.safe_dump(raw))
    result = subprocess.run([FITCHECK, "sweep", str(spec), "--tracking-uri", server.uri, "--workers", "2",
                             "--no-progress", "--no-report"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(server.uri)
    experiment = client.get_experiment_by_name("long-names").experiment_id
    trials = client.search_runs([experiment], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_TRIAL}'")
    assert sorted(run.data.params["note"] for run in trials) == notes
    assert {run.info.status for run in trials} == {"FINISHED"}
    run_names = [run.info.run_name for run in trials]
    assert len(set(run_names)) == 2 and all(len(name) <= 250 for name in run_names)
