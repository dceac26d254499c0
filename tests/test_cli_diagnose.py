"""``fitcheck diagnose``: the --curves JSON contract, bad CSVs and MLflow runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main

EPOCHS = np.arange(1, 31)
TRAIN = 0.10 + 0.40 * np.exp(-0.5 * (EPOCHS - 1))
VAL = 0.11 + 0.35 * np.exp(-0.4 * (EPOCHS - 1)) + 0.004 * np.maximum(0, EPOCHS - 10)


@pytest.fixture
def curves_csv(tmp_path):
    path = tmp_path / "curves.csv"
    pd.DataFrame({"epoch": EPOCHS, "train_loss": TRAIN * 2, "val_loss": VAL * 2,
                  "train_error": TRAIN, "val_error": VAL}).to_csv(path, index=False)
    return path


def invoke(*args):
    return CliRunner().invoke(main, ["diagnose", *map(str, args)])


def test_curves_json_contract(curves_csv):
    result = invoke("--curves", curves_csv, "--task", "binary", "--n-train", 500, "--n-val", 2000,
                    "--reference-error", 0.1, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["label"] == "high_variance"
    assert payload["label_at_recommended"] == "good_fit"
    assert payload["recommended_epochs"] == 11
    assert payload["reference_error"] == 0.1
    assert payload["variance_gap"] == pytest.approx(VAL[-1] - TRAIN[-1])
    for key in ("avoidable_bias", "variance_gap_se"):
        assert isinstance(payload[key], float)
    assert {"patience", "min_delta", "monitor", "restore_best_weights"} <= set(payload["early_stopping"])


def test_curves_text(curves_csv):
    result = invoke("--curves", curves_csv, "--task", "binary", "--n-train", 500, "--n-val", 2000,
                    "--reference-error", 0.1)
    assert result.exit_code == 0, result.output
    assert "high_variance" in result.output
    assert "EarlyStopping(" in result.output


def bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("epoch,train_loss,val_loss,train_error\n1,0.5,0.6,0.2\n", "val_error"),
        ("epoch,train_loss,val_loss,train_error,val_error\n1,0.5,0.6,0.2,abc\n", "val_error"),
        ("epoch,train_loss,val_loss,train_error,val_error\n", "no rows"),
        ("", "empty file"),
    ],
    ids=["missing-column", "non-numeric", "no-rows", "empty"],
)
def test_bad_csv_is_one_line_exit_2(tmp_path, content, expected):
    path = bad_csv(tmp_path, content)
    result = invoke("--curves", path, "--task", "binary", "--n-train", 10, "--n-val", 10)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert str(path) in lines[0] and expected in lines[0]
    assert "Traceback" not in result.output


def test_missing_file_is_one_line_exit_2(tmp_path):
    result = invoke("--curves", tmp_path / "nope.csv", "--task", "binary", "--n-train", 10, "--n-val", 10)
    assert result.exit_code == 2
    assert "nope.csv: no such file" in result.output


def test_needs_exactly_one_source(curves_csv):
    result = invoke("--task", "binary")
    assert result.exit_code == 2
    assert "exactly one of --curves" in result.output


@pytest.mark.slow
def test_run_id_autolog_names_and_missing_run(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        for step, (train, val) in enumerate(zip(TRAIN, VAL)):  # autolog: 0-based steps
            mlflow.log_metrics({"loss": train * 2, "val_loss": val * 2, "accuracy": 1 - train,
                                "val_accuracy": 1 - val}, step=step)
    result = invoke("--run-id", run.info.run_id, "--tracking-uri", uri, "--n-train", 500,
                    "--n-val", 2000, "--reference-error", 0.1, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["label"] == "high_variance"
    assert payload["recommended_epochs"] == 11
    assert any("running averages" in note for note in payload["notes"])

    missing = invoke("--run-id", "0123456789abcdef", "--tracking-uri", uri, "--format", "json")
    assert missing.exit_code == 2
    assert "0123456789abcdef" in missing.output and "not found" in missing.output


@pytest.mark.slow
def test_run_id_fitcheck_child_reads_sizes_and_reference_from_parent(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run():
        mlflow.log_params({"n_train": 500, "n_val": 2000, "task": "binary"})
        mlflow.log_metric("reference_error", 0.1)
        mlflow.set_tag("fitcheck.reference_error_source", "estimated")
        with mlflow.start_run(nested=True) as child:
            mlflow.log_param("task", "binary")
            for epoch, (train, val) in enumerate(zip(TRAIN, VAL), 1):
                mlflow.log_metrics({"train_loss": train * 2, "val_loss": val * 2, "train_error": train,
                                    "val_error": val}, step=epoch)
    result = invoke("--run-id", child.info.run_id, "--tracking-uri", uri, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["reference_error"], payload["reference_source"]) == (0.1, "estimated")
    assert payload["label"] == "high_variance"
    assert len(payload["notes"]) == 1 and "at or above the Bayes error" in payload["notes"][0]
