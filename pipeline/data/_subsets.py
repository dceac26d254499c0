"""Nested, class-stratified training subsets for the ``train_size`` axis."""

from __future__ import annotations

import numpy as np

from pipeline.errors import FitcheckError


def subset_rows(size: float | int, n_train: int, *, source: str = "spec", key: str = "train_size") -> int:
    """The rows a ``train_size`` takes of ``n_train``: a fraction (at least 2 rows) or a row count.

    >>> subset_rows(0.25, 1000), subset_rows(1.0, 1000), subset_rows(300, 1000)
    (250, 1000, 300)
    """
    if isinstance(size, float) or size == 1:
        if not 0 < size <= 1:
            raise FitcheckError(f"{source}: {key} must be a fraction in (0, 1] or a whole number of rows >= 2 "
                                f"but got {size!r}")
        return max(2, min(n_train, int(round(size * n_train))))
    if not 2 <= size <= n_train:
        raise FitcheckError(f"{source}: {key} must be at most the {n_train} rows of the training split "
                            f"(or a fraction of it) but got {size}")
    return int(size)


def training_subset(y: np.ndarray, size: float | int, *, task: str, seed: int) -> np.ndarray:
    """Indices of the first ``size`` training rows in one fixed order: nested, and stratified by class.

    The order is fixed by ``seed`` (the split's), so the rows of a smaller size are among those of
    any larger one, and every size is measured against the same validation split. For classification
    the order interleaves the classes in proportion (the ``k``-th row of a class with ``n_c`` rows
    sits at ``k / n_c``): any prefix holds each class's share to within one row, and the first
    ``n_classes`` rows hold one of each. Regression rows are taken in a seeded random order.

    Parameters
    ----------
    y : ndarray
        The training targets (class indices for classification).
    size : float or int
        A fraction in (0, 1] of the rows, or a row count >= 2 (:func:`subset_rows`).
    task : {"binary", "multiclass", "regression"}
    seed : int

    Returns
    -------
    ndarray of int
        Sorted row indices into ``y``.

    Examples
    --------
    >>> y = np.array([0] * 8 + [1] * 4)
    >>> small = training_subset(y, 3, task="binary", seed=0)
    >>> large = training_subset(y, 0.5, task="binary", seed=0)
    >>> set(small) <= set(large), np.bincount(y[large]).tolist()
    (True, [4, 2])
    """
    n_rows = subset_rows(size, len(y))
    rng = np.random.default_rng(seed)
    if task == "regression":
        order = rng.permutation(len(y))
    else:
        position = np.empty(len(y))
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            position[rng.permutation(rows)] = np.arange(len(rows)) / len(rows)
        order = np.lexsort((rng.random(len(y)), position))  # ties (equal shares) in a seeded order
    return np.sort(order[:n_rows])
