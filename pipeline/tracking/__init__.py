"""fitcheck's boundary with MLflow: nothing outside this package imports ``mlflow``.

:mod:`._connection` checks a URI, retries calls and turns MLflow's errors into fitcheck's,
:mod:`._store` guards local stores (never created by a read, created by one process at a time),
:mod:`._reader` reads runs back (one rule for repeated steps), :mod:`._writer` is the sweep's writer,
:mod:`._claiming` (rules in :mod:`._claims`) lets two sweeps of one spec run at once without training a
trial twice, :mod:`._run_writer` adds a diagnosis to one existing run, :mod:`._active_run` logs onto
the run a user started (``FitDiagnostics``), :mod:`._view` builds the MLflow UI view of a sweep and the
links to its runs. What a run says is worded elsewhere and handed in as text (:mod:`._texts`).

Never imports: pipeline.runs, pipeline.report, pipeline.diagnostics, pipeline.training, pipeline.sweep, pipeline.own_runs, pipeline.cli, tensorflow, keras.
"""

from pipeline.tracking._active_run import ActiveRunLog
from pipeline.tracking._claiming import ClaimedTrials, WantedTrial, claim_trials, others_in_flight, settle_sweep
from pipeline.tracking._claims import SETTLE_SECONDS
from pipeline.tracking._connection import (
    ACCEPTED_SCHEMES,
    DEFAULT_TRACKING_URI,
    TrackingUnavailable,
    check_tracking_uri,
    default_tracking_uri,
    make_client,
    quiet_telemetry,
    store_errors,
    with_retries,
)
from pipeline.tracking._reader import (
    LoggedDataset,
    TrackingReader,
    by_trial_key,
    latest_per_step,
    logged_datasets,
    one_run_per_trial_key,
)
from pipeline.tracking._run_writer import RunWriter
from pipeline.tracking._texts import SweepTexts, TrialRun
from pipeline.tracking._view import SweepLinks, run_link
from pipeline.tracking._writer import DatasetArrays, DatasetFrame, SweepTracker, git_commit

__all__ = [
    "ACCEPTED_SCHEMES", "DEFAULT_TRACKING_URI", "SETTLE_SECONDS", "ActiveRunLog", "ClaimedTrials", "DatasetArrays",
    "DatasetFrame", "LoggedDataset", "RunWriter", "SweepLinks", "SweepTexts", "SweepTracker", "TrackingReader",
    "TrackingUnavailable", "TrialRun", "WantedTrial", "by_trial_key", "check_tracking_uri", "claim_trials",
    "default_tracking_uri", "git_commit", "latest_per_step", "logged_datasets", "make_client",
    "one_run_per_trial_key", "others_in_flight", "quiet_telemetry", "run_link", "settle_sweep", "store_errors",
    "with_retries",
]
