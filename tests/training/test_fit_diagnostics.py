"""``FitDiagnostics`` in a plain Keras training loop: History, MLflow, online stopping, reuse,
output conventions and an unreachable tracking server."""

from __future__ import annotations

import json
import os
import time
import warnings

import mlflow
import numpy as np
import pytest
from click.testing import CliRunner

keras = pytest.importorskip("keras")

from pipeline.cli import main  # noqa: E402
from pipeline.diagnostics import LABELS, advice_contradictions, replay_keras_early_stopping  # noqa: E402
from pipeline.fit_diagnostics import FitDiagnostics  # noqa: E402
from pipeline.runs import curves_frame  # noqa: E402
from tracking_server import free_port  # noqa: E402


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype("float32")
    y = ((X[:, 0] * X[:, 1] > 0) ^ (rng.random(n) < 0.15)).astype("float32")
    return X[: n // 2], y[: n // 2], X[n // 2:], y[n // 2:]


def _model(units=1, activation="sigmoid", loss="binary_crossentropy", metrics=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=metrics)
    return model


def test_history_holds_end_of_epoch_errors_and_a_diagnosis(tmp_path):
    X, y, X_val, y_val = _data()
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", reference_error=0.15, log_to_mlflow=False)
    history = _model().fit(X, y, epochs=6, batch_size=32, verbose=0, callbacks=[callback])
    assert len(history.history["train_error"]) == 6 and len(history.history["val_error"]) == 6
    assert all(0 <= e <= 1 for e in history.history["train_error"])
    assert callback.diagnosis.label in LABELS and 1 <= callback.diagnosis.recommended_epochs <= 6


@pytest.mark.slow
def test_logs_sizes_task_curves_and_diagnosis_to_the_active_mlflow_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # artifacts land here
    X, y, X_val, y_val = _data(n=300)
    store = f"sqlite:///{tmp_path}/m.db"
    mlflow.set_tracking_uri(store)
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", reference_error=0.15)
    with mlflow.start_run() as run:
        history = _model().fit(X, y, epochs=4, batch_size=32, verbose=0, callbacks=[callback])
    client = mlflow.MlflowClient(store)
    logged = client.get_run(run.info.run_id)
    # what `fitcheck diagnose --run-id` reads instead of --n-train, --n-val and --task
    assert logged.data.params == {"n_train": "150", "n_val": "150", "task": "binary"}
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_error")] == [1, 2, 3, 4]
    assert logged.data.tags["diagnosis"] == callback.diagnosis.label
    assert logged.data.metrics["recommended_epochs"] == callback.diagnosis.recommended_epochs
    assert logged.data.metrics["final_val_error"] == history.history["val_error"][-1] == callback.diagnosis.val_metric
    assert logged.data.metrics["final_train_error"] == history.history["train_error"][-1]
    assert "diagnosis.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
    # `fitcheck diagnose --run-id` needs no --n-train, --n-val or --task on such a run
    result = CliRunner().invoke(main, ["diagnose", "--run-id", run.info.run_id, "--tracking-uri", store,
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["sizes"] == {"n_train": 150, "n_train_from": "param n_train", "n_val": 150,
                                "n_val_from": "param n_val"}
    assert (payload["task"], payload["epochs_run"]) == ("binary", 4)


@pytest.mark.slow
def test_stop_leaves_the_recommended_epoch_and_the_diagnosis_and_summary_describe_that_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y, X_val, y_val = _data(n=240)
    store = f"sqlite:///{tmp_path}/m.db"
    mlflow.set_tracking_uri(store)
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", reference_error=0.15, stop=True, patience=5)
    model = _model(metrics=["accuracy"])
    with mlflow.start_run() as run:
        history = model.fit(X, y, epochs=200, batch_size=16, verbose=0, validation_data=(X_val, y_val),
                            callbacks=[callback])
    diagnosis = callback.diagnosis
    # it stopped where the online rule fired and went back to an earlier epoch: the one recommended
    assert len(history.history["val_error"]) == callback.stopped_epoch == diagnosis.epochs_run < 200
    assert diagnosis.recommended_epochs == callback.restored_epoch < callback.stopped_epoch
    # the diagnosis describes the model fit left behind, measured again here
    restored_val_error = 1 - model.evaluate(X_val, y_val, verbose=0)[1]
    restored_train_error = 1 - model.evaluate(X, y, verbose=0)[1]
    assert diagnosis.val_metric == pytest.approx(restored_val_error, abs=1e-6)
    assert diagnosis.train_metric == pytest.approx(restored_train_error, abs=1e-6)
    assert diagnosis.val_metric != history.history["val_error"][-1]  # not the last epoch trained
    assert diagnosis.label == diagnosis.label_at_recommended
    assert "stop early" not in diagnosis.advice.lower()
    assert advice_contradictions(diagnosis, curves_frame(callback._evaluation.curves)) == []
    logged = mlflow.MlflowClient(store).get_run(run.info.run_id).data
    assert logged.metrics["final_val_error"] == diagnosis.val_metric
    assert logged.metrics["final_train_error"] == diagnosis.train_metric
    assert logged.metrics["recommended_epochs"] == callback.restored_epoch
    assert logged.tags["diagnosis"] == diagnosis.label


@pytest.mark.slow
def test_stop_at_a_divergence_restores_the_recommended_finite_epoch():
    X, _, X_val, _ = _data(n=200)
    target, target_val = X[:, 0] * 2.0, X_val[:, 0] * 2.0
    model = _model(1, None, "mse")
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")  # explodes at epoch 10
    callback = FitDiagnostics((X, target), (X_val, target_val), task="regression", stop=True, log_to_mlflow=False)
    model.fit(X, target, epochs=30, batch_size=16, verbose=0, callbacks=[callback])
    diagnosis = callback.diagnosis
    assert diagnosis.diverged_epoch == callback.stopped_epoch == 10  # the training loss exploded
    assert diagnosis.recommended_epochs == callback.restored_epoch < 10
    predicted = model.predict(X_val, verbose=0)[:, 0].astype("float64")
    assert diagnosis.val_metric == pytest.approx(np.sqrt(np.mean((predicted - target_val) ** 2)), abs=1e-6)
    assert diagnosis.label != "diverged"  # the model kept is finite


def test_bad_arguments_name_the_class_and_value():
    with pytest.raises(ValueError, match="FitDiagnostics: task must be"):
        FitDiagnostics((None, None), (None, None), task="ranking")
    with pytest.raises(ValueError, match="patience must be at least 1 but got 0"):
        FitDiagnostics((None, None), (None, None), task="binary", patience=0)


def test_a_reused_callback_describes_only_the_latest_fit():
    X, y, X_val, y_val = _data(n=240)
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", stop=True, patience=5, log_to_mlflow=False)
    model = _model()
    model.fit(X, y, epochs=200, batch_size=16, verbose=0, callbacks=[callback])
    first_stop = callback.stopped_epoch
    assert first_stop is not None and callback.restored_epoch is not None
    # three more epochs cannot trigger a patience of 5: nothing of the first fit may survive
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback])
    assert (callback.stopped_epoch, callback.restored_epoch) == (None, None)
    assert callback.diagnosis.epochs_run == 3
    assert {name: len(values) for name, values in callback._evaluation.curves.items()} == {
        name: 3 for name in ("train_loss_running", "train_loss", "val_loss", "train_error", "val_error")}
    assert history.history["val_error"] == callback._evaluation.curves["val_error"]


@pytest.mark.slow
def test_stop_holds_only_the_weights_it_may_restore_and_forgets_them_between_fits():
    """Like Keras' EarlyStopping, a bounded number of weight copies, not one per epoch; state resets per fit."""
    X, y, X_val, y_val = _data(n=240)
    # a patience of 20 trains at least 21 epochs: more than the rule ever holds open
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", stop=True, patience=20, log_to_mlflow=False)
    stops = []
    for _ in range(2):  # the same callback, the same training twice: nothing of the first fit may count
        model, weights, held = _model(), [], []
        record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
        count = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: held.append(callback._stopping.n_weight_copies))
        model.fit(X, y, epochs=200, batch_size=16, verbose=0, callbacks=[record, callback, count])
        stops.append((callback.stopped_epoch, callback.restored_epoch))
        assert callback.stopped_epoch == len(weights) and callback.restored_epoch < callback.stopped_epoch
        rule = callback._stopping.rule  # the recommendation rule: window 5, patience 10
        assert max(held[:-1]) <= rule.patience + rule.window // 2 < callback.stopped_epoch
        assert callback._stopping.n_weight_copies == 0  # none outlive the fit
        for restored, kept in zip(model.get_weights(), weights[callback.restored_epoch - 1]):
            np.testing.assert_array_equal(restored, kept)
    assert stops[0] == stops[1]


