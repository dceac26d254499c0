"""The only module that talks to MLflow: the sweep's single writer.

Workers never log; they hand their curves back and this module writes them, so several
workers never race on one SQLite store. Every write is retried with backoff when the server
is unreachable, and :class:`SweepTracker` keeps what it could not write for a later try.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from pipeline import names
from pipeline.errors import FitcheckError

T = TypeVar("T")
_log = logging.getLogger(__name__)

ACCEPTED_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "file")
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
MAX_BATCH = 1000

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
for _noisy in ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class TrackingUnavailable(Exception):
    """MLflow could not be reached after the bounded retries."""


def check_tracking_uri(uri: str) -> None:
    """Fail fast, in one line naming the URI, when it cannot be a working tracking store."""
    parsed = urlparse(uri)
    if parsed.scheme not in ACCEPTED_SCHEMES:
        raise FitcheckError(f"--tracking-uri {uri!r}: unsupported scheme; accepted: "
                            "sqlite:///path.db, http://host:port, https://..., postgresql://..., file:///path")
    if parsed.scheme == "sqlite":
        path = Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
        if path is None or not path.parent.exists():
            raise FitcheckError(f"--tracking-uri {uri!r}: folder '{path.parent if path else uri}' does not exist")
    if parsed.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5) as response:
                body = response.read(64).decode(errors="replace").strip()
        except urllib.error.HTTPError as error:
            raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /health answered {error.code})") from None
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise FitcheckError(f"--tracking-uri {uri!r}: cannot reach the MLflow server ({reason})") from None
        if body != "OK":
            raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /health answered {body!r})")


def with_retries(call: Callable[[], T], *, what: str, delays: Iterable[float] = RETRY_DELAYS) -> T:
    """Run ``call``; on a connection or server error wait and retry, then raise :class:`TrackingUnavailable`."""
    from mlflow.exceptions import MlflowException

    last: Exception | None = None
    for delay in (0.0, *delays):
        if delay:
            time.sleep(delay)
        try:
            return call()
        except MlflowException as error:
            if error.get_http_status_code() < 500 and "connect" not in str(error).lower() and "max retries" not in str(error).lower():
                raise
            last = error
        except (OSError, ConnectionError) as error:
            last = error
        _log.warning("MLflow %s failed (%s); retrying", what, str(last).splitlines()[0][:200])
    raise TrackingUnavailable(f"{what}: {str(last).splitlines()[0][:300]}")


def git_commit() -> str | None:
    """The working folder's git commit, if it is a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SweepTracker:
    """Writes one sweep into MLflow: a parent run and one nested child run per trial."""

    def __init__(self, tracking_uri: str):
        from mlflow import MlflowClient

        check_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri)
        with_retries(lambda: self.client.search_experiments(max_results=1), what="connect")
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None

    # -- experiment and parent -------------------------------------------------------------
    def use_experiment(self, name: str) -> str:
        """Get or create the experiment (safe when two sweeps create it at once).

        Under ``mlflow run`` (``MLFLOW_RUN_ID`` set) the experiment is that run's.
        """
        from mlflow.exceptions import MlflowException

        if os.environ.get("MLFLOW_RUN_ID"):
            self.experiment_id = self.client.get_run(os.environ["MLFLOW_RUN_ID"]).info.experiment_id
            return self.experiment_id
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                self.experiment_id = self.client.create_experiment(name)
            except MlflowException:
                self.experiment_id = self.client.get_experiment_by_name(name).experiment_id
        elif experiment.lifecycle_stage == "deleted":
            raise FitcheckError(f"--experiment {name!r}: the experiment is deleted; restore it in MLflow or pick another name")
        else:
            self.experiment_id = experiment.experiment_id
        return self.experiment_id

    def find_sweep(self, spec_hash: str) -> str | None:
        """The latest parent run of this spec in the experiment, if any."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}' and tags.`{names.SPEC_HASH_TAG}` = '{spec_hash}'",
            order_by=["attributes.start_time DESC"], max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def start_sweep(self, *, run_name: str, spec_hash: str, spec_name: str, params: dict,
                    spec_path: str | None, dataset=None) -> str:
        """Create the parent run with its params, tags, spec file and dataset."""
        from mlflow.entities import DatasetInput, InputTag, Param

        base_tags = {names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_HASH_TAG: spec_hash, names.SPEC_NAME_TAG: spec_name}
        commit = git_commit()
        if commit:
            base_tags["mlflow.source.git.commit"] = commit
        adopted = os.environ.get("MLFLOW_RUN_ID")
        if adopted:  # launched by `mlflow run`: its run is the sweep's parent
            self.client.set_tag(adopted, "mlflow.runName", run_name)
            for key, value in base_tags.items():
                self.client.set_tag(adopted, key, value)
            self.parent_run_id = adopted
        else:
            run = self.client.create_run(self.experiment_id, run_name=run_name, tags=base_tags)
            self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        if spec_path:
            self.client.log_artifact(self.parent_run_id, spec_path)
        if dataset is not None:
            entity = dataset._to_mlflow_entity()
            self.client.log_inputs(self.parent_run_id, [DatasetInput(entity, [InputTag("mlflow.data.context", "training")])])
        return self.parent_run_id

    def resume_sweep(self, run_id: str) -> str:
        """Reopen an earlier parent run of the same spec."""
        self.parent_run_id = run_id
        self.client.update_run(run_id, status="RUNNING")
        return run_id

    def trial_runs(self) -> dict[str, list]:
        """Child runs of the parent, grouped by trial key."""
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{names.PARENT_RUN_TAG}` = '{self.parent_run_id}'",
            max_results=50000,
        )
        by_key: dict[str, list] = {}
        for run in runs:
            key = run.data.tags.get(names.TRIAL_KEY_TAG)
            if key:
                by_key.setdefault(key, []).append(run)
        return by_key

    def kill_stale(self, runs: Iterable) -> int:
        """Mark RUNNING child runs whose sweep process is gone as KILLED; return how many."""
        host = socket.gethostname()
        killed = 0
        for run in runs:
            if run.info.status != "RUNNING":
                continue
            pid = int(run.data.tags.get("fitcheck.pid", "0") or 0)
            if run.data.tags.get("fitcheck.host") == host and pid and _pid_alive(pid) and pid != os.getpid():
                continue  # another live sweep on this machine owns it
            self.client.set_tag(run.info.run_id, names.ERROR_TAG, "sweep process died; run again by resume")
            self.client.set_terminated(run.info.run_id, status="KILLED")
            killed += 1
        return killed

    # -- trials ------------------------------------------------------------------------------
    def start_trial(self, *, run_name: str, trial_key: str, params: dict) -> str:
        """Create a RUNNING child run under the parent, with the trial's params."""
        from mlflow.entities import Param

        tags = {
            names.PARENT_RUN_TAG: self.parent_run_id, names.ROLE_TAG: names.ROLE_TRIAL,
            names.TRIAL_KEY_TAG: trial_key, "fitcheck.pid": str(os.getpid()), "fitcheck.host": socket.gethostname(),
        }
        run = with_retries(lambda: self.client.create_run(self.experiment_id, run_name=run_name, tags=tags),
                           what="create trial run")
        run_id = run.info.run_id
        with_retries(lambda: self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()]),
                     what="log params")
        return run_id

    def finish_trial(self, run_id: str, *, curves: dict[str, list[float]], metrics: dict[str, float],
                     tags: dict[str, str], artifacts: dict[str, bytes], status: str) -> None:
        """Write a trial's per-epoch curves (``step`` = epoch, 1-based), summary, tags and files; end the run."""
        self._write(run_id, curves=curves, metrics=metrics, tags=tags, artifacts=artifacts)
        with_retries(lambda: self.client.set_terminated(run_id, status=status), what="end trial run")

    def update_trial(self, run_id: str, *, metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, bytes]) -> None:
        """Add summary metrics, tags and files to a trial run that has ended (a later diagnosis)."""
        self._write(run_id, curves={}, metrics=metrics, tags=tags, artifacts=artifacts)

    def trial_curves(self, run_id: str, curve_names: Iterable[str]) -> dict[str, list[float]]:
        """A logged trial's per-epoch curves by name, in epoch order (the latest value of a step wins)."""
        curves = {}
        for name in curve_names:
            history = with_retries(lambda: self.client.get_metric_history(run_id, name), what="read curves")
            curves[name] = list(latest_per_step(history).values())
        return curves

    def _write(self, run_id: str, *, curves: dict[str, list[float]], metrics: dict[str, float],
               tags: dict[str, str], artifacts: dict[str, bytes]) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        entries = [Metric(name, float(value), now, epoch)
                   for name, values in curves.items() for epoch, value in enumerate(values, start=1)]
        entries += [Metric(name, float(value), now, 0) for name, value in metrics.items()]
        tag_entries = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        for start in range(0, max(len(entries), 1), MAX_BATCH):
            chunk = entries[start:start + MAX_BATCH]
            with_retries(lambda: self.client.log_batch(run_id, metrics=chunk, tags=tag_entries if start == 0 else []),
                         what="log metrics")
        if artifacts:
            with tempfile.TemporaryDirectory() as folder:
                for name, content in artifacts.items():
                    Path(folder, name).write_bytes(content)
                with_retries(lambda: self.client.log_artifacts(run_id, folder), what="log artifacts")

    def finish_sweep(self, *, metrics: dict[str, float], tags: dict[str, str], status: str = "FINISHED") -> None:
        """Write the parent's summary and end it."""
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        with_retries(lambda: self.client.log_batch(
            self.parent_run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items()]), what="log sweep summary")
        with_retries(lambda: self.client.set_terminated(self.parent_run_id, status=status), what="end sweep run")

    def log_parent_artifact(self, path: str | Path, *, name: str) -> None:
        """Attach a file to the parent run under ``name`` (e.g. the report as ``report.html``)."""
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder, name)
            copy.write_bytes(Path(path).read_bytes())
            with_retries(lambda: self.client.log_artifact(self.parent_run_id, str(copy)), what=f"log {name}")


def latest_per_step(history) -> dict[int, float]:
    """A metric history as one value per step, in step order; a step logged again (a resumed run)
    keeps its latest value."""
    return {m.step: m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))}


def to_json_bytes(payload: dict) -> bytes:
    """A dict as indented UTF-8 JSON, for an artifact."""
    return json.dumps(payload, indent=2, default=str).encode()
