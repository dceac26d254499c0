"""The Python API: ``run_sweep`` with a spec dict, in-memory data and a model builder; npz and Parquet data.

Real parts: real Keras models, a real ``mlflow server`` (tests/tracking_server.py) and real worker
processes; a function defined in this module, or in a script run as ``__main__`` (a notebook's
situation), is sent to the workers with cloudpickle.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline import SweepOptions, names, run_sweep
from pipeline.data import load_dataset
from pipeline.errors import FitcheckError
from pipeline.search import TrialConfig
from pipeline.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]


def small_mlp(hp: dict, input_shape: tuple, task: str, n_outputs: int):
    """A builder as a notebook would write it: one hidden layer of ``hp["units"]``, logits out."""
    import keras

    inputs = keras.Input(shape=input_shape)
    hidden = keras.layers.Dense(hp["units"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(hidden))


def three_outputs(hp: dict, input_shape: tuple, task: str, n_outputs: int):
    """A builder whose model cannot be read for a binary task."""
    import keras

    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))


def moons_frame(n: int = 240) -> pd.DataFrame:
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.2, random_state=0)
    frame = pd.DataFrame(X, columns=["x1", "x2"])
    frame["churned"] = np.where(y == 1, "yes", "no")
    return frame


GRID = {"units": [4, 16], "epochs": [4], "loss": ["binary_crossentropy"], "learning_rate": [0.05]}


def mlp_parameters(units: int, n_inputs: int = 2) -> int:
    return n_inputs * units + units + units + 1


# -- fast: identity, validation, files ----------------------------------------------------------------
def test_a_trial_key_at_the_new_fields_defaults_is_the_key_runs_were_logged_with():
    config = TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)
    assert config.key("f") == "5835812d32fdcf6b"  # its key on main before builders (5f5c018)
    builder = TrialConfig(0, 0, "none", "mse", "adam", 0.01, 32, 10, 0, model="m:f", hyperparameters=(("units", 4),))
    assert builder.key("f") != config.key("f")
    assert builder.key("f") == TrialConfig(0, 0, "none", "mse", "adam", 0.01, 32, 10, 0, model="m:f",
                                           hyperparameters=(("units", 4),), builder=b"other bytes").key("f")
    assert builder.params() == {"loss": "mse", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32,
                                "epochs": 10, "seed": 0, "train_size": 1.0, "model": "m:f", "units": 4}


@pytest.mark.parametrize(("raw", "expected"), [
    ({"model": "models.cnn:build", "grid": {"filters": [[8]]}},
     "s.yaml: grid.filters[0]: must be a string, a finite number or true/false but got [8]"),
    ({"model": "models.cnn:build", "grid": {"seed": [1]}},
     "s.yaml: grid: hyperparameter names must not be fitcheck's own (seed, model, task, n_parameters, "
     "hyperparameters, n_train, n_val, input_shape, grid) but got 'seed'"),
    ({"model": "cnn.build"}, "s.yaml: model: must be a builder reference 'package.module:function' but got 'cnn.build'"),
    ({"grid": {"filters": [8]}}, "s.yaml: unknown key 'grid.filters' (a model builder's own hyperparameter needs "
                                 "'model: package.module:function'); accepted keys: depth, width, activation, loss, "
                                 "optimizer, learning_rate, batch_size, epochs, seeds, l2, dropout, train_size"),
    ({"dataset": {"npz": "d.npz", "x": "images"}},
     "s.yaml: dataset: an npz dataset needs 'x' and 'y', the names of its input and target arrays"),
])
def test_bad_builder_and_data_keys_are_refused_in_one_line(raw, expected):
    raw = {"dataset": {"sklearn": "digits"}, **raw}
    with pytest.raises(FitcheckError) as error:
        parse_spec(raw, source="s.yaml")
    assert str(error.value) == expected


def test_npz_and_parquet_files_load_relative_to_the_spec(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.random((120, 6, 6, 1)), np.arange(120) % 3
    np.savez(tmp_path / "images.npz", images=images, labels=labels)
    frame = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    frame["y"] = frame["a"] * 2.0
    frame.to_parquet(tmp_path / "table.parquet")
    (tmp_path / "npz.yaml").write_text("dataset: {npz: images.npz, x: images, y: labels}\n")
    (tmp_path / "parquet.yaml").write_text("dataset: {parquet: table.parquet, target: y}\nsplit: {validation: 0.25}\n")

    spec = load_spec(tmp_path / "npz.yaml")
    data = load_dataset(spec.dataset, spec.split)
    assert (data.task, data.input_shape, data.n_classes, len(data.y_train), len(data.y_val)) == (
        "multiclass", (6, 6, 1), 3, 96, 24)
    assert np.allclose(np.sort(np.concatenate([data.X_train, data.X_val]).ravel()), np.sort(images.ravel()))

    spec = load_spec(tmp_path / "parquet.yaml")
    data = load_dataset(spec.dataset, spec.split)
    assert (data.task, data.input_shape, len(data.y_val), data.name) == ("regression", (3,), 25, "table.parquet")

    (tmp_path / "bad.yaml").write_text("dataset: {npz: images.npz, x: pixels, y: labels}\n")
    spec = load_spec(tmp_path / "bad.yaml")
    with pytest.raises(FitcheckError) as error:
        load_dataset(spec.dataset, spec.split)
    assert str(error.value) == f"{tmp_path / 'images.npz'}: dataset.x: array 'pixels' not found; arrays are: images, labels"


def test_digits_as_images_keep_the_tabular_fingerprint_apart():
    images = load_dataset(parse_spec({"dataset": {"sklearn": "digits", "as_images": True}}, source="s").dataset,
                          parse_spec({"dataset": {"sklearn": "digits"}}, source="s").split)
    assert (images.input_shape, images.n_features, len(images.y_train) + len(images.y_val)) == ((8, 8, 1), 64, 1797)
    assert float(images.X_train.max()) == 1.0


@pytest.mark.parametrize(("call", "expected"), [
    (dict(spec={"model": "no_such_module:build", "grid": GRID}, data=(moons_frame(), "churned")),
     "spec (dict): model: cannot import module 'no_such_module' (ModuleNotFoundError: No module named "
     "'no_such_module'); looked in the working folder and the installed packages"),
    (dict(spec={"grid": {**GRID, "units": [4]}}, data=(moons_frame(), "churned"), build_model=three_outputs),
     "model test_api:three_outputs: output shape (None, 3) cannot be evaluated for a binary task with loss "
     "binary_crossentropy; accepted: (None, 1) (1 unit: a sigmoid probability or a logit (binary_crossentropy, "
     "mse, mae, huber), a margin (hinge, squared_hinge); or 2 softmax units or logits with a categorical loss)"),
    (dict(spec={"dataset": {"synthetic": "moons"}}, data=(moons_frame(), "churned")),
     "spec (dict): the data is given twice, in the spec's dataset section and as data=; remove one"),
    (dict(spec={}, data=(np.zeros((100, 2)), np.zeros(99))),
     "data=: X and y must have the same number of rows but got 100 (X of shape (100, 2)) and 99"),
    (dict(spec={"model": "models.cnn:build", "grid": GRID}, data=(moons_frame(), "churned"), build_model=small_mlp),
     "spec (dict): the model is given twice, as model: 'models.cnn:build' and as build_model=; remove one"),
])
def test_bad_python_inputs_are_refused_in_one_line_and_write_nothing(tmp_path, monkeypatch, call, expected):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlflow.db"
    options = SweepOptions(tracking_uri=f"sqlite:///{store}", executor="inprocess", progress=False, report=False)
    with pytest.raises(FitcheckError) as error:
        run_sweep(call.pop("spec"), options, **call)
    assert str(error.value) == expected
    assert not store.exists() and not (tmp_path / "mlruns").exists()


# -- slow: whole sweeps on a real tracking server ---------------------------------------------------
def _trial_runs(client: MlflowClient, parent_id: str):
    parent = client.get_run(parent_id)
    return client.search_runs([parent.info.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")


def _contexts(run) -> dict[str, dict]:
    return {next(tag.value for tag in dataset_input.tags if tag.key == names.DATASET_CONTEXT_TAG):
            json.loads(dataset_input.dataset.profile) for dataset_input in run.inputs.dataset_inputs}


@pytest.mark.slow
def test_a_module_builder_trains_in_worker_processes_on_explicit_sets(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = moons_frame()
    X, y = frame[["x1", "x2"]].to_numpy(), (frame["churned"] == "yes").to_numpy().astype(int)
    options = SweepOptions(tracking_uri=mlflow_server.uri, experiment="api-sets", workers=2, progress=False)
    result = run_sweep({"grid": GRID, "reference_error": 0.05}, options,
                       data={"train": (X[:180], y[:180]), "validation": (X[180:], y[180:])}, build_model=small_mlp)

    trials = result.trials
    assert list(trials["units"]) == [4, 16] and list(trials["model"]) == ["test_api:small_mlp"] * 2
    assert list(trials[names.N_PARAMETERS_PARAM]) == [mlp_parameters(4), mlp_parameters(16)]
    assert (trials["status"] == "FINISHED").all() and result.n_val == 60
    client = MlflowClient(mlflow_server.uri)
    runs = {run.info.run_id: run for run in _trial_runs(client, result.parent_run_id)}
    for row in trials.itertuples():
        run = runs[row.run_id]
        assert run.data.tags[names.DIAGNOSIS_TAG] == row.label
        assert run.data.params["units"] == str(row.units) and run.data.params["model"] == "test_api:small_mlp"
        assert len(client.get_metric_history(row.run_id, "val_error")) == 4
    parent = client.get_run(result.parent_run_id)
    assert {context: profile["num_rows"] for context, profile in _contexts(parent).items()} == {
        names.TRAINING_CONTEXT: 180, names.VALIDATION_CONTEXT: 60}
    assert result.report_path is not None and result.report_path.exists()


NOTEBOOK = '''
import keras, numpy as np, pandas as pd
from sklearn.datasets import make_moons
from pipeline import SweepOptions, run_sweep

X, y = make_moons(240, noise=0.2, random_state=0)
frame = pd.DataFrame(X, columns=["x1", "x2"]).assign(churned=np.where(y == 1, "yes", "no"))

def build(hp, input_shape, task, n_outputs):
    inputs = keras.Input(shape=input_shape)
    hidden = keras.layers.Dense(hp["units"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation="sigmoid")(hidden))

spec = {"experiment": "api-notebook", "grid": {"units": [4, 16], "epochs": 4, "learning_rate": 0.05}}
result = run_sweep(spec, SweepOptions(tracking_uri=URI, workers=2, progress=False), data=(frame, "churned"),
                   build_model=build)
print(result.trials[["units", "label", "n_parameters", "run_id"]].to_json(orient="records"))
'''


@pytest.mark.slow
def test_a_notebook_function_and_dataframe_sweep_in_worker_processes(mlflow_server, tmp_path):
    """The code runs as a notebook's does: ``__main__`` without a file, so the workers cannot import it."""
    code = f"URI = {mlflow_server.uri!r}\n" + textwrap.dedent(NOTEBOOK)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(row["units"], row["n_parameters"]) for row in rows] == [(4, mlp_parameters(4)), (16, mlp_parameters(16))]
    client = MlflowClient(mlflow_server.uri)
    for row in rows:
        run = client.get_run(row["run_id"])
        assert (run.info.status, run.data.tags[names.DIAGNOSIS_TAG]) == ("FINISHED", row["label"])
        assert run.data.params["model"] == "__main__:build"


