"""Stage 1 of the report: read one sweep from MLflow, and only from MLflow.

Everything the report shows comes from the parent run and its child runs (params, tags, summary
metrics and per-epoch metric histories), so a report can be rebuilt from a tracking server alone for a
sweep that was resumed or run by several workers. It reads through :class:`pipeline.tracking.TrackingReader`
(one rule for a step logged twice), draws nothing and knows no HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import takewhile

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.recipe import Round
from pipeline.tracking import TrackingReader, one_run_per_trial_key, store_errors


@dataclass(frozen=True)
class LoggedTrial:
    """One child run: its grid point, labels, summary metrics and per-epoch curves."""

    run_id: str
    run_name: str
    status: str
    trial_key: str
    params: dict[str, object]
    label: str | None
    label_at_recommended: str | None
    bias_decided: bool | None
    error: str | None
    summary: dict[str, float]
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRound:
    """One round of a recipe search: its number, its sweep's parent run, what it recorded (``recipe_round.json``;
    None when unreadable) and its trials in start order."""

    number: int
    run_id: str
    record: Round | None
    trials: list[LoggedTrial]


@dataclass(frozen=True)
class LoggedSweep:
    """One sweep as MLflow holds it: the parent run's params, tags and metrics, one :class:`LoggedTrial` per trial key."""

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
    trials: list[LoggedTrial]
    n_superseded_runs: int = 0
    #: The parent run's status: anything but ``FINISHED`` is a sweep that did not finish (interrupted, still running).
    status: str = "FINISHED"
    #: A recipe search's rounds up to this sweep (its last), oldest first; empty for a sweep that is not a round.
    rounds: list[LoggedRound] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.params.get(names.TASK_PARAM, names.BINARY)

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


def _union(grid: object, trials: list[LoggedTrial]) -> dict:
    """The axis values of the parent's ``grid`` param: one grid's, or the union of a list of sub-grids' (a range
    as the values its trials took)."""
    if not isinstance(grid, list):
        return grid if isinstance(grid, dict) else {}
    values: dict[str, list] = {}
    for sub_grid in (g for g in grid if isinstance(g, dict)):
        for axis, axis_values in sub_grid.items():
            if isinstance(axis_values, dict):  # a range
                axis_values = sorted({t.params[axis] for t in trials if axis in t.params}, key=str)
            kept = values.setdefault(axis, [])
            kept += [value for value in (axis_values if isinstance(axis_values, list) else [axis_values])
                     if value not in kept]
    return values


def _find_parent(reader: TrackingReader, experiment_name: str | None, sweep_run_id: str | None):
    """The sweep's parent run: ``sweep_run_id``'s, else the latest sweep in ``experiment_name``."""
    if sweep_run_id:
        run = reader.find_run(sweep_run_id)
        if run is None:
            raise FitcheckError(f"no run {sweep_run_id!r} in the tracking store; "
                                "pass --experiment NAME to report its latest sweep")
        role = run.data.tags.get(names.ROLE_TAG)
        if role != names.ROLE_SWEEP:
            raise FitcheckError(f"run {sweep_run_id!r} is not a fitcheck sweep: its tag {names.ROLE_TAG} is "
                                f"{role!r}, expected {names.ROLE_SWEEP!r}")
        return run
    known = ", ".join(repr(name) for name in reader.experiment_names()) or "none"
    if not experiment_name:
        raise FitcheckError(f"give an experiment name or a sweep run id; experiments: {known}")
    experiment = reader.experiment(experiment_name)
    if experiment is None:
        raise FitcheckError(f"no experiment named {experiment_name!r}; experiments: {known}")
    latest = reader.latest_sweep(experiment.experiment_id)
    if latest is None:
        raise FitcheckError(f"experiment {experiment_name!r} holds no fitcheck sweep "
                            f"(no run tagged {names.ROLE_TAG}={names.ROLE_SWEEP}); run `fitcheck sweep` first")
    return latest


