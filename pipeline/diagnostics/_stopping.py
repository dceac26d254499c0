"""Where to stop: pure rules over a validation curve (lower is better).

Epochs are 1-based throughout: epoch ``k`` is the model after ``k`` epochs, ``curve[k - 1]``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_WINDOW = 5
DEFAULT_PATIENCE = 10


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
    if len(values) > 2 * half:  # full windows, all at once (each the mean of the same elements in order)
        out[half:len(values) - half] = np.lib.stride_tricks.sliding_window_view(values, window).mean(axis=1)
    for i in (*range(min(half, len(values))), *range(max(half, len(values) - half), len(values))):
        reach = min(half, i, len(values) - 1 - i)  # the ends: the window shrinks symmetrically
        out[i] = values[i - reach: i + reach + 1].mean()
    return out


def recommend_stop(
    val_curve: np.ndarray, *, window: int = DEFAULT_WINDOW, patience: int = DEFAULT_PATIENCE,
    min_delta: float = 0.0,
) -> int:
    """How many epochs to train: the earliest epoch the next ``patience`` epochs do not beat.

    The validation curve is smoothed first (centred moving average of ``window`` epochs), so a
    single lucky epoch does not count. The recommendation is the earliest epoch whose smoothed
    value none of the following ``patience`` epochs lowers by more than ``min_delta``: the
    point where a patience rule run on the smoothed curve would restore its weights. Taking
    the minimum of the whole smoothed curve instead puts the pick late on a flat, noisy tail,
    where later epochs buy nothing (the diagnostics benchmark measures both).

    Parameters
    ----------
    val_curve : array of shape (n_epochs,)
        Validation metric per epoch, lower is better, finite.
    window : int, default 5
        Odd smoothing window in epochs.
    patience : int, default 10
        How many later epochs must fail to improve on the pick.
    min_delta : float, default 0.0
        Smoothed improvements no larger than this do not justify more epochs.

    Returns
    -------
    int
        Recommended number of epochs, between 1 and ``len(val_curve)``.

    Examples
    --------
    >>> recommend_stop(np.array([0.5, 0.3, 0.2, 0.15, 0.2, 0.14, 0.25, 0.3, 0.35]), window=3)
    5
    >>> recommend_stop(np.array([0.5, 0.4, 0.3, 0.31, 0.3, 0.2, 0.2]), window=1, patience=2)
    3
    """
    values = np.asarray(val_curve, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("val_curve must be a non-empty array of finite values.")
    if patience < 1:
        raise ValueError(f"patience must be at least 1 but got {patience}.")
    smoothed = smooth(values, window=window)
    padded = np.concatenate([smoothed, np.full(patience, np.inf)])
    ahead = np.lib.stride_tricks.sliding_window_view(padded, patience + 1).min(axis=1)  # this epoch and the next
    return int(np.argmax(smoothed - ahead <= min_delta)) + 1  # the last epoch always qualifies


class OnlineStop:
    """:func:`recommend_stop` epoch by epoch: stop once its pick can no longer change.

    After ``n`` epochs the pick ``r`` of :func:`recommend_stop` on the curve so far is final when
    the smoothed values of epochs ``r`` to ``r + patience`` no longer depend on epochs to come
    (``r + patience + window // 2 <= n``): every earlier epoch is then beaten by a final value and
    ``r`` is beaten by none, so training on would recommend ``r`` too. It judges the values it is
    given and changes nothing else; a Keras callback (:class:`pipeline.training._callbacks.OnlineStopping`)
    feeds it and keeps the weights.

    Examples
    --------
    >>> rule = OnlineStop(window=1, patience=2)
    >>> for value in [5, 4, 3, 2, 1, 2, 3, 4, 5]:
    ...     rule.update(value)
    ...     if rule.kept_epoch is not None:
    ...         break
    >>> rule.n_epochs, rule.kept_epoch
    (7, 5)
    """

    def __init__(self, *, window: int = DEFAULT_WINDOW, patience: int = DEFAULT_PATIENCE, min_delta: float = 0.0):
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd number but got {window}.")
        if patience < 1:
            raise ValueError(f"patience must be at least 1 but got {patience}.")
        self.window, self.patience, self.min_delta = window, patience, min_delta
        self.values: list[float] = []

    def reset(self) -> None:
        """Forget the curve, to judge a new run."""
        self.values = []

    def update(self, value: float) -> None:
        """Add the next epoch's validation value (finite, lower is better)."""
        self.values.append(float(value))

    @property
    def n_epochs(self) -> int:
        return len(self.values)

    @property
    def pick(self) -> int:
        """:func:`recommend_stop` on the epochs so far (1 before any)."""
        if not self.values:
            return 1
        return recommend_stop(np.array(self.values), window=self.window, patience=self.patience,
                              min_delta=self.min_delta)

    @property
    def kept_epoch(self) -> int | None:
        """The epoch to keep once the pick is final, else None (train on)."""
        pick = self.pick
        return pick if self.values and pick + self.patience + self.window // 2 <= self.n_epochs else None

    @property
    def earliest_candidate(self) -> int:
        """No epoch before this one can be kept any more: it is beaten by a value that is final."""
        return max(1, min(self.pick, self.n_epochs - self.patience - self.window // 2 + 1))


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


def patience_floor(val_curve: np.ndarray, *, recommended_epochs: int, min_delta: float,
                   window: int = DEFAULT_WINDOW) -> int:
    """The smallest ``EarlyStopping`` patience the curve's noise justifies.

    The raw curve tracks the recommendation when it beats its best so far by more than
    ``min_delta`` at every epoch up to the recommended one, and never afterwards: patience 1
    then restores the recommended epoch, and would on any run shaped like this one; the floor
    is 1. Otherwise the curve is noisy: it stalled while the smoothed curve still fell, or dipped
    below the recommendation where the smoothed curve did not. Those moves fall at other epochs
    in the next run, so a patience fitted to where they fell in this one would not carry over;
    the floor is then the smoothing ``window``, the span the recommendation itself treats as
    noise (capped at the run length). A run of several epochs recommended to stop after its
    first shows no descent to judge its noise by and gets the window too.

    Examples
    --------
    >>> patience_floor(np.array([0.5, 0.4, 0.3, 0.35, 0.4]), recommended_epochs=3, min_delta=0.01)
    1
    >>> patience_floor(np.array([0.5, 0.4, 0.41, 0.3, 0.35, 0.4]), recommended_epochs=4, min_delta=0.01)
    5
    >>> patience_floor(np.array([0.5, 0.45, 0.46, 0.44, 0.47, 0.45]), recommended_epochs=1, min_delta=0.01)
    5
    """
    values = np.asarray(val_curve, dtype=float)
    best_so_far = np.minimum.accumulate(values)
    stalled = values[1:recommended_epochs] + abs(min_delta) >= best_so_far[:recommended_epochs - 1]
    dipped = values[recommended_epochs:] + abs(min_delta) < best_so_far[recommended_epochs - 1]
    no_descent = recommended_epochs == 1 and len(values) > 1
    return min(window, len(values)) if stalled.any() or dipped.any() or no_descent else 1


def early_stopping_settings(
    val_curve: np.ndarray, *, recommended_epochs: int, min_delta: float, monitor: str, mode: str,
    window: int = DEFAULT_WINDOW,
) -> dict:
    """Keras ``EarlyStopping`` arguments that, replayed on this run, keep the recommended epoch.

    The patience is the smallest one, no smaller than :func:`patience_floor`, whose Keras
    replay (with ``min_delta``) restores the epoch closest to ``recommended_epochs``.

    Parameters
    ----------
    val_curve : array of shape (n_epochs,)
        Validation metric per epoch, lower is better, finite.
    recommended_epochs : int
        The epoch to restore (1-based).
    min_delta : float
        Smallest improvement that counts, in the metric's units.
    monitor, mode : str
        Passed through: the name of the validation metric in the caller's logs and whether it
        is minimised (``"min"``) or maximised (``"max"``, e.g. ``val_accuracy``).
    window : int, default 5
        Smoothing window of the recommendation, the patience floor on a noisy curve.

    Examples
    --------
    >>> early_stopping_settings(np.array([0.5, 0.4, 0.3, 0.35, 0.4]), recommended_epochs=3,
    ...                         min_delta=0.01, monitor="val_error", mode="min")["patience"]
    1
    """
    values = np.asarray(val_curve, dtype=float)
    floor = patience_floor(values, recommended_epochs=recommended_epochs, min_delta=min_delta, window=window)
    best_patience, best_distance = floor, None
    for patience, restored in _restored_by_patience(values, min_delta=min_delta, start=floor):
        distance = abs(restored - recommended_epochs)
        if best_distance is None or distance < best_distance:
            best_patience, best_distance = patience, distance
        if distance == 0:
            break
    return {"monitor": monitor, "mode": mode, "patience": best_patience,
            "min_delta": float(min_delta), "restore_best_weights": True}


def _restored_by_patience(values: np.ndarray, *, min_delta: float, start: int):
    """``(patience, restored_epoch)`` of :func:`replay_keras_early_stopping`, for the smallest patience
    from ``start`` up to the run's length at which the restored epoch changes, in increasing patience.

    Which epochs improve does not depend on the patience, so one pass finds them; a patience P then
    stops after the first improvement followed by more than max(P, 1) - 1 epochs without one, and
    restores it. Linear in the number of epochs, where replaying every patience was quadratic.
    """
    improved, best = [], None
    for index, value in enumerate(values):  # Keras' rule: better than the last improvement by min_delta
        if best is None or value + abs(min_delta) < best:
            improved.append(index + 1)
            best = value
    ends = improved[1:] + [len(values) + 1]  # the next improvement, or past the end
    gaps = [end - epoch for epoch, end in zip(improved, ends)]
    patience, last = start, max(start, len(values))
    for epoch, gap, end in zip(improved, gaps, ends):
        # patience P stops after this improvement when gap > max(P, 1) (the end of the run counts as
        # stopping after at least P quiet epochs, which is the same restore); smaller P stopped earlier
        stops_here = gap > max(patience, 1) or end > len(values)
        if stops_here:
            yield patience, epoch
            patience = max(patience, gap if end <= len(values) else last + 1)
            if patience > last:
                return
