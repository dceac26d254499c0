"""The sweep's parent run: opened (or resumed) with what the sweep is, finished with what it did, and the report.

Talks to MLflow only through :class:`~pipeline.tracking.SweepTracker`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from pipeline import names
from pipeline.data import PreparedData
from pipeline.runs import one_line
from pipeline.search import Sampler, TrialConfig
from pipeline.spec import SweepSpec
from pipeline.sweep._result import SweepResult, TrialRecord
from pipeline.sweep._session import Session, logged_stops
from pipeline.training import TrialOutcome
from pipeline.tracking import (DatasetArrays, DatasetFrame, SweepTracker, TrackingUnavailable, others_in_flight,
                               settle_sweep)

_log = logging.getLogger(__name__)


def axis_values(spec: SweepSpec, trials: Sequence[TrialConfig]) -> dict[str, list]:
    """The spec's axis values; an axis given as a range has the values its sampled ``trials`` took."""
    values = spec.axis_values()
    for axis in dict.fromkeys(axis for spec_grid in spec.grids for axis in spec_grid.ranges()):
        values[axis] = sorted({trial.axis(axis) for trial in trials})
    return values


def grid_param(spec: SweepSpec, trials: Sequence[TrialConfig]) -> list[dict] | dict[str, list]:
    """The parent's ``grid`` param: one grid's axis values, or the list of sub-grids as given (their union
    of axis values would imply combinations no sub-grid makes); a range is kept as given in a sub-grid."""
    if len(spec.grids) == 1:
        return axis_values(spec, trials)
    given = []
    for spec_grid in spec.grids:
        values = spec.model_copy(update={"grid": spec_grid}).axis_values()
        for axis in spec_grid.ranges():
            ranged = spec_grid.hyperparameters.get(axis, getattr(spec_grid, axis, None))
            values[axis] = ranged.model_dump(mode="json") if hasattr(ranged, "model_dump") else ranged
        given.append(values)
    return given


def sweep_name(spec: SweepSpec) -> str:
    """The sweep's name (its parent run is ``sweep-<name>``): the spec file's stem, else its experiment, else
    ``notebook`` (a spec given as a dict), cut to 100 characters with a hash of the whole where longer."""
    name = spec.stem or spec.experiment or "notebook"
    if len(name) <= 100:
        return name
    return f"{name[:87]}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def _datasets(data: PreparedData) -> list[DatasetFrame | DatasetArrays]:
    """The training and validation splits as MLflow datasets: the table's rows, or the arrays."""
    contexts = (names.TRAINING_CONTEXT, names.VALIDATION_CONTEXT)
    if data.frame is not None:
        return [DatasetFrame(data.frame.iloc[data.rows[context]], data.name, data.target, context)
                for context in contexts if context in data.rows]
    return [DatasetArrays(X, y, data.name, context)
            for X, y, context in ((data.X_train, data.y_train, contexts[0]), (data.X_val, data.y_val, contexts[1]))]


def open_parent(tracker: SweepTracker, spec: SweepSpec, data: PreparedData, sampler: Sampler, spec_hash: str, *,
                resume: bool, spec_path: str | None) -> str:
    """The parent run's id: the sweep's own, resumed (with ``resume``), else a new one with the data and the
    sampler's plan as params; when a rival process of the same spec started one first, that one."""
    with tracker.claims_in_order() as in_order:  # a rival sweep of this spec on this machine waits here
        parent_id = tracker.find_sweep(spec_hash) if resume else None
        if parent_id:
            tracker.resume_sweep(parent_id)
            return parent_id
        params = {
            "dataset": data.name, names.TASK_PARAM: data.task, names.N_TRAIN_PARAM: len(data.y_train),
            names.N_VAL_PARAM: len(data.y_val), "n_test": 0 if data.y_test is None else len(data.y_test),
            "n_features": data.n_features, "grid_size": sampler.n_trials,
            "n_dropped_invalid": sampler.n_dropped_invalid,
            **({names.INPUT_SHAPE_PARAM: "x".join(map(str, data.input_shape))} if len(data.input_shape) > 1 else {}),
            "spec_hash": spec_hash, names.GRID_PARAM: json.dumps(grid_param(spec, sampler.planned)),
        }
        name = sweep_name(spec)
        parent_id = tracker.start_sweep(run_name=f"sweep-{name}", spec_hash=spec_hash, spec_name=name, params=params,
                                        spec_path=spec_path, datasets=_datasets(data))
    if spec.previous_sweep:  # the round this spec is the next of (``fitcheck next``); the writer adds tags to any run
        tracker.update_trial(parent_id, metrics={}, tags={names.PREVIOUS_SWEEP_TAG: spec.previous_sweep}, artifacts={})
    if resume and not in_order and settle_sweep(tracker, spec_hash):  # a rival sweep elsewhere made the first parent
        parent_id = tracker.parent_run_id
    return parent_id


