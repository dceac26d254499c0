"""Stage 1 of the report: read one sweep from MLflow, and only from MLflow.

Everything the report shows comes from the parent run and its child runs (params, tags, summary
metrics and per-epoch metric histories), so a report can be rebuilt from a tracking server alone for a
sweep that was resumed or run by several workers. This module draws nothing and knows no HTML.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException

from pipeline import names
from pipeline.errors import FitcheckError

_STATUS_RANK = {"FINISHED": 0, "FAILED": 1, "KILLED": 2, "RUNNING": 3, "SCHEDULED": 4}
_HISTORY_WORKERS = 8


@dataclass(frozen=True)
class Trial:
    """One child run: its grid point, labels, summary metrics and per-epoch curves."""

    run_id: str
    run_name: str
    status: str
    trial_key: str
    params: dict[str, object]
    label: str | None
    label_at_recommended: str | None
    error: str | None
    summary: dict[str, float]
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """One sweep: the parent run's params, tags and metrics, and one :class:`Trial` per trial key."""

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    run_id: str
    run_name: str
    start_time: int
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]
    grid: dict[str, list]
    trials: list[Trial]
    n_superseded_runs: int = 0

    @property
    def task(self) -> str:
        return self.params.get("task", "classification")

    @property
    def metric(self) -> str:
        """The task metric name, ``"error"`` or ``"rmse"``."""
        return names.task_metric(self.task)


def _parse(value: str) -> object:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _experiment_names(client: MlflowClient) -> str:
    found = sorted(experiment.name for experiment in client.search_experiments(view_type=ViewType.ACTIVE_ONLY))
    return ", ".join(repr(name) for name in found) or "none"


