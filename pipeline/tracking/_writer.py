"""Writing a sweep into MLflow: the only module that creates, updates or ends fitcheck's runs.

Workers never log; they hand their curves back and :class:`SweepTracker` writes them from the
sweep's own process, so several workers never race on one SQLite store. Every write is retried
with backoff when the server is unreachable (:func:`with_retries`).

Under ``mlflow run`` (``MLFLOW_RUN_ID`` set), the run MLflow made is the sweep's launcher: the
sweep's parent is found by its spec hash like any other, so running the project again resumes
it, and the two runs name each other (``fitcheck.sweep_run_id``, ``fitcheck.launcher_run_id``).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.tracking._claiming import again_if_raced
from pipeline.tracking._claims import IN_FLIGHT, SETTLE_SECONDS, current_sweep
from pipeline.tracking._connection import check_tracking_uri, make_client, with_retries
from pipeline.tracking._reader import TrackingReader, by_trial_key, one_run_per_trial_key
from pipeline.tracking._run_writer import write_run
from pipeline.tracking._store import local_store_lock
from pipeline.tracking._texts import SweepTexts, TrialRun
from pipeline.tracking._view import (SweepLinks, relative_view_link, run_link, sweep_links, view_key, view_state,
                                    view_tag_value)

_log = logging.getLogger(__name__)
#: The experiment ``mlflow run`` uses when given no ``--experiment-name``: the sweep goes to its own instead.
DEFAULT_EXPERIMENT_ID = "0"


@dataclass(frozen=True)
class DatasetFrame:
    """A split of the sweep's data as a table, logged on the parent run as MLflow's pandas dataset."""

    frame: pd.DataFrame
    name: str
    target: str
    #: The ``mlflow.data.context`` tag: ``training`` or ``validation``.
    context: str = names.TRAINING_CONTEXT

    def to_mlflow_entity(self):
        """MLflow's ``Dataset`` entity of the frame as a ``PandasDataset`` (schema and digest by MLflow)."""
        import mlflow.data

        with warnings.catch_warnings():  # MLflow's schema-inference hints are about model serving, not here
            warnings.simplefilter("ignore")
            return mlflow.data.from_pandas(self.frame, name=self.name, targets=self.target)._to_mlflow_entity()


@dataclass(frozen=True)
class DatasetArrays:
    """A split of the sweep's data as arrays (images, sequences), logged as MLflow's NumPy dataset."""

    features: np.ndarray
    targets: np.ndarray
    name: str
    context: str = names.TRAINING_CONTEXT

    def to_mlflow_entity(self):
        """MLflow's ``Dataset`` entity of the arrays as a ``NumpyDataset`` (shape profile and digest by MLflow)."""
        import mlflow.data

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mlflow.data.from_numpy(self.features, targets=self.targets, name=self.name)._to_mlflow_entity()


