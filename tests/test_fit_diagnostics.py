"""``FitDiagnostics`` in a plain Keras training loop: History, MLflow, online stopping, reuse,
output conventions and an unreachable tracking server."""

from __future__ import annotations

import os
import time
import warnings

import mlflow
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from pipeline.diagnostics import LABELS, replay_keras_early_stopping  # noqa: E402
from pipeline.fit_diagnostics import FitDiagnostics  # noqa: E402
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


def test_logs_to_the_active_mlflow_run(tmp_path):
    X, y, X_val, y_val = _data()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/m.db")
    with mlflow.start_run() as run:
        _model().fit(X, y, epochs=4, batch_size=32, verbose=0,
                     callbacks=[FitDiagnostics((X, y), (X_val, y_val), task="binary", reference_error=0.15)])
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/m.db")
    logged = client.get_run(run.info.run_id)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_error")] == [1, 2, 3, 4]
    assert logged.data.tags["diagnosis"] in LABELS and "recommended_epochs" in logged.data.metrics
    assert "diagnosis.json" in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_stop_halts_an_overfitting_run_early_and_restores_the_recommended_weights():
    X, y, X_val, y_val = _data(n=240)
    callback = FitDiagnostics((X, y), (X_val, y_val), task="binary", stop=True, patience=5, log_to_mlflow=False)
    model = _model()
    model.fit(X, y, epochs=200, batch_size=16, verbose=0, callbacks=[callback])
    assert callback.stopped_epoch is not None and callback.stopped_epoch < 200
    restored_error = float(np.mean((model.predict(X_val, verbose=0)[:, 0] > 0.5) != y_val))
    val_curve = callback._evaluation.curves["val_error"]
    assert callback.restored_epoch <= callback.stopped_epoch
    assert restored_error == pytest.approx(val_curve[callback.restored_epoch - 1], abs=1e-9)


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


def test_the_recommended_early_stopping_settings_restore_the_epoch_their_replay_promises():
    X, y, X_val, y_val = _data(n=240)
    measured = FitDiagnostics((X, y), (X_val, y_val), task="binary", log_to_mlflow=False)
    _model().fit(X, y, epochs=15, batch_size=16, verbose=0, callbacks=[measured])
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
