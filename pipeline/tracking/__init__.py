"""fitcheck's boundary with MLflow: nothing outside this package imports ``mlflow``'s tracking API.

:mod:`._connection` checks a URI and retries calls, :mod:`._store` guards local stores (never
created by a read, created by one process at a time), :mod:`._reader` reads runs back (one rule for
repeated steps), :mod:`._writer` is the sweep's single writer, :mod:`._claiming` (rules in
:mod:`._claims`) lets two sweeps of one spec run at once without training a trial twice,
:mod:`._run_writer` adds a diagnosis to one existing run, :mod:`._view` builds the MLflow UI view of a
sweep and its URL.
"""

from pipeline.tracking._claiming import ClaimedTrials, WantedTrial, claim_trials, others_in_flight, settle_sweep
from pipeline.tracking._claims import SETTLE_SECONDS
from pipeline.tracking._connection import (
    ACCEPTED_SCHEMES,
    TrackingUnavailable,
    check_tracking_uri,
    make_client,
    quiet_telemetry,
    with_retries,
)
from pipeline.tracking._reader import TrackingReader, by_trial_key, latest_per_step, one_run_per_trial_key, logged_datasets
from pipeline.tracking._run_writer import RunWriter
from pipeline.tracking._view import SweepLinks
from pipeline.tracking._writer import DatasetArrays, DatasetFrame, SweepTracker, git_commit

__all__ = [
    "ACCEPTED_SCHEMES", "SETTLE_SECONDS", "ClaimedTrials", "DatasetArrays", "DatasetFrame", "RunWriter", "SweepLinks", "SweepTracker",
    "TrackingReader", "TrackingUnavailable", "WantedTrial", "by_trial_key", "check_tracking_uri", "claim_trials",
    "git_commit", "latest_per_step", "logged_datasets", "make_client", "one_run_per_trial_key", "others_in_flight", "quiet_telemetry",
    "settle_sweep", "with_retries",
]
