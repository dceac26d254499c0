"""Names fitcheck writes into MLflow: one place, imported by the sweep, the diagnosis and the report.

Layout of a sweep in MLflow
---------------------------
Parent run (one per sweep), tag ``fitcheck.role = "sweep"``:
    params   dataset, task, n_train, n_val, n_test, n_features, input_shape (images, sequences), grid_size,
             n_dropped_invalid, spec_hash, grid (JSON)
    tags     fitcheck.spec_name, fitcheck.spec_hash, fitcheck.reference_error_source, mlflow.source.git.commit,
             mlflow.note.content (the sweep's summary, markdown), fitcheck.launcher_run_id (under ``mlflow run``)
    metrics  reference_error (+ reference_error_<baseline> when estimated), n_trials, n_finished, n_failed,
             n_skipped, sweep_seconds; per configuration with several training sizes, lc_val_<metric>/<name> and
             lc_train_<metric>/<name> with step = training rows
    artifacts spec.yaml, report.html
Child run (one per trial), tag ``fitcheck.role = "trial"``, tag ``mlflow.parentRunId``:
    params   every grid axis (AXES, ``train_size`` included), ``task`` and ``n_train`` (rows it trained on)
    tags     trial_key, diagnosis, diagnosis_at_recommended, fitcheck.bias_decided, fitcheck.error (on failure),
             fitcheck.diverged_epoch, fitcheck.pruned, mlflow.note.content (the diagnosis in words, markdown),
             more_data_helps (the largest size of a configuration with a learning curve)
    metrics  per epoch (step = epoch, 1-based): train_loss_running, train_loss, val_loss,
             train_error/val_error (classification) or train_rmse/val_rmse (regression);
             summary: best_val_<metric>, best_epoch, final_train_<metric>, final_val_<metric>, train_seconds,
             recommended_epochs, recommended_val_<metric>, recommended_train_<metric>, avoidable_bias,
             stopped_epoch, kept_epoch, kept_val_<metric> (early stopping), variance_gap, variance_gap_se,
             reference_error, bias_decided
    artifacts curves.png, curves.csv, diagnosis.json
Experiment: tag ``mlflow.sharedViewState.fitcheck-<parent run id>`` per sweep, the MLflow UI view of its trials.
A run launched by ``mlflow run``: tag fitcheck.sweep_run_id, the sweep (parent) run it ran.
"""

from __future__ import annotations

# -- tasks -----------------------------------------------------------------------------------
BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)
#: What accuracy metrics alone tell of a task: classification, binary or multiclass not told (never a run's task).
CLASSIFICATION = "classification"

# -- fit labels (the ``diagnosis`` tag) ------------------------------------------------------
GOOD_FIT = "good_fit"
HIGH_BIAS = "high_bias"
HIGH_VARIANCE = "high_variance"
HIGH_BIAS_HIGH_VARIANCE = "high_bias_high_variance"
DIVERGED = "diverged"
#: A trial stopped by successive halving against the sweep's other trials: not a fit label.
PRUNED = "pruned"
#: A trial that ended with an error (an exception), not because its loss became NaN or infinite: not a fit label.
FAILED = "failed"
LABELS = (GOOD_FIT, HIGH_BIAS, HIGH_VARIANCE, HIGH_BIAS_HIGH_VARIANCE, DIVERGED, FAILED, PRUNED)
#: Labels of trials whose run ended without a model to judge (the curves stop at the failure).
ENDED_EARLY = (DIVERGED, FAILED)
#: Labels of trials that did not train to the end: they are not ranked against the others.
NOT_RANKED = (*ENDED_EARLY, PRUNED)
#: What a trial without a diagnosis is called (still running, or logged by an older fitcheck).
UNDIAGNOSED = "undiagnosed"
LABEL_TITLES = {
    GOOD_FIT: "good fit", HIGH_BIAS: "high bias", HIGH_VARIANCE: "high variance",
    HIGH_BIAS_HIGH_VARIANCE: "high bias + variance", DIVERGED: "diverged", FAILED: "failed",
    PRUNED: "pruned", UNDIAGNOSED: "undiagnosed",
    "bias_undecided": "bias undecided",
}

