"""The sweep's parent run: opened (or resumed) with what the sweep is, finished with what it did, and the report.

Talks to MLflow only through :class:`~pipeline.tracking.SweepTracker`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pipeline import names
from pipeline.data import PreparedData
from pipeline.errors import FitcheckError
from pipeline.search import Sampler, TrialConfig
from pipeline.spec import SweepSpec
from pipeline.sweep._result import SweepResult
from pipeline.sweep._session import Session
from pipeline.tracking import (DatasetArrays, DatasetFrame, SweepTracker, TrackingUnavailable, others_in_flight,
                               settle_sweep)


def axis_values(spec: SweepSpec, trials: Sequence[TrialConfig]) -> dict[str, list]:
    """The spec's axis values; an axis given as a range has the values its sampled ``trials`` took."""
    values = spec.axis_values()
    for axis in dict.fromkeys(axis for spec_grid in spec.grids for axis in spec_grid.ranges()):
        values[axis] = sorted({trial.axis(axis) for trial in trials})
    return values


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
    parent_id = tracker.find_sweep(spec_hash) if resume else None
    if parent_id:
        tracker.resume_sweep(parent_id)
        return parent_id
    params = {
        "dataset": data.name, names.TASK_PARAM: data.task, names.N_TRAIN_PARAM: len(data.y_train),
        names.N_VAL_PARAM: len(data.y_val), "n_test": 0 if data.y_test is None else len(data.y_test),
        "n_features": data.n_features, "grid_size": sampler.n_trials, "n_dropped_invalid": sampler.n_dropped_invalid,
        **({names.INPUT_SHAPE_PARAM: "x".join(map(str, data.input_shape))} if len(data.input_shape) > 1 else {}),
        "spec_hash": spec_hash, names.GRID_PARAM: json.dumps(axis_values(spec, sampler.planned)),
    }
    name = spec.stem or "sweep"
    parent_id = tracker.start_sweep(run_name=f"sweep-{name}", spec_hash=spec_hash, spec_name=name, params=params,
                                    spec_path=spec_path, datasets=_datasets(data))
    if resume and settle_sweep(tracker, spec_hash):  # a rival sweep of this spec made the first parent
        parent_id = tracker.parent_run_id
    return parent_id


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
    except TrackingUnavailable as error:
        raise FitcheckError(f"MLflow at {tracker.tracking_uri} went away: {error}; "
                            "run the same command again to resume") from None
    result.links = session.safe(lambda: tracker.publish_sweep(
        task=result.task, axes=result.varying_axes, reference_error=result.reference_error,
        reference_source=result.reference_source,
        learning_curves=[(name, run_id, verdict.advice) for name, run_id, verdict in result.learning_curves]))
    if report:
        result.report_path = _write_report(session, result)


def _write_report(session: Session, result: SweepResult) -> Path | None:
    from pipeline.report import build_report, default_report_path

    path = build_report(session.tracker.tracking_uri, sweep_run_id=result.parent_run_id,
                        out=default_report_path(result.experiment))
    session.safe(lambda: session.tracker.log_parent_artifact(path, name="report.html"))
    return path
