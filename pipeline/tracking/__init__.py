"""fitcheck's boundary with MLflow: nothing outside this package imports ``mlflow``'s tracking API.

:mod:`._connection` checks a URI and retries calls, :mod:`._store` guards local stores (never
created by a read, created by one process at a time), :mod:`._reader` reads runs back (one rule for
repeated steps), :mod:`._writer` is the sweep's single writer, and :mod:`._claiming` (rules in
:mod:`._claims`) lets two sweeps of one spec run at once without training a trial twice.
"""

from pipeline.tracking._claiming import ClaimedTrials, WantedTrial, claim_trials, others_in_flight, settle_sweep
from pipeline.tracking._claims import SETTLE_SECONDS
from pipeline.tracking._connection import (
    ACCEPTED_SCHEMES,
    TrackingUnavailable,
    check_tracking_uri,
    make_client,
    with_retries,
)
from pipeline.tracking._reader import TrackingReader, by_trial_key, latest_per_step
from pipeline.tracking._writer import DatasetFrame, SweepTracker, git_commit

__all__ = [
    "ACCEPTED_SCHEMES", "SETTLE_SECONDS", "ClaimedTrials", "DatasetFrame", "SweepTracker", "TrackingReader",
    "TrackingUnavailable", "WantedTrial", "by_trial_key", "check_tracking_uri", "claim_trials", "git_commit",
    "latest_per_step", "make_client", "others_in_flight", "settle_sweep", "with_retries",
]
