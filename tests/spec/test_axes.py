"""Each grid axis is declared once (pipeline/spec/_axes.py) and the task x loss rule once (_losses.py).

The last test adds an axis to a copy of the package by one row in its table and shows that the spec,
the grid, the samplers, run names, params and the fusion planner all take it up with no other edit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.names import TASKS
from pipeline.search import TrialConfig, expand_grid, varying_axes
from pipeline.spec import (AXES, AXIS_TABLE, FUSION_MEMBER, FUSION_SHARED, HIDDEN_LAYER_AXES, LOSSES, LOSSES_BY_TASK,
                           SAMPLED, TRAINING_AXES, Axis, GridSpec, axes, by_key, incompatibility, parse_spec)
from pipeline.spec._axes import MODEL, TRAINING, trial_values
from pipeline.training._fusion import fusable, fusion_key
from pipeline.training._targets import output_head

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"


def test_names_axes_is_the_declaration():
    assert names.AXES == AXES == tuple(axis.name for axis in AXIS_TABLE)
    assert "train_size" in names.AXES and "seeds" not in names.AXES


def test_the_spec_grid_has_one_field_per_axis_under_its_spec_key():
    assert list(GridSpec.model_fields) == [axis.key for axis in AXIS_TABLE] + ["hyperparameters"]
    assert by_key("seeds").name == "seed"
    assert GridSpec().seeds == [0] and GridSpec().depth == [1]


def test_a_trial_has_one_field_per_axis():
    fields = [field.name for field in dataclasses.fields(TrialConfig)]
    assert set(AXES) <= set(fields)
    assert fields[:9] == [axis.name for axis in AXIS_TABLE if axis.required]
    assert TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0).train_size == 1.0


def test_every_axis_is_in_exactly_one_fusion_class_or_keeps_its_trials_apart():
    assert not set(FUSION_SHARED) & set(FUSION_MEMBER)
    assert set(FUSION_SHARED) | set(FUSION_MEMBER) == set(AXES)
    assert FUSION_SHARED == ("optimizer", "learning_rate", "batch_size", "epochs", "seed", "train_size")


def test_derived_tuples_follow_the_table():
    assert TRAINING_AXES == ("loss", "optimizer", "learning_rate", "batch_size", "epochs", "seed", "train_size")
    assert HIDDEN_LAYER_AXES == ("width", "activation", "dropout")
    assert SAMPLED == tuple(axis for axis in AXES if axis != "seed")
    assert [axis.name for axis in axes(role=MODEL)] == ["depth", "width", "activation", "l2", "dropout"]
    assert axes(role=TRAINING, hidden_layer=True) == ()


def test_a_depth_zero_network_collapses_exactly_its_hidden_layer_axes():
    given = {**{axis.name: axis.default for axis in AXIS_TABLE}, "depth": 0, "dropout": 0.5, "l2": 1}
    flat = trial_values(given)
    assert {name for name in AXES if flat[name] != given[name]} == set(HIDDEN_LAYER_AXES)
    assert trial_values({**given, "depth": 2}) == {**given, "depth": 2, "l2": 1.0}
    assert flat["width"] == 0 and flat["activation"] == "none" and flat["l2"] == 1.0 and isinstance(flat["l2"], float)


def test_a_bad_declaration_is_refused():
    with pytest.raises(ValueError, match="role must be one of"):
        Axis("momentum", float, 0.0, "optimizer", "-m{:g}", 65)
    with pytest.raises(ValueError, match="needs the value it collapses to"):
        Axis("units", int, 8, MODEL, "-u{}", 25, hidden_layer=True)
    with pytest.raises(ValueError, match="cannot be required"):
        Axis("momentum", float, 0.0, TRAINING, "-m{:g}", 65, added=True, required=True)


@pytest.mark.parametrize("task", TASKS)
def test_the_loss_rule_is_one_rule_for_spec_grid_and_heads(task):
    assert set(LOSSES) == set().union(*LOSSES_BY_TASK.values())
    for loss in LOSSES:
        fits = incompatibility(task, loss) is None
        assert fits == (loss in LOSSES_BY_TASK[task])
        if fits:  # every accepted combination has a head
            assert output_head(task, loss, n_classes=3).units >= 1
        else:
            with pytest.raises(FitcheckError, match=f"loss '{loss}' does not fit a {task} target"):
                expand_grid(GridSpec(loss=[loss]), task=task, skip_invalid=False)


def test_the_first_unfit_loss_in_spec_order_is_named():
    grid = GridSpec(loss=["mse", "hinge", "binary_crossentropy", "squared_hinge"])
    for _ in range(3):
        with pytest.raises(FitcheckError, match="loss 'hinge' does not fit"):
            expand_grid(grid, task="regression", skip_invalid=False)


#: One row declaring a new axis: a training axis, added after runs were logged, drawn by random search.
NEW_AXIS = ('    Axis("momentum", real(ge=0, lt=1), 0.0, TRAINING, "-mo{:g}", 65, rangeable=True, fusion=SHARED, '
            'added=True,\n         name_rule=AWAY_FROM_DEFAULT),\n')
#: What the copy of the package does with it, printed as JSON.
SCRIPT = r'''
import json, sys
import pipeline
from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.search import expand_grid, search_trials, varying_axes
from pipeline.spec import parse_spec
from pipeline.training._fusion import fusable, fusion_key, plan_groups

moons = {"synthetic": "moons"}
spec = parse_spec({"dataset": moons, "grid": {"depth": [0, 1], "momentum": [0.0, 0.9]}}, source="s.yaml")
trials = expand_grid(spec.grids, task="binary", skip_invalid=False).trials
varying = varying_axes(trials)
try:
    parse_spec({"dataset": moons, "grid": {"momentum": [1.5]}}, source="s.yaml")
    refused = ""
except FitcheckError as error:
    refused = str(error)
try:
    parse_spec({"dataset": moons, "grid": {"momentun": [0.5]}}, source="s.yaml")
    typo = ""
except FitcheckError as error:
    typo = str(error)
sampled = parse_spec({"dataset": moons, "search": {"method": "random", "n_trials": 6},
                      "grid": {"momentum": {"low": 0.5, "high": 0.6}}}, source="s.yaml")
plain = parse_spec({"dataset": moons, "grid": {"depth": [0, 1], "seeds": [0, 1]}}, source="s.yaml")
print(json.dumps({
    "package": pipeline.__file__,
    "names_axes": list(names.AXES),
    "trials": [[t.momentum, t.depth, t.name(), t.name(varying), t.params()] for t in trials],
    "varying": list(varying),
    "refused": refused,
    "typo": typo,
    "axis_values": spec.axis_values()["momentum"],
    "drawn": [t.momentum for t in search_trials(sampled, task="binary").trials],
    "fusable": [fusable(t) for t in trials],
    "groups": [[i for i, _ in group] for group in plan_groups(list(enumerate(trials)), workers=1)],
    "shared": fusion_key(trials[0]) != fusion_key(trials[1]),
    "plain_fingerprint": plain.fingerprint(),
    "plain_keys": [t.key("data") for t in expand_grid(plain.grids, task="binary", skip_invalid=False).trials],
}))
'''


@pytest.fixture(scope="module")
def new_axis(tmp_path_factory) -> dict:
    """What a copy of the package, with one more row in its axis table and no other change, does."""
    root = tmp_path_factory.mktemp("one_row")
    shutil.copytree(PACKAGE, root / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    table = root / "pipeline" / "spec" / "_axes.py"
    source = table.read_text()
    end_of_table = "\n)\n\n\ndef axes("
    assert source.count(end_of_table) == 1
    table.write_text(source.replace(end_of_table, "\n" + NEW_AXIS.rstrip("\n") + end_of_table))
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=root, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return {**json.loads(result.stdout), "root": str(root)}


def test_one_row_adds_an_axis_to_the_spec(new_axis):
    assert new_axis["package"].startswith(new_axis["root"])
    assert new_axis["names_axes"] == [*AXES, "momentum"]
    assert new_axis["refused"] == "s.yaml: grid.momentum[0]: must be a finite number in [0, 1) but got 1.5"
    assert "(did you mean 'momentum'?)" in new_axis["typo"] and new_axis["typo"].endswith("train_size, momentum")
    assert new_axis["axis_values"] == [0.0, 0.9]


def test_one_row_adds_an_axis_to_the_grid_names_and_params(new_axis):
    trials = new_axis["trials"]
    assert [(momentum, depth) for momentum, depth, *_ in trials] == [(0.0, 0), (0.9, 0), (0.0, 1), (0.9, 1)]
    assert new_axis["varying"] == ["depth", "momentum"]
    assert [name for _, _, name, _, _ in trials] == [
        "d0-adam-binary_crossentropy-lr0.001-bs32-e20-s0", "d0-adam-binary_crossentropy-lr0.001-mo0.9-bs32-e20-s0",
        "d1w32-relu-adam-binary_crossentropy-lr0.001-bs32-e20-s0",
        "d1w32-relu-adam-binary_crossentropy-lr0.001-mo0.9-bs32-e20-s0"]
    assert [short for _, _, _, short, _ in trials] == ["d0", "d0-mo0.9", "d1", "d1-mo0.9"]
    assert [params["momentum"] for *_, params in trials] == [0.0, 0.9, 0.0, 0.9]


def test_one_row_adds_an_axis_to_random_search(new_axis):
    assert len(new_axis["drawn"]) == 6 and len(set(new_axis["drawn"])) > 1
    assert all(0.5 <= momentum <= 0.6 for momentum in new_axis["drawn"])


def test_one_row_adds_an_axis_to_the_fusion_planner(new_axis):
    assert all(new_axis["fusable"]) and new_axis["shared"]  # declared shared: one group per momentum
    assert new_axis["groups"] == [[0, 2], [1, 3]]


def test_an_added_axis_at_its_default_leaves_keys_and_fingerprints_alone(new_axis):
    plain = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [0, 1], "seeds": [0, 1]}}, source="s.yaml")
    assert new_axis["plain_fingerprint"] == plain.fingerprint()
    assert new_axis["plain_keys"] == [t.key("data") for t in expand_grid(plain.grids, task="binary",
                                                                         skip_invalid=False).trials]


def test_without_the_row_the_axis_is_unknown():
    with pytest.raises(FitcheckError, match="unknown key 'grid.momentum'"):
        parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"momentum": [0.5]}}, source="s.yaml")
    assert "momentum" not in varying_axes([TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)])
    assert fusable(TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0))
    assert fusion_key(TrialConfig(1, 8, "relu", "mse", "adam", 0.01, 32, 10, 0)) is not None
