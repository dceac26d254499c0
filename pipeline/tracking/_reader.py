"""Reading fitcheck's runs back from MLflow: experiments, sweeps, trials and metric histories.

The one place that reads: the sweep (resume), the report and ``fitcheck diagnose`` share it, so a
metric logged twice at one step (a resumed run) is read by one rule everywhere. It never writes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import names
from pipeline.tracking._connection import make_client, with_retries
from pipeline.tracking._store import require_store

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Experiment, Metric, Run

_PAGE = 1000
_HISTORY_THREADS = 8


def latest_per_step(history: Iterable[Metric]) -> dict[int, float]:
    """A metric history as one value per step, in step order; a step logged again keeps its latest value."""
    return {m.step: m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))}


@dataclass(frozen=True)
class LoggedDataset:
    """A dataset logged as a run's input: its name, its context tag and MLflow's profile of it."""

    name: str
    context: str | None
    profile: Mapping


def logged_datasets(run: Run) -> list[LoggedDataset]:
    """The datasets logged as the run's inputs, with their context tag and MLflow's profile."""
    found = []
    for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
        try:
            profile = json.loads(dataset_input.dataset.profile or "{}")
        except json.JSONDecodeError:
            profile = {}
        context = next((tag.value for tag in dataset_input.tags if tag.key == names.DATASET_CONTEXT_TAG), None)
        found.append(LoggedDataset(dataset_input.dataset.name, context, profile if isinstance(profile, dict) else {}))
    return found


def by_trial_key(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Trial runs grouped by their ``trial_key`` tag (runs without one are left out)."""
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        key = run.data.tags.get(names.TRIAL_KEY_TAG)
        if key:
            grouped.setdefault(key, []).append(run)
    return grouped


_STATUS_RANK = {"FINISHED": 0, "FAILED": 1, "KILLED": 2, "RUNNING": 3, "SCHEDULED": 4}


def one_run_per_trial_key(runs: Iterable[Run]) -> list[Run]:
    """The run that counts for each trial key, in start order: FINISHED before FAILED, KILLED, RUNNING
    and SCHEDULED, then the latest started (a resumed sweep may hold a FAILED run and its rerun).
    The report and the sweep's description show the same run per trial."""
    def rank(run: Run) -> tuple[int, int]:
        return _STATUS_RANK.get(run.info.status, 9), -(run.info.start_time or 0)

    chosen: dict[str, Run] = {}
    for run in runs:
        key = run.data.tags.get(names.TRIAL_KEY_TAG, run.info.run_id)
        if key not in chosen or rank(run) < rank(chosen[key]):
            chosen[key] = run
    return sorted(chosen.values(), key=lambda run: (run.info.start_time or 0, run.info.run_id))


