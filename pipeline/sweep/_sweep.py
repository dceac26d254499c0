"""Set up a sweep: spec → data → sampler → executor and store, then run its phases in order.

The phases live in their own modules: the one loop over the sampler (``_loop``), the reference
(``_reference``), the learning curves (``_learning_curves``) and the parent run (``_parent``), all
through one :class:`~pipeline.sweep._session.Session`. This module owns no training code
(``training``), no MLflow calls (``tracking``), no statistics (``diagnostics``) and no run contents
(``runs``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import names
from pipeline.data import PreparedData, load_dataset, prepare_inputs, subset_rows
from pipeline.errors import FitcheckError
from pipeline.executors import Executor, make_executor
from pipeline.search import Sampler, TrialConfig, make_sampler, space_size, with_task_loss
from pipeline.runs import SweepDescriptions
from pipeline.spec import AXES, LearningCurveSpec, SweepSpec, check_reference_error
from pipeline.sweep._learning_curves import add_learning_curves, judge_learning_curves
from pipeline.sweep._loop import run_trials
from pipeline.sweep._neighbours import quote_measured_neighbours
from pipeline.sweep._options import SweepOptions
from pipeline.sweep._parent import finish_parent, open_parent, read_back
from pipeline.sweep._reference import rediagnose, resolve_reference, settle_reference
from pipeline.sweep._result import SweepResult
from pipeline.sweep._session import Session
from pipeline.sweep._stopping import seed_rungs, stopping_settings
from pipeline.tracking import SweepTracker, check_tracking_uri
from pipeline.training import native_logs_hidden, require_tensorflow

_log = logging.getLogger(__name__)


def _mlp_parameter_count(config: TrialConfig, data: PreparedData) -> int:
    from pipeline.diagnostics import mlp_parameter_count
    from pipeline.training import output_head

    units = output_head(data.task, config.loss, data.n_classes).units
    return mlp_parameter_count(config.depth, config.width if config.depth else 0, data.n_features, units)


class Sweep:
    """One sweep in progress. Use :func:`run_sweep`.

    ``tracker`` and ``executor`` default to a :class:`SweepTracker` on ``options.tracking_uri``
    (created once the spec and data are known good, so bad input writes nothing) and the executor
    ``options`` name; the sweep closes its executor when it ends.
    """

    def __init__(self, spec: SweepSpec, options: SweepOptions, *, spec_path: str | None = None,
                 tracker: SweepTracker | None = None, executor: Executor | None = None, inputs: object = None,
                 builder: Callable | None = None, name_axes: tuple[str, ...] = ()):
        if options.early_stopping and not spec.stopping.early:  # the flag is the spec's stopping.early: its own sweep
            spec = spec.model_copy(update={"stopping": spec.stopping.model_copy(update={"early": True})})
        self.spec, self.options, self.spec_path = spec, options, spec_path
        self.tracker, self.executor = tracker, executor
        #: Data and model builder given in Python (``run_sweep(data=..., build_model=...)``), if any.
        self.inputs, self.builder = inputs, builder
        #: Axes every trial's run name shows beside those the sweep varies (:func:`pipeline.sweep._api.sweep_spec`).
        self.name_axes = name_axes
        #: Builder trials' parameter counts by (hyperparameters, loss); see :func:`pipeline.training._builders.check_and_count`.
        self.counts: dict[tuple, int] = {}

    def run(self) -> SweepResult:
        """Check the spec and data, make the sampler, executor and store, run the sweep; close the executor."""
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
        spec = self.spec = with_task_loss(spec, data.task)  # no loss given: the task's own
        check_reference_error(options.reference_error, data.task, where="--reference-error")
        check_reference_error(spec.reference_error if isinstance(spec.reference_error, float) else None, data.task,
                              where=f"{source}: reference_error")
        with native_logs_hidden(not options.verbose):  # a builder's module imports Keras, hence TensorFlow
            model, builder = self._builder(source)
        if spec.search.method != "grid":  # refused before any configuration is drawn
            self._check_max_trials(spec.search.n_trials * max(len(set(grid.seeds)) for grid in spec.grids))
        elif None not in (sizes := [space_size([grid], task=data.task, model=model) for grid in spec.grids]):
            # before a huge grid is expanded: the largest grid is a lower bound of the union (sub-grids may overlap)
            self._check_max_trials(max(size * len(set(grid.seeds)) for size, grid in zip(sizes, spec.grids)),
                                   at_least=len(spec.grids) > 1)
        sampler = make_sampler(spec, task=data.task, model=model, builder=builder)
        curve_spec = self._curve_spec()
        sizes = [(size, "grid.train_size") for size in dict.fromkeys(size for grid in spec.grids
                                                                     for size in grid.train_size)]
        sizes += [(size, "learning_curve.sizes") for size in (curve_spec.sizes if curve_spec else ())]
        for size, key in sizes:  # every sampler's sizes, refused before anything is written
            subset_rows(size, len(data.y_train), source=source, key=key)
        self._check_max_trials(sampler.n_trials)
        if model:  # build, check and count the models before anything is written (an adaptive search's: every value)
            warnings: list[str] = []
            with native_logs_hidden(not options.verbose):
                self._count(sampler.checked, data, warnings=warnings)
            for warning in warnings:
                _log.warning("%s", warning)
        executor = self.executor or make_executor(options.executor, workers=options.workers,
                                                  ray_address=options.ray_address, verbose=options.verbose,
                                                  fuse=options.fuse)
        executor.warm_up(data)  # workers load TensorFlow while the sweep sets itself up
        try:
            reference = resolve_reference(spec, options, data)  # may refuse the data: before the store opens
            tracker = (self.tracker or SweepTracker(options.tracking_uri)).describing(SweepDescriptions())
            with tempfile.TemporaryDirectory(prefix="fitcheck-rungs-") as folder:  # the pruner's rung record
                return self._run(tracker, executor, data, sampler, reference, started,
                                 stopping=stopping_settings(spec, folder))
        finally:
            executor.close()

    def _check_max_trials(self, n_trials: int, *, at_least: bool = False) -> None:
        """Refuse a sweep of more than ``max_trials`` trials unless ``--yes`` (``at_least``: a lower bound)."""
        spec = self.spec
        if n_trials > spec.max_trials and not self.options.yes:
            held = f"grids have at least {n_trials} trials" if at_least else f"grid has {n_trials} trials"
            raise FitcheckError(f"{spec.source}: {held}, over "
                                f"max_trials={spec.max_trials}; "
                                "pass --yes to run it anyway, raise max_trials, or sample it with "
                                "search: {method: random, n_trials: N}")

    def _parameter_count(self, config: TrialConfig, data: PreparedData) -> int:
        """The builder's model's count (measured before it trains), else the MLP's.

        A configuration an adaptive search asks for later is built here first; when that build fails the
        count is 0 and the trial fails in its worker with the builder's error: it never ends the sweep.
        """
        if config.model:
            if (config.hyperparameters, config.loss) not in self.counts:
                try:
                    with native_logs_hidden(not self.options.verbose):
                        self._count([config], data)
                except FitcheckError:
                    return 0
            return self.counts[(config.hyperparameters, config.loss)]
        return _mlp_parameter_count(config, data)

    def _count(self, configs, data: PreparedData, *, warnings: list[str] | None = None) -> None:
        """Build, check and count each distinct builder model of ``configs`` in this process."""
        from pipeline.training import check_and_count, load_builder
        from pipeline.training import configure_tensorflow

        configs = list(configs)
        if not configs:
            return
        configure_tensorflow(os.cpu_count() or 1, verbose=self.options.verbose)  # Keras in this process: quietly
        where = f"model {configs[0].model}" if self.builder is not None or not self.spec.source else \
            f"{self.spec.source}: model {configs[0].model}"
        self.counts.update(check_and_count(self.builder or load_builder(configs[0].builder), configs,
                                           input_shape=data.input_shape, task=data.task, n_classes=data.n_classes,
                                           model_name=where, warnings=warnings))

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

    def _run(self, tracker: SweepTracker, executor: Executor, data: PreparedData, sampler: Sampler,
             resolved_reference: tuple[float | None, str, dict[str, float]], started: float, *,
             stopping: dict) -> SweepResult:
        """Open the parent, run the sampler's trials with the ``stopping`` settings (see
        :func:`~pipeline.sweep._stopping.stopping_settings`), settle the reference, add and judge the
        learning curves, finish the parent."""
        spec, options = self.spec, self.options
        experiment = tracker.use_experiment(options.experiment or spec.experiment_name())
        session = Session(tracker, executor, data, progress=options.progress,
                          parameter_count=lambda config: self._parameter_count(config, data))
        spec_hash = f"{spec.fingerprint()}-{session.fingerprint[:8]}"
        parent_id = open_parent(tracker, spec, data, sampler, spec_hash, resume=options.resume,
                                spec_path=self.spec_path)
        existing = [run for runs in tracker.trial_runs().values() for run in runs]
        tracker.kill_stale(existing)
        finished_before = [run for run in existing if run.info.status == "FINISHED"]  # by earlier invocations
        if stopping["pruning"] is not None:
            seed_rungs(session, stopping["pruning"], finished_before)
        reference, reference_source, baselines = resolved_reference
        # a reference settled only after the trials (capped, or the sweep's best): plot each trial once, then
        session.defer_plots = reference is None or reference_source == names.REFERENCE_ESTIMATED
        result = SweepResult(experiment, parent_id, data.task, 0, 0, sampler.n_dropped_invalid,
                             reference_error=reference, reference_source=reference_source,
                             reference_baselines=baselines, n_val=len(data.y_val),
                             varying_axes=tuple(axis for axis in AXES if axis in {*sampler.varying, *self.name_axes}))
        try:
            records = run_trials(session, sampler, batch_size=options.workers or os.cpu_count() or 1,
                                 stopping=stopping, finished_before=finished_before, result=result)
        except KeyboardInterrupt:
            session.mark_interrupted()
            raise
        if settle_reference(data, result, finished_before):
            rediagnose(session, result, finished_before)
        curve_spec, extra = self._curve_spec(), []
        if curve_spec is not None:
            extra = add_learning_curves(session, records, finished_before, result, curve_spec)
            if settle_reference(data, result, finished_before):
                rediagnose(session, result, finished_before)
        judge_learning_curves(session, records + extra, finished_before, result)
        session.draw_deferred_plots(result.records, result.reference_error)
        quote_measured_neighbours(session, result)  # what the sweep measured of each trial's advice
        read_back(session, records, finished_before, result)  # a rerun returns the whole sweep
        result.seconds = time.perf_counter() - started
        finish_parent(session, result, report=options.report)
        return result

    def _curve_spec(self) -> LearningCurveSpec | None:
        """The learning curve to add after the sweep: the spec's, else its defaults under ``--learning-curve``."""
        return self.spec.learning_curve or (LearningCurveSpec() if self.options.learning_curve else None)
