"""Fused training: which trials share a model, and that sharing one changes no trial's numbers.

The planner is pure and tested on configs alone. The training tests compare real Keras trials
trained in one fused model with the same trials trained one model each (same seeds), through the
in-process executor, the seam the sweep uses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.data import load_dataset
from pipeline.errors import FitcheckError
from pipeline.executors import InProcessExecutor, TrialDone, TrialStarted
from pipeline.training import train_group
from pipeline.training import fusable, fusion_key, plan_groups
from pipeline.search import TrialConfig
from pipeline.spec import DatasetSpec, SplitSpec
from pipeline.training import train_trial


def config(depth=1, *, optimizer="adam", learning_rate=0.02, loss="binary_crossentropy", epochs=4, seed=0, **changes):
    return TrialConfig(depth, 8 if depth else 0, "relu" if depth else "none", loss, optimizer, learning_rate, 32,
                       epochs, seed, **changes)


# -- the planner --------------------------------------------------------------------------------------
def test_members_may_differ_in_shape_loss_and_regularisation_but_not_in_what_drives_the_steps():
    base = config(1)
    assert fusion_key(base) == fusion_key(config(3, loss="mse", l2=0.01, dropout=0.2))
    for shared in ({"optimizer": "sgd"}, {"learning_rate": 0.1}, {"batch_size": 64}, {"epochs": 5}, {"seed": 1}):
        assert fusion_key(base) != fusion_key(dataclasses.replace(base, **shared)), shared


def test_a_users_model_early_stopping_and_pruning_keep_their_trials_alone():
    from pipeline.search import Pruning

    built = config(0, model="mypackage:build", hyperparameters=(("units", 4),), builder=b"pickled")
    stopped, pruned = config(1, early_stopping=True), config(1, pruning=Pruning("rungs.jsonl"))
    assert fusable(config(1)) and not any(fusable(c) for c in (built, stopped, pruned))
    groups = plan_groups([(0, config(1)), (1, built), (2, config(2)), (3, stopped), (4, pruned)], workers=1)
    assert [[index for index, _ in group] for group in groups] == [[0, 2], [1], [3], [4]]


def test_a_learning_curves_sizes_train_apart_and_one_size_together():
    quarter = [config(depth, train_size=0.25) for depth in (1, 2)]
    assert all(fusable(c) for c in quarter) and fusion_key(quarter[0]) == fusion_key(quarter[1])
    assert fusion_key(quarter[0]) != fusion_key(config(1))


def test_groups_hold_one_key_at_most_max_group_and_every_job_once_in_order():
    jobs = [(i, config(1 + i % 3, optimizer="adam" if i < 10 else "sgd")) for i in range(14)]
    groups = plan_groups(jobs, workers=1, max_group=4)
    assert [[index for index, _ in group] for group in groups] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9],
                                                                   [10, 11, 12, 13]]
    assert all(len({fusion_key(c) for _, c in group}) == 1 for group in groups)


def test_groups_are_split_until_every_worker_has_two():
    jobs = [(i, config(1)) for i in range(10)]
    assert [len(group) for group in plan_groups(jobs, workers=2)] == [3, 2, 3, 2]
    assert [len(group) for group in plan_groups(jobs[:3], workers=4)] == [1, 1, 1]
    assert plan_groups([], workers=2) == []


@pytest.mark.parametrize(("workers", "max_group"), [(0, 4), (1, 0)])
def test_planner_refuses_sizes_below_one(workers, max_group):
    with pytest.raises(FitcheckError, match="must be at least 1 but got 0"):
        plan_groups([(0, config(1))], workers=workers, max_group=max_group)


# -- fused training against one model per trial ----------------------------------------------------------
def events(executor, jobs, data) -> tuple[list[int], dict]:
    started, outcomes = [], {}
    for event in executor.run(jobs, data):
        if isinstance(event, TrialStarted):
            started.append(event.index)
        else:
            assert isinstance(event, TrialDone)
            outcomes[event.outcome.index] = event.outcome
    return started, outcomes


def assert_same_curves(fused, alone, tolerance=1e-4):
    assert (fused.status, fused.diverged_epoch) == (alone.status, alone.diverged_epoch)
    assert fused.curves.keys() == alone.curves.keys()
    for name, values in alone.curves.items():
        np.testing.assert_allclose(fused.curves[name], values, atol=tolerance, rtol=0, err_msg=name)


def no_fallback(*args):
    raise AssertionError("a fused group fell back to training its trials alone")


@pytest.mark.slow
def test_fused_trials_follow_the_same_curves_as_alone_on_every_head(monkeypatch):
    binary = load_dataset(DatasetSpec(synthetic="moons", n_samples=300, noise=0.25, seed=0), SplitSpec(validation=0.3))
    multiclass = load_dataset(DatasetSpec(sklearn="iris"), SplitSpec(validation=0.3))
    grids = [
        (binary, [config(depth, loss=loss, l2=l2, dropout=dropout) for depth in (0, 2)
                  for loss in ("binary_crossentropy", "hinge", "mse") for l2, dropout in ((0.0, 0.0), (0.01, 0.3))]),
        (multiclass, [config(depth, loss=loss) for depth in (1, 2)
                      for loss in ("categorical_crossentropy", "sparse_categorical_crossentropy", "mse")]),
        (binary, [config(depth, train_size=0.5) for depth in (0, 1, 2, 3)]),  # a learning curve's half-size trials
    ]
    for data, configs in grids:
        jobs = list(enumerate(configs))
        with monkeypatch.context() as patched:  # the fused model itself trained them, not its fallback
            patched.setattr("pipeline.training._fused.train_trial", no_fallback)
            started, fused = events(InProcessExecutor(fuse=True), jobs, data)
        assert sorted(started) == list(range(len(jobs))) and sorted(fused) == list(range(len(jobs)))
        _, alone = events(InProcessExecutor(fuse=False), jobs, data)
        for index in alone:
            assert_same_curves(fused[index], alone[index])
            assert fused[index].status == "FINISHED" and len(fused[index].curves["val_loss"]) == 4


@pytest.mark.slow
def test_a_diverging_member_fails_alone_and_the_others_train_on_unchanged():
    data = load_dataset(DatasetSpec(synthetic="friedman1", n_samples=300, n_features=5, noise=0.5),
                        SplitSpec(validation=0.3))
    # the first diverges (as in tests/specs/diverge.yaml)
    configs = [config(1, optimizer="sgd", learning_rate=10.0, loss="mse", epochs=6),
               config(1, optimizer="sgd", learning_rate=10.0, loss="mae", epochs=6),
               config(0, optimizer="sgd", learning_rate=10.0, loss="mae", epochs=6)]
    jobs = list(enumerate(configs))
    fused = train_group(jobs, data)
    alone = [train_trial(index, trial, data) for index, trial in jobs]
    diverged = fused[0]
    assert diverged.status == "FAILED" and diverged.diverged_epoch is not None
    assert diverged.error == f"loss diverged (non-finite) at epoch {diverged.diverged_epoch}"
    assert len(diverged.curves["train_loss"]) == diverged.diverged_epoch
    assert [outcome.status for outcome in fused[1:]] == ["FINISHED", "FINISHED"]
    assert all(np.isfinite(outcome.curves["val_loss"]).all() for outcome in fused[1:])
    for together, by_itself in zip(fused, alone):
        assert_same_curves(together, by_itself)