def gather_sweep(tracking_uri: str, *, experiment_name: str | None = None,
                 sweep_run_id: str | None = None) -> LoggedSweep:
    """Read a sweep (the given parent run, or the latest sweep in ``experiment_name``) from MLflow.

    >>> sweep = gather_sweep("sqlite:///mlflow.db", experiment_name="quickstart")  # doctest: +SKIP
    >>> len(sweep.trials), sweep.metric  # doctest: +SKIP
    (24, 'error')
    """
    reader = TrackingReader(tracking_uri)  # refuses a store that does not exist
    with store_errors(f"cannot read the sweep from {tracking_uri}"):
        parent = _find_parent(reader, experiment_name, sweep_run_id)
        experiment = reader.experiment_by_id(parent.info.experiment_id)
        if experiment_name and experiment.name != experiment_name:
            raise FitcheckError(f"run {sweep_run_id!r} belongs to experiment {experiment.name!r}, "
                                f"not {experiment_name!r}")
        children = reader.trial_runs(experiment.experiment_id, parent.info.run_id)
        runs = one_run_per_trial_key(children)
        task = parent.data.params.get(names.TASK_PARAM) or (
            runs[0].data.params.get(names.TASK_PARAM, names.BINARY) if runs else names.BINARY)
        curve_keys = tuple(key for key in names.curve_columns(task) if key != names.RUNNING_LOSS)
        histories = reader.histories((run.info.run_id, key) for run in runs for key in curve_keys
                                     if key in run.data.metrics)
        trials = _logged_trials(runs, histories, curve_keys)
        rounds = _recipe_rounds(reader, parent, trials) if names.RECIPE_ROUND_TAG in parent.data.tags else []
    try:
        grid = _union(json.loads(parent.data.params.get(names.GRID_PARAM, "{}")), trials)
    except json.JSONDecodeError:
        grid = {}
    return LoggedSweep(
        tracking_uri=tracking_uri, experiment_id=experiment.experiment_id, experiment_name=experiment.name,
        run_id=parent.info.run_id, run_name=parent.info.run_name or parent.info.run_id[:8],
        start_time=parent.info.start_time or 0, params=dict(parent.data.params), tags=dict(parent.data.tags),
        metrics=dict(parent.data.metrics), grid=grid if isinstance(grid, dict) else {}, trials=trials,
        n_superseded_runs=len(children) - len(runs), status=parent.info.status or "FINISHED", rounds=rounds,
    )


def _logged_trials(runs: list, histories: dict[tuple[str, str], dict[int, float]] | None = None,
                   curve_keys: tuple[str, ...] = ()) -> list[LoggedTrial]:
    """One :class:`LoggedTrial` per run, with its ``curve_keys`` curves that ``histories`` holds (by run id and
    metric name)."""
    histories = histories or {}
    return [
        LoggedTrial(
            run_id=run.info.run_id, run_name=run.info.run_name or run.info.run_id[:8], status=run.info.status,
            trial_key=run.data.tags.get(names.TRIAL_KEY_TAG, ""),
            params={key: _parse(value) for key, value in run.data.params.items()},
            label=run.data.tags.get(names.DIAGNOSIS_TAG),
            label_at_recommended=run.data.tags.get(names.DIAGNOSIS_AT_RECOMMENDED_TAG),
            bias_decided={"true": True, "false": False}.get(run.data.tags.get(names.BIAS_DECIDED_TAG, "")),
            error=run.data.tags.get(names.ERROR_TAG),
            summary=dict(run.data.metrics),
            curves={key: list(histories[(run.info.run_id, key)].items()) for key in curve_keys
                    if (run.info.run_id, key) in histories},
        )
        for run in runs
    ]


def _recipe_rounds(reader: TrackingReader, parent, last_trials: list[LoggedTrial]) -> list[LoggedRound]:
    """The rounds of the recipe search whose last round is ``parent``, oldest first: the chain of sweeps it came
    from that are recipe rounds, each with its record and its trials (``last_trials`` for ``parent``'s own;
    the earlier rounds' without curves: their summary metrics are all the path needs)."""
    chain = takewhile(lambda run: names.RECIPE_ROUND_TAG in run.data.tags, reader.sweep_chain(parent))
    rounds = []
    for run in reversed(list(chain)):
        run_id = run.info.run_id
        trials = last_trials if run_id == parent.info.run_id else _logged_trials(
            one_run_per_trial_key(reader.trial_runs(run.info.experiment_id, run_id)))
        record = Round.from_logged(reader.artifact_json(run_id, names.RECIPE_ROUND_FILE))
        number = _parse(run.data.tags[names.RECIPE_ROUND_TAG])
        rounds.append(LoggedRound(number if isinstance(number, int) else len(rounds) + 1, run_id, record, trials))
    return rounds
