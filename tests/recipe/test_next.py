"""The next round as a pure function: which configurations it follows, what it changes, and why."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pipeline import names
from pipeline.diagnostics import AdviceItem
from pipeline.errors import FitcheckError
from pipeline.recipe import (
    FinishedTrial,
    PreviousSweep,
    best_configurations,
    next_round,
)
from pipeline.recipe._configs import sub_grid
from pipeline.recipe._write import default_output, spec_text
from pipeline.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = {"experiment": "moons", "dataset": {"synthetic": "moons", "n_samples": 1000}, "split": {"validation": 0.3},
        "reference_error": 0.08, "search": {"method": "random", "n_trials": 4},
        "grid": {"depth": [0, 1, 2], "width": [8, 32], "activation": ["tanh"], "epochs": [20], "seeds": [0]}}
MLP = {"depth": 1, "width": 8, "activation": "tanh", "loss": "binary_crossentropy", "optimizer": "adam",
       "learning_rate": 0.001, "batch_size": 32, "epochs": 20, "seed": 0, "l2": 0.0, "dropout": 0.0,
       "train_size": 1.0, "n_train": 700}
LONGER = AdviceItem("train longer (epochs 20 → 60)", "epochs", 20, 60, "still learning")
FASTER = AdviceItem("raise the learning rate (learning_rate 0.001 → 0.01)", "learning_rate", 0.001, 0.01,
                    "still learning")
WIDER = AdviceItem("add capacity (width 8 → 16)", "width", 8, 16, "the training error had stopped falling")
DEEPER = AdviceItem("add capacity (depth 0 → 1)", "depth", 0, 1, "the training error had stopped falling")
STOP = AdviceItem("stop early at epoch 7", "epochs", 20, 7, "the label at that epoch is better than at the end")
L2 = AdviceItem("add regularisation (l2 0 → 0.001)", "l2", 0.0, 0.001, "the validation metric is above training")
MORE = AdviceItem("get more training data (n_train 350 → 700)", "n_train", 350, 700, "the curve is still falling")


def trial(name: str, value: float, *items: AdviceItem, label: str = names.HIGH_BIAS, at: str | None = None,
          stop: int | None = 20, parameters: int = 100, **config) -> FinishedTrial:
    return FinishedTrial(name, {**MLP, **config}, value, label, at or label, stop, parameters, items,
                         advice=f"{names.LABEL_TITLES[label]}.", run_id=name)


def plan(*trials: FinishedTrial, spec: dict | None = None, **options):
    return next_round(spec or SPEC, list(trials), n_val=300, metric="error", n_train_full=700,
                      previous_sweep="0123abcd", **options)


def test_a_still_learning_trial_gets_longer_training_and_a_higher_learning_rate_each_alone():
    result = plan(trial("d1w8", 0.20, LONGER, FASTER))
    base = {"depth": [1], "width": [8], "activation": ["tanh"], "loss": ["binary_crossentropy"],
            "optimizer": ["adam"], "learning_rate": [0.001], "batch_size": [32], "epochs": [20], "seeds": [0]}
    assert result.spec == {
        "experiment": "moons", "previous_sweep": "0123abcd", "dataset": {"synthetic": "moons", "n_samples": 1000},
        "split": {"validation": 0.3}, "reference_error": 0.08,
        "grid": [{**base, "epochs": [60]}, {**base, "learning_rate": [0.01]}]}
    assert [str(reason) for reason in result.reasons] == [
        ("d1w8 (high bias; val error 20.0%): train longer (epochs 20 → 60) (still learning) → new configuration: "
        "d1w8 with epochs 60"),
        ("d1w8 (high bias; val error 20.0%): raise the learning rate (learning_rate 0.001 → 0.01) (still learning) → "
        "new configuration: d1w8 with learning_rate 0.01")]
    assert result.best.name == "d1w8"
    parsed = parse_spec(result.spec, source="next.yaml")
    assert parsed.previous_sweep == "0123abcd" and parsed.search.method == "grid" and len(parsed.grids) == 2


def test_a_good_fit_leaves_nothing_to_run():
    result = plan(trial("d1w8", 0.07, label=names.GOOD_FIT), trial("d0", 0.25, DEEPER, depth=0))
    assert result.spec is None and result.configurations == ()
    assert [str(reason) for reason in result.reasons] == [
        "d1w8 (good fit; val error 7.0%): no change advised (good fit.) → nothing to run"]


def test_only_configurations_tied_with_the_best_are_followed_the_recommended_one_first():
    trials = [trial("big", 0.200, LONGER, parameters=5000, width=64), trial("small", 0.210, FASTER, parameters=50),
              trial("far", 0.300, WIDER, width=16), trial("small-s1", 0.205, LONGER, parameters=50, seed=1),
              trial("pruned", 0.190, LONGER, label=names.PRUNED, width=128)]
    trials[-1] = replace(trials[-1], eligible=False)
    # the pick (fewest parameters, then the better of its seeds) first; one configuration's seeds count once
    assert [t.name for t in best_configurations(trials, n_val=300, metric="error")] == ["small-s1", "big"]
    result = plan(*trials)
    assert [reason.trial.split(" ")[0] for reason in result.reasons] == ["small-s1", "big"]
    assert [grid["seeds"] for grid in result.configurations] == [[0, 1], [0]]  # a configuration's seeds run again


def test_a_learning_curves_smaller_sizes_are_evidence_not_candidates():
    trials = [trial("full", 0.20, FASTER), trial("half", 0.10, LONGER, n_train=350, train_size=0.5)]
    assert [t.name for t in best_configurations(trials, n_val=300, metric="error")] == ["full"]


def test_a_change_the_sweep_ran_is_quoted_not_run_again():
    result = plan(trial("d0", 0.10, DEEPER, depth=0, width=0, activation="none"),
                  trial("d1w8", 0.30, label=names.GOOD_FIT))
    assert result.spec is None
    assert result.reasons[0].outcome == "not run again: the sweep ran it as d1w8 (good fit, validation error 30.0%)"


def test_a_first_hidden_layer_takes_the_grids_first_width_and_activation():
    result = plan(trial("d0", 0.10, DEEPER, depth=0, width=0, activation="none"))
    grid = result.configurations[0]
    assert (grid["depth"], grid["width"], grid["activation"]) == ([1], [8], ["tanh"])


def test_what_the_sweep_measured_further_that_way_is_quoted():
    result = plan(trial("lr0.001", 0.20, FASTER), trial("lr0.1", 0.25, learning_rate=0.1))
    assert result.reasons[0].outcome == (
        "new configuration: lr0.001 with learning_rate 0.01; measured in this sweep: learning_rate 0.1 reached a "
        "validation error of 25.0% (this run 20.0%)")


def test_stopping_early_is_no_new_run_and_turns_early_stopping_on_for_the_rest():
    fixed = plan(trial("wide", 0.07, STOP, label=names.HIGH_VARIANCE, at=names.GOOD_FIT, stop=7))
    assert fixed.spec is None
    assert fixed.reasons[0].outcome.startswith("no new run: the sweep measured its model at that epoch already")
    assert str(fixed.reasons[0]).startswith("wide (high variance, good fit at epoch 7; val error 7.0%): stop early")
    still = plan(trial("wide", 0.12, STOP, L2, label=names.HIGH_VARIANCE, stop=7))
    assert still.spec["stopping"] == {"early": True}
    assert [grid.get("l2") for grid in still.configurations] == [[0.001]]
    already = plan(trial("wide", 0.12, STOP, label=names.HIGH_VARIANCE, stop=7),
                   spec={**SPEC, "stopping": {"early": True, "prune": True}})
    assert already.reasons[0].outcome.endswith("already stops every trial early (stopping: {early: true})")


def test_more_data_where_the_split_has_more_rows_else_says_it_has_none():
    grown = plan(trial("half", 0.20, MORE, n_train=350, train_size=0.5))
    assert "train_size" not in grown.configurations[0]  # the whole split: the default
    assert grown.reasons[0].outcome == "new configuration: half with train_size 1.0 (700 of the 700 training rows)"
    partial = plan(trial("q", 0.20, AdviceItem("more data (n_train 100 → 200)", "n_train", 100, 200, "r"),
                         n_train=100, train_size=100))
    assert partial.configurations[0]["train_size"] == [200]
    full = plan(trial("all", 0.20, AdviceItem("more (n_train 700 → 1400)", "n_train", 700, 1400, "r"), L2))
    assert full.reasons[0].outcome.startswith("no change: the training split has no more rows to give (this trial "
                                              "trained on all 700)")
    assert [grid.get("l2") for grid in full.configurations] == [[0.001]]


def test_changes_are_deduplicated_and_capped():
    twins = plan(trial("a", 0.20, LONGER, parameters=10), trial("a-s1", 0.20, LONGER, parameters=10, seed=1))
    assert twins.configurations[0]["seeds"] == [0, 1] and len(twins.configurations) == 1
    # a made wider and b trained longer are one configuration (width 16, 60 epochs): it runs once
    meet = plan(trial("a", 0.20, WIDER, parameters=10, epochs=60), trial("b", 0.20, LONGER, parameters=20,
                                                                               width=16))
    assert [reason.outcome for reason in meet.reasons] == ["new configuration: a with width 16",
                                                           "already in the next round (from a)"]
    capped = plan(trial("a", 0.20, LONGER, FASTER), max_new=1)
    assert capped.reasons[1].outcome == "left out: the next round holds at most 1 new configuration"


def test_generic_advice_names_nothing_to_run():
    generic = AdviceItem("use a smaller network", "capacity", None, None, "gap")
    result = plan(trial("w", 0.2, generic, label=names.HIGH_VARIANCE))
    assert result.spec is None
    assert result.reasons[0].outcome == "nothing to run: its advice names no value (use a smaller network)"


def test_a_model_builders_trial_keeps_its_hyperparameters():
    config = {"loss": "mse", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 10, "seed": 0,
              "train_size": 1.0, "model": "models.cnn:build", "filters": 16, "n_train": 500}
    assert sub_grid(config, [0], []) == {"loss": ["mse"], "optimizer": ["adam"], "learning_rate": [0.01],
                                         "batch_size": [32], "epochs": [10], "seeds": [0], "train_size": [1.0],
                                         "filters": [16]}


def test_the_written_spec_loads_back_and_the_old_hashes_stay(tmp_path, monkeypatch):
    result = plan(trial("d1w8", 0.20, LONGER))
    previous = PreviousSweep("0123abcd", "moons", "moons", SPEC, (), names.BINARY, 300, 700)
    path = tmp_path / "moons-next1.yaml"
    path.write_text(spec_text(result, previous), encoding="utf-8")
    loaded = load_spec(path)
    assert loaded.previous_sweep == "0123abcd" and loaded.experiment_name() == "moons"
    assert yaml.safe_load(path.read_text())["grid"][0]["epochs"] == [60]
    assert path.read_text().startswith("# The next round of sweep 0123abcd (experiment 'moons')")
    assert loaded.fingerprint() != parse_spec({k: v for k, v in result.spec.items() if k != "previous_sweep"},
                                              source="x").fingerprint()
    assert load_spec(ROOT / "experiments" / "quickstart.yaml").fingerprint() == "e2112a5efff8"
    assert load_spec(ROOT / "experiments" / "book.yaml").fingerprint() == "9529048bf360"
    monkeypatch.chdir(tmp_path)
    assert default_output("book") == Path("book-next1.yaml")
    (tmp_path / "experiments").mkdir()
    assert default_output("book-next1") == Path("experiments/book-next2.yaml")


@pytest.mark.parametrize("bad", ["", "x" * 300])
def test_previous_sweep_is_a_name(bad):
    with pytest.raises(FitcheckError, match="^s.yaml: previous_sweep: must be"):
        parse_spec({**SPEC, "previous_sweep": bad}, source="s.yaml")


def test_a_step_the_sweep_took_without_gain_is_not_taken_again_and_the_next_item_is_followed():
    wider = AdviceItem("add capacity (width 16 → 32)", "width", 16, 32, "the training error had stopped falling")
    result = plan(trial("d1w16", 0.127, wider, LONGER, width=16), trial("d1w8", 0.123, width=8))
    assert [str(reason) for reason in result.reasons][:2] == [
        "d1w8 (high bias; val error 12.3%): no change advised (high bias.) → nothing to run",
        "d1w16 (high bias; val error 12.7%): add capacity (width 16 → 32) (the training error had stopped falling) → "
        "not run: the last step that way did not help: d1w8 (width 8) reached validation error 12.3%, this one "
        "12.7% (within one standard error of the difference, 2.7%, or worse)"]
    assert [grid["width"] + grid["epochs"] for grid in result.spec["grid"]] == [[16, 60]]


def test_a_step_that_helped_beyond_noise_is_taken_further():
    wider = AdviceItem("add capacity (width 16 → 32)", "width", 16, 32, "the training error had stopped falling")
    result = plan(trial("d1w16", 0.10, wider, width=16), trial("d1w8", 0.20, width=8))
    assert [grid["width"] for grid in result.spec["grid"]] == [[32]]


def test_only_the_nearest_step_behind_counts_as_the_last_step():
    # 64 -> 128 helped beyond noise (20% -> 12%); w8 at 12.5% is within noise of w128 but is not the last step.
    wider = AdviceItem("add capacity (width 128 → 256)", "width", 128, 256, "the training error had stopped falling")
    result = plan(trial("d1w128", 0.12, wider, width=128), trial("d1w64", 0.20, width=64),
                  trial("d1w8", 0.125, width=8))
    assert [grid["width"] for grid in result.spec["grid"]] == [[256]]
    stalled = plan(trial("d1w128", 0.12, wider, width=128), trial("d1w64", 0.125, width=64),
                   trial("d1w8", 0.30, width=8))
    assert stalled.spec is None or [256] not in [grid["width"] for grid in stalled.spec["grid"]]
    assert any("the last step that way did not help: d1w64 (width 64)" in str(reason) for reason in stalled.reasons)
