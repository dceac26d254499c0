"""Run a sweep: spec → data → grid → trials on an executor → MLflow, diagnosis, report.

This module orchestrates; it owns no training code (``training``), no MLflow calls
(``tracking``), no statistics (``diagnostics``) and no run contents (``trial_payload``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from pipeline import interrupt, names
from pipeline.data import PreparedData, load_dataset, prepare_inputs, subset_rows
from pipeline.errors import FitcheckError
from pipeline.executors import Executor, TrialStarted, make_executor
from pipeline.search import Grid, Pruning, TrialConfig, varying_axes
from pipeline.sweep._learning_curves import (CurvePoint, curve_metrics, curves_by_configuration, largest,
                                      missing_trials, top_configurations)
from pipeline.search import TpeSearch, search_trials
from pipeline.spec import DICT_SOURCE, LearningCurveSpec, SweepSpec, load_spec, parse_spec
from pipeline.tracking import (
    DatasetArrays,
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
from pipeline.runs import curves_frame, trial_payload
from pipeline.training import TrialOutcome, native_logs_hidden, require_tensorflow

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
    #: End each trial with the online recommendation rule (as the spec's ``stopping: {early: true}``).
    early_stopping: bool = False
    #: Train compatible trials as one fused model per group (:mod:`pipeline.training._fusion`); False: one model per trial.
    fuse: bool = True
    #: ``time.perf_counter()`` when the command started (the CLI sets it), so the wall time is the command's own.
    started: float | None = None
    #: After the sweep, add learning curves over training-set size for its best configurations (the spec's
    #: ``learning_curve``, else its defaults), as ``fitcheck sweep --learning-curve`` asks.
    learning_curve: bool = False


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
    #: Training rows it trains on (its ``train_size`` of the training split).
    n_train: int = 0

    @property
    def label(self) -> str:
        """The diagnosis label; ``diverged`` for any trial that did not finish (``fitcheck.error`` says why)."""
        if self.outcome is not None and self.outcome.status == "FAILED":
            return names.DIVERGED
        if self.outcome is not None and self.outcome.pruned_epoch is not None:
            return names.PRUNED
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
    #: Per configuration with a learning curve of at least 3 sizes: its name, the run of its largest size,
    #: and the :class:`~pipeline.diagnostics.DataSizeVerdict`.
    learning_curves: list[tuple[str, str | None, object]] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.records if r.outcome and r.outcome.status == "FAILED")

    def labels(self) -> Counter:
        """Trials of this run by diagnosis label."""
        return Counter(r.label for r in self.records if r.outcome)

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial run by this call: its configuration, validation metric (best, final and at the
        recommended epoch), recommended epoch, label, parameter count and MLflow run id, in grid order.

        Trials finished by an earlier call of the same sweep (skipped now) are in MLflow and the report.
        """
        from pipeline.diagnostics import curve_summary

        best, final, at_stop = (names.summary_metric(kind, self.task)
                                for kind in ("best_val", "final_val", names.RECOMMENDED_VAL))
        rows = []
        for record in sorted((r for r in self.records if r.outcome is not None), key=lambda r: r.index):
            summary = curve_summary(record.outcome.curves, task=self.task)
            diagnosis = record.diagnosis
            rows.append({
                **record.config.params(), "trial": record.name, "status": record.outcome.status,
                best: summary.get(best, math.nan), final: summary.get(final, math.nan),
                at_stop: diagnosis.recommended_val_metric if diagnosis else math.nan,
                names.RECOMMENDED_EPOCHS: diagnosis.recommended_epochs if diagnosis else None,
                "label": record.label, names.N_PARAMETERS_PARAM: record.n_parameters, "run_id": record.run_id,
            })
        frame = pd.DataFrame(rows)
        return frame.astype({names.RECOMMENDED_EPOCHS: "Int64"}) if rows else frame

    def summary_frame(self, task: str) -> pd.DataFrame:
        """One row per trial run now, ranked by the validation metric at its recommended epoch: config,
        that value, the recommended epoch, label, parameters, and whether it is tied with the best
        (within one standard error; see :func:`pipeline.diagnostics.rank_trials`). Only trials at the
        largest training size are ranked: a learning curve's smaller sizes are not candidates."""
        from pipeline.diagnostics import rank_trials

        at_stop = names.summary_metric(names.RECOMMENDED_VAL, task)
        full = max((record.n_train for record in self.records), default=0)
        rows = [{
            "trial": record.name, "status": record.outcome.status,
            at_stop: record.diagnosis.recommended_val_metric
            if record.diagnosis and record.label not in names.NOT_RANKED else math.nan,  # pruned: not ranked
            "stop_at": record.diagnosis.recommended_epochs if record.diagnosis else None,
            "label": record.label, names.N_PARAMETERS_PARAM: record.n_parameters,
        } for record in self.records if record.outcome is not None and record.n_train == full]
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
        from pipeline.sweep._reference import baseline_errors

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
    """The trial's claim: its run, with every axis, the task, its training rows and the parameter count as params."""
    return WantedTrial(run_name=record.name, trial_key=record.key,
                       params={**record.config.params(), names.TASK_PARAM: data.task,
                               names.N_TRAIN_PARAM: record.n_train, names.N_PARAMETERS_PARAM: record.n_parameters})


