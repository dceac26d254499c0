"""Reference error: strong non-neural baselines' cross-validated error on the training split.

The reference error is what avoidable bias is measured against. A user who knows the Bayes or
human-level error gives it; otherwise the sweep estimates it once per dataset here, as the
lower of two baselines' errors, each cross-validated on the training split only (so the
validation and test splits stay unseen): scikit-learn's gradient-boosted trees
(:class:`~sklearn.ensemble.HistGradientBoostingClassifier` or ``Regressor``), strong on
axis-aligned, non-linear structure, and a linear model (logistic or ridge regression on
standardised inputs), strong on smooth, oblique boundaries where trees need many rows.
Each is an upper bound of the Bayes error, so the lower is the tighter one.
This module is the only place fitcheck imports scikit-learn's estimators.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import FitcheckError
from pipeline.names import TASKS

MIN_ROWS = 20
#: The baselines :func:`estimate_reference_error` takes the lower error of.
BASELINES = ("hist_gradient_boosting", "linear")


def estimate_reference_error(
    X_train: np.ndarray, y_train: np.ndarray, *, task: str, seed: int = 0, folds: int = 5
) -> float:
    """The lower of the baselines' cross-validated errors on the training split.

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
        RMSE for regression, of the better baseline (see :func:`baseline_errors`).

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
    return min(baseline_errors(X_train, y_train, task=task, seed=seed, folds=folds).values())


def baseline_errors(
    X_train: np.ndarray, y_train: np.ndarray, *, task: str, seed: int = 0, folds: int = 5
) -> dict[str, float]:
    """Each baseline's mean out-of-fold error on the training split, by name.

    Same parameters as :func:`estimate_reference_error` (inputs of more than two dimensions, such as
    images, are flattened); the keys are :data:`BASELINES`.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if task not in TASKS:
        raise FitcheckError(f"task must be one of {', '.join(TASKS)} but got {task!r}.")
    X_train = np.asarray(X_train, dtype=float)
    X_train = X_train.reshape(len(X_train), -1)  # images and sequences: one column per value
    y_train = np.asarray(y_train)
    if len(X_train) < MIN_ROWS:
        raise FitcheckError(
            f"the reference error needs at least {MIN_ROWS} training rows but got {len(X_train)}."
        )
    if task == "regression":
        models = {"hist_gradient_boosting": HistGradientBoostingRegressor(random_state=seed),
                  "linear": make_pipeline(StandardScaler(), RidgeCV())}
        split = KFold(folds, shuffle=True, random_state=seed)
        y_train, scoring = y_train.astype(float), "neg_root_mean_squared_error"
    else:
        _, counts = np.unique(y_train, return_counts=True)
        if len(counts) < 2:
            raise FitcheckError("the reference error needs at least two classes in the training split.")
        models = {"hist_gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
                  "linear": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))}
        split = StratifiedKFold(int(min(folds, max(2, counts.min()))), shuffle=True, random_state=seed)
        scoring = "accuracy"
    errors = {}
    with threadpool_limits(1):  # same result; OpenMP threads spin for minutes on a busy machine
        for name, model in models.items():
            score = float(np.mean(cross_val_score(model, X_train, y_train, cv=split, scoring=scoring)))
            errors[name] = -score if task == "regression" else 1.0 - score
    return errors
