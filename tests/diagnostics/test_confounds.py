"""Confounds in a per-axis summary: an axis value run only with part of another axis's values."""

from __future__ import annotations

import itertools

import pandas as pd

from pipeline.diagnostics import confound_note, confounds


def _book_like() -> pd.DataFrame:
    """book.yaml's shape: a small learning rate only on the deep networks."""
    rows = [{"depth": d, "learning_rate": 0.01} for d in (0, 1, 4)] + [{"depth": 4, "learning_rate": 0.0003}]
    return pd.DataFrame(rows)


def test_a_value_run_with_one_depth_only_names_that_depth():
    trials = _book_like()
    assert confounds(trials, "learning_rate", 0.0003, axes=["depth", "learning_rate"]) == {"depth": [4]}
    assert confound_note({"depth": [4]}) == "run only with depth 4: its effect cannot be told from theirs"


def test_the_other_side_of_the_confound_is_named_too():
    trials = _book_like()
    assert confounds(trials, "depth", 0, axes=["depth", "learning_rate"]) == {"learning_rate": [0.01]}
    assert confounds(trials, "depth", 4, axes=["depth", "learning_rate"]) == {}  # depth 4 met both rates


def test_a_full_grid_has_no_confound():
    trials = pd.DataFrame([{"depth": d, "optimizer": o, "width": w}
                           for d, o, w in itertools.product((0, 1, 2), ("sgd", "adam"), (16, 32))])
    for axis in trials:
        for value in trials[axis].unique():
            assert confounds(trials, axis, value, axes=list(trials)) == {}
    assert confound_note({}) is None


def test_axes_that_do_not_vary_are_not_confounds():
    trials = pd.DataFrame({"depth": [1, 2], "batch_size": [32, 32]})
    assert confounds(trials, "depth", 1, axes=["depth", "batch_size"]) == {}


def test_the_structure_of_networks_without_a_hidden_layer_is_not_a_confound():
    """Quickstart's shape: depth 0 has width 0 and activation none; the others share width 32."""
    trials = pd.DataFrame([{"depth": 0, "width": 0, "activation": "none", "optimizer": o} for o in ("sgd", "adam")]
                          + [{"depth": d, "width": 32, "activation": a, "optimizer": o}
                             for d in (1, 2) for a in ("relu", "tanh") for o in ("sgd", "adam")])
    collapsed = {"width": 0, "activation": "none"}
    axes = ["depth", "width", "activation", "optimizer"]
    assert confounds(trials, "activation", "none", axes=axes, collapsed=collapsed) == {}
    assert confounds(trials, "activation", "relu", axes=axes, collapsed=collapsed) == {}
    assert confounds(trials, "width", 32, axes=axes, collapsed=collapsed) == {}
    # without the structure the same table reads as confounded
    assert confounds(trials, "activation", "relu", axes=axes) == {"depth": [1, 2], "width": [32]}
    # a real confound survives: tanh only with adam
    trials = trials[~((trials["activation"] == "tanh") & (trials["optimizer"] == "sgd"))]
    assert confounds(trials, "activation", "tanh", axes=axes, collapsed=collapsed) == {"optimizer": ["adam"]}
