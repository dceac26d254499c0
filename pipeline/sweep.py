"""Run a sweep: spec → data → grid → trials on an executor → MLflow, diagnosis, report.

This module orchestrates; it owns no training code (``training``), no MLflow calls
(``tracking``), no statistics (``diagnostics``) and no run contents (``trial_payload``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import interrupt, names
from pipeline.data import PreparedData, load_dataset
from pipeline.errors import FitcheckError
from pipeline.executors import Executor, TrialStarted, make_executor
from pipeline.grid import Grid, TrialConfig, expand_grid, varying_axes
from pipeline.spec import SweepSpec, load_spec
from pipeline.tracking import (
    DatasetFrame,
    SweepLinks,
    SweepTracker,
    TrackingUnavailable,
    WantedTrial,
    check_tracking_uri,
    claim_trials,
    others_in_flight,
    settle_sweep,
)
from pipeline.trial_payload import curves_frame, trial_payload
from pipeline.training import TrialOutcome

_log = logging.getLogger(__name__)


@dataclass
class SweepOptions:
    """How to run a sweep; the CLI's flags map one to one onto these."""

    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str | None = None
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    resume: bool = True
    yes: bool = False
    reference_error: float | None = None
    report: bool = True
    progress: bool = True
    verbose: bool = False
    #: Train compatible trials as one fused model per group (:mod:`pipeline.fusion`); False: one model per trial.
    fuse: bool = True
    #: ``time.perf_counter()`` when the command started (the CLI sets it), so the wall time is the command's own.
    started: float | None = None


@dataclass
class TrialRecord:
    """A trial as the sweep saw it: config, run name, outcome and diagnosis."""

    index: int
    config: TrialConfig
    key: str
    name: str
    n_parameters: int
    run_id: str | None = None
    outcome: TrialOutcome | None = None
    diagnosis: object | None = None

    @property
    def label(self) -> str:
        """The diagnosis label; ``diverged`` for any trial that did not finish (``fitcheck.error`` says why)."""
        if self.outcome is not None and self.outcome.status == "FAILED":
            return names.DIVERGED
        return getattr(self.diagnosis, "label", names.UNDIAGNOSED)


@dataclass
class SweepResult:
    """What a sweep did: counts, labels, the best trial, where the report is."""

    experiment: str
    parent_run_id: str
    task: str
    n_trials: int
    n_skipped: int
    n_dropped_invalid: int
    records: list[TrialRecord] = field(default_factory=list)
    n_unlogged: int = 0
    seconds: float = 0.0
    reference_error: float | None = None
    reference_source: str = ""
    reference_baselines: dict[str, float] = field(default_factory=dict)
    reference_estimate: float | None = None
    n_val: int = 0
    report_path: Path | None = None
    #: The grid axes that vary, and where the MLflow UI shows the trials (None when it could not be written).
    varying_axes: tuple[str, ...] = ()
    links: SweepLinks | None = None
    #: Trials left to another live fitcheck process of the same sweep, which claimed them first.
    n_held: int = 0

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.records if r.outcome and r.outcome.status == "FAILED")

    def labels(self) -> Counter:
        """Trials of this run by diagnosis label."""
        return Counter(r.label for r in self.records if r.outcome)

    def summary_frame(self, task: str) -> pd.DataFrame:
        """One row per trial run now, ranked by the validation metric at its recommended epoch: config,
        that value, the recommended epoch, label, parameters, and whether it is tied with the best
        (within one standard error; see :func:`pipeline.diagnostics.rank_trials`)."""
        from pipeline.diagnostics import rank_trials

        at_stop = names.summary_metric(names.RECOMMENDED_VAL, task)
        rows = [{
            "trial": record.name, "status": record.outcome.status,
            at_stop: record.diagnosis.recommended_val_metric if record.diagnosis else math.nan,
            "stop_at": record.diagnosis.recommended_epochs if record.diagnosis else None,
            "label": record.label, names.N_PARAMETERS_PARAM: record.n_parameters,
        } for record in self.records if record.outcome is not None]
        if not rows:
            return pd.DataFrame(rows)
        frame = pd.DataFrame(rows).astype({"stop_at": "Int64", at_stop: float})
        ranked = rank_trials(frame, metric=names.task_metric(task), n_val=max(self.n_val, 1), value=at_stop,
                             parameters=names.N_PARAMETERS_PARAM, epochs="stop_at")
        return ranked.sort_values(["rank", names.N_PARAMETERS_PARAM], kind="stable")


