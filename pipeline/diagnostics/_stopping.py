"""Where to stop: pure rules over a validation curve (lower is better).

Epochs are 1-based throughout: epoch ``k`` is the model after ``k`` epochs, ``curve[k - 1]``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_WINDOW = 5


def smooth(curve: np.ndarray, *, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Centred moving average of a curve; the window shrinks symmetrically at the ends.

    Parameters
    ----------
    curve : array of shape (n_epochs,)
        Finite values.
    window : int, default 5
        Odd number of epochs averaged; 1 returns the curve unchanged.

    Examples
    --------
    >>> smooth(np.array([3.0, 1.0, 2.0, 0.0, 1.0]), window=3).tolist()
    [3.0, 2.0, 1.0, 1.0, 1.0]
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number but got {window}.")
    values = np.asarray(curve, dtype=float)
    half = window // 2
    out = np.empty_like(values)
    for i in range(len(values)):
        reach = min(half, i, len(values) - 1 - i)
        out[i] = values[i - reach: i + reach + 1].mean()
    return out


def recommend_stop(val_curve: np.ndarray, *, window: int = DEFAULT_WINDOW, min_delta: float = 0.0) -> int:
    """How many epochs to train: the first epoch at the minimum of the smoothed validation curve.

    The raw argmin of a noisy curve chases noise; the minimum of a centred moving average
    does not. Of the epochs whose smoothed value is within ``min_delta`` of that minimum,
    the earliest is chosen, so a flat tail is not trained for nothing.

    Parameters
    ----------
    val_curve : array of shape (n_epochs,)
        Validation metric per epoch, lower is better, finite.
    window : int, default 5
        Odd smoothing window in epochs.
    min_delta : float, default 0.0
        Smoothed improvements smaller than this do not justify more epochs.

    Returns
    -------
    int
        Recommended number of epochs, between 1 and ``len(val_curve)``.

    Examples
    --------
    >>> recommend_stop(np.array([0.5, 0.3, 0.2, 0.15, 0.2, 0.14, 0.25, 0.3, 0.35]), window=3)
    5
    """
    values = np.asarray(val_curve, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("val_curve must be a non-empty array of finite values.")
    smoothed = smooth(values, window=min(window, 2 * ((len(values) - 1) // 2) + 1))
    return int(np.argmax(smoothed <= smoothed.min() + min_delta)) + 1


def replay_keras_early_stopping(
    curve: np.ndarray, *, patience: int, min_delta: float = 0.0
) -> tuple[int, int]:
    """Replay ``keras.callbacks.EarlyStopping(mode="min", restore_best_weights=True)`` on a curve.

    Follows Keras 3: an epoch improves when ``value - min_delta < best``; training stops at
    the epoch where ``patience`` epochs have passed without improvement; the weights of the
    last improving epoch are restored at the end, stopped or not.

    Returns
    -------
    (epochs_trained, restored_epoch) : tuple of int
        Both 1-based.

    Examples
    --------
    >>> replay_keras_early_stopping(np.array([3.0, 2.0, 2.5, 2.6, 2.7]), patience=2)
    (4, 2)
    """
    if patience < 0:
        raise ValueError(f"patience cannot be negative but got {patience}.")
    best, best_epoch, wait = None, 1, 0
    for index, value in enumerate(np.asarray(curve, dtype=float)):
        wait += 1
        if best is None or value + abs(min_delta) < best:
            best, best_epoch, wait = value, index + 1, 0
            continue
        if wait >= patience and index > 0:
            return index + 1, best_epoch
    return len(curve), best_epoch


def online_stop(
    val_curve: np.ndarray, *, patience: int = 5, window: int = DEFAULT_WINDOW, min_delta: float = 0.0
) -> tuple[int, int]:
    """The recommendation rule run online: stop once the smoothed curve stops improving.

    At each epoch only the epochs so far are known. Training stops when the trailing
    (causal) moving average has not improved by ``min_delta`` for ``patience`` epochs; the
    epoch kept is then :func:`recommend_stop` on the curve seen so far.

    Returns
    -------
    (epochs_trained, recommended_epochs) : tuple of int
        Both 1-based.

    Examples
    --------
    >>> online_stop(np.array([5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 7, 8.0]), patience=2, window=1)
    (7, 5)
    """
    values = np.asarray(val_curve, dtype=float)
    trailing = np.array([values[max(0, i - window + 1): i + 1].mean() for i in range(len(values))])
    epochs_trained, _ = replay_keras_early_stopping(trailing, patience=patience, min_delta=min_delta)
    return epochs_trained, recommend_stop(values[:epochs_trained], window=window, min_delta=min_delta)


def early_stopping_settings(
    val_curve: np.ndarray, *, recommended_epochs: int, min_delta: float, monitor: str, mode: str
) -> dict:
    """Keras ``EarlyStopping`` arguments that, replayed on this run, keep the recommended epoch.

    The patience is the smallest one whose restored epoch lands closest to
    ``recommended_epochs`` with the given ``min_delta``.
    """
    values = np.asarray(val_curve, dtype=float)
    best_patience, best_distance = 1, None
    for patience in range(1, len(values) + 1):
        _, restored = replay_keras_early_stopping(values, patience=patience, min_delta=min_delta)
        distance = abs(restored - recommended_epochs)
        if best_distance is None or distance < best_distance:
            best_patience, best_distance = patience, distance
        if distance == 0:
            break
    return {"monitor": monitor, "mode": mode, "patience": best_patience,
            "min_delta": float(min_delta), "restore_best_weights": True}
