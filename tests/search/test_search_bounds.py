"""Search spaces and their bounds: a search never asks for more configurations than its space holds,
and whole-number axes draw whole numbers (issue 22, family 6).

Pure Python and Optuna: nothing trains, nothing is written.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import FitcheckError
from pipeline.search import expand_grid, make_sampler, space_size
from pipeline.spec import parse_spec

MOONS = {"dataset": {"synthetic": "moons"}}


def spec(grid: dict, *, method: str = "random", n_trials: int | None = 5, model: str | None = None):
    raw = {**MOONS, "grid": grid, "search": {"method": method, **({"n_trials": n_trials} if n_trials else {})}}
    return parse_spec({**raw, **({"model": model} if model else {})}, source="s.yaml")


def drawn(parsed, *, model: str = "") -> list:
    sampler = make_sampler(parsed, task="binary", model=model, builder=b"")
    trials = []
    while not sampler.exhausted:
        asked = sampler.ask(4)
        trials += asked
        for trial in asked:
            sampler.tell(trial, 0.5)
    return trials


mlp_grids = st.fixed_dictionaries({
    "depth": st.lists(st.integers(0, 3), min_size=1, max_size=3),
    "width": st.lists(st.sampled_from([4, 8, 16]), min_size=1, max_size=3),
    "activation": st.lists(st.sampled_from(["relu", "tanh", "elu"]), min_size=1, max_size=2),
    "dropout": st.lists(st.sampled_from([0.0, 0.1, 0.5]), min_size=1, max_size=2),
    "learning_rate": st.lists(st.sampled_from([0.1, 0.01, 1, 1.0]), min_size=1, max_size=3),
    "loss": st.lists(st.sampled_from(["binary_crossentropy", "mse", "hinge"]), min_size=1, max_size=3),
})
builder_grids = st.fixed_dictionaries({
    "units": st.lists(st.sampled_from([1, 2, 2.0, 3, True, "x"]), min_size=1, max_size=4),
    "epochs": st.lists(st.integers(1, 3), min_size=1, max_size=3),
})


@settings(max_examples=60, deadline=None)
@given(mlp_grids)
def test_the_size_of_a_list_grid_is_the_number_of_distinct_trials_it_expands_to(grid):
    parsed = spec(grid, method="grid", n_trials=None)
    assert space_size(parsed.grids, task="binary") == len(expand_grid(parsed.grids, task="binary",
                                                                      skip_invalid=False).trials)


@settings(max_examples=40, deadline=None)
@given(builder_grids)
def test_a_builders_space_is_counted_as_its_grid_expands(grid):
    parsed = spec(grid, method="grid", n_trials=None, model="m:f")
    assert space_size(parsed.grids, task="binary", model="m:f") == len(
        expand_grid(parsed.grids, task="binary", skip_invalid=False, model="m:f").trials)


@pytest.mark.parametrize("method", ["random", "tpe"])
@pytest.mark.parametrize(("grid", "size"), [
    ({"depth": [1, 2], "epochs": [1]}, 2),
    ({"depth": [0], "dropout": {"low": 0.0, "high": 0.5}, "width": {"low": 4, "high": 64}}, 1),  # depth 0: collapsed
    ({"depth": [1], "epochs": {"low": 1, "high": 3}}, 3),
    ({"depth": [1], "loss": ["binary_crossentropy", "mse"], "batch_size": [16, 32, 16]}, 4),
])
def test_more_trials_than_a_finite_space_holds_are_refused_before_any_draw(method, grid, size):
    started = time.perf_counter()
    with pytest.raises(FitcheckError) as error:
        make_sampler(spec(grid, method=method, n_trials=20_000), task="binary")
    assert str(error.value) == (f"s.yaml: search.n_trials: 20000 is more than the {size} distinct configurations "
                                f"the grid holds; set n_trials to at most {size}, or use method: grid to run every one")
    assert time.perf_counter() - started < 2
    assert len(drawn(spec(grid, method=method, n_trials=size))) == size  # exactly the space: every configuration


def test_a_union_of_grids_is_refused_over_the_sum_of_its_grids():
    parsed = parse_spec({**MOONS, "grid": [{"depth": [1]}, {"depth": [2]}], "search": {"method": "random",
                                                                                      "n_trials": 3}}, source="s.yaml")
    with pytest.raises(FitcheckError, match=r"^s.yaml: search.n_trials: 3 is more than the at most 2 distinct "):
        make_sampler(parsed, task="binary")


def test_an_unbounded_space_stops_drawing_when_draws_give_nothing_new():
    """A real range makes the space unbounded; a large n_trials still returns in bounded time."""
    parsed = spec({"depth": [1], "learning_rate": {"low": 0.1, "high": 0.1001}}, n_trials=5_000)
    started = time.perf_counter()
    trials = drawn(parsed)
    assert len(trials) < 5_000 and time.perf_counter() - started < 30


@pytest.mark.parametrize("axis", ["depth", "width", "batch_size", "epochs"])
@pytest.mark.parametrize("bounds", [{"low": 1, "high": 2.5}, {"low": 1.5, "high": 3}])
def test_a_whole_number_axis_refuses_a_fractional_bound_in_one_line(axis, bounds):
    with pytest.raises(FitcheckError) as error:
        spec({axis: bounds})
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"s.yaml: grid.{axis}.") and "must be a whole number" in message


@pytest.mark.parametrize("method", ["random", "tpe"])
@settings(max_examples=15, deadline=None)
@given(low=st.integers(0, 5), span=st.integers(0, 5), log=st.booleans())
def test_whole_number_bounds_draw_whole_numbers(method, low, span, log):
    low = max(low, 1) if log else low
    bounds = {"low": low, "high": low + span, "log": log}
    n_trials = min(4, span + 1)
    for parsed, model in ((spec({"epochs": [1], "units": bounds}, method=method, n_trials=n_trials, model="m:f"), "m:f"),
                          (spec({"depth": {"low": max(low, 1), "high": max(low, 1) + span}}, method=method,
                                n_trials=n_trials), "")):
        for trial in drawn(parsed, model=model):
            value = trial.axis("units") if model else trial.depth
            assert isinstance(value, int) and not isinstance(value, bool)


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_a_hyperparameter_with_a_fractional_bound_is_a_real_range(method):
    parsed = spec({"epochs": [1], "units": {"low": 1, "high": 2.5}}, method=method, n_trials=6, model="m:f")
    values = [trial.axis("units") for trial in drawn(parsed, model="m:f")]
    assert all(isinstance(value, float) and 1 <= value <= 2.5 for value in values)


def test_a_tpe_search_checks_every_value_of_every_axis_up_front():
    parsed = spec({"epochs": [1, 2], "units": [0, 4, 8], "rate": {"low": 0.1, "high": 0.5}}, method="tpe",
                  n_trials=3, model="m:f")
    checked = make_sampler(parsed, task="binary", model="m:f").checked
    assert {trial.axis("units") for trial in checked} == {0, 4, 8}
    assert {trial.epochs for trial in checked} == {1, 2}
    assert {trial.axis("rate") for trial in checked} == {0.1, 0.5}