# -- tags ------------------------------------------------------------------------------------
ROLE_TAG = "fitcheck.role"
ROLE_SWEEP = "sweep"
ROLE_TRIAL = "trial"
TRIAL_KEY_TAG = "trial_key"
SPEC_HASH_TAG = "fitcheck.spec_hash"
SPEC_NAME_TAG = "fitcheck.spec_name"
ERROR_TAG = "fitcheck.error"
DIVERGED_EPOCH_TAG = "fitcheck.diverged_epoch"
#: On a pruned trial: the epoch (rung) at which successive halving stopped it.
PRUNED_TAG = "fitcheck.pruned"
PID_TAG = "fitcheck.pid"
HOST_TAG = "fitcheck.host"
DIAGNOSIS_TAG = "diagnosis"
DIAGNOSIS_AT_RECOMMENDED_TAG = "diagnosis_at_recommended"
#: ``"true"`` or ``"false"``: whether the bias verdict is decided (an estimated reference may be
#: too uncertain to rule avoidable bias in or out); filter undecided runs in the MLflow UI.
BIAS_DECIDED_TAG = "fitcheck.bias_decided"
REFERENCE_SOURCE_TAG = "fitcheck.reference_error_source"
PARENT_RUN_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
DATASET_CONTEXT_TAG = "mlflow.data.context"
#: Values of ``mlflow.data.context``: which split a logged dataset holds (also the keys of ``PreparedData.rows``).
TRAINING_CONTEXT = "training"
VALIDATION_CONTEXT = "validation"
TEST_CONTEXT = "test"
#: MLflow's run description (markdown), shown on the run page.
NOTE_TAG = "mlflow.note.content"
#: On the run ``mlflow run`` made: the sweep (parent) run it launched; on that parent: the latest launcher.
SWEEP_RUN_TAG = "fitcheck.sweep_run_id"
LAUNCHER_RUN_TAG = "fitcheck.launcher_run_id"
#: On a sweep (parent) run whose spec ``fitcheck next`` wrote: the sweep run it is the next round of.
PREVIOUS_SWEEP_TAG = "fitcheck.previous_sweep"
#: On a round of a recipe search (``search: {method: recipe}``): its number, 1 for the first.
RECIPE_ROUND_TAG = "fitcheck.recipe_round"
#: On a recipe round's parent run: why it holds its configurations, its best and whether the recipe stopped there.
RECIPE_ROUND_FILE = "recipe_round.json"
#: Prefix of the experiment tags the MLflow UI reads a shared view from (URL parameter ``viewStateShareKey``).
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."

# -- reference error -------------------------------------------------------------------------
#: The spec's words for a reference not given as a number: ``reference_error: estimate`` or ``sweep``.
REFERENCE_SPEC_ESTIMATE, REFERENCE_SPEC_SWEEP = "estimate", "sweep"
REFERENCE_GIVEN = "given"
REFERENCE_ESTIMATED = "estimated"
REFERENCE_SWEEP_BEST = "sweep_best_val"
REFERENCE_ASSUMED_ZERO = "assumed_zero"
#: Values of the parent's ``fitcheck.reference_error_source`` tag (and of a diagnosis's
#: ``reference_source``), and what each means.
REFERENCE_SOURCES = {
    REFERENCE_GIVEN: "given by the user",
    REFERENCE_ESTIMATED: "estimated: the lower of HistGradientBoosting's and a linear model's 5-fold "
                         "cross-validated errors on the training split",
    REFERENCE_SWEEP_BEST: "best validation error across the sweep",
    REFERENCE_ASSUMED_ZERO: "none given: taken as 0",
}
REFERENCE_ERROR = "reference_error"
#: The estimate before the cap by the sweep's best validation error (logged when the cap lowered it).
REFERENCE_ESTIMATE = "reference_estimate"
#: Prefix of the parent's per-baseline metrics when the reference is estimated (+ baseline name).
REFERENCE_BASELINE_PREFIX = "reference_error_"