def _parameter_count(config: TrialConfig, data: PreparedData) -> int:
    from pipeline.diagnostics import mlp_parameter_count
    from pipeline.training import output_head

    units = output_head(data.task, config.loss, data.n_classes).units
    return mlp_parameter_count(config.depth, config.width if config.depth else 0, data.n_features, units)


def _datasets(data: PreparedData) -> list[DatasetFrame | DatasetArrays]:
    """The training and validation splits as MLflow datasets: the table's rows, or the arrays."""
    contexts = (names.TRAINING_CONTEXT, names.VALIDATION_CONTEXT)
    if data.frame is not None:
        return [DatasetFrame(data.frame.iloc[data.rows[context]], data.name, data.target, context)
                for context in contexts if context in data.rows]
    return [DatasetArrays(X, y, data.name, context)
            for X, y, context in ((data.X_train, data.y_train, contexts[0]), (data.X_val, data.y_val, contexts[1]))]


def _diagnosis(curves: dict[str, list[float]], data: PreparedData, reference: float, source: str, *, n_train: int,
               kept_epoch: int | None = None):
    """The diagnosis of a trial's curves (trained on ``n_train`` rows) against ``reference``; None without curves.

    ``kept_epoch``: early stopping restored that epoch's weights, so the diagnosis describes that model.
    """
    from pipeline.diagnostics import diagnose

    frame = curves_frame(curves)
    if frame.empty:
        return None
    return diagnose(frame, task=data.task, n_train=n_train, n_val=len(data.y_val),
                    reference_error=reference, reference_source=source, restored_epoch=kept_epoch,
                    monitor=f"val_{names.task_metric(data.task)}")  # the name fitcheck logs


def _failure(outcome: TrialOutcome) -> str | None:
    """Why a trial failed (its ``fitcheck.error`` tag), or None when it finished."""
    return (outcome.error or "failed") if outcome.status == "FAILED" else None


def _stops(outcome: TrialOutcome) -> dict:
    """How the trial ended early, as :func:`~pipeline.runs._payload.trial_payload`'s arguments."""
    return {"pruned_epoch": outcome.pruned_epoch, "stopped_epoch": outcome.stopped_epoch,
            "kept_epoch": outcome.kept_epoch, "kept_values": outcome.kept_values}


def _logged_stops(run) -> dict:
    """How an earlier invocation's trial ended early, read back from its run."""
    pruned, metrics = run.data.tags.get(names.PRUNED_TAG), run.data.metrics
    stopped, kept = metrics.get(names.STOPPED_EPOCH), metrics.get(names.KEPT_EPOCH)
    return {"pruned_epoch": int(pruned) if pruned else None, "stopped_epoch": None if stopped is None else int(stopped),
            "kept_epoch": None if kept is None else int(kept)}