def git_commit() -> str | None:
    """The working folder's git commit, if it is a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _launcher_run_id() -> str | None:
    """The run ``mlflow run`` made for this process, if it launched it."""
    return os.environ.get("MLFLOW_RUN_ID") or None


def _trial_run(run) -> TrialRun:
    """A trial run as plain values, for its sweep's description."""
    return TrialRun(run_id=run.info.run_id, name=run.info.run_name or run.info.run_id[:8],
                    link=run_link(run.info.experiment_id, run.info.run_id), status=run.info.status,
                    tags=dict(run.data.tags), metrics=dict(run.data.metrics), params=dict(run.data.params))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SweepTracker:
    """Writes one sweep into MLflow: a parent run and one nested child run per trial.

    ``texts`` words the descriptions :meth:`publish_sweep` writes (``pipeline.runs.SweepDescriptions``);
    without them it shares the view of the trials and describes nothing.
    """

    def __init__(self, tracking_uri: str, *, settle_seconds: float = SETTLE_SECONDS, texts: SweepTexts | None = None):
        check_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.texts = texts
        #: How long a claim waits for rival claims (:mod:`._claiming`); 0 only where no other sweep can run.
        self.settle_seconds = settle_seconds
        self.client = make_client(tracking_uri)
        with_retries(lambda: self.client.search_experiments(max_results=1), what="connect")
        #: Reads back what this tracker wrote (resume, late diagnosis), by the one reading rule.
        self.reader = TrackingReader(tracking_uri, self.client)
        self.experiment_id: str | None = None
        self.experiment_name: str | None = None
        self.parent_run_id: str | None = None

    def claims_in_order(self) -> AbstractContextManager[bool]:
        """A lock that puts every sweep's claims on this store in order, True while held: a SQLite store's (one
        machine); False for a store another machine may write to, where claims wait and read back instead
        (:mod:`._claiming`). Make no client inside it."""
        return local_store_lock(self.tracking_uri)

    def describing(self, texts: SweepTexts) -> SweepTracker:
        """Word descriptions with ``texts`` unless the tracker was made with its own; returns the tracker."""
        self.texts = self.texts or texts
        return self

    # -- experiment and parent -------------------------------------------------------------
    def use_experiment(self, name: str) -> str:
        """Get or create the experiment (safe when two sweeps create it at once); return its name.

        Under ``mlflow run`` the experiment is the launcher's (``--experiment-name``), unless that is
        MLflow's ``Default``, which ``mlflow run`` picks when given none: then it is ``name``.
        """
        from mlflow.exceptions import MlflowException

        launcher = _launcher_run_id()
        if launcher:
            experiment_id = self.client.get_run(launcher).info.experiment_id
            if experiment_id != DEFAULT_EXPERIMENT_ID:
                self.experiment_id = experiment_id
                self.experiment_name = self.client.get_experiment(experiment_id).name
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
                    spec_path: str | None, datasets: Sequence[DatasetFrame | DatasetArrays] = ()) -> str:
        """Create the parent run with its params, tags, spec file and datasets (MLflow's pandas or NumPy
        datasets, each tagged with its context)."""
        from mlflow.entities import DatasetInput, InputTag, Param

        base_tags = {names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_HASH_TAG: spec_hash, names.SPEC_NAME_TAG: spec_name}
        commit = git_commit()
        if commit:
            base_tags[names.GIT_COMMIT_TAG] = commit
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=base_tags)
        self.parent_run_id = run.info.run_id
        self._link_launcher()
        self.client.log_batch(self.parent_run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        if spec_path:
            self.client.log_artifact(self.parent_run_id, spec_path)
        if datasets:
            inputs = [DatasetInput(dataset.to_mlflow_entity(), [InputTag(names.DATASET_CONTEXT_TAG, dataset.context)])
                      for dataset in datasets]
            again_if_raced(lambda: self.client.log_inputs(self.parent_run_id, inputs))  # a rival may log it too
        return self.parent_run_id

    def resume_sweep(self, run_id: str) -> str:
        """Reopen an earlier parent run of the same spec."""
        self.parent_run_id = run_id
        self.client.update_run(run_id, status="RUNNING")
        self._link_launcher()
        return run_id

    def _link_launcher(self) -> None:
        """Under ``mlflow run``: tag its run with the sweep it launched, and the sweep with its latest launcher."""
        launcher = _launcher_run_id()
        if launcher:
            self.client.set_tag(launcher, names.SWEEP_RUN_TAG, self.parent_run_id)
            self.client.set_tag(self.parent_run_id, names.LAUNCHER_RUN_TAG, launcher)

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
        write_run(self.client, run_id, curves=curves, metrics=metrics, tags=tags, artifacts=artifacts)
        with_retries(lambda: self.client.set_terminated(run_id, status=status), what="end trial run")

    def end_trial(self, run_id: str, *, status: str) -> None:
        """End a trial run without writing to it (one whose results could not be written: KILLED, a rerun redoes it)."""
        with_retries(lambda: self.client.set_terminated(run_id, status=status), what="end trial run")

    def update_trial(self, run_id: str, *, metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, bytes]) -> None:
        """Add summary metrics, tags and files to a trial run that has ended (a later diagnosis)."""
        write_run(self.client, run_id, metrics=metrics, tags=tags, artifacts=artifacts)

    def preface_description(self, run_id: str, preface: str) -> None:
        """Put ``preface`` (markdown) above a run's description, once: a recipe round's reasons above its sweep's."""
        run = self.reader.find_run(run_id)
        note = run.data.tags.get(names.NOTE_TAG, "") if run is not None else ""
        if not note.startswith(preface):
            text = f"{preface}\n\n{note}".rstrip()
            with_retries(lambda: self.client.set_tag(run_id, names.NOTE_TAG, text), what="describe the round")

    def finish_sweep(self, *, metrics: dict[str, float], tags: dict[str, str], status: str = "FINISHED") -> None:
        """Write the parent's summary and end it (ended also when the summary cannot be written: a rerun writes it)."""
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        try:
            with_retries(lambda: self.client.log_batch(
                self.parent_run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                tags=[RunTag(k, str(v)) for k, v in tags.items()]), what="log sweep summary")
        finally:
            with_retries(lambda: self.client.set_terminated(self.parent_run_id, status=status), what="end sweep run")

    def log_parent_curves(self, series: dict[str, list[tuple[int, float]]]) -> None:
        """Log curves on the parent run, one metric per name with ``step`` = the given steps (learning
        curves over training-set size: ``step`` = training rows, which MLflow's chart view plots).

        A point the parent already holds (same step and value, from an earlier invocation) is not logged
        again; a changed value is, and readers take the latest per step.
        """
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = []
        for name, points in series.items():
            logged = {(m.step, m.value) for m in with_retries(
                lambda: self.client.get_metric_history(self.parent_run_id, name), what="read learning curves")}
            metrics += [Metric(name, float(value), now, int(step)) for step, value in points
                        if (int(step), float(value)) not in logged]
        for start in range(0, len(metrics), 1000):  # MLflow's log_batch takes at most 1000 metrics
            chunk = metrics[start:start + 1000]
            with_retries(lambda: self.client.log_batch(self.parent_run_id, metrics=chunk), what="log learning curves")

    def publish_sweep(self, *, task: str, axes: Sequence[str], reference_error: float | None,
                      reference_source: str,
                      learning_curves: Sequence[tuple[str, str | None, str]] = ()) -> SweepLinks | None:
        """Describe the sweep on its parent run, share the MLflow UI view of its trials, and return its links.

        The description lists every trial MLflow holds for the sweep, earlier invocations' included;
        ``axes`` (the grid axes that vary) become the view's columns; ``learning_curves`` (configuration
        name, run of its largest size, verdict in words) are listed with their verdicts. Under ``mlflow run`` the
        launcher's description links to both. Tolerant: a store that refuses these writes (say, no
        permission on the experiment) costs the links, not the sweep; None then.
        """
        from mlflow.exceptions import MlflowException

        parent = self.reader.find_run(self.parent_run_id)
        key = view_key(self.parent_run_id)
        view_link = relative_view_link(self.experiment_id, key)
        state = view_tag_value(view_state(parent_run_id=self.parent_run_id, task=task, axes=axes),
                               name=f"fitcheck {parent.info.run_name} ({self.parent_run_id[:8]})",
                               now_ms=int(time.time() * 1000))
        tags = self._descriptions(parent, task=task, reference_error=reference_error,
                                  reference_source=reference_source, view_link=view_link,
                                  learning_curves=learning_curves)
        try:
            with_retries(lambda: self.client.set_experiment_tag(self.experiment_id, names.SHARED_VIEW_TAG_PREFIX + key,
                                                                state), what="share the view")
            for run_id, text in tags:
                with_retries(lambda: self.client.set_tag(run_id, names.NOTE_TAG, text), what="describe the sweep")
        except MlflowException as error:
            _log.warning("could not describe the sweep in MLflow (%s); its runs are all logged",
                         str(error).splitlines()[0][:200])
            return None
        return sweep_links(self.tracking_uri, self.experiment_id, key)

    def _descriptions(self, parent, *, task: str, reference_error: float | None, reference_source: str,
                      view_link: str, learning_curves: Sequence[tuple[str, str | None, str]]) -> list[tuple[str, str]]:
        """(run id, description) of the parent and, under ``mlflow run``, of its launcher, worded by :attr:`texts`."""
        if self.texts is None:
            return []
        trials = [_trial_run(run) for run in one_run_per_trial_key(
            run for runs in self.trial_runs().values() for run in runs)]
        curves = [(name, run_link(self.experiment_id, run_id) if run_id else None, verdict)
                  for name, run_id, verdict in learning_curves]
        described = [(self.parent_run_id, self.texts.sweep_description(
            trials, task=task, reference_error=reference_error, reference_source=reference_source,
            view_link=view_link, learning_curves=curves))]
        if _launcher_run_id():
            described.append((_launcher_run_id(), self.texts.launcher_description(
                sweep_name=parent.info.run_name, sweep_link=run_link(self.experiment_id, self.parent_run_id),
                experiment_name=self.experiment_name, view_link=view_link)))
        return described

    def log_parent_artifact(self, path: str | Path, *, name: str) -> None:
        """Attach a file to the parent run under ``name`` (e.g. the report as ``report.html``)."""
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder, name)
            copy.write_bytes(Path(path).read_bytes())
            with_retries(lambda: self.client.log_artifact(self.parent_run_id, str(copy)), what=f"log {name}")
