"""The Keras callbacks that end a trial early, on a real small Keras model: what they stop at and keep."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.training._callbacks import OnlineStopping, RungPruning
from pipeline.diagnostics import recommend_stop

#: A validation curve that falls to epoch 8, then rises: smoothed over 5 epochs its pick is epoch 9,
#: final once 10 more epochs (patience) and half the window have been seen: at epoch 9 + 10 + 2.
CURVE = [1.0 / epoch for epoch in range(1, 9)] + [0.125 + 0.01 * step for step in range(1, 40)]


class Scripted(keras.callbacks.Callback):
    """Puts the next value of a scripted curve in the epoch's logs and keeps each epoch's weights."""

    def __init__(self, curve):
        super().__init__()
        self.curve, self.weights = curve, []

    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_error"] = self.curve[epoch]
        self.weights.append(self.model.get_weights())


def fit(callbacks, epochs=len(CURVE)):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    model.fit(x, x.sum(axis=1), epochs=epochs, verbose=0, callbacks=callbacks)
    return model


def test_online_stopping_restores_the_kept_epochs_weights_and_resets_across_fits():
    script, stopping = Scripted(CURVE), OnlineStopping("val_error")
    assert recommend_stop(np.array(CURVE)) == 9
    for _ in range(2):  # the same instances, two fits
        model = fit([script, stopping])
        assert (stopping.stopped_epoch, stopping.kept_epoch, len(script.weights)) == (21, 9, 21)
        for restored, kept in zip(model.get_weights(), script.weights[8]):
            np.testing.assert_array_equal(restored, kept)


def test_online_stopping_lets_a_run_that_never_settles_finish():
    script, stopping = Scripted([1.0 / epoch for epoch in range(1, 16)]), OnlineStopping("val_error")
    model = fit([script, stopping], epochs=15)
    assert (stopping.stopped_epoch, stopping.kept_epoch, len(script.weights)) == (None, None, 15)
    for final, last in zip(model.get_weights(), script.weights[-1]):
        np.testing.assert_array_equal(final, last)


def test_rung_pruning_stops_a_trial_worse_than_the_one_before(tmp_path):
    record = str(tmp_path / "rungs.jsonl")
    good = RungPruning("val_error", record=record, trial="good", epochs=20, min_epochs=2, reduction_factor=2)
    fit([Scripted([0.1] * 20), good], epochs=20)
    bad, script = RungPruning("val_error", record=record, trial="bad", epochs=20, min_epochs=2,
                              reduction_factor=2), Scripted([0.3] * 20)
    fit([script, bad], epochs=20)
    assert (good.pruned_epoch, bad.pruned_epoch, len(script.weights)) == (None, 2, 2)


def test_online_stopping_holds_only_the_epochs_it_may_still_keep():
    script, stopping = Scripted(CURVE), OnlineStopping("val_error")
    held = []
    count = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: held.append(stopping.n_weight_copies))
    fit([script, stopping, count])
    # window 5, patience 10: at most 12 epochs are open; the last epoch holds only the final pick
    assert max(held) == stopping.rule.patience + stopping.rule.window // 2 and held[-1] == 1
    assert stopping.n_weight_copies == 0