def _stopping(spec: SweepSpec, folder: str) -> dict:
    """The trials' early stopping and pruning settings; pruning reports to a rung record in ``folder``."""
    stopping = spec.stopping
    pruning = Pruning(str(Path(folder) / "rungs.jsonl"), stopping.min_epochs,
                      stopping.reduction_factor) if stopping.prune else None
    return {"early_stopping": stopping.early, "pruning": pruning}


def _axis_values(spec: SweepSpec, grid: Grid) -> dict[str, list]:
    """The spec's axis values; an axis given as a range has the values its sampled trials took."""
    values = spec.axis_values()
    for axis in dict.fromkeys(axis for spec_grid in spec.grids for axis in spec_grid.ranges()):
        values[axis] = sorted({trial.axis(axis) for trial in grid.trials})
    return values


class Sweep:
    """One sweep in progress. Use :func:`run_sweep`.

    ``tracker`` and ``executor`` default to a :class:`SweepTracker` on ``options.tracking_uri``
    (created once the spec and data are known good, so bad input writes nothing) and the executor
    ``options`` name; the sweep closes its executor when it ends.
    """

    def __init__(self, spec: SweepSpec, options: SweepOptions, *, spec_path: str | None = None,
                 tracker: SweepTracker | None = None, executor: Executor | None = None, inputs: object = None,
                 builder: Callable | None = None):
        if options.early_stopping and not spec.stopping.early:  # the flag is the spec's stopping.early: its own sweep
            spec = spec.model_copy(update={"stopping": spec.stopping.model_copy(update={"early": True})})
        self.spec, self.options, self.spec_path = spec, options, spec_path
        self.tracker, self.executor = tracker, executor
        #: Data and model builder given in Python (``run_sweep(data=..., build_model=...)``), if any.
        self.inputs, self.builder = inputs, builder
        #: Builder trials' parameter counts by (hyperparameters, loss); see :func:`pipeline.training._builders.check_and_count`.
        self.counts: dict[tuple, int] = {}

    def run(self) -> SweepResult:
        started = self.options.started or time.perf_counter()
        spec, options = self.spec, self.options
        require_tensorflow()
        if self.tracker is None:
            check_tracking_uri(options.tracking_uri)  # fail fast, before any data is read; creates nothing
        source = spec.source or "spec"
        if self.inputs is not None:
            data = prepare_inputs(self.inputs, spec.split, task=None)
        else:
            data = load_dataset(spec.dataset, spec.split, source=source)
        with native_logs_hidden(not options.verbose):  # a builder's module imports Keras, hence TensorFlow
            model, builder = self._builder(source)
        sampler = (TpeSearch(spec, task=data.task, model=model, builder=builder) if spec.search.method == "tpe"
                   else None)
        grid = (search_trials(spec, task=data.task, model=model, builder=builder) if sampler is None
                else Grid((), 0, 0))
        curve_spec = self._curve_spec()
        sizes = [(size, "grid.train_size") for size in {config.train_size for config in grid.trials}]
        sizes += [(size, "learning_curve.sizes") for size in (curve_spec.sizes if curve_spec else ())]
        for size, key in sizes:  # refused before anything is written
            subset_rows(size, len(data.y_train), source=source, key=key)
        n_trials = len(grid.trials) if sampler is None else sampler.n_trials * len(sampler.seeds)
        if n_trials > spec.max_trials and not options.yes:
            raise FitcheckError(f"{spec.source}: grid has {n_trials} trials, over max_trials={spec.max_trials}; "
                                "pass --yes to run it anyway, raise max_trials, or sample it with "
                                "search: {method: random, n_trials: N}")
        if model and grid.trials:  # build, check and count every distinct model before anything is written
            with native_logs_hidden(not options.verbose):
                self._count(grid.trials, data)
        executor = self.executor or make_executor(options.executor, workers=options.workers,
                                                  ray_address=options.ray_address, verbose=options.verbose,
                                                  fuse=options.fuse)
        executor.warm_up(data)  # workers load TensorFlow while the sweep sets itself up
        try:
            reference = resolve_reference(spec, options, data)  # may refuse the data: before the store opens
            tracker = self.tracker or SweepTracker(options.tracking_uri)
            with tempfile.TemporaryDirectory(prefix="fitcheck-rungs-") as folder:  # the pruner's rung record
                stopping = _stopping(spec, folder)
                grid = replace(grid, trials=tuple(replace(trial, **stopping) for trial in grid.trials))
                return self._run(tracker, executor, data, grid, reference, started, stopping=stopping,
                                 sampler=sampler)
        finally:
            executor.close()

    def _parameter_count(self, config: TrialConfig, data: PreparedData) -> int:
        """The builder's model's count (measured before it trains), else the MLP's."""
        if config.model:
            if (config.hyperparameters, config.loss) not in self.counts:  # a configuration TPE asked for
                self._count([config], data)
            return self.counts[(config.hyperparameters, config.loss)]
        return _parameter_count(config, data)

    def _count(self, configs, data: PreparedData) -> None:
        """Build, check and count each distinct builder model of ``configs`` in this process."""
        from pipeline.training import check_and_count, load_builder
        from pipeline.training import configure_tensorflow

        configure_tensorflow(os.cpu_count() or 1, verbose=self.options.verbose)  # Keras in this process: quietly
        self.counts.update(check_and_count(self.builder or load_builder(configs[0].builder), configs,
                                           input_shape=data.input_shape, task=data.task, n_classes=data.n_classes))

    def _builder(self, source: str) -> tuple[str, bytes]:
        """The model builder's reference and its serialised function (``build_model=`` or the spec's
        ``model``); empty for fitcheck's MLP."""
        spec = self.spec
        if not spec.uses_builder:
            return "", b""
        from pipeline.training import builder_reference, resolve_builder, serialise_builder

        if self.builder is not None:
            reference, function, where = builder_reference(self.builder), self.builder, "build_model="
        else:
            folder = Path(self.spec_path).parent if self.spec_path else None
            function = resolve_builder(spec.model, folder=folder, source=source)
            reference, where = spec.model, f"{source}: model"
        return reference, serialise_builder(function, where=where)

    def _run(self, tracker: SweepTracker, executor: Executor, data: PreparedData, grid: Grid,
             resolved_reference: tuple[float | None, str, dict[str, float]], started: float, *,
             stopping: dict, sampler: TpeSearch | None = None) -> SweepResult:
        """Run the grid's trials, or with a TPE ``sampler`` the trials it asks for, batch by batch, each
        with the ``stopping`` settings (see :func:`_stopping`)."""
        spec, options = self.spec, self.options
        experiment = tracker.use_experiment(options.experiment or spec.experiment_name())
        fingerprint = data.fingerprint()
        spec_hash = f"{spec.fingerprint()}-{fingerprint[:8]}"
        # run names and the MLflow UI's columns name only the axes that vary
        axes = varying_axes(grid.trials) if sampler is None else sampler.varying
        records = [self._record(i, config, fingerprint, axes, data) for i, config in enumerate(grid.trials)]
        reference, reference_source, baselines = resolved_reference
        parent_id = tracker.find_sweep(spec_hash) if options.resume else None
        if parent_id:
            tracker.resume_sweep(parent_id)
        else:
            parent_id = self._start_parent(tracker, data, grid, spec_hash, grid_size=len(grid.trials) if sampler is None
                                           else sampler.n_trials * len(sampler.seeds))
            if options.resume and settle_sweep(tracker, spec_hash):  # a rival sweep of this spec made the first parent
                parent_id = tracker.parent_run_id
        existing = [run for runs in tracker.trial_runs().values() for run in runs]
        tracker.kill_stale(existing)
        finished_before = [run for run in existing if run.info.status == "FINISHED"]  # by earlier invocations
        finished = {run.data.tags[names.TRIAL_KEY_TAG] for run in finished_before}
        todo = [record for record in records if record.key not in finished]
        if stopping["pruning"] is not None:
            self._seed_rungs(tracker, data, stopping["pruning"], finished_before)
        result = SweepResult(experiment, parent_id, data.task, len(records), len(records) - len(todo), grid.n_dropped_invalid,
                             reference_error=reference, reference_source=reference_source,
                             reference_baselines=baselines, n_val=len(data.y_val), varying_axes=axes)
        try:
            if sampler is None:
                todo = self._claim(tracker, data, todo, result)
                self._train(tracker, executor, data, todo, result)
            else:
                self._search(tracker, executor, data, sampler, stopping, finished_before, result, fingerprint)
        except KeyboardInterrupt:
            self._mark_interrupted(tracker)
            raise
        if self._settle_reference(data, result, finished_before):
            self._rediagnose(tracker, data, result, finished_before)
        curve_spec, extra = self._curve_spec(), []
        if curve_spec is not None:
            extra = self._add_learning_curves(tracker, executor, data, records, finished_before, finished, result,
                                              curve_spec)
            if self._settle_reference(data, result, finished_before):
                self._rediagnose(tracker, data, result, finished_before)
        self._judge_learning_curves(tracker, data, records + extra, finished_before, result)
        result.seconds = time.perf_counter() - started
        self._finish_parent(tracker, result)
        return result

    def _search(self, tracker: SweepTracker, executor: Executor, data: PreparedData, sampler: TpeSearch,
                stopping: dict, finished_before: list, result: SweepResult, fingerprint: str) -> None:
        """Ask the search for a batch (``workers`` configurations), train those not finished before, tell it
        each configuration's best validation value (the mean over its seeds; a failed trial fails it), repeat.

        Trials finished by an earlier invocation are told their logged value, so a rerun with the same
        batch size asks what the first run asked and trains only what it had not finished.
        """
        from pipeline.diagnostics import curve_summary

        best_val = names.summary_metric("best_val", data.task)
        values = {run.data.tags[names.TRIAL_KEY_TAG]: run.data.metrics.get(best_val) for run in finished_before}
        batch_size = self.options.workers or os.cpu_count() or 1
        result.n_trials, held = 0, 0
        while asked := sampler.ask(batch_size):
            batch: dict[int, list[str]] = {}
            todo: dict[str, TrialRecord] = {}
            for number, config in asked:
                for seed in sampler.seeds:
                    trial = replace(config, seed=seed, **stopping)
                    key = trial.key(fingerprint)
                    batch.setdefault(number, []).append(key)
                    result.n_trials += 1
                    if key in values or key in todo:
                        result.n_skipped += key in values
                        continue
                    todo[key] = self._record(result.n_trials - 1, trial, fingerprint, result.varying_axes, data)
            claimed = self._claim(tracker, data, list(todo.values()), result)
            held += result.n_held
            self._train(tracker, executor, data, claimed, result)
            for record in claimed:
                finished = record.outcome is not None and record.outcome.status == "FINISHED"
                values[record.key] = curve_summary(record.outcome.curves, task=data.task).get(best_val) if finished else None
            for number, keys in batch.items():
                told = [values.get(key) for key in keys]
                sampler.tell(number, None if None in told else sum(told) / len(told))
        result.n_held = held

    def _seed_rungs(self, tracker: SweepTracker, data: PreparedData, pruning: Pruning, finished_before: list) -> None:
        """A resumed sweep's rung record starts with what its earlier invocations' trials reached at each rung,
        so the trials it trains now are pruned against those too."""
        from pipeline.diagnostics import SuccessiveHalving
        from pipeline.training import RungRecord

        pruner = SuccessiveHalving(min_epochs=pruning.min_epochs, reduction_factor=pruning.reduction_factor)
        record, monitor = RungRecord(pruning.record), f"val_{names.task_metric(data.task)}"
        for run in finished_before:
            curve = (self._safe(lambda: tracker.reader.curves(run.info.run_id, [monitor])) or {}).get(monitor, [])
            # a pruned trial reported at its last epoch; one that went on did not report at its final epoch
            for rung in pruner.rungs(len(curve) + (names.PRUNED_TAG in run.data.tags)):
                record.report(rung=rung, trial=run.data.tags[names.TRIAL_KEY_TAG], value=min(curve[:rung]))
    def _curve_spec(self) -> LearningCurveSpec | None:
        """The learning curve to add after the sweep: the spec's, else its defaults under ``--learning-curve``."""
        return self.spec.learning_curve or (LearningCurveSpec() if self.options.learning_curve else None)

    def _record(self, index: int, config: TrialConfig, fingerprint: str, axes: tuple[str, ...],
                data: PreparedData) -> TrialRecord:
        return TrialRecord(index, config, config.key(fingerprint), config.name(axes),
                           self._parameter_count(config, data), n_train=subset_rows(config.train_size, len(data.y_train)))

    def _add_learning_curves(self, tracker: SweepTracker, executor: Executor, data: PreparedData,
                             records: list[TrialRecord], finished_before: list, finished: set[str],
                             result: SweepResult, curve_spec: LearningCurveSpec) -> list[TrialRecord]:
        """Train the best configurations at the curve's sizes they lack, as more trials of the sweep
        (claimed, resumed and isolated like any other); return the records of those trials."""
        metric = names.task_metric(data.task)
        at_stop = names.summary_metric(names.RECOMMENDED_VAL, data.task)
        logged = {run.data.tags.get(names.TRIAL_KEY_TAG): run.data.metrics for run in finished_before}
        full = set(largest([record.config for record in records], len(data.y_train)))
        candidates = pd.DataFrame([{
            "config": record.config, "n_parameters": record.n_parameters,
            "value": (record.diagnosis.recommended_val_metric if record.diagnosis is not None
                      else logged.get(record.key, {}).get(at_stop, math.nan)),
            "epochs": (record.diagnosis.recommended_epochs if record.diagnosis is not None
                       else logged.get(record.key, {}).get(names.RECOMMENDED_EPOCHS, math.nan)),
        } for record in records if record.config in full and (record.diagnosis is not None or record.key in logged)])
        if candidates.empty:
            return []
        best = top_configurations(candidates, top=curve_spec.top, metric=metric, n_val=len(data.y_val))
        axes = tuple(dict.fromkeys((*result.varying_axes, "train_size")))
        fingerprint = data.fingerprint()
        extra = [self._record(len(records) + i, config, fingerprint, axes, data) for i, config in
                 enumerate(missing_trials(best, curve_spec.sizes, (record.config for record in records)))]
        todo = [record for record in extra if record.key not in finished]
        if extra:
            result.varying_axes = axes
        result.n_trials += len(extra)
        result.n_skipped += len(extra) - len(todo)
        try:
            todo = self._claim(tracker, data, todo, result)
            self._train(tracker, executor, data, todo, result)
        except KeyboardInterrupt:
            self._mark_interrupted(tracker)
            raise
        return extra

    def _judge_learning_curves(self, tracker: SweepTracker, data: PreparedData, records: list[TrialRecord],
                               finished_before: list, result: SweepResult) -> None:
        """Judge each configuration's curve over training-set size; describe it on its largest trial and
        log it on the parent (``step`` = training rows)."""
        from pipeline.diagnostics import data_size_verdict, with_data_size

        metric = names.task_metric(data.task)
        at_stop, train_at_stop = (names.summary_metric(kind, data.task)
                                  for kind in (names.RECOMMENDED_VAL, names.RECOMMENDED_TRAIN))
        logged = {run.data.tags.get(names.TRIAL_KEY_TAG): run for run in finished_before}
        runs = {run.info.run_id: run for run in finished_before}
        points = []
        for record in records:
            if record.diagnosis is not None and record.outcome.status == "FINISHED":  # a failed size is no point
                d = record.diagnosis
                train = d.at_recommended.get("epoch_train_metric")
                points.append(CurvePoint(record.config, record.n_train, d.recommended_val_metric, train, record.run_id))
            elif record.key in logged:
                run = logged[record.key]
                points.append(CurvePoint(record.config, record.n_train, run.data.metrics.get(at_stop),
                                         run.data.metrics.get(train_at_stop), run.info.run_id))
        by_record = {record.run_id: record for record in records if record.run_id}
        axes = tuple(axis for axis in result.varying_axes if axis != "train_size")
        series: dict[str, list[tuple[int, float]]] = {}
        for config, curve in curves_by_configuration(points).items():
            name = config.name(axes)
            series.update(curve_metrics(name, curve, task=data.task))
            if len(curve) < 3:
                continue
            trains = [point.train_metric for point in curve]
            verdict = data_size_verdict(
                [point.n_train for point in curve], [point.val_metric for point in curve], n_val=len(data.y_val),
                metric=metric, reference_error=result.reference_error,
                train_metric=None if any(value is None or not math.isfinite(value) for value in trains) else trains)
            last = curve[-1]
            result.learning_curves.append((name, last.run_id, verdict))
            record = by_record.get(last.run_id)
            if record is not None and record.diagnosis is not None:
                record.diagnosis = with_data_size(record.diagnosis, verdict)
                curves, title, failure = record.outcome.curves, record.name, _failure(record.outcome)
            else:
                curves = self._safe(lambda: tracker.reader.curves(last.run_id, names.curve_columns(data.task))) or {}
                title, failure = runs[last.run_id].info.run_name, None
                diagnosis = _diagnosis(curves, data, result.reference_error, result.reference_source,
                                       n_train=last.n_train)
                if diagnosis is None:
                    continue
                record = TrialRecord(-1, last.config, "", title, 0, diagnosis=with_data_size(diagnosis, verdict))
            payload = trial_payload(curves, task=data.task, title=title, diagnosis=record.diagnosis, failure=failure,
                                    reference_error=result.reference_error)
            self._safe(lambda: tracker.update_trial(last.run_id, metrics=payload.metrics, tags=payload.tags,
                                                    artifacts=payload.artifacts))
        if series:
            self._safe(lambda: tracker.log_parent_curves(series))

    @staticmethod
    def _mark_interrupted(tracker: SweepTracker) -> None:
        """Ctrl-C: end this process's trials in flight and the parent as KILLED; a rerun resumes them.

        Best effort: a run this cannot end stays RUNNING, and the rerun marks it KILLED.
        """
        try:
            tracker.end_own_runs(status="KILLED")
        except Exception:  # noqa: BLE001 - the user asked to stop; never mask the interrupt
            _log.warning("could not mark the interrupted runs KILLED; a rerun will")

    def _start_parent(self, tracker: SweepTracker, data: PreparedData, grid: Grid, spec_hash: str, *,
                      grid_size: int) -> str:
        spec = self.spec
        params = {
            "dataset": data.name, names.TASK_PARAM: data.task, names.N_TRAIN_PARAM: len(data.y_train),
            names.N_VAL_PARAM: len(data.y_val), "n_test": 0 if data.y_test is None else len(data.y_test),
            "n_features": data.n_features, "grid_size": grid_size, "n_dropped_invalid": grid.n_dropped_invalid,
            **({names.INPUT_SHAPE_PARAM: "x".join(map(str, data.input_shape))} if len(data.input_shape) > 1 else {}),
            "spec_hash": spec_hash, names.GRID_PARAM: json.dumps(_axis_values(spec, grid)),
        }
        name = spec.stem or "sweep"
        return tracker.start_sweep(run_name=f"sweep-{name}", spec_hash=spec_hash, spec_name=name, params=params,
                                   spec_path=self.spec_path, datasets=_datasets(data))

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
        diagnosis = _diagnosis(record.outcome.curves, data, reference, source, n_train=record.n_train,
                               kept_epoch=record.outcome.kept_epoch)
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
                                        reference_error=result.reference_error, **_stops(record.outcome))
                self._safe(lambda: tracker.update_trial(record.run_id, metrics=payload.metrics, tags=payload.tags,
                                                        artifacts=payload.artifacts))
        for run in finished_before:
            curves = self._safe(lambda: tracker.reader.curves(run.info.run_id, names.curve_columns(data.task)))
            n_train = int(run.data.params.get(names.N_TRAIN_PARAM, len(data.y_train)))
            diagnosis = _diagnosis(curves or {}, data, result.reference_error, result.reference_source,
                                   n_train=n_train, kept_epoch=_logged_stops(run)["kept_epoch"])
            if diagnosis is None:
                continue
            payload = trial_payload(curves, task=data.task, title=run.info.run_name, diagnosis=diagnosis,
                                    reference_error=result.reference_error, **_logged_stops(run))
            self._safe(lambda: tracker.update_trial(run.info.run_id, metrics=payload.metrics, tags=payload.tags,
                                                    artifacts=payload.artifacts))

    def _log_trial(self, tracker: SweepTracker, data: PreparedData, record: TrialRecord,
                   reference: float | None) -> bool:
        outcome = record.outcome
        payload = trial_payload(outcome.curves, task=data.task, title=record.name,
                                diagnosis=record.diagnosis, failure=_failure(outcome),
                                diverged_epoch=outcome.diverged_epoch, train_seconds=outcome.train_seconds,
                                reference_error=reference, **_stops(outcome))
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
            reference_source=result.reference_source,
            learning_curves=[(name, run_id, verdict.advice) for name, run_id, verdict in result.learning_curves]))
        if self.options.report:
            result.report_path = self._write_report(tracker, result)

    def _write_report(self, tracker: SweepTracker, result: SweepResult) -> Path | None:
        from pipeline.report import build_report, default_report_path

        path = build_report(tracker.tracking_uri, sweep_run_id=result.parent_run_id,
                            out=default_report_path(result.experiment))
        self._safe(lambda: tracker.log_parent_artifact(path, name="report.html"))
        return path


