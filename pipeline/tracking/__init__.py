"""fitcheck's boundary with MLflow: nothing outside this package imports ``mlflow``'s tracking API.

:mod:`._connection` checks a URI and retries calls, :mod:`._reader` reads runs back (one rule for
repeated steps), :mod:`._writer` is the sweep's single writer.
"""

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
    "ACCEPTED_SCHEMES", "DatasetFrame", "SweepTracker", "TrackingReader", "TrackingUnavailable", "by_trial_key",
    "check_tracking_uri", "git_commit", "latest_per_step", "make_client", "with_retries",
]
