"""Writing a sweep into MLflow: the only module that creates, updates or ends fitcheck's runs.

Workers never log; they hand their curves back and :class:`SweepTracker` writes them from the
sweep's own process, so several workers never race on one SQLite store. Every write is retried
with backoff when the server is unreachable (:func:`with_retries`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.tracking._claims import IN_FLIGHT, SETTLE_SECONDS, current_sweep
from pipeline.tracking._connection import check_tracking_uri, make_client, with_retries
from pipeline.tracking._reader import TrackingReader, by_trial_key

MAX_BATCH = 1000


@dataclass(frozen=True)
class DatasetFrame:
    """The sweep's data as a table, logged on the parent run as MLflow's pandas dataset."""

    frame: pd.DataFrame
    name: str
    target: str

    def to_mlflow_entity(self):
        """MLflow's ``Dataset`` entity of the frame as a ``PandasDataset`` (schema and digest by MLflow)."""
        import warnings

        import mlflow.data

        with warnings.catch_warnings():  # MLflow's schema-inference hints are about model serving, not here
            warnings.simplefilter("ignore")
            return mlflow.data.from_pandas(self.frame, name=self.name, targets=self.target)._to_mlflow_entity()


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

    def __init__(self, tracking_uri: str, *, settle_seconds: float = SETTLE_SECONDS):
        check_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        #: How long a claim waits for rival claims (:mod:`._claiming`); 0 only where no other sweep can run.
        self.settle_seconds = settle_seconds
        self.client = make_client(tracking_uri)
        with_retries(lambda: self.client.search_experiments(max_results=1), what="connect")
        #: Reads back what this tracker wrote (resume, late diagnosis), by the one reading rule.
        self.reader = TrackingReader(tracking_uri, self.client)
        self.experiment_id: str | None = None
        self.experiment_name: str | None = None
        self.parent_run_id: str | None = None

    # -- experiment and parent -------------------------------------------------------------
    def use_experiment(self, name: str) -> str:
        """Get or create the experiment (safe when two sweeps create it at once); return its name.

        Under ``mlflow run`` (``MLFLOW_RUN_ID`` set) the experiment is that run's.
        """
        from mlflow.exceptions import MlflowException

        if os.environ.get("MLFLOW_RUN_ID"):
            self.experiment_id = self.client.get_run(os.environ["MLFLOW_RUN_ID"]).info.experiment_id
            self.experiment_name = self.client.get_experiment(self.experiment_id).name
            return self.experiment_name
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
        self.experiment_name = name
        return name

    def find_sweep(self, spec_hash: str) -> str | None:
        """The parent run this spec's sweep resumes or joins in the experiment, if any (:func:`current_sweep`)."""
        run = current_sweep(self.reader.sweeps(self.experiment_id, spec_hash=spec_hash))
        return run.info.run_id if run else None

    def start_sweep(self, *, run_name: str, spec_hash: str, spec_name: str, params: dict,
                    spec_path: str | None, dataset: DatasetFrame | None = None) -> str:
        """Create the parent run with its params, tags, spec file and dataset (as MLflow's pandas dataset)."""
        from mlflow.entities import DatasetInput, InputTag, Param

        base_tags = {names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_HASH_TAG: spec_hash, names.SPEC_NAME_TAG: spec_name}
        commit = git_commit()
        if commit:
            base_tags[names.GIT_COMMIT_TAG] = commit
        adopted = os.environ.get("MLFLOW_RUN_ID")
        if adopted:  # launched by `mlflow run`: its run is the sweep's parent
            self.client.set_tag(adopted, names.RUN_NAME_TAG, run_name)
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
            entity = dataset.to_mlflow_entity()
            self.client.log_inputs(self.parent_run_id,
                                   [DatasetInput(entity, [InputTag(names.DATASET_CONTEXT_TAG, "training")])])
        return self.parent_run_id

    def resume_sweep(self, run_id: str) -> str:
        """Reopen an earlier parent run of the same spec."""
        self.parent_run_id = run_id
        self.client.update_run(run_id, status="RUNNING")
        return run_id

    def trial_runs(self) -> dict[str, list]:
        """Child runs of the parent, grouped by trial key."""
        return by_trial_key(self.reader.trial_runs(self.experiment_id, self.parent_run_id))

    def kill_stale(self, runs: Iterable) -> int:
        """Mark RUNNING or SCHEDULED child runs whose sweep process is gone as KILLED; return how many."""
        host = socket.gethostname()
        killed = 0
        for run in runs:
            if run.info.status not in IN_FLIGHT:
                continue
            pid = int(run.data.tags.get(names.PID_TAG, "0") or 0)
            if run.data.tags.get(names.HOST_TAG) == host and pid and _pid_alive(pid) and pid != os.getpid():
                continue  # another live sweep on this machine owns it
            self.client.set_tag(run.info.run_id, names.ERROR_TAG, "sweep process died; run again by resume")
            self.client.set_terminated(run.info.run_id, status="KILLED")
            killed += 1
        return killed

    def end_own_runs(self, status: str = "KILLED") -> None:
        """End this process's trial runs still RUNNING or SCHEDULED, and the parent, with ``status`` (Ctrl-C)."""
        runs = [run for runs in self.trial_runs().values() for run in runs]
        own = [run.info.run_id for run in runs if run.info.status in IN_FLIGHT
               and run.data.tags.get(names.PID_TAG) == str(os.getpid())]
        for run_id in [*own, self.parent_run_id]:
            self.client.set_terminated(run_id, status=status)

    # -- trials ------------------------------------------------------------------------------
    def start_trial(self, *, run_name: str, trial_key: str, params: dict) -> str:
        """Create a RUNNING child run under the parent, with the trial's params."""
        from mlflow.entities import Param

        tags = {
            names.PARENT_RUN_TAG: self.parent_run_id, names.ROLE_TAG: names.ROLE_TRIAL,
            names.TRIAL_KEY_TAG: trial_key, names.PID_TAG: str(os.getpid()), names.HOST_TAG: socket.gethostname(),
        }
        run = with_retries(lambda: self.client.create_run(self.experiment_id, run_name=run_name, tags=tags),
                           what="create trial run")
        run_id = run.info.run_id
        with_retries(lambda: self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()]),
                     what="log params")
        return run_id

    def schedule_trial(self, *, run_name: str, trial_key: str, params: dict) -> str:
        """Claim a trial: its child run (see :meth:`start_trial`), SCHEDULED until a worker takes it."""
        run_id = self.start_trial(run_name=run_name, trial_key=trial_key, params=params)
        with_retries(lambda: self.client.update_run(run_id, status="SCHEDULED"), what="schedule trial run")
        return run_id

    def trial_started(self, run_id: str) -> None:
        """A worker took the trial: its SCHEDULED run turns RUNNING."""
        with_retries(lambda: self.client.update_run(run_id, status="RUNNING"), what="start trial run")

    def withdraw(self, run_id: str) -> None:
        """Delete a run this process made and lost to a rival claim (a parent or a trial)."""
        with_retries(lambda: self.client.delete_run(run_id), what="withdraw a claim")

    def finish_trial(self, run_id: str, *, curves: dict[str, list[float]], metrics: dict[str, float],
                     tags: dict[str, str], artifacts: dict[str, bytes], status: str) -> None:
        """Write a trial's per-epoch curves (``step`` = epoch, 1-based), summary, tags and files; end the run."""
        self._write(run_id, curves=curves, metrics=metrics, tags=tags, artifacts=artifacts)
        with_retries(lambda: self.client.set_terminated(run_id, status=status), what="end trial run")

    def update_trial(self, run_id: str, *, metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, bytes]) -> None:
        """Add summary metrics, tags and files to a trial run that has ended (a later diagnosis)."""
        self._write(run_id, curves={}, metrics=metrics, tags=tags, artifacts=artifacts)

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
