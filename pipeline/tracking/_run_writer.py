"""Writing onto one run that exists: its summary metrics, tags and files.

:func:`write_run` is the one way fitcheck adds to a run, for the sweep's writer and for
``fitcheck diagnose --write`` (:class:`RunWriter`), which writes a diagnosis back onto a user's
own run. Every call is retried while the server is away; nothing here creates or ends a run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.tracking._connection import make_client, with_retries

if TYPE_CHECKING:
    from mlflow import MlflowClient

MAX_BATCH = 1000
#: Longest tag value written (MLflow keeps 8000 characters).
MAX_TAG_CHARS = 5000


def write_run(client: MlflowClient, run_id: str, *, curves: dict[str, list[float]] | None = None,
              metrics: dict[str, float], tags: dict[str, str], artifacts: dict[str, bytes]) -> None:
    """Log per-epoch ``curves`` (``step`` = epoch, 1-based), summary ``metrics`` (step 0), ``tags`` and
    files (name to bytes) on ``run_id``, in batches MLflow accepts."""
    from mlflow.entities import Metric, RunTag

    now = int(time.time() * 1000)
    entries = [Metric(name, float(value), now, epoch)
               for name, values in (curves or {}).items() for epoch, value in enumerate(values, start=1)]
    entries += [Metric(name, float(value), now, 0) for name, value in metrics.items()]
    tag_entries = [RunTag(k, str(v)[:MAX_TAG_CHARS]) for k, v in tags.items()]
    for start in range(0, max(len(entries), 1), MAX_BATCH):
        chunk = entries[start:start + MAX_BATCH]
        with_retries(lambda: client.log_batch(run_id, metrics=chunk, tags=tag_entries if start == 0 else []),
                     what="log metrics")
    if artifacts:
        with tempfile.TemporaryDirectory() as folder:
            for name, content in artifacts.items():
                Path(folder, name).write_bytes(content)
            with_retries(lambda: client.log_artifacts(run_id, folder), what="log artifacts")


class RunWriter:
    """Adds fitcheck's diagnosis to runs that exist (anyone's), leaving their status and curves alone."""

    def __init__(self, tracking_uri: str, client: MlflowClient | None = None):
        self.tracking_uri = tracking_uri
        self.client = client or make_client(tracking_uri)

    def write(self, run_id: str, *, metrics: dict[str, float], tags: dict[str, str],
              artifacts: dict[str, bytes]) -> None:
        """Add summary metrics, tags (the description among them) and files to ``run_id``."""
        write_run(self.client, run_id, metrics=metrics, tags=tags, artifacts=artifacts)
