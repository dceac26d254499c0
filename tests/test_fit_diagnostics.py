"""``FitDiagnostics`` in a plain Keras training loop: History, MLflow, online stopping."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from pipeline.diagnostics import LABELS  # noqa: E402
from pipeline.fit_diagnostics import FitDiagnostics  # noqa: E402


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype("float32")
    y = ((X[:, 0] * X[:, 1] > 0) ^ (rng.random(n) < 0.15)).astype("float32")
    return X[: n // 2], y[: n // 2], X[n // 2:], y[n // 2:]


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
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
