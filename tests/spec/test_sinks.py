"""Every name and value a spec accepts is accepted by the sinks it reaches: MLflow keys, run names, plots.

Hypothesis generates the family (names with any character, paths, long names, control characters);
each one is either refused by the spec in one line or accepted by MLflow's own rules and drawn.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException
from mlflow import MlflowClient
from mlflow.utils.validation import _validate_metric_name, _validate_param_name

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.runs._plots import curve_plot_png
from pipeline.search import TrialConfig, expand_grid, varying_axes
from pipeline.spec import parse_spec
from pipeline.spec._sinks import MAX_RUN_NAME_CHARS, capped, control_character

HOSTILE = st.text(alphabet=st.sampled_from(string.ascii_letters + string.digits + "_-./ <>$\\:%&[]{}\x1b\n\r\t\u202e\x85é"),
                  min_size=1, max_size=300)


def _builder_spec(hyperparameters: dict) -> dict:
    return {"dataset": {"synthetic": "moons"}, "model": "m:build", "grid": hyperparameters}


def _mlflow_accepts(check, value) -> bool:
    try:
        check(value)
    except MlflowException:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=HOSTILE)
def test_a_hyperparameter_name_the_spec_accepts_is_an_mlflow_param_name(name):
    try:
        parse_spec(_builder_spec({name: [1]}), source="s.yaml")
    except FitcheckError as error:
        assert str(error).startswith("s.yaml: grid") and "\n" not in str(error)
        return
    assert _mlflow_accepts(_validate_param_name, name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=HOSTILE)
def test_a_hyperparameter_value_the_spec_accepts_makes_a_run_name_and_learning_curve_key_mlflow_accepts(value):
    try:
        spec = parse_spec(_builder_spec({"units": [value, "other"]}), source="s.yaml")
    except FitcheckError as error:
        assert "control characters" in str(error) and "\n" not in str(error)
        assert control_character(value)
        return
    grid = spec.grids[0]
    config = TrialConfig(0, 0, "none", "binary_crossentropy", "adam", 0.01, 32, 2, 0, model="m:build",
                         hyperparameters=(("units", grid.hyperparameters["units"][0]),))
    name = config.name(["units"])
    assert len(name) <= MAX_RUN_NAME_CHARS and not control_character(name)
    key = names.learning_curve_metric(names.LC_VAL_PREFIX, "binary", name)
    assert _mlflow_accepts(_validate_metric_name, key) and len(key) <= 250


def test_long_names_are_capped_with_a_hash_that_keeps_them_apart():
    long = "x" * 400
    assert len(capped(long)) == MAX_RUN_NAME_CHARS and capped(long) != capped(long + "y")
    assert capped("d2w32") == "d2w32"


def test_many_varying_axes_give_a_run_name_postgresql_stores():
    spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {
        "depth": [1, 2], "width": [8, 16], "activation": ["relu", "tanh"], "optimizer": ["sgd", "adam"],
        "learning_rate": [0.001, 0.01], "batch_size": [16, 32], "epochs": [2, 3], "l2": [0.0, 0.001],
        "dropout": [0.0, 0.1], "seeds": [0, 1]}}, source="s.yaml")
    trials = expand_grid(spec.grids, task="binary", skip_invalid=False).trials
    varying = varying_axes(trials)
    assert len(varying) == 10 and len({config.name(varying) for config in trials}) == len(trials)
    assert all(len(config.name(varying)) <= MAX_RUN_NAME_CHARS for config in trials)


@pytest.mark.parametrize("title", ["act$\\badcmd$", "$x^{$", "a$b", "\\frac{1}{0}$$"])
def test_plots_draw_names_with_dollars_and_backslashes_as_text(title):
    png = curve_plot_png({"train_error": [0.3, 0.2], "val_error": [0.31, 0.25], names.TRAIN_LOSS: [0.7, 0.6],
                          names.VAL_LOSS: [0.71, 0.65]}, task="binary", title=title, label=names.GOOD_FIT)
    assert png.startswith(b"\x89PNG")


def test_a_real_store_takes_the_capped_name_the_key_and_the_param_of_a_hostile_value(tmp_path):
    value = "act<x>/../" + "$\\badcmd$" * 40
    spec = parse_spec(_builder_spec({"units": [value, "b"]}), source="s.yaml")
    config = TrialConfig(0, 0, "none", "binary_crossentropy", "adam", 0.01, 32, 2, 0, model="m:build",
                         hyperparameters=(("units", spec.grids[0].hyperparameters["units"][0]),))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.create_run(client.create_experiment("sinks"), run_name=config.name(["units"]))
    client.log_param(run.info.run_id, "units", value)
    client.log_metric(run.info.run_id, names.learning_curve_metric(names.LC_VAL_PREFIX, "binary",
                                                                   config.name(["units"])), 0.1, step=100)
    logged = client.get_run(run.info.run_id)
    assert logged.data.params["units"] == value and len(logged.info.run_name) == MAX_RUN_NAME_CHARS
