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

It also keeps the sweep's reference through the sweep: resolved before any trial runs
(:func:`resolve_reference`), settled once every trial has (:func:`settle_reference`, from the sweep's
own best), and every trial diagnosed again when it moved (:func:`rediagnose`).
"""

from __future__ import annotations

import math

import numpy as np

from pipeline import names
from pipeline.data import PreparedData
from pipeline.errors import FitcheckError
from pipeline.runs import run_configuration, trial_payload
from pipeline.spec import SweepSpec
from pipeline.sweep._options import SweepOptions
from pipeline.sweep._result import SweepResult
from pipeline.sweep._session import Session, logged_stops, trial_diagnosis

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

    if task not in names.TASKS:
        raise FitcheckError(f"task must be one of {', '.join(names.TASKS)} but got {task!r}.")
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


def resolve_reference(
    spec: SweepSpec, options: SweepOptions, data: PreparedData
) -> tuple[float | None, str, dict[str, float]]:
    """The reference (Bayes-like) error, its source and, when estimated, each baseline's error.

    In order of preference: the command line, the spec's number (source ``given``), the lower
    of the non-neural baselines' errors (``estimated``, when the spec says ``estimate``, the
    default), or the best validation error of the sweep (``sweep_best_val``: ``None`` here; the
    sweep fills it in once every trial has finished).
    """
    if options.reference_error is not None:
        return options.reference_error, names.REFERENCE_GIVEN, {}
    if isinstance(spec.reference_error, float):
        return spec.reference_error, names.REFERENCE_GIVEN, {}
    if spec.reference_error == names.REFERENCE_SPEC_ESTIMATE:
        scale = data.target_scale if data.task == names.REGRESSION else 1.0
        try:
            errors = baseline_errors(data.X_train, data.y_train, task=data.task, seed=spec.split.seed)
        except FitcheckError as error:
            raise FitcheckError(f"{spec.source}: reference_error: estimate: {str(error).rstrip('.')} (dataset "
                                f"{data.name}); give a known error rate instead, or 'sweep', or pass "
                                "--reference-error") from None
        baselines = {name: float(error) * scale for name, error in errors.items()}
        return min(baselines.values()), names.REFERENCE_ESTIMATED, baselines
    return None, names.REFERENCE_SWEEP_BEST, {}


def settle_reference(data: PreparedData, result: SweepResult, finished_before: list) -> bool:
    """Once every trial has run, fix the reference the whole sweep is diagnosed against; True when
    it differs from the one the trials were diagnosed against live.

    ``reference_error: sweep``: the best validation metric of the sweep, earlier invocations'
    trials included. An estimated reference: capped by that best plus an allowance for picking
    the best of K noisy values (:func:`pipeline.diagnostics.cap_reference`), so it is never
    above what the sweep's own networks reached.
    """
    from pipeline.diagnostics import cap_reference, curve_summary, reference_from_sweep

    best_val = names.summary_metric(names.BEST_VAL, data.task)
    bests = [curve_summary(r.outcome.curves, task=data.task).get(best_val, math.nan)
             for r in result.records if r.outcome.status == "FINISHED"]
    bests += [run.data.metrics[best_val] for run in finished_before if best_val in run.data.metrics]
    bests = [value for value in bests if math.isfinite(value)]
    if not bests:
        return False
    if result.reference_error is None:
        result.reference_error = reference_from_sweep(bests)
        return True
    if result.reference_source != names.REFERENCE_ESTIMATED:
        return False
    estimate = result.reference_estimate if result.reference_estimate is not None else result.reference_error
    capped = cap_reference(estimate, best_val=min(bests), n_val=len(data.y_val), n_trials=len(bests),
                           metric=names.task_metric(data.task))
    result.reference_estimate = estimate
    if not capped.capped:
        return False
    result.reference_error = capped.value
    return True


def rediagnose(session: Session, result: SweepResult, finished_before: list) -> None:
    """Diagnose every trial of the sweep, earlier invocations' included, against the settled reference."""
    data = session.data
    for record in result.records:
        session.diagnose(record, result.reference_error, result.reference_source)
        if record.diagnosis is not None and record.run_id:
            session.update_record(record, result.reference_error, plot=True)
    for run in finished_before:
        curves = session.logged_curves(run.info.run_id)
        n_train = int(run.data.params.get(names.N_TRAIN_PARAM, len(data.y_train)))
        diagnosis = trial_diagnosis(curves, data, result.reference_error, result.reference_source,
                                    n_train=n_train, kept_epoch=logged_stops(run)["kept_epoch"],
                                    config=run_configuration(run.data.params, n_train=n_train))
        if diagnosis is None:
            continue
        session.update_run(run.info.run_id, trial_payload(
            curves, task=data.task, title=run.info.run_name, diagnosis=diagnosis,
            reference_error=result.reference_error, **logged_stops(run)))