@pytest.mark.slow
def test_the_digits_cnn_spec_trains_a_convolutional_network_on_images(mlflow_server, tmp_path, monkeypatch):
    """experiments/digits_cnn.yaml, its grid cut to adam and 8 epochs to keep the test short."""
    from pipeline.sweep import Sweep

    monkeypatch.chdir(tmp_path)
    path = ROOT / "experiments" / "digits_cnn.yaml"
    raw = load_spec(path).model_dump(mode="json", exclude_unset=True)
    raw["grid"] = {"filters": [8], "depth": [1, 2], "dropout": [0.0], "optimizer": ["adam"], "epochs": [8],
                   **{key: raw["grid"][key] for key in ("loss", "learning_rate", "batch_size")}}
    spec = parse_spec(raw, source=str(path))
    options = SweepOptions(tracking_uri=mlflow_server.uri, experiment="api-digits", workers=2, progress=False)
    result = Sweep(spec, options, spec_path=str(path)).run()

    trials = result.trials
    assert list(trials["depth"]) == [1, 2] and (trials["status"] == "FINISHED").all()
    # conv 3x3x1x8 + 8, [conv 3x3x8x16 + 16], dense to 10 classes from the flattened 4x4x8 or 2x2x16
    assert list(trials[names.N_PARAMETERS_PARAM]) == [80 + 128 * 10 + 10, 80 + 1168 + 64 * 10 + 10]
    assert (trials["best_val_error"] < 0.15).all(), trials.to_string()
    client = MlflowClient(mlflow_server.uri)
    contexts = _contexts(client.get_run(result.parent_run_id))
    assert contexts[names.TRAINING_CONTEXT]["features_shape"] == [1347, 8, 8, 1]
    assert contexts[names.VALIDATION_CONTEXT]["features_shape"] == [450, 8, 8, 1]
    assert client.get_run(result.parent_run_id).data.params[names.INPUT_SHAPE_PARAM] == "8x8x1"
    report = result.report_path.read_text()
    assert "filters" in report and "inputs 8×8×1" in report and "64 features" not in report