def read_back(session: Session, records: Sequence[TrialRecord], finished_before: Sequence, result: SweepResult) -> None:
    """Fill ``result.earlier`` with the trials of ``records`` an earlier invocation finished (skipped now): their
    curves and how they stopped read back from MLflow, diagnosed against the sweep's reference."""
    runs = {run.data.tags.get(names.TRIAL_KEY_TAG): run for run in finished_before}
    for record in records:
        run = runs.get(record.key)
        if record.outcome is not None or run is None:
            continue
        stopped = logged_stops(run)
        record.run_id = run.info.run_id
        record.outcome = TrialOutcome(record.index, "FINISHED", curves=session.logged_curves(run.info.run_id),
                                      train_seconds=run.data.metrics.get(names.TRAIN_SECONDS, 0.0), **stopped)
        if result.reference_error is not None:
            session.diagnose(record, result.reference_error, result.reference_source)
        result.earlier.append(record)


def finish_parent(session: Session, result: SweepResult, *, report: bool) -> None:
    """End the parent with the sweep's totals and reference (unless another process's trials are still in
    flight: the last one ends it), publish the MLflow views, and with ``report`` write the HTML report."""
    tracker = session.tracker
    tags = {names.REFERENCE_SOURCE_TAG: result.reference_source}
    metrics = {
        names.N_TRIALS: result.n_trials,
        names.N_FINISHED: sum(1 for r in result.records if r.outcome.status == "FINISHED"),
        names.N_FAILED: result.n_failed, names.N_SKIPPED: result.n_skipped, names.SWEEP_SECONDS: result.seconds,
    }
    if result.reference_error is not None:
        metrics[names.REFERENCE_ERROR] = result.reference_error
    if result.reference_estimate is not None and result.reference_estimate != result.reference_error:
        metrics[names.REFERENCE_ESTIMATE] = result.reference_estimate
    metrics.update({f"{names.REFERENCE_BASELINE_PREFIX}{name}": error
                    for name, error in result.reference_baselines.items()})
    status = "FAILED" if result.n_unlogged else "FINISHED"
    try:
        if not others_in_flight(tracker, (record.run_id for record in result.records)):  # else the last one ends it
            tracker.finish_sweep(metrics=metrics, tags=tags, status=status)
    except TrackingUnavailable as error:  # the trials are logged (or said not to be): the summary still prints
        result.ending_errors.append(f"the sweep run could not be ended: MLflow at {tracker.tracking_uri}: "
                                    f"{one_line(error, limit=300)}; run the same command again to end it")
    except Exception as error:  # noqa: BLE001 - a full disk, a refused value: the trials are logged, say so
        result.ending_errors.append(f"the sweep run could not be ended: {one_line(error, limit=300)}; "
                                    "run the same command again to end it")
        _log.debug("ending the sweep run failed", exc_info=True)
    result.links = _ending(result, "the MLflow views could not be published", lambda: tracker.publish_sweep(
        task=result.task, axes=result.varying_axes, reference_error=result.reference_error,
        reference_source=result.reference_source,
        learning_curves=[(name, run_id, verdict.advice) for name, run_id, verdict in result.learning_curves]))
    if report:
        result.report_path = _ending(result, "report not written", lambda: _write_report(session, result))


def _ending(result: SweepResult, what: str, call):
    """``call()``, or None with one line in ``result.ending_errors``: what fails once the trials are logged (the
    report, the views, a full disk) never takes the sweep's summary down."""
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - OSError, MLflow's and the store's own: the trials are logged
        result.ending_errors.append(f"{what}: {one_line(error, limit=300)}")
        _log.debug("%s", what, exc_info=True)
        return None


def _write_report(session: Session, result: SweepResult) -> Path | None:
    from pipeline.report import build_report, default_report_path

    path = build_report(session.tracker.tracking_uri, sweep_run_id=result.parent_run_id,
                        out=default_report_path(result.experiment))
    session.safe(lambda: session.tracker.log_parent_artifact(path, name="report.html"))
    return path
