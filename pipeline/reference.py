"""Reference error: a strong non-neural baseline's cross-validated error on the training split.

The reference error is what avoidable bias is measured against. A user who knows the Bayes or
human-level error gives it; otherwise the sweep estimates it once per dataset here, with
scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier` (or ``Regressor``)
cross-validated on the training split only, so the validation and test splits stay unseen.
This module is the only place fitcheck imports scikit-learn's estimators.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import FitcheckError

TASKS = ("binary", "multiclass", "regression")
MIN_ROWS = 20


def estimate_reference_error(
    X_train: np.ndarray, y_train: np.ndarray, *, task: str, seed: int = 0, folds: int = 5
) -> float:
    """Cross-validated error of a gradient-boosted tree baseline on the training split.

    Parameters
    ----------
    X_train : array of shape (n_samples, n_features)
        Training features.
    y_train : array of shape (n_samples,)
        Training targets: class labels, or real values for regression.
    task : {"binary", "multiclass", "regression"}
        The learning task.
    seed : int, default 0
        Seed for the fold split and the boosting's own randomness.
    folds : int, default 5
        Number of cross-validation folds (fewer when a class has fewer members).

    Returns
    -------
    float
        Mean out-of-fold error rate (1 - accuracy) for classification, or out-of-fold
        RMSE for regression.

    Raises
    ------
    FitcheckError
        If the task is unknown or the split has fewer than 20 rows or a single class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> estimate_reference_error(X, y, task="binary") < 0.1
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    if task not in TASKS:
        raise FitcheckError(f"task must be one of {', '.join(TASKS)} but got {task!r}.")
    X_train = np.asarray(X_train, dtype=float)
    y_train = np.asarray(y_train)
    if len(X_train) < MIN_ROWS:
        raise FitcheckError(
            f"the reference error needs at least {MIN_ROWS} training rows but got {len(X_train)}."
        )
    if task == "regression":
        model = HistGradientBoostingRegressor(random_state=seed)
        split = KFold(folds, shuffle=True, random_state=seed)
        with threadpool_limits(1):
            scores = cross_val_score(model, X_train, y_train.astype(float), cv=split,
                                     scoring="neg_root_mean_squared_error")
        return float(-np.mean(scores))
    _, counts = np.unique(y_train, return_counts=True)
    if len(counts) < 2:
        raise FitcheckError("the reference error needs at least two classes in the training split.")
    model = HistGradientBoostingClassifier(random_state=seed)
    split = StratifiedKFold(int(min(folds, max(2, counts.min()))), shuffle=True, random_state=seed)
    with threadpool_limits(1):  # same result; OpenMP threads spin for minutes on a busy machine
        scores = cross_val_score(model, X_train, y_train, cv=split, scoring="accuracy")
    return float(1.0 - np.mean(scores))