def resolve_reference(
    spec: SweepSpec, options: SweepOptions, data: PreparedData
) -> tuple[float | None, str, dict[str, float]]:
    """The reference (Bayes-like) error, its source and, when estimated, each baseline's error.

    In order of preference: the command line, the spec's number (source ``given``), the lower
    of the non-neural baselines' errors (``estimated``, when the spec says ``estimate``, the
    default), or the best validation error of the sweep (``sweep_best_val``: ``None`` here; the
    sweep fills it in once every trial has finished).
    """
    if options.reference_error is not None:
        return options.reference_error, names.REFERENCE_GIVEN, {}
    if isinstance(spec.reference_error, float):
        return spec.reference_error, names.REFERENCE_GIVEN, {}
    if spec.reference_error == "estimate":
        from pipeline.reference import baseline_errors

        scale = data.target_scale if data.task == names.REGRESSION else 1.0
        try:
            errors = baseline_errors(data.X_train, data.y_train, task=data.task, seed=spec.split.seed)
        except FitcheckError as error:
            raise FitcheckError(f"{spec.source}: reference_error: estimate: {str(error).rstrip('.')} (dataset "
                                f"{data.name}); give a known error rate instead, or 'sweep', or pass "
                                "--reference-error") from None
        baselines = {name: float(error) * scale for name, error in errors.items()}
        return min(baselines.values()), names.REFERENCE_ESTIMATED, baselines
    return None, names.REFERENCE_SWEEP_BEST, {}


def _wanted(record: TrialRecord, data: PreparedData) -> WantedTrial:
    """The trial's claim: its run, with every axis, the task and the parameter count as params."""
    return WantedTrial(run_name=record.name, trial_key=record.key,
                       params={**record.config.params(), names.TASK_PARAM: data.task,
                               names.N_PARAMETERS_PARAM: record.n_parameters})


def _parameter_count(config: TrialConfig, data: PreparedData) -> int:
    from pipeline.diagnostics import mlp_parameter_count
    from pipeline.targets import output_head

    units = output_head(data.task, config.loss, data.n_classes).units
    return mlp_parameter_count(config.depth, config.width if config.depth else 0, data.n_features, units)


def _diagnosis(curves: dict[str, list[float]], data: PreparedData, reference: float, source: str):
    """The diagnosis of a trial's curves against ``reference``; None when there are no curves."""
    from pipeline.diagnostics import diagnose

    frame = curves_frame(curves)
    if frame.empty:
        return None
    return diagnose(frame, task=data.task, n_train=len(data.y_train), n_val=len(data.y_val),
                    reference_error=reference, reference_source=source,
                    monitor=f"val_{names.task_metric(data.task)}")  # the name fitcheck logs


def _failure(outcome: TrialOutcome) -> str | None:
    """Why a trial failed (its ``fitcheck.error`` tag), or None when it finished."""
    return (outcome.error or "failed") if outcome.status == "FAILED" else None


