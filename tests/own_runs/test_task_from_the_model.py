"""A user's autolog run logs plain "accuracy": its task comes from the model's output units, not the name."""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("classes, expected", [(10, "multiclass"), (2, "binary")])
def test_an_autolog_run_with_plain_accuracy_gets_the_task_its_output_has(tmp_path, classes, expected):
    import keras
    import mlflow
    import numpy as np

    import pipeline

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("users")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 8)).astype("float32"), rng.integers(0, classes, 200)
    units, loss = (classes, "sparse_categorical_crossentropy") if classes > 2 else (1, "binary_crossentropy")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(units, activation="softmax" if units > 1 else
                                                                    "sigmoid")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    mlflow.keras.autolog(log_models=False, silent=True)
    try:
        with mlflow.start_run() as run:
            model.fit(X[:150], y[:150], validation_data=(X[150:], y[150:]), epochs=3, batch_size=32, verbose=0)
    finally:
        mlflow.keras.autolog(disable=True)
    assert "accuracy" in mlflow.get_run(run.info.run_id).data.metrics  # the name alone tells no class count
    diagnosed = pipeline.diagnose_run(run.info.run_id, tracking_uri=uri)
    assert diagnosed.diagnosis.task == expected