# -- params and metrics ----------------------------------------------------------------------
#: ``AXES``: every grid axis's param name, from the one declaration :data:`pipeline.spec._axes.AXIS_TABLE`
#: (read on first use, so importing this module stays free of the spec's validation code).


def __getattr__(name: str) -> object:
    if name == "AXES":
        from pipeline.spec._axes import AXES

        return AXES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The ``train_size`` axis's default: the whole training split (a trial at it keeps its pre-axis key).
FULL_TRAIN_SIZE = 1.0
TASK_PARAM = "task"
GRID_PARAM = "grid"
N_TRAIN_PARAM = "n_train"
N_VAL_PARAM = "n_val"
#: On the sweep run, for inputs that are not one row of features (images, sequences): one sample's shape, ``8x8x1``.
INPUT_SHAPE_PARAM = "input_shape"
#: A trial's trainable parameter count (param): the simplest of tied trials is the one recommended.
N_PARAMETERS_PARAM = "n_parameters"
#: A builder trial's param: its model builder's reference (``package.module:function``).
MODEL_PARAM = "model"

RUNNING_LOSS = "train_loss_running"
TRAIN_LOSS = "train_loss"
VAL_LOSS = "val_loss"
BEST_EPOCH = "best_epoch"
TRAIN_SECONDS = "train_seconds"
RECOMMENDED_EPOCHS = "recommended_epochs"
VARIANCE_GAP = "variance_gap"
VARIANCE_GAP_SE = "variance_gap_se"
AVOIDABLE_BIAS = "avoidable_bias"
REGRET = "regret"
EPOCHS_SAVED = "epochs_saved"
CONVERGED = "converged"
#: 1.0 when the bias verdict is decided, 0.0 when the reference's uncertainty leaves it open.
BIAS_DECIDED = "bias_decided"
#: Kind of summary metric (``summary_metric(RECOMMENDED_VAL, task)`` is ``recommended_val_error``):
#: the smoothed validation metric at the recommended epoch, what trials are ranked by.
RECOMMENDED_VAL = "recommended_val"
#: Keras' own names for the validation metrics fitcheck's ``val_error`` / ``val_rmse`` mirror
#: (``EarlyStopping`` monitors): accuracy is maximised, RMSE minimised.
KERAS_VAL_ACCURACY = "val_accuracy"
KERAS_VAL_RMSE = "val_root_mean_squared_error"
N_TRIALS, N_FINISHED, N_FAILED, N_SKIPPED = "n_trials", "n_finished", "n_failed", "n_skipped"
SWEEP_SECONDS = "sweep_seconds"
# -- learning curves over training-set size ------------------------------------------------------
#: Tag of the largest-size trial of a configuration with a learning curve: ``yes``, ``no`` or ``cannot_tell``.
MORE_DATA_HELPS_TAG = "more_data_helps"
MORE_DATA_YES, MORE_DATA_NO, MORE_DATA_CANNOT_TELL = "yes", "no", "cannot_tell"
MORE_DATA_VERDICTS = (MORE_DATA_YES, MORE_DATA_NO, MORE_DATA_CANNOT_TELL)
#: Metrics beside it: the fall of the validation metric over the last doubling of the training set, its
#: standard error, and the power law's extrapolated validation metric at twice the data with its interval.
LC_LAST_DOUBLING_FALL = "lc_last_doubling_fall"
LC_LAST_DOUBLING_FALL_SE = "lc_last_doubling_fall_se"
LC_EXPECTED_AT_2X = "lc_expected_val_at_2x"
LC_EXPECTED_AT_2X_LOW = "lc_expected_val_at_2x_low"
LC_EXPECTED_AT_2X_HIGH = "lc_expected_val_at_2x_high"
#: Prefixes of the parent's learning-curve metrics, one per configuration (``lc_val_error/<configuration>``),
#: logged with ``step`` = training rows: MLflow's chart view groups a prefix before ``/`` into one section.
LC_VAL_PREFIX = "lc_val"
LC_TRAIN_PREFIX = "lc_train"