def _search_all(client: MlflowClient, experiment_id: str, filter_string: str, order_by=None) -> list[Run]:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string, max_results=1000, order_by=order_by,
                                  page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _find_parent(client: MlflowClient, experiment_name: str | None, sweep_run_id: str | None) -> Run:
    if sweep_run_id:
        try:
            run = client.get_run(sweep_run_id)
        except MlflowException as error:
            raise FitcheckError(f"no run {sweep_run_id!r} in the tracking store; "
                                f"pass --experiment NAME to report its latest sweep ({error.error_code})") from None
        role = run.data.tags.get(names.ROLE_TAG)
        if role != names.ROLE_SWEEP:
            raise FitcheckError(f"run {sweep_run_id!r} is not a fitcheck sweep: its tag {names.ROLE_TAG} is "
                                f"{role!r}, expected {names.ROLE_SWEEP!r}")
        return run
    if not experiment_name:
        raise FitcheckError(f"give an experiment name or a sweep run id; experiments: {_experiment_names(client)}")
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise FitcheckError(f"no experiment named {experiment_name!r}; experiments: {_experiment_names(client)}")
    latest = client.search_runs([experiment.experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'",
                                max_results=1, order_by=["attributes.start_time DESC"])
    if not latest:
        raise FitcheckError(f"experiment {experiment_name!r} holds no fitcheck sweep "
                            f"(no run tagged {names.ROLE_TAG}={names.ROLE_SWEEP}); run `fitcheck sweep` first")
    return latest[0]


def _one_per_trial_key(runs: list[Run]) -> list[Run]:
    """Keep one run per trial key (a resumed sweep may hold a FAILED run and its FINISHED rerun)."""
    chosen: dict[str, Run] = {}
    for run in runs:
        key = run.data.tags.get(names.TRIAL_KEY_TAG, run.info.run_id)
        rank = (_STATUS_RANK.get(run.info.status, 9), -(run.info.start_time or 0))
        held = chosen.get(key)
        if held is None or rank < (_STATUS_RANK.get(held.info.status, 9), -(held.info.start_time or 0)):
            chosen[key] = run
    return sorted(chosen.values(), key=lambda run: (run.info.start_time or 0, run.info.run_id))


def _histories(client: MlflowClient, runs: list[Run], keys: tuple[str, ...]) -> dict[tuple[str, str], list]:
    """Fetch every (run, curve) history, in a thread pool so an HTTP server is asked in parallel."""
    wanted = [(run.info.run_id, key) for run in runs for key in keys if key in run.data.metrics]

    def fetch(item: tuple[str, str]) -> list[tuple[int, float]]:
        history = client.get_metric_history(*item)
        return sorted((metric.step, metric.value) for metric in history)

    with ThreadPoolExecutor(max_workers=_HISTORY_WORKERS) as pool:
        return dict(zip(wanted, pool.map(fetch, wanted)))


def gather_sweep(tracking_uri: str, *, experiment_name: str | None = None,
                 sweep_run_id: str | None = None) -> Sweep:
    """Read a sweep (the given parent run, or the latest sweep in ``experiment_name``) from MLflow.

    >>> sweep = gather_sweep("sqlite:///mlflow.db", experiment_name="quickstart")  # doctest: +SKIP
    >>> len(sweep.trials), sweep.metric  # doctest: +SKIP
    (24, 'error')
    """
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri.removeprefix("sqlite:///")).is_file():
        raise FitcheckError(f"no MLflow store at {tracking_uri!r}: the file does not exist; "
                            "pass the --tracking-uri the sweep wrote to")
    client = MlflowClient(tracking_uri)
    try:
        parent = _find_parent(client, experiment_name, sweep_run_id)
        experiment = client.get_experiment(parent.info.experiment_id)
        if experiment_name and experiment.name != experiment_name:
            raise FitcheckError(f"run {sweep_run_id!r} belongs to experiment {experiment.name!r}, "
                                f"not {experiment_name!r}")
        children = _search_all(client, experiment.experiment_id,
                               f"tags.`{names.PARENT_RUN_TAG}` = '{parent.info.run_id}'")
        children = [run for run in children if run.data.tags.get(names.ROLE_TAG, names.ROLE_TRIAL) == names.ROLE_TRIAL]
        runs = _one_per_trial_key(children)
        task = parent.data.params.get("task") or (runs[0].data.params.get("task") if runs else "classification")
        curve_keys = tuple(key for key in names.curve_columns(task) if key != names.RUNNING_LOSS)
        histories = _histories(client, runs, curve_keys)
    except MlflowException as error:
        raise FitcheckError(f"cannot read the sweep from {tracking_uri}: {error.message.splitlines()[0]}") from None
    trials = [
        Trial(
            run_id=run.info.run_id, run_name=run.info.run_name or run.info.run_id[:8], status=run.info.status,
            trial_key=run.data.tags.get(names.TRIAL_KEY_TAG, ""),
            params={key: _parse(value) for key, value in run.data.params.items()},
            label=run.data.tags.get(names.DIAGNOSIS_TAG),
            label_at_recommended=run.data.tags.get(names.DIAGNOSIS_AT_RECOMMENDED_TAG),
            error=run.data.tags.get(names.ERROR_TAG),
            summary=dict(run.data.metrics),
            curves={key: histories[(run.info.run_id, key)] for key in curve_keys
                    if (run.info.run_id, key) in histories},
        )
        for run in runs
    ]
    try:
        grid = json.loads(parent.data.params.get("grid", "{}"))
    except json.JSONDecodeError:
        grid = {}
    return Sweep(
        tracking_uri=tracking_uri, experiment_id=experiment.experiment_id, experiment_name=experiment.name,
        run_id=parent.info.run_id, run_name=parent.info.run_name or parent.info.run_id[:8],
        start_time=parent.info.start_time or 0, params=dict(parent.data.params), tags=dict(parent.data.tags),
        metrics=dict(parent.data.metrics), grid=grid if isinstance(grid, dict) else {}, trials=trials,
        n_superseded_runs=len(children) - len(runs),
    )
