"""``fitcheck diagnose``: the --curves JSON contract, Keras' history CSV, bad CSVs and MLflow runs (fitcheck's,
and real Keras runs logged by autolog and MlflowCallback to a real server), written back with --write."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline import names
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


def keras_history(path, *, index: bool, regression: bool = False):
    """What ``pd.DataFrame(history.history).to_csv(path)`` writes for the curves above."""
    if regression:
        history = {"loss": TRAIN ** 2, "mse": TRAIN ** 2, "mae": TRAIN, "val_loss": VAL ** 2, "val_mse": VAL ** 2,
                   "val_mae": VAL}
    else:
        history = {"accuracy": 1 - TRAIN, "loss": TRAIN * 2, "val_accuracy": 1 - VAL, "val_loss": VAL * 2,
                   "learning_rate": np.full(len(TRAIN), 0.001)}
    pd.DataFrame(history).to_csv(path, index=index)
    return path


@pytest.mark.parametrize("index", [True, False], ids=["with-index", "without-index"])
def test_keras_history_csv_is_read_and_called_running_averages(tmp_path, index):
    path = keras_history(tmp_path / "history.csv", index=index)
    result = invoke("--curves", path, "--n-train", 500, "--n-val", 2000, "--reference-error", 0.1, "--format", "json",
                    "--task", "binary")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["task"], payload["label"], payload["recommended_epochs"]) == ("binary", "high_variance", 11)
    assert payload["variance_gap"] == pytest.approx(VAL[-1] - TRAIN[-1])
    assert any("running averages" in note for note in payload["notes"])
    text = invoke("--curves", path, "--n-train", 500, "--n-val", 2000, "--reference-error", 0.1, "--task", "binary")
    assert "note: training values are Keras running averages" in text.output


def test_plain_accuracy_with_no_task_is_refused_naming_both_classification_tasks(tmp_path):
    """Keras logs ``accuracy`` for 2 and for 10 classes alike: a history that tells nothing more is refused."""
    path = keras_history(tmp_path / "history.csv", index=False)
    result = invoke("--curves", path, "--n-train", 500, "--n-val", 2000)
    assert result.exit_code == 2
    assert result.output == (f"fitcheck: error: {path}: columns accuracy, loss, val_accuracy, val_loss, learning_rate tell a "
                             "classification but not whether it is binary or multiclass; give --task binary or "
                             "--task multiclass.\n")


def test_keras_regression_history_reads_mse_as_rmse(tmp_path):
    path = keras_history(tmp_path / "history.csv", index=True, regression=True)
    result = invoke("--curves", path, "--n-train", 500, "--n-val", 2000, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["task"], payload["metric"]) == ("regression", "rmse")
    assert payload["val_metric"] == pytest.approx(VAL[-1])


def test_mae_alone_is_refused_saying_why(tmp_path):
    path = tmp_path / "mae.csv"
    pd.DataFrame({"loss": TRAIN, "mae": TRAIN, "val_loss": VAL, "val_mae": VAL}).to_csv(path)
    result = invoke("--curves", path, "--task", "regression", "--n-train", 10, "--n-val", 10)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and str(path) in result.output
    assert "MAE cannot be turned into RMSE" in result.output


@pytest.mark.parametrize(("args", "expected"), [
    (("--n-val", 10), "--curves needs --n-train: a CSV holds no split sizes"),
    (("--n-train", 10, "--n-val", 10, "--write"), "--write needs --run-id or --experiment"),
], ids=["no-sizes", "write-without-run"])
def test_csv_usage_errors(curves_csv, args, expected):
    result = invoke("--curves", curves_csv, *args)
    assert result.exit_code == 2 and expected in result.output


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
    untold = invoke("--run-id", run.info.run_id, "--tracking-uri", uri, "--n-train", 500, "--n-val", 2000)
    assert untold.exit_code == 2 and "not whether it is binary or multiclass" in untold.output
    result = invoke("--run-id", run.info.run_id, "--tracking-uri", uri, "--n-train", 500,
                    "--n-val", 2000, "--reference-error", 0.1, "--format", "json", "--task", "binary")
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
    assert any("at or above the Bayes error" in note for note in payload["notes"])


# -- real Keras runs, logged the ways users log them, on a real tracking server --------------------------------
N_ROWS, N_VAL = 600, 150


@pytest.fixture(scope="module")
def user_runs(mlflow_server):
    """Four runs of one small Keras model in experiment ``users-<id>``: autolog with validation_split, autolog
    with validation_data, MlflowCallback with its data logged by ``mlflow.log_input``, and a bare MlflowCallback."""
    import uuid

    import keras
    import mlflow

    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_ROWS, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] + rng.normal(scale=0.8, size=N_ROWS) > 0).astype("float32")
    x_train, y_train, x_val, y_val = x[:-N_VAL], y[:-N_VAL], x[-N_VAL:], y[-N_VAL:]

    def model():
        keras.utils.set_random_seed(0)
        network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(32, activation="relu"),
                                    keras.layers.Dense(1, activation="sigmoid")])
        network.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
        return network

    experiment = f"users-{uuid.uuid4().hex[:6]}"
    mlflow.set_tracking_uri(mlflow_server.uri)
    mlflow.set_experiment(experiment)
    runs = {}
    try:
        mlflow.keras.autolog(log_models=False, silent=True)
        with mlflow.start_run(run_name="autolog-split") as run:
            mlflow.set_tag(names.NOTE_TAG, "my own notes")
            model().fit(x, y, validation_split=N_VAL / N_ROWS, epochs=12, batch_size=32, verbose=0)
        runs["split"] = run.info.run_id
        with mlflow.start_run(run_name="autolog-validation-data") as run:
            model().fit(x_train, y_train, validation_data=(x_val, y_val), epochs=12, batch_size=32, verbose=0)
        runs["validation_data"] = run.info.run_id
        mlflow.keras.autolog(disable=True)
        with mlflow.start_run(run_name="callback-with-inputs") as run:
            mlflow.log_input(mlflow.data.from_numpy(x_train, targets=y_train, name="train"), context="training")
            mlflow.log_input(mlflow.data.from_numpy(x_val, targets=y_val, name="val"), context="validation")
            model().fit(x_train, y_train, validation_data=(x_val, y_val), epochs=12, verbose=0,
                        callbacks=[mlflow.keras.MlflowCallback()])
        runs["callback"] = run.info.run_id
        with mlflow.start_run(run_name="callback-bare") as run:
            model().fit(x_train, y_train, validation_data=(x_val, y_val), epochs=12, verbose=0,
                        callbacks=[mlflow.keras.MlflowCallback()])
        runs["bare"] = run.info.run_id
    finally:
        mlflow.keras.autolog(disable=True)
        mlflow.set_tracking_uri(None)
    return mlflow_server.uri, experiment, runs


def diagnose_json(uri, *args):
    result = invoke(*args, "--tracking-uri", uri, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.slow
@pytest.mark.parametrize(("run", "train_from", "val_from"), [
    ("split", "dataset 'dataset' (train, 600 rows) less validation_split 0.25",
     "validation_split 0.25 of dataset 'dataset' (train, 600 rows)"),
    ("validation_data", "dataset 'dataset' (train, 450 rows)", "dataset 'dataset' (eval, 150 rows)"),
    ("callback", "dataset 'train' (training, 450 rows)", "dataset 'val' (validation, 150 rows)"),
])
def test_user_runs_are_diagnosed_with_sizes_they_logged(user_runs, run, train_from, val_from):
    uri, _, runs = user_runs
    payload = diagnose_json(uri, "--run-id", runs[run])
    assert payload["sizes"] == {"n_train": N_ROWS - N_VAL, "n_train_from": train_from,
                                "n_val": N_VAL, "n_val_from": val_from}
    assert payload["task"] == "binary" and payload["epochs_run"] == 12
    assert any("running averages" in note for note in payload["notes"])


@pytest.mark.slow
def test_a_run_without_sizes_says_what_to_log(user_runs):
    uri, _, runs = user_runs
    result = invoke("--run-id", runs["bare"], "--tracking-uri", uri)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "its size is not logged" in result.output and "give --n-train and --n-val" in result.output
    assert "mlflow.log_input" in result.output


@pytest.mark.slow
def test_experiment_is_diagnosed_and_written_back(user_runs):
    from mlflow import MlflowClient

    from pipeline.runs import MARKER

    uri, experiment, runs = user_runs
    result = invoke("--experiment", experiment, "--tracking-uri", uri, "--write")
    assert result.exit_code == 0, result.output
    assert "3 of 4 runs diagnosed" in result.output
    assert f"skipped callback-bare ({runs['bare'][:8]}): its size is not logged" in result.output
    client = MlflowClient(uri)
    labelled = {}
    for key in ("split", "validation_data", "callback"):
        run = client.get_run(runs[key])
        label = run.data.tags[names.DIAGNOSIS_TAG]
        labelled.setdefault(label, set()).add(runs[key])
        assert run.data.tags[names.DIAGNOSIS_AT_RECOMMENDED_TAG]
        assert {names.RECOMMENDED_EPOCHS, "recommended_val_error", "best_val_error"} <= set(run.data.metrics)
        assert {"diagnosis.json", "curves.png"} <= {artifact.path for artifact in client.list_artifacts(runs[key])}
        assert "Advice:** " in run.data.tags[names.NOTE_TAG]
    assert names.DIAGNOSIS_TAG not in client.get_run(runs["bare"]).data.tags
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    for label, run_ids in labelled.items():  # what a user types into the UI's search box
        found = client.search_runs([experiment_id], f"tags.{names.DIAGNOSIS_TAG} = '{label}'")
        assert {run.info.run_id for run in found} == run_ids

    again = invoke("--run-id", runs["split"], "--tracking-uri", uri, "--write")
    assert again.exit_code == 0, again.output
    note = client.get_run(runs["split"]).data.tags[names.NOTE_TAG]
    assert note.startswith("my own notes\n\n" + MARKER) and note.count(MARKER) == 1


@pytest.mark.slow
def test_tensorflow_autolog_run(mlflow_server):
    import tensorboard  # noqa: F401 - the test extra installs it; mlflow.tensorflow.autolog() needs it for Keras 3 fits
    import keras
    import mlflow

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    network = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                                keras.layers.Dense(1, activation="sigmoid")])
    network.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    mlflow.set_tracking_uri(mlflow_server.uri)
    try:
        mlflow.tensorflow.autolog(log_models=False, silent=True)
        with mlflow.start_run() as run:
            network.fit(x, y, validation_split=0.25, epochs=5, batch_size=20, verbose=0)
    finally:
        mlflow.tensorflow.autolog(disable=True)
        mlflow.set_tracking_uri(None)
    payload = diagnose_json(mlflow_server.uri, "--run-id", run.info.run_id)
    assert (payload["sizes"]["n_train"], payload["sizes"]["n_val"]) == (300, 100)


def test_the_command_prints_what_the_library_function_returns(tmp_path, monkeypatch):
    """``fitcheck diagnose --run-id`` only parses, calls ``pipeline.diagnose_run`` and prints."""
    import mlflow

    import pipeline

    store = f"sqlite:///{tmp_path}/m.db"
    client = mlflow.MlflowClient(store)
    run_id = client.create_run(client.create_experiment("own")).info.run_id
    for name, values in (("train_loss", TRAIN * 2), ("val_loss", VAL * 2), ("train_error", TRAIN), ("val_error", VAL)):
        for epoch, value in zip(EPOCHS, values):
            client.log_metric(run_id, name, float(value), step=int(epoch))
    for name, value in (("n_train", 500), ("n_val", 2000), ("task", "binary")):
        client.log_param(run_id, name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # the library's default store, as the command's
    diagnosed = pipeline.diagnose_run(run_id, reference_error=0.1)
    assert (diagnosed.diagnosis.label, diagnosed.n_train.source) == ("high_variance", "param n_train")
    assert diagnose_json(store, "--run-id", run_id, "--reference-error", 0.1) == json.loads(
        json.dumps(diagnosed.to_dict()))


def test_a_reference_error_above_one_for_a_classification_is_refused(tmp_path):
    path = keras_history(tmp_path / "history.csv", index=False)
    result = invoke("--curves", path, "--n-train", 500, "--n-val", 2000, "--task", "multiclass", "--reference-error", 5)
    assert result.exit_code == 2
    assert result.output == ("fitcheck: error: --reference-error: 5 is above 1, but a multiclass task's error rate lies "
                             "in [0, 1]; accepted: a number in [0, 1]\n")


@pytest.mark.parametrize("rows, expected", [
    ("accuracy,val_accuracy,loss,val_loss\n50,60,1,1\n60,55,1,1\n",
     "column accuracy, row 1: must be an accuracy in [0, 1] but got 50 (a percentage? divide by 100)."),
    ("accuracy,val_accuracy,loss,val_loss\n0.5,0.6,1,1\n0.6,-0.2,1,1\n",
     "column val_accuracy, row 2: must be an accuracy in [0, 1] but got -0.2."),
    ("epoch,accuracy,val_accuracy,loss,val_loss\n0,0.5,0.6,1,1\n1,0.6,0.6,1,1\n0,0.5,0.6,1,1\n",
     "column epoch, row 3: epoch '0' is not a new whole number (two fits appended to one file?); keep one fit's rows"),
    ("accuracy,val_accuracy,loss,val_loss\n0.5,0.6,1,1\n0.6,abc,1,1\n",
     "column val_accuracy, row 2: must be a number (nan and inf allowed: a diverged run) but got 'abc'."),
], ids=["percent", "negative", "appended-fits", "text"])
def test_a_keras_history_in_the_wrong_unit_or_shape_is_refused_naming_the_users_column(tmp_path, rows, expected):
    path = tmp_path / "history.csv"
    path.write_text(rows)
    result = invoke("--curves", path, "--n-train", 500, "--n-val", 100, "--task", "binary")
    assert (result.exit_code, result.output) == (2, f"fitcheck: error: {path}: {expected}\n")


def test_epochs_not_measured_are_skipped_and_a_csvlogger_epoch_column_orders_the_rows(tmp_path):
    """validation_freq=2 leaves val cells empty (CSVLogger writes NA): those epochs are not divergence; 'nan' is."""
    every_other = tmp_path / "every_other.csv"
    every_other.write_text("epoch,accuracy,val_accuracy,loss,val_loss\n" + "".join(
        f"{epoch},{0.5 + 0.02 * epoch:.2f},{'NA' if epoch % 2 else f'{0.5 + 0.015 * epoch:.3f}'},"
        f"{1 - 0.03 * epoch:.2f},{'' if epoch % 2 else f'{1 - 0.02 * epoch:.2f}'}\n" for epoch in reversed(range(20))))
    payload = json.loads(invoke("--curves", every_other, "--n-train", 500, "--n-val", 2000, "--task", "binary",
                                "--format", "json").output)
    assert payload["label"] != "diverged" and payload["epochs_run"] == 10
    assert payload["train_metric"] == pytest.approx(1 - (0.5 + 0.02 * 18))  # epoch 18, the last measured
    diverged = tmp_path / "diverged.csv"
    diverged.write_text("accuracy,val_accuracy,loss,val_loss\n0.5,0.5,1,1\n0.6,0.6,0.9,0.9\n0.6,nan,nan,nan\n")
    payload = json.loads(invoke("--curves", diverged, "--n-train", 500, "--n-val", 2000, "--task", "binary",
                                "--format", "json").output)
    assert payload["label"] == "diverged"


def test_a_loss_that_goes_negative_is_not_read_as_exploding(tmp_path):
    path = tmp_path / "cosine.csv"
    path.write_text("accuracy,val_accuracy,loss,val_loss\n" + "".join(
        f"{0.6 + 0.01 * epoch:.2f},{0.6 + 0.008 * epoch:.3f},{-0.1 * epoch:.1f},{-0.09 * epoch:.2f}\n"
        for epoch in range(15)))
    payload = json.loads(invoke("--curves", path, "--n-train", 500, "--n-val", 2000, "--task", "binary",
                                "--format", "json").output)
    assert payload["label"] != "diverged"