@pytest.mark.slow
def test_the_recommended_early_stopping_settings_restore_the_epoch_their_replay_promises():
    X, y, X_val, y_val = _data(n=240)
    measured = FitDiagnostics((X, y), (X_val, y_val), task="binary", log_to_mlflow=False)
    _model(metrics=["accuracy"]).fit(X, y, epochs=15, batch_size=16, verbose=0, validation_data=(X_val, y_val),
                                     callbacks=[measured])
    settings = measured.diagnosis.early_stopping
    val_error = measured._evaluation.curves["val_error"]
    trained, restored = replay_keras_early_stopping(np.asarray(val_error), patience=settings["patience"],
                                                    min_delta=settings["min_delta"])
    assert settings["monitor"] == "val_accuracy" and restored < trained
    # the same training again, stopped by Keras with exactly those settings
    model = _model(metrics=["accuracy"])
    weights = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    again = FitDiagnostics((X, y), (X_val, y_val), task="binary", log_to_mlflow=False)
    model.fit(X, y, epochs=15, batch_size=16, verbose=0, validation_data=(X_val, y_val),
              callbacks=[again, keep, keras.callbacks.EarlyStopping(**settings)])
    assert again._evaluation.curves["val_error"] == val_error[:trained]
    assert len(weights) == trained
    for restored_weight, kept_weight in zip(model.get_weights(), weights[restored - 1]):
        np.testing.assert_array_equal(restored_weight, kept_weight)


