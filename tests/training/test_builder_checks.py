"""A model builder's checks before anything is written (issue 22, family 2): output activations against the
task and loss, nested models looked through, compiled models and unread grid keys warned about, builders
without hyperparameters, the default loss by task; and, through ``run_sweep`` on SQLite, every sampler's
refusal leaves nothing RUNNING.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import FitcheckError
from pipeline.search import TrialConfig
from pipeline.training._builders import accepted_activations, check_and_count, model_head

keras = pytest.importorskip("keras")

CASES = [("binary", "binary_crossentropy", 1), ("binary", "mse", 1), ("binary", "hinge", 1),
         ("binary", "categorical_crossentropy", 2), ("multiclass", "sparse_categorical_crossentropy", 3),
         ("multiclass", "mse", 3), ("regression", "mse", 1), ("regression", "huber", 1)]
ACTIVATIONS = ["sigmoid", "softmax", "linear", "relu", "tanh", "elu", "softplus"]


def dense(units: int, activation: str, *, wrap: int = 0, tail: bool = False):
    """Dense(units, activation) on 4 inputs, inside ``wrap`` outer Sequentials, with a Dropout after it."""
    model = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(units, activation=activation),
                              *([keras.layers.Dropout(0.1)] if tail else [])])
    for _ in range(wrap):
        model = keras.Sequential([model])
    return keras.Sequential([keras.Input((4,)), model])


@pytest.mark.parametrize(("task", "loss", "units"), CASES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("wrap", "tail"), [(0, False), (2, True)])
def test_an_output_activation_is_accepted_only_where_the_task_and_loss_can_read_it(task, loss, units, activation,
                                                                                   wrap, tail):
    model = dense(units, activation, wrap=wrap, tail=tail)
    accepted = accepted_activations(task, loss, units)
    if activation in accepted:
        head, from_logits = model_head(model, task=task, loss=loss, n_classes=max(units, 2), model_name="model m:f")
        assert from_logits == (activation == "linear" and "crossentropy" in loss)
        return
    with pytest.raises(FitcheckError) as error:
        model_head(model, task=task, loss=loss, n_classes=max(units, 2), model_name="model m:f")
    assert str(error.value) == (f"model m:f: output activation '{activation}' cannot be read for a {task} task with "
                                f"loss {loss}; accepted: {' or '.join(accepted)} (linear: no activation)")


def test_a_relu_binary_output_is_refused_in_one_line():
    with pytest.raises(FitcheckError, match=r"^model m:f: output activation 'relu' cannot be read for a binary task "
                                            r"with loss binary_crossentropy; accepted: sigmoid or linear"):
        model_head(dense(1, "relu"), task="binary", loss="binary_crossentropy", n_classes=2, model_name="model m:f")


@pytest.mark.parametrize("wrap", [1, 2, 3])
def test_a_sigmoid_inside_outer_sequentials_is_read_as_a_probability_not_a_logit(wrap):
    head, from_logits = model_head(dense(1, "sigmoid", wrap=wrap, tail=True), task="binary",
                                   loss="binary_crossentropy", n_classes=2, model_name="model m:f")
    assert (head.activation, from_logits) == ("sigmoid", False)
    assert head.decode(np.array([[0.4], [0.6]])).tolist() == [0, 1]


def builder(hp, input_shape, task, n_outputs):
    """Reads ``units`` only; compiles its model when ``hp`` says so."""
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Dense(hp.get("units", 2)),
                              keras.layers.Dense(n_outputs, activation="sigmoid")])
    return model


def compiled_builder(hp, input_shape, task, n_outputs):
    model = builder(hp, input_shape, task, n_outputs)
    model.compile("sgd", "mse")
    return model


def configs(**hyperparameters):
    names = sorted(hyperparameters)
    from itertools import product

    return [TrialConfig(0, 0, "none", "binary_crossentropy", "adam", 0.01, 32, 1, 0, model="t:builder",
                        hyperparameters=tuple(zip(names, values)))
            for values in product(*(hyperparameters[name] for name in names))]


def test_a_grid_key_the_builder_never_reads_is_warned_about_once():
    warnings: list[str] = []
    counts = check_and_count(builder, configs(units=[2, 4], seedling=[1, 2, 3]), input_shape=(4,), task="binary",
                             n_classes=2, model_name="model t:builder", warnings=warnings)
    assert len(counts) == 6
    assert warnings == ["model t:builder: grid key 'seedling' is never read by the builder (hp['seedling']), so its "
                        "values only repeat the same model; training axes: loss, optimizer, learning_rate, "
                        "batch_size, epochs, seeds, train_size"]


def test_a_compiled_model_is_warned_about_once_and_a_builder_without_hyperparameters_counts():
    warnings: list[str] = []
    counts = check_and_count(compiled_builder, configs() * 3, input_shape=(4,), task="binary", n_classes=2,
                             model_name="model t:compiled", warnings=warnings)
    assert list(counts) == [((), "binary_crossentropy")]
    assert warnings == ["model t:compiled: returns a compiled model; fitcheck compiles it again with each trial's "
                        "loss, optimizer and learning_rate (its own compile settings are not used)"]
    assert configs()[0].params()["model"] == "t:builder"  # no hyperparameters: params still complete


# -- through run_sweep, against a SQLite store -----------------------------------------------------------
def relu_output(hp, input_shape, task, n_outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(hp["units"]),
                             keras.layers.Dense(n_outputs, activation="relu")])


def zero_units_fail(hp, input_shape, task, n_outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(hp["units"]),
                             keras.layers.Dense(n_outputs)])


def plain(hp, input_shape, task, n_outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(n_outputs)])


def _frame(kind: str):
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    loader = {"binary": load_breast_cancer, "multiclass": load_wine, "regression": load_diabetes}[kind]
    return loader(as_frame=True).frame.sample(120, random_state=0)


def _options(tmp_path):
    from pipeline.sweep import SweepOptions

    return SweepOptions(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", executor="inprocess", progress=False,
                        report=False)


def _statuses(tmp_path) -> list[str]:
    if not (tmp_path / "mlflow.db").exists():
        return []
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return [run.info.status for run in client.search_runs([e.experiment_id for e in client.search_experiments()])]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["grid", "random", "tpe"])
@pytest.mark.parametrize(("build", "grid", "expected"), [
    (relu_output, {"units": [2, 4]}, r"^model test_builder_checks:relu_output: output activation 'relu' cannot be "
                                     r"read for a binary task with loss binary_crossentropy; accepted: sigmoid or linear"),
    (zero_units_fail, {"units": [4, 0]}, r"^model test_builder_checks:zero_units_fail: building it with "
                                         r"hp=\{'units': 0\} raised ValueError"),
    (plain, {"train_size": [100_000]}, r"^spec \(dict\): grid.train_size must be at most the \d+ rows"),
])
def test_every_sampler_refuses_a_bad_builder_before_anything_is_written(tmp_path, monkeypatch, method, build, grid,
                                                                         expected):
    from pipeline.sweep import run_sweep

    monkeypatch.chdir(tmp_path)
    search = {} if method == "grid" else {"search": {"method": method, "n_trials": 1}}
    with pytest.raises(FitcheckError, match=expected):
        run_sweep({"grid": {"epochs": [1], **grid}, **search}, _options(tmp_path), data=(_frame("binary"), "target"),
                  build_model=build)
    assert "RUNNING" not in _statuses(tmp_path) and not _statuses(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "loss"), [("multiclass", "sparse_categorical_crossentropy"), ("regression", "mse")])
def test_without_a_loss_the_task_chooses_it_and_a_builder_needs_no_hyperparameters(tmp_path, monkeypatch, task,
                                                                                   loss):
    from pipeline.sweep import run_sweep

    monkeypatch.chdir(tmp_path)
    result = run_sweep({"grid": {"learning_rate": [0.01], "epochs": [1]}}, _options(tmp_path),
                       data=(_frame(task), "target"), build_model=plain if task == "regression" else _softmax)
    from mlflow import MlflowClient

    assert result.n_trials == 1 and _statuses(tmp_path) == ["FINISHED", "FINISHED"]
    trial = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(result.trials["run_id"].iloc[0])
    assert trial.data.params["loss"] == loss


def _softmax(hp, input_shape, task, n_outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(n_outputs, activation="softmax")])