def learning_curve_metric(prefix: str, task: str, configuration: str) -> str:
    """A parent's learning-curve metric: ``learning_curve_metric(LC_VAL_PREFIX, "binary", "d2")`` is ``lc_val_error/d2``.

    A configuration name MLflow would refuse in a key (``act<x>``, a path, 250 characters) is made fit
    for it, with a hash that keeps two such names apart.
    """
    from pipeline.spec._sinks import MAX_KEY_CHARS, key_part  # the key rule; spec imports this module

    head = f"{prefix}_{task_metric(task)}/"
    return head + key_part(configuration, limit=MAX_KEY_CHARS - len(head))


#: Kind of summary metric (``recommended_train_error``): the training metric at the recommended epoch,
#: beside ``recommended_val_<metric>`` in the MLflow UI's charts.
RECOMMENDED_TRAIN = "recommended_train"
#: Early stopping (``--early-stopping``): the epoch a trial stopped at, the epoch whose weights it kept,
#: and (summary kind, ``kept_val_error``) the validation metric measured again on the restored weights.
STOPPED_EPOCH = "stopped_epoch"
KEPT_EPOCH = "kept_epoch"
KEPT_VAL = "kept_val"


#: Kinds of summary metric: ``summary_metric(BEST_VAL, "binary")`` is ``best_val_error``.
BEST_VAL, FINAL_VAL, FINAL_TRAIN = "best_val", "final_val", "final_train"


def train_curve(metric: str) -> str:
    """The per-epoch training curve of a metric or loss name: ``train_curve("error")`` is ``train_error``."""
    return f"train_{metric}"


def val_curve(metric: str) -> str:
    """The per-epoch validation curve of a metric or loss name: ``val_curve("error")`` is ``val_error``."""
    return f"val_{metric}"


def task_metric(task: str) -> str:
    """The loss-independent task metric: ``"error"`` (1 - accuracy) or ``"rmse"`` for regression."""
    return "rmse" if task == REGRESSION else "error"


def curve_columns(task: str) -> tuple[str, ...]:
    """Per-epoch curve names logged for a task, in a fixed order."""
    metric = task_metric(task)
    return (RUNNING_LOSS, TRAIN_LOSS, VAL_LOSS, train_curve(metric), val_curve(metric))


def summary_metric(kind: str, task: str) -> str:
    """A summary metric's name: ``summary_metric("best_val", "binary")`` is ``"best_val_error"``."""
    return f"{kind}_{task_metric(task)}"

# -- convergence, stability and borderline verdicts ------------------------------------------------
#: Tag: ``"yes"``, ``"no"`` (the training loss or error was still falling beyond its noise: still learning)
#: or ``"cannot_tell"`` (too few epochs); metric ``converged`` beside it is 1.0 / 0.0.
CONVERGED_TAG = "fitcheck.converged"
CONVERGED_YES, CONVERGED_NO, CONVERGED_CANNOT_TELL = "yes", "no", "cannot_tell"
#: Tag ``"true"`` / ``"false"`` and metric 1.0 / 0.0: a loss or the validation metric jumped by much more
#: than its noise from one epoch to the next (a learning rate too high), without diverging.
UNSTABLE_TAG = "fitcheck.unstable"
UNSTABLE = "unstable"
#: Tag: the deciding quantities within one standard error of their thresholds (``"bias"``, ``"variance"``,
#: ``"bias,variance"``) or ``"false"``; metric ``borderline`` 1.0 / 0.0.
BORDERLINE_TAG = "fitcheck.borderline"
BORDERLINE = "borderline"
#: Metric 1.0 / 0.0: a variance gap whose validation metric is within noise of the reference (noise the
#: network memorised): not high variance, and more data would not lower the validation metric.
MEMORISED_NOISE = "memorised_noise"
#: Summary metric: the epoch whose model the label and evidence describe (the restored one after early stopping).
EVIDENCE_EPOCH = "evidence_epoch"
#: The run's configuration keys the advice names changes of (``diagnose(config=...)``).
ADVICE_AXES = ("optimizer", "learning_rate", "epochs", "depth", "width", "l2", "dropout", "batch_size", "n_train")