def _rmse_model():
    model = _model(1, None, "mse")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=[keras.metrics.RootMeanSquaredError()])
    return model


@pytest.mark.slow
@pytest.mark.parametrize(("task", "build", "validation_data", "monitor"), [
    ("binary", lambda: _model(metrics=["accuracy"]), True, "val_accuracy"),
    ("binary", _model, False, "val_error"),
    # Keras' "accuracy" reads a logit at 0.5, not 0: not fitcheck's error, so not suggested
    ("binary", lambda: _model(1, None, keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"]),
     True, "val_error"),
    ("regression", _rmse_model, True, "val_root_mean_squared_error"),
], ids=["keras-accuracy", "no-validation-data", "logits", "keras-rmse"])
def test_the_suggested_monitor_exists_in_the_logs_of_the_users_fit(task, build, validation_data, monitor):
    X, y, X_val, y_val = _data(n=300)
    if task == "regression":
        y, y_val = X[:, 0] * 2.0, X_val[:, 0] * 2.0
    fit = dict(epochs=6, batch_size=32, verbose=0, validation_data=(X_val, y_val) if validation_data else None)
    callback = FitDiagnostics((X, y), (X_val, y_val), task=task, log_to_mlflow=False)
    history = build().fit(X, y, callbacks=[callback], **fit)
    settings = callback.diagnosis.early_stopping
    assert settings["monitor"] == monitor and monitor in history.history
    # the same fit again, stopped by Keras with those settings: Keras' own names need no fitcheck
    # callback; fitcheck's need FitDiagnostics listed before the EarlyStopping
    again = [] if monitor.startswith("val_r") or monitor == "val_accuracy" else [
        FitDiagnostics((X, y), (X_val, y_val), task=task, log_to_mlflow=False)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = build().fit(X, y, callbacks=[*again, keras.callbacks.EarlyStopping(**settings)], **fit)
    assert not [w for w in caught if "which is not available" in str(w.message)]
    assert monitor in history.history


@pytest.mark.parametrize(("units", "activation", "loss", "encode", "read"), [
    (1, "sigmoid", "binary_crossentropy", lambda y: y, lambda out: out[:, 0] > 0.5),
    (1, None, "hinge", lambda y: 2 * y - 1, lambda out: out[:, 0] > 0),
    (1, None, keras.losses.BinaryCrossentropy(from_logits=True), lambda y: y, lambda out: out[:, 0] > 0),
    (2, "softmax", "sparse_categorical_crossentropy", lambda y: y.astype("int64"), lambda out: out.argmax(1)),
    (2, "softmax", "categorical_crossentropy", lambda y: np.eye(2)[y.astype("int64")], lambda out: out.argmax(1)),
], ids=["sigmoid", "margin", "logit", "softmax-index", "softmax-one-hot"])
def test_each_supported_output_convention_is_read_as_documented(units, activation, loss, encode, read):
    X, y, X_val, y_val = _data(n=200)
    callback = FitDiagnostics((X, encode(y)), (X_val, encode(y_val)), task="binary", log_to_mlflow=False)
    model = _model(units, activation, loss)
    history = model.fit(X, encode(y), epochs=2, batch_size=32, verbose=0, callbacks=[callback])
    val_error = float(np.mean(read(model.predict(X_val, verbose=0)) != y_val))
    assert history.history["val_error"][-1] == val_error
    assert np.isfinite(history.history["val_loss"]).all()


def test_regression_reports_the_rmse_of_the_single_output():
    X, y, X_val, y_val = _data(n=200)
    target, target_val = X[:, 0] * 2.0, X_val[:, 0] * 2.0
    callback = FitDiagnostics((X, target), (X_val, target_val), task="regression", log_to_mlflow=False)
    model = _model(1, None, "mse")
    history = model.fit(X, target, epochs=2, batch_size=32, verbose=0, callbacks=[callback])
    predicted = model.predict(X_val, verbose=0)[:, 0].astype("float64")
    assert history.history["val_rmse"][-1] == pytest.approx(np.sqrt(np.mean((predicted - target_val) ** 2)), abs=1e-12)


def test_an_unsupported_output_layer_is_refused_with_the_class_name():
    X, y, X_val, y_val = _data(n=40)
    callback = FitDiagnostics((X, y), (X_val, y_val), task="multiclass", log_to_mlflow=False)
    message = "FitDiagnostics: a multiclass model must have one output unit per class but got 1."
    with pytest.raises(ValueError, match=message):
        _model().fit(X, y, epochs=1, verbose=0, callbacks=[callback])


@pytest.mark.slow
def test_an_unreachable_tracking_server_warns_once_and_training_goes_on(tmp_path):
    X, y, X_val, y_val = _data()
    store = f"sqlite:///{tmp_path}/m.db"
    mlflow.set_tracking_uri(store)
    http_settings = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    before = {name: os.environ.get(name) for name in http_settings}
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", reference_error=0.15)
    with mlflow.start_run() as run:
        mlflow.set_tracking_uri(f"http://127.0.0.1:{free_port()}")  # the server goes away mid-run
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                started = time.perf_counter()
                history = _model().fit(X, y, epochs=4, batch_size=32, verbose=0, callbacks=[callback])
                seconds = time.perf_counter() - started
        finally:
            mlflow.set_tracking_uri(store)
    failures = [w for w in caught if "FitDiagnostics: MLflow logging failed" in str(w.message)]
    assert len(failures) == 1 and failures[0].category is RuntimeWarning
    assert len(history.history["val_error"]) == 4 and callback.diagnosis.epochs_run == 4
    assert seconds < 20  # MLflow's default HTTP retries would take minutes here
    assert {name: os.environ.get(name) for name in http_settings} == before  # bounded only inside its calls
    assert mlflow.MlflowClient(store).get_run(run.info.run_id).data.metrics == {}