class TrackingReader:
    """Reads runs from one tracking store; every MLflow error reaches the caller unchanged.

    Made without a ``client``, it opens only a store that exists: a SQLite file or ``file://``
    folder that does not is refused (:func:`require_store`), never created.
    """

    def __init__(self, tracking_uri: str, client: MlflowClient | None = None):
        self.tracking_uri = tracking_uri
        if client is None:
            require_store(tracking_uri)
        self.client = client or make_client(tracking_uri)

    def experiment(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None."""
        return self.client.get_experiment_by_name(name)

    def experiment_by_id(self, experiment_id: str) -> Experiment:
        return self.client.get_experiment(experiment_id)

    def experiment_names(self) -> list[str]:
        """Names of the active experiments, sorted."""
        from mlflow.entities import ViewType

        return sorted(e.name for e in self.client.search_experiments(view_type=ViewType.ACTIVE_ONLY))

    def find_run(self, run_id: str) -> Run | None:
        """The run ``run_id``, or None when the store holds no such run."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_run(run_id)
        except MlflowException:
            return None

    def parent_of(self, run: Run) -> Run | None:
        """The run's parent (``mlflow.parentRunId``), or None."""
        parent_id = run.data.tags.get(names.PARENT_RUN_TAG)
        return self.find_run(parent_id) if parent_id else None

    def sweep_chain(self, sweep: Run) -> list[Run]:
        """``sweep`` and the sweeps it came from (tag ``fitcheck.previous_sweep``), newest first; the chain ends
        at a run that is gone, is not a sweep, or was met already."""
        chain, seen = [sweep], {sweep.info.run_id}
        while (previous_id := chain[-1].data.tags.get(names.PREVIOUS_SWEEP_TAG)) and previous_id not in seen:
            previous = self.find_run(previous_id)
            if previous is None or previous.data.tags.get(names.ROLE_TAG) != names.ROLE_SWEEP:
                break
            chain.append(previous)
            seen.add(previous_id)
        return chain

    def latest_sweep(self, experiment_id: str) -> Run | None:
        """The latest fitcheck sweep (parent) run in the experiment."""
        runs = self.client.search_runs([experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'",
                                       max_results=1, order_by=["attributes.start_time DESC"])
        return runs[0] if runs else None

    def sweeps(self, experiment_id: str, *, spec_hash: str) -> list[Run]:
        """Every fitcheck sweep (parent) run of one spec in the experiment."""
        return self.client.search_runs([experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}' and "
                                                        f"tags.`{names.SPEC_HASH_TAG}` = '{spec_hash}'",
                                       max_results=_PAGE)

    def trial_runs(self, experiment_id: str, parent_run_id: str) -> list[Run]:
        """Every trial (child) run of a sweep, all pages of the search."""
        runs = self.runs(experiment_id, f"tags.`{names.PARENT_RUN_TAG}` = '{parent_run_id}'")
        return [run for run in runs if run.data.tags.get(names.ROLE_TAG, names.ROLE_TRIAL) == names.ROLE_TRIAL]

    def runs(self, experiment_id: str, filter_string: str = "") -> list[Run]:
        """The experiment's active runs matching ``filter_string``, oldest first, all pages of the search."""
        runs, token = [], None
        while True:
            page = self.client.search_runs([experiment_id], filter_string, max_results=_PAGE, page_token=token,
                                           order_by=["attributes.start_time ASC"])
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def history(self, run_id: str, name: str) -> dict[int, float]:
        """One metric's history by step (see :func:`latest_per_step`)."""
        return latest_per_step(with_retries(lambda: self.client.get_metric_history(run_id, name),
                                            what=f"read {name}"))

    def artifact_text(self, run_id: str, path: str, *, max_bytes: int = 1_000_000) -> str | None:
        """A small text artifact of a run (``model_summary.txt``), or None when it has none or it is unreadable."""
        import tempfile

        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="fitcheck-artifact-") as folder, _no_progress_bar():
            try:
                local = self.client.download_artifacts(run_id, path, folder)
            except (MlflowException, OSError):
                return None
            file = Path(local)
            if not file.is_file() or file.stat().st_size > max_bytes:
                return None
            return file.read_text(encoding="utf-8", errors="replace")

    def artifact_json(self, run_id: str, path: str) -> object | None:
        """A small JSON artifact of a run, parsed; None when it has none or it does not parse."""
        text = self.artifact_text(run_id, path)
        try:
            return json.loads(text) if text is not None else None
        except json.JSONDecodeError:
            return None

    def curves(self, run_id: str, curve_names: Iterable[str]) -> dict[str, list[float]]:
        """A run's per-epoch curves by name, in step order."""
        return {name: list(self.history(run_id, name).values()) for name in curve_names}

    def histories(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[int, float]]:
        """Many ``(run_id, metric)`` histories, fetched in parallel (an HTTP server answers several at once)."""
        wanted = list(wanted)
        with ThreadPoolExecutor(max_workers=_HISTORY_THREADS) as pool:
            return dict(zip(wanted, pool.map(lambda item: self.history(*item), wanted)))


@contextlib.contextmanager
def _no_progress_bar():
    """MLflow draws a download bar on stdout, which would break ``--format json``: off while we read."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