class Sweep:
    """One sweep in progress. Use :func:`run_sweep`.

    ``tracker`` and ``executor`` default to a :class:`SweepTracker` on ``options.tracking_uri``
    (created once the spec and data are known good, so bad input writes nothing) and the executor
    ``options`` name; the sweep closes its executor when it ends.
    """

    def __init__(self, spec: SweepSpec, options: SweepOptions, *, spec_path: str | None = None,
                 tracker: SweepTracker | None = None, executor: Executor | None = None):
        self.spec, self.options, self.spec_path = spec, options, spec_path
        self.tracker, self.executor = tracker, executor

    def run(self) -> SweepResult:
        started = self.options.started or time.perf_counter()
        spec, options = self.spec, self.options
        if self.tracker is None:
            check_tracking_uri(options.tracking_uri)  # fail fast, before any data is read; creates nothing
        data = load_dataset(spec.dataset, spec.split, source=spec.source or "spec")
        grid = expand_grid(spec.grid, task=data.task, skip_invalid=spec.skip_invalid, source=spec.source or "spec")
        if len(grid.trials) > spec.max_trials and not options.yes:
            raise FitcheckError(f"{spec.source}: grid has {len(grid.trials)} trials, over max_trials={spec.max_trials}; "
                                "pass --yes to run it anyway or raise max_trials")
        executor = self.executor or make_executor(options.executor, workers=options.workers,
                                                  ray_address=options.ray_address, verbose=options.verbose,
                                                  fuse=options.fuse)
        executor.warm_up(data)  # workers load TensorFlow while the sweep sets itself up
        try:
            reference = resolve_reference(spec, options, data)  # may refuse the data: before the store opens
            tracker = self.tracker or SweepTracker(options.tracking_uri)
            return self._run(tracker, executor, data, grid, reference, started)
        finally:
            executor.close()

    def _run(self, tracker: SweepTracker, executor: Executor, data: PreparedData, grid: Grid,
             resolved_reference: tuple[float | None, str, dict[str, float]], started: float) -> SweepResult:
        spec, options = self.spec, self.options
        experiment = tracker.use_experiment(options.experiment or spec.experiment_name())
        fingerprint = data.fingerprint()
        spec_hash = f"{spec.fingerprint()}-{fingerprint[:8]}"
        axes = varying_axes(grid.trials)  # run names and the MLflow UI's columns name only these
        records = [TrialRecord(i, config, config.key(fingerprint), config.name(axes),
                               _parameter_count(config, data)) for i, config in enumerate(grid.trials)]
        reference, reference_source, baselines = resolved_reference
        parent_id = tracker.find_sweep(spec_hash) if options.resume else None
        if parent_id:
            tracker.resume_sweep(parent_id)
        else:
            parent_id = self._start_parent(tracker, data, grid, spec_hash)
            if options.resume and settle_sweep(tracker, spec_hash):  # a rival sweep of this spec made the first parent
                parent_id = tracker.parent_run_id
        existing = [run for runs in tracker.trial_runs().values() for run in runs]
        tracker.kill_stale(existing)
        finished_before = [run for run in existing if run.info.status == "FINISHED"]  # by earlier invocations
        finished = {run.data.tags[names.TRIAL_KEY_TAG] for run in finished_before}
        todo = [record for record in records if record.key not in finished]
        result = SweepResult(experiment, parent_id, data.task, len(records), len(records) - len(todo), grid.n_dropped_invalid,
                             reference_error=reference, reference_source=reference_source,
                             reference_baselines=baselines, n_val=len(data.y_val), varying_axes=axes)
        try:
            todo = self._claim(tracker, data, todo, result)
            self._train(tracker, executor, data, todo, result)
        except KeyboardInterrupt:
            self._mark_interrupted(tracker)
            raise
        if self._settle_reference(data, result, finished_before):
            self._rediagnose(tracker, data, result, finished_before)
        result.seconds = time.perf_counter() - started
        self._finish_parent(tracker, result)
        return result

    @staticmethod
    def _mark_interrupted(tracker: SweepTracker) -> None:
        """Ctrl-C: end this process's trials in flight and the parent as KILLED; a rerun resumes them.

        Best effort: a run this cannot end stays RUNNING, and the rerun marks it KILLED.
        """
        try:
            tracker.end_own_runs(status="KILLED")
        except Exception:  # noqa: BLE001 - the user asked to stop; never mask the interrupt
            _log.warning("could not mark the interrupted runs KILLED; a rerun will")

    def _start_parent(self, tracker: SweepTracker, data: PreparedData, grid: Grid, spec_hash: str) -> str:
        spec = self.spec
        params = {
            "dataset": data.name, names.TASK_PARAM: data.task, names.N_TRAIN_PARAM: len(data.y_train),
            names.N_VAL_PARAM: len(data.y_val), "n_test": 0 if data.y_test is None else len(data.y_test),
            "n_features": data.n_features, "grid_size": len(grid.trials), "n_dropped_invalid": grid.n_dropped_invalid,
            "spec_hash": spec_hash, names.GRID_PARAM: json.dumps(spec.axis_values()),
        }
        name = Path(spec.source).stem if spec.source else "sweep"
        dataset = DatasetFrame(data.frame, data.name, data.target) if data.frame is not None else None
        return tracker.start_sweep(run_name=f"sweep-{name}", spec_hash=spec_hash, spec_name=name, params=params,
                                   spec_path=self.spec_path, dataset=dataset)

    @staticmethod
    def _claim(tracker: SweepTracker, data: PreparedData, todo: list[TrialRecord],
               result: SweepResult) -> list[TrialRecord]:
        """Claim every trial to run (a SCHEDULED run each); keep those no other live sweep holds."""
        claimed = claim_trials(tracker, [_wanted(record, data) for record in todo])
        result.n_held = claimed.n_held
        for record in todo:
            record.run_id = claimed.run_ids.get(record.key)
        return [record for record in todo if record.run_id]

    def _train(self, tracker: SweepTracker, executor: Executor, data: PreparedData, todo: list[TrialRecord],
               result: SweepResult) -> None:
        from tqdm import tqdm

        by_index = {record.index: record for record in todo}
        bar = tqdm(total=len(todo), unit="trial", desc="sweep", disable=not self.options.progress or not todo,
                   dynamic_ncols=True)
        unlogged: list[TrialRecord] = []
        try:
            for event in executor.run([(r.index, r.config) for r in todo], data):
                interrupt.raise_if_requested()
                record = by_index[event.index if isinstance(event, TrialStarted) else event.outcome.index]
                if isinstance(event, TrialStarted):
                    self._safe(lambda: tracker.trial_started(record.run_id))
                    continue
                record.outcome = event.outcome
                result.records.append(record)
                if result.reference_error is not None:
                    self._diagnose(record, data, result.reference_error, result.reference_source)
                if not self._log_trial(tracker, data, record, result.reference_error):
                    unlogged.append(record)
                bar.update(1)
                bar.set_postfix(failed=result.n_failed, last=record.label, refresh=False)
        finally:
            bar.close()
        for record in unlogged:  # the server came back: write what was kept
            if not self._log_trial(tracker, data, record, result.reference_error):
                result.n_unlogged += 1

    @staticmethod
    def _safe(call):
        try:
            return call()
        except TrackingUnavailable as error:
            _log.warning("MLflow unavailable: %s", error)
            return None

    def _diagnose(self, record: TrialRecord, data: PreparedData, reference: float, source: str) -> None:
        diagnosis = _diagnosis(record.outcome.curves, data, reference, source)
        if diagnosis is not None:
            record.diagnosis = diagnosis

    @staticmethod
    def _settle_reference(data: PreparedData, result: SweepResult, finished_before: list) -> bool:
        """Once every trial has run, fix the reference the whole sweep is diagnosed against; True when
        it differs from the one the trials were diagnosed against live.

        ``reference_error: sweep``: the best validation metric of the sweep, earlier invocations'
        trials included. An estimated reference: capped by that best plus an allowance for picking
        the best of K noisy values (:func:`pipeline.diagnostics.cap_reference`), so it is never
        above what the sweep's own networks reached.
        """
        from pipeline.diagnostics import cap_reference, curve_summary, reference_from_sweep

        best_val = names.summary_metric("best_val", data.task)
        bests = [curve_summary(r.outcome.curves, task=data.task).get(best_val, math.nan)
                 for r in result.records if r.outcome.status == "FINISHED"]
        bests += [run.data.metrics[best_val] for run in finished_before if best_val in run.data.metrics]
        bests = [value for value in bests if math.isfinite(value)]
        if not bests:
            return False
        if result.reference_error is None:
            result.reference_error = reference_from_sweep(bests)
            return True
        if result.reference_source != names.REFERENCE_ESTIMATED:
            return False
        estimate = result.reference_estimate if result.reference_estimate is not None else result.reference_error
        capped = cap_reference(estimate, best_val=min(bests), n_val=len(data.y_val), n_trials=len(bests),
                               metric=names.task_metric(data.task))
        result.reference_estimate = estimate
        if not capped.capped:
            return False
        result.reference_error = capped.value
        return True

    def _rediagnose(self, tracker: SweepTracker, data: PreparedData, result: SweepResult,
                    finished_before: list) -> None:
        """Diagnose every trial of the sweep, earlier invocations' included, against the settled reference."""
        for record in result.records:
            self._diagnose(record, data, result.reference_error, result.reference_source)
            if record.diagnosis is not None and record.run_id:
                payload = trial_payload(record.outcome.curves, task=data.task, title=record.name,
                                        diagnosis=record.diagnosis, failure=_failure(record.outcome),
                                        diverged_epoch=record.outcome.diverged_epoch,
                                        reference_error=result.reference_error)
                self._safe(lambda: tracker.update_trial(record.run_id, metrics=payload.metrics, tags=payload.tags,
                                                        artifacts=payload.artifacts))
        for run in finished_before:
            curves = self._safe(lambda: tracker.reader.curves(run.info.run_id, names.curve_columns(data.task)))
            diagnosis = _diagnosis(curves or {}, data, result.reference_error, result.reference_source)
            if diagnosis is None:
                continue
            payload = trial_payload(curves, task=data.task, title=run.info.run_name, diagnosis=diagnosis,
                                    reference_error=result.reference_error)
            self._safe(lambda: tracker.update_trial(run.info.run_id, metrics=payload.metrics, tags=payload.tags,
                                                    artifacts=payload.artifacts))

    def _log_trial(self, tracker: SweepTracker, data: PreparedData, record: TrialRecord,
                   reference: float | None) -> bool:
        outcome = record.outcome
        payload = trial_payload(outcome.curves, task=data.task, title=record.name,
                                diagnosis=record.diagnosis, failure=_failure(outcome),
                                diverged_epoch=outcome.diverged_epoch, train_seconds=outcome.train_seconds,
                                reference_error=reference)
        try:
            tracker.finish_trial(record.run_id, curves=outcome.curves, metrics=payload.metrics, tags=payload.tags,
                                 artifacts=payload.artifacts, status=outcome.status)
        except TrackingUnavailable as error:
            _log.warning("could not log trial %s yet: %s", record.name, error)
            return False
        return True

    def _finish_parent(self, tracker: SweepTracker, result: SweepResult) -> None:
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
        result.links = self._safe(lambda: tracker.publish_sweep(
            task=result.task, axes=result.varying_axes, reference_error=result.reference_error,
            reference_source=result.reference_source))
        if self.options.report:
            result.report_path = self._write_report(tracker, result)

    def _write_report(self, tracker: SweepTracker, result: SweepResult) -> Path | None:
        from pipeline.report import build_report, default_report_path

        path = build_report(tracker.tracking_uri, sweep_run_id=result.parent_run_id,
                            out=default_report_path(result.experiment))
        self._safe(lambda: tracker.log_parent_artifact(path, name="report.html"))
        return path


def run_sweep(spec: str | os.PathLike | SweepSpec, options: SweepOptions | None = None) -> SweepResult:
    """Run every trial of a sweep spec, log it to MLflow, diagnose each trial and write the report.

    Examples
    --------
    >>> from pipeline.sweep import run_sweep, SweepOptions  # doctest: +SKIP
    >>> result = run_sweep("experiments/quickstart.yaml", SweepOptions(workers=2))  # doctest: +SKIP
    >>> result.labels()  # doctest: +SKIP
    Counter({'good_fit': 20, 'high_bias': 8, ...})
    """
    options = options or SweepOptions()
    if isinstance(spec, SweepSpec):
        return Sweep(spec, options).run()
    return Sweep(load_spec(spec), options, spec_path=str(spec)).run()
