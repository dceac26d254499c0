"""A user's own run diagnosed twice with --write says the same thing twice; its task is read from its metrics
or given."""

from __future__ import annotations

import json

import mlflow
from click.testing import CliRunner

from pipeline import names
from pipeline.cli import main

TRAIN = [0.5 - 0.02 * epoch for epoch in range(20)]
VAL = [0.5 - 0.015 * epoch for epoch in range(20)]


def _run(uri: str, accuracy: str) -> str:
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        for step, (train, val) in enumerate(zip(TRAIN, VAL)):  # autolog's names and 0-based steps
            mlflow.log_metrics({"loss": train * 2, "val_loss": val * 2, accuracy: 1 - train,
                                f"val_{accuracy}": 1 - val}, step=step)
    return run.info.run_id


def _diagnose(uri: str, run_id: str, *extra) -> dict:
    result = CliRunner().invoke(main, ["diagnose", "--run-id", run_id, "--tracking-uri", uri, "--n-train", "500",
                                       "--n-val", "200", "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_diagnose_write_twice_keeps_the_reference_source(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = _run(uri, "accuracy")
    first = _diagnose(uri, run_id, "--write", "--task", "binary")
    second = _diagnose(uri, run_id, "--write", "--task", "binary")
    assert first["reference_source"] == second["reference_source"] == "assumed_zero"
    assert first["label"] == second["label"]
    note = mlflow.MlflowClient(uri).get_run(run_id).data.tags[names.NOTE_TAG]
    assert names.REFERENCE_SOURCES["assumed_zero"] in note and names.REFERENCE_SOURCES[names.REFERENCE_GIVEN] not in note


def test_a_sparse_categorical_run_is_multiclass(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert _diagnose(uri, _run(uri, "sparse_categorical_accuracy"))["task"] == names.MULTICLASS


def test_a_binary_accuracy_run_is_binary(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert _diagnose(uri, _run(uri, "binary_accuracy"))["task"] == names.BINARY
