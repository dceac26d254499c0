"""Stacked kernels: members of one kernel shape train as one layer per depth and follow their curves alone.

Each group below trains through :func:`pipeline.training.train_group`; a spy on
:func:`pipeline.training._fused.fused_model` checks that its members were stacked (the fused model
holds one kernel and one bias variable per depth and per shape, none per member), and the curves
are compared with the same trials trained one model each (same seeds) to 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.training._fused as fused_module
from pipeline.data import load_dataset
from pipeline.search import TrialConfig
from pipeline.spec import DatasetSpec, SplitSpec
from pipeline.training import train_group, train_trial
from pipeline.training._stacked import plan_blocks
from pipeline.training._targets import output_head

TOLERANCE = 1e-5


def config(depth, activation="relu", loss="binary_crossentropy", *, l2=0.0, dropout=0.0):
    return TrialConfig(depth, 8 if depth else 0, activation if depth else "none", loss, "adam", 0.02, 32, 6, 0,
                       l2=l2, dropout=dropout)


def test_members_of_one_kernel_shape_share_a_block_ordered_by_activation_and_dropout_keeps_its_own():
    head = output_head("binary", "mse", n_classes=2)
    configs = [config(2, "tanh"), config(1), config(2, "relu", "hinge", l2=0.1), config(2, dropout=0.5), config(1)]
    assert plan_blocks(configs, [head] * 5) == [[2, 0], [1, 4], [3]]


def train_stacked(monkeypatch, configs, data):
    """Train ``configs`` as one group; its outcomes and the fused model it trained (asserting no fallback)."""
    models = []

    def spy(*args, **kwargs):
        models.append(fused_model(*args, **kwargs))
        return models[-1]

    def no_fallback(*args):
        raise AssertionError("a fused group fell back to training its trials alone")

    fused_model = fused_module.fused_model
    with monkeypatch.context() as patched:
        patched.setattr(fused_module, "fused_model", spy)
        patched.setattr(fused_module, "train_trial", no_fallback)
        outcomes = train_group(list(enumerate(configs)), data)
    return outcomes, models[0]


def largest_difference(fused, alone) -> float:
    assert (fused.status, fused.diverged_epoch) == (alone.status, alone.diverged_epoch) == ("FINISHED", None)
    assert fused.curves.keys() == alone.curves.keys()
    return max(float(np.max(np.abs(np.subtract(fused.curves[name], values)))) for name, values in alone.curves.items())


BINARY = [config(depth, activation, loss, l2=l2) for depth in (0, 2) for activation in ("relu", "tanh")
          for loss in ("binary_crossentropy", "hinge", "mse") for l2 in (0.0, 0.01) if depth or activation == "relu"]
MULTICLASS = [config(depth, activation, loss) for depth in (1, 2) for activation in ("relu", "elu")
              for loss in ("categorical_crossentropy", "sparse_categorical_crossentropy", "mse")]
REGRESSION = [config(depth, activation, loss, l2=l2) for depth in (1, 3) for activation in ("relu", "tanh")
              for loss in ("mse", "mae") for l2 in (0.0, 0.001)]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "configs", "shapes"), [
    (DatasetSpec(synthetic="moons", n_samples=300, noise=0.25, seed=0), BINARY, (0, 2)),
    (DatasetSpec(sklearn="iris"), MULTICLASS, (1, 2)),
    (DatasetSpec(synthetic="friedman1", n_samples=300, n_features=5, noise=0.5), REGRESSION, (1, 3)),
], ids=["binary", "multiclass", "regression"])
def test_stacked_members_follow_their_curves_alone_on_every_head(monkeypatch, dataset, configs, shapes):
    data = load_dataset(dataset, SplitSpec(validation=0.3))
    outcomes, model = train_stacked(monkeypatch, configs, data)
    # one kernel and one bias per layer and per shape: (depth + 1) layers for each depth in the group
    assert len(model.trainable_weights) == sum(2 * (depth + 1) for depth in shapes)
    assert len(model.blocks) == len(shapes)
    differences = [largest_difference(fused, train_trial(index, trial, data))
                   for (index, trial), fused in zip(enumerate(configs), outcomes)]
    assert max(differences) <= TOLERANCE, max(differences)


@pytest.mark.slow
def test_a_dropout_member_trains_beside_a_stack_on_its_own_model_bit_for_bit(monkeypatch):
    data = load_dataset(DatasetSpec(synthetic="moons", n_samples=300, noise=0.25, seed=0), SplitSpec(validation=0.3))
    configs = [config(2), config(2, "tanh", "mse"), config(2, dropout=0.3)]
    outcomes, model = train_stacked(monkeypatch, configs, data)
    assert len(model.blocks) == 2 and model.blocks_members == [[0, 1], [2]]
    assert largest_difference(outcomes[2], train_trial(2, configs[2], data)) == 0.0
    assert max(largest_difference(fused, train_trial(index, trial, data))
               for index, (trial, fused) in enumerate(zip(configs[:2], outcomes[:2]))) <= TOLERANCE