def run_sweep(spec: str | os.PathLike | SweepSpec | dict, options: SweepOptions | None = None, *,
              data: object = None, build_model: Callable | None = None) -> SweepResult:
    """Run every trial of a sweep, log it to MLflow, diagnose each trial and write the report.

    Parameters
    ----------
    spec : path, SweepSpec or dict
        The sweep spec: a YAML file, a parsed spec, or the same keys as a dict. Its ``dataset``
        section is left out when ``data`` is given.
    options : SweepOptions, optional
        Where to log, which executor, how many workers (defaults: a local ``mlflow.db``, one
        worker process per core).
    data : tuple or mapping, optional
        The data, instead of the spec's ``dataset``: ``(frame, "target")``, ``(X, y)`` with inputs of
        any shape, or ``{"train": (X, y), "validation": (X, y)}`` used as given (see
        :func:`pipeline.data._prepare.prepare_inputs`).
    build_model : callable, optional
        ``build_model(hp, input_shape, task, n_outputs) -> keras.Model`` (see :mod:`pipeline.training._builders`),
        instead of the spec's ``model`` or fitcheck's MLP; the grid's keys other than the training
        axes are its ``hp``. It may be defined in a notebook: it is sent to the workers with cloudpickle.

    Returns
    -------
    SweepResult
        ``result.trials`` is a DataFrame of this run's trials; ``result.report_path`` the HTML report.

    Examples
    --------
    >>> from pipeline import run_sweep, SweepOptions  # doctest: +SKIP
    >>> result = run_sweep("experiments/quickstart.yaml", SweepOptions(workers=2))  # doctest: +SKIP
    >>> result.labels()  # doctest: +SKIP
    Counter({'good_fit': 20, 'high_bias': 8, ...})
    """
    options = options or SweepOptions()
    given = {"data_given": data is not None, "model_given": build_model is not None}
    spec_path = None
    if isinstance(spec, SweepSpec):
        if data is not None or build_model is not None:  # validate it again, knowing what Python gives
            spec = parse_spec(spec.model_dump(mode="json", exclude_unset=True), source=spec.source or DICT_SOURCE,
                              **given)
    elif isinstance(spec, dict):
        spec = parse_spec(spec, source=DICT_SOURCE, **given)
    elif isinstance(spec, (str, os.PathLike)):
        spec_path = str(spec)
        spec = load_spec(spec, **given)
    else:
        raise FitcheckError(f"spec must be a spec file's path, a dict or a SweepSpec but got {type(spec).__name__}")
    if build_model is not None:
        from pipeline.training import builder_reference

        spec = spec.model_copy(update={"model": builder_reference(build_model)})  # in the spec's fingerprint
    return Sweep(spec, options, spec_path=spec_path, inputs=data, builder=build_model).run()