@pytest.mark.slow
def test_a_module_builder_trains_on_ray_actors(mlflow_server, tmp_path, monkeypatch):
    """Ray actors cannot import this test module: the builder reaches them by value."""
    pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    frame = moons_frame()
    options = SweepOptions(tracking_uri=mlflow_server.uri, experiment="api-ray", executor="ray", workers=2,
                           progress=False, report=False)
    result = run_sweep({"grid": {**GRID, "epochs": [2]}, "reference_error": 0.05}, options,
                       data=(frame[["x1", "x2"]].to_numpy(), frame["churned"].to_numpy()), build_model=small_mlp)
    assert [record.outcome.error for record in result.records] == [None, None]
    assert list(result.trials[names.N_PARAMETERS_PARAM]) == [mlp_parameters(4), mlp_parameters(16)]


@pytest.mark.slow
def test_a_builder_sweep_resumes_and_images_train_fitchecks_own_mlp(tmp_path, monkeypatch):
    """In this process: a second call skips the finished builder trials; images go through a Flatten."""
    from pipeline.executors import InProcessExecutor
    from pipeline.sweep import Sweep
    from pipeline.tracking import SweepTracker

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = SweepOptions(tracking_uri=uri, executor="inprocess", progress=False, report=False)
    spec = {"grid": {**GRID, "epochs": [2]}, "reference_error": 0.05}
    first = run_sweep(spec, options, data=(moons_frame(), "churned"), build_model=small_mlp)
    again = run_sweep(spec, options, data=(moons_frame(), "churned"), build_model=small_mlp)
    assert (len(first.records), again.parent_run_id, again.n_skipped, len(again.records)) == (
        2, first.parent_run_id, 2, 0)

    images = parse_spec({"dataset": {"sklearn": "digits", "as_images": True}, "reference_error": 0.02,
                         "grid": {"depth": [1], "width": [8], "epochs": [2], "loss": ["sparse_categorical_crossentropy"]}},
                        source="images.yaml")
    result = Sweep(images, options, tracker=SweepTracker(uri, settle_seconds=0), executor=InProcessExecutor()).run()
    assert [r.outcome.status for r in result.records] == ["FINISHED"]
    assert result.trials[names.N_PARAMETERS_PARAM].tolist() == [64 * 8 + 8 + 8 * 10 + 10]


@pytest.mark.slow
def test_tensorflow_loading_for_a_builder_check_writes_nothing_to_the_terminal():
    """Importing a builder's module loads TensorFlow in the sweep's process; its C++ start-up lines
    (oneDNN, absl), which ignore TF_CPP_MIN_LOG_LEVEL, are hidden unless --verbose."""
    import subprocess
    import sys

    code = ("from pipeline.training._train import native_logs_hidden\n"
            "with native_logs_hidden():\n"
            "    import tensorflow as tf\n"
            "    tf.reduce_sum([1.0]).numpy()\n"
            "print('loaded')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "loaded\n", "")
