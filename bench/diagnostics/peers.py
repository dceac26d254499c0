"""The rules practitioners reach for today, run offline on the same curves as fitcheck.

Labelling peers map a run to one of fitcheck's four labels; stopping peers return
``(epochs_trained, epoch_kept)``, both 1-based, for a validation curve (lower is better).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIXED_POINTS = 0.05  # classification: five points of error
FIXED_RELATIVE = 0.2  # regression: 20% of the reference RMSE


def _label(high_bias: bool, high_variance: bool) -> str:
    from pipeline.diagnostics._labels import fit_label

    return fit_label(high_bias=high_bias, high_variance=high_variance)


def fixed_threshold(curves: pd.DataFrame, *, metric: str, reference: float) -> str:
    """The eyeball rule: bias or variance is high when it exceeds a fixed amount, noise ignored."""
    train, val = curves[f"train_{metric}"].iloc[-1], curves[f"val_{metric}"].iloc[-1]
    threshold = FIXED_POINTS if metric == "error" else FIXED_RELATIVE * reference
    return _label(train - reference > threshold, val - train > threshold)


def sk_autod(curves: pd.DataFrame) -> str:
    """sk-autod 0.1.1 on the loss curves: Underfitting / LR too low -> bias;
    Classic overfitting / Missed early stopping -> variance. Under 5 epochs it refuses
    (``ValueError``) and the run counts as ``good_fit`` (no finding)."""
    from sk_autod import diagnose

    try:
        report = diagnose(curves["train_loss"].tolist(), curves["val_loss"].tolist())
    except ValueError:
        return _label(False, False)
    names = {finding.detector_name for finding in report.findings}
    return _label(bool(names & {"Underfitting", "LR too low"}),
                  bool(names & {"Classic overfitting", "Missed early stopping"}))


def trainspotter(curves: pd.DataFrame) -> str:
    """trainspotter 0.2.6 on the loss curves (``train/loss``, ``eval/loss`` per epoch):
    an ``overfitting`` warning -> variance; a ``plateau`` of the training loss (a stall,
    converged plateaus are suppressed by design) -> bias. It has no underfitting detector,
    so a converged under-capacity run cannot be labelled high bias."""
    from trainspotter import Run, run_all

    run = Run(source_format="fitcheck-bench")
    for epoch, train, val in zip(curves["epoch"], curves["train_loss"], curves["val_loss"]):
        run.add_point("train/loss", int(epoch), float(train))
        run.add_point("eval/loss", int(epoch), float(val))
    run.finalize()
    findings = [f for f in run_all(run) if f.severity != "info" or f.detector == "plateau"]
    detectors = {f.detector for f in findings}
    return _label("plateau" in detectors, "overfitting" in detectors)


def keras_patience(val: np.ndarray, *, patience: int) -> tuple[int, int]:
    """``EarlyStopping(patience=p, restore_best_weights=True)`` replayed."""
    from pipeline.diagnostics import replay_keras_early_stopping

    return replay_keras_early_stopping(val, patience=patience)


def _kept(val: np.ndarray, stop: int) -> tuple[int, int]:
    """Prechelt keeps the epoch with the lowest validation error seen up to the stop."""
    return stop, int(np.argmin(val[:stop])) + 1


def _generalisation_loss(val: np.ndarray) -> np.ndarray:
    best = np.minimum.accumulate(val)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = 100.0 * (val / best - 1.0)
    return np.where(best > 0, loss, np.where(val > 0, np.inf, 0.0))


def prechelt_gl(val: np.ndarray, *, alpha: float) -> tuple[int, int]:
    """GL_alpha: stop after the first epoch whose generalisation loss exceeds alpha percent."""
    over = np.flatnonzero(_generalisation_loss(val) > alpha)
    return _kept(val, int(over[0]) + 1 if over.size else len(val))


def prechelt_pq(val: np.ndarray, train_loss: np.ndarray, *, alpha: float, strip: int = 5) -> tuple[int, int]:
    """PQ_alpha: at strip ends, stop when GL(t) / P_k(t) > alpha; P_k is training progress in
    per mille over the last strip of k epochs (measured on the training loss)."""
    gl = _generalisation_loss(val)
    for end in range(strip, len(val) + 1, strip):
        window = train_loss[end - strip: end]
        progress = 1000.0 * (window.sum() / (strip * window.min()) - 1.0) if window.min() > 0 else np.inf
        if progress > 0 and gl[end - 1] / progress > alpha:
            return _kept(val, end)
    return _kept(val, len(val))


def prechelt_up(val: np.ndarray, *, successive: int, strip: int = 5) -> tuple[int, int]:
    """UP_s: stop when the validation error rose at the end of s successive strips."""
    rises = 0
    for end in range(2 * strip, len(val) + 1, strip):
        rises = rises + 1 if val[end - 1] > val[end - 1 - strip] else 0
        if rises >= successive:
            return _kept(val, end)
    return _kept(val, len(val))
