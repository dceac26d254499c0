"""A stop the curve later beat by more than its noise is said, not left for the user to find."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.diagnostics import diagnose


def _run() -> pd.DataFrame:
    """Quickstart's d3-tanh-rmsprop-mse in shape: best early, a jump, then a slow recovery below the early best."""
    val = [0.30, 0.20, 0.15, 0.12, 0.10, 0.09] + [0.50, 0.45, 0.40, 0.35, 0.30, 0.25, 0.20, 0.17, 0.15, 0.13, 0.12,
                                                  0.11, 0.10, 0.095] + list(np.linspace(0.094, 0.067, 20))
    val = np.array(val)
    train = val + 0.01
    return pd.DataFrame({"epoch": np.arange(1, len(val) + 1), "train_loss": train * 2, "val_loss": val * 2,
                         "train_error": train, "val_error": val})


def test_a_recommended_epoch_the_end_beats_beyond_noise_gets_a_note():
    d = diagnose(_run(), task="binary", n_train=900, n_val=300, reference_error=0.08)
    assert d.recommended_epochs < d.epochs_run and d.recommended_val_metric > 0.085
    notes = [note for note in d.notes if note.startswith("the last epoch's validation error (0.067) is lower than "
                                                          "the smoothed value at the recommended epoch")]
    assert len(notes) == 1 and "keep the last epoch's weights, or stop with a longer patience" in notes[0]


def test_no_note_when_the_end_is_not_better_beyond_noise():
    epochs = np.arange(1, 41)
    val = 0.1 + 0.3 * np.exp(-0.3 * epochs) + 0.002 * np.maximum(0, epochs - 20)  # lowest near 20, then rising
    frame = pd.DataFrame({"epoch": epochs, "train_loss": val, "val_loss": val * 2, "train_error": val - 0.03,
                          "val_error": val})
    d = diagnose(frame, task="binary", n_train=900, n_val=300, reference_error=0.05)
    assert d.recommended_epochs < d.epochs_run
    assert not [note for note in d.notes if note.startswith("the last epoch's validation")]
