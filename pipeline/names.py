"""Names fitcheck writes into MLflow: one place, imported by the sweep, the diagnosis and the report.

Layout of a sweep in MLflow
---------------------------
Parent run (one per sweep), tag ``fitcheck.role = "sweep"``:
    params   dataset, task, n_train, n_val, n_test, n_features, grid_size, n_dropped_invalid, spec_hash, grid (JSON)
    tags     fitcheck.spec_name, fitcheck.spec_hash, fitcheck.reference_error_source, mlflow.source.git.commit
    metrics  reference_error (+ reference_error_<baseline> when estimated), n_trials, n_finished, n_failed,
             n_skipped, sweep_seconds
    artifacts spec.yaml, report.html
Child run (one per trial), tag ``fitcheck.role = "trial"``, tag ``mlflow.parentRunId``:
    params   every grid axis (AXES) and ``task``
    tags     trial_key, diagnosis, diagnosis_at_recommended, fitcheck.error (on failure), fitcheck.diverged_epoch
    metrics  per epoch (step = epoch, 1-based): train_loss_running, train_loss, val_loss,
             train_error/val_error (classification) or train_rmse/val_rmse (regression);
             summary: best_val_<metric>, best_epoch, final_train_<metric>, final_val_<metric>, train_seconds,
             recommended_epochs, avoidable_bias, variance_gap, variance_gap_se, reference_error
    artifacts curves.png, curves.csv, diagnosis.json
"""

from __future__ import annotations

ROLE_TAG = "fitcheck.role"
ROLE_SWEEP = "sweep"
ROLE_TRIAL = "trial"
TRIAL_KEY_TAG = "trial_key"
SPEC_HASH_TAG = "fitcheck.spec_hash"
SPEC_NAME_TAG = "fitcheck.spec_name"
ERROR_TAG = "fitcheck.error"
DIVERGED_EPOCH_TAG = "fitcheck.diverged_epoch"
DIAGNOSIS_TAG = "diagnosis"
DIAGNOSIS_AT_RECOMMENDED_TAG = "diagnosis_at_recommended"
REFERENCE_SOURCE_TAG = "fitcheck.reference_error_source"
#: Prefix of the parent's per-baseline metrics when the reference is estimated (+ baseline name).
REFERENCE_BASELINE_PREFIX = "reference_error_"
PARENT_RUN_TAG = "mlflow.parentRunId"

AXES = (
    "depth", "width", "activation", "loss", "optimizer", "learning_rate",
    "batch_size", "epochs", "seed", "l2", "dropout",
)

RUNNING_LOSS = "train_loss_running"


def task_metric(task: str) -> str:
    """The loss-independent task metric: ``"error"`` (1 - accuracy) or ``"rmse"`` for regression."""
    return "rmse" if task == "regression" else "error"


def curve_columns(task: str) -> tuple[str, ...]:
    """Per-epoch curve names logged for a task, in a fixed order."""
    metric = task_metric(task)
    return (RUNNING_LOSS, "train_loss", "val_loss", f"train_{metric}", f"val_{metric}")

#: Values of the parent's ``fitcheck.reference_error_source`` tag, and what each means.
REFERENCE_SOURCES = {
    "given": "given by the user",
    "estimated": "estimated: the lower of HistGradientBoosting's and a linear model's 5-fold "
                 "cross-validated errors on the training split",
    "sweep_best_val": "best validation error across the sweep",
}
