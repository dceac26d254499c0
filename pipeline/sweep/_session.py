"""A sweep's trials against the store: claim them, train them on the executor, log and diagnose each.

Writes to MLflow only through :class:`~pipeline.tracking.SweepTracker`; the run contents are
:func:`~pipeline.runs.trial_payload`'s and the diagnosis :func:`~pipeline.diagnostics.diagnose`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pipeline import interrupt, names
from pipeline.data import PreparedData, subset_rows
from pipeline.executors import Executor, TrialStarted
from pipeline.runs import curves_frame, one_line, trial_payload
from pipeline.search import TrialConfig
from pipeline.sweep._result import SweepResult, TrialRecord
from pipeline.tracking import SweepTracker, TrackingUnavailable, WantedTrial, claim_trials
from pipeline.training import TrialOutcome

_log = logging.getLogger(__name__)


def trial_diagnosis(curves: dict[str, list[float]], data: PreparedData, reference: float, source: str, *,
                    n_train: int, kept_epoch: int | None = None, config: dict | None = None):
    """The diagnosis of a trial's curves (trained on ``n_train`` rows) against ``reference``; None without curves.

    ``kept_epoch``: early stopping restored that epoch's weights, so the diagnosis describes that model.
    """
    from pipeline.diagnostics import diagnose

    frame = curves_frame(curves)
    if frame.empty:
        return None
    return diagnose(frame, task=data.task, n_train=n_train, n_val=len(data.y_val),
                    reference_error=reference, reference_source=source, restored_epoch=kept_epoch,
                    monitor=names.val_curve(names.task_metric(data.task)),  # the name fitcheck logs
                    config=config)  # what the trial used: the advice names the next configuration


def failure(outcome: TrialOutcome) -> str | None:
    """Why a trial failed (its ``fitcheck.error`` tag), or None when it finished: untrusted text (an exception's
    message), made one line here and literal markdown where a description shows it."""
    return one_line(outcome.error or "failed") if outcome.status == "FAILED" else None


def stops(outcome: TrialOutcome) -> dict:
    """How the trial ended early, as :func:`~pipeline.runs._payload.trial_payload`'s arguments."""
    return {"pruned_epoch": outcome.pruned_epoch, "stopped_epoch": outcome.stopped_epoch,
            "kept_epoch": outcome.kept_epoch, "kept_values": outcome.kept_values}


def logged_stops(run) -> dict:
    """How an earlier invocation's trial ended early, read back from its run."""
    pruned, metrics = run.data.tags.get(names.PRUNED_TAG), run.data.metrics
    stopped, kept = metrics.get(names.STOPPED_EPOCH), metrics.get(names.KEPT_EPOCH)
    return {"pruned_epoch": int(pruned) if pruned else None, "stopped_epoch": None if stopped is None else int(stopped),
            "kept_epoch": None if kept is None else int(kept)}


class Session:
    """One invocation's trials of a sweep: its store, its executor, its data.

    ``parameter_count`` gives a trial's model's parameter count (a builder's is measured by the sweep).
    """

    def __init__(self, tracker: SweepTracker, executor: Executor, data: PreparedData, *,
                 parameter_count: Callable[[TrialConfig], int], progress: bool = True):
        self.tracker, self.executor, self.data = tracker, executor, data
        self.parameter_count, self.progress = parameter_count, progress
        #: The data's fingerprint, part of every trial's key.
        self.fingerprint = data.fingerprint()
        #: Whether the reference may still change once every trial has run (estimated and capped, or the
        #: sweep's best): trials are then logged without their curve plot, drawn once at the end.
        self.defer_plots = False
        #: Run ids of this invocation's trials logged without their curve plot yet.
        self.unplotted: set[str] = set()

    def record(self, index: int, config: TrialConfig, axes: tuple[str, ...]) -> TrialRecord:
        """The trial at ``index`` of the sweep, named by the varying ``axes``."""
        return TrialRecord(index, config, config.key(self.fingerprint), config.name(axes), self.parameter_count(config),
                           n_train=subset_rows(config.train_size, len(self.data.y_train)))

    @staticmethod
    def safe(call):
        """``call()``, or None with a warning when MLflow is unavailable."""
        try:
            return call()
        except TrackingUnavailable as error:
            _log.warning("MLflow unavailable: %s", one_line(error))
            return None

    def claim(self, todo: list[TrialRecord]) -> tuple[list[TrialRecord], int]:
        """Claim every trial to run (a SCHEDULED run each); those no other live sweep holds, and how many it holds."""
        data = self.data
        claimed = claim_trials(self.tracker, [WantedTrial(
            run_name=record.name, trial_key=record.key,
            params={**record.config.params(), names.TASK_PARAM: data.task, names.N_TRAIN_PARAM: record.n_train,
                    names.N_PARAMETERS_PARAM: record.n_parameters}) for record in todo])
        for record in todo:
            record.run_id = claimed.run_ids.get(record.key)
        return [record for record in todo if record.run_id], claimed.n_held

    def train(self, todo: list[TrialRecord], result: SweepResult) -> None:
        """Train ``todo`` on the executor; log and (with a reference) diagnose each as it ends."""
        from tqdm import tqdm

        tracker = self.tracker
        by_index = {record.index: record for record in todo}
        bar = tqdm(total=len(todo), unit="trial", desc="sweep", disable=not self.progress or not todo,
                   dynamic_ncols=True)
        unlogged: list[TrialRecord] = []
        try:
            for event in self.executor.run([(r.index, r.config) for r in todo], self.data):
                interrupt.raise_if_requested()
                record = by_index[event.index if isinstance(event, TrialStarted) else event.outcome.index]
                if isinstance(event, TrialStarted):
                    self.safe(lambda: tracker.trial_started(record.run_id))
                    continue
                record.outcome = event.outcome
                result.records.append(record)
                if result.reference_error is not None:
                    self.diagnose(record, result.reference_error, result.reference_source)
                if not self.log_trial(record, result.reference_error):
                    unlogged.append(record)
                bar.update(1)
                bar.set_postfix(failed=result.n_failed, last=record.label, refresh=False)
        finally:
            bar.close()
        for record in unlogged:  # the server came back: write what was kept
            if not self.log_trial(record, result.reference_error):
                result.n_unlogged += 1  # not left RUNNING where the store still takes a status: a rerun redoes it
                self.safe(lambda: self.tracker.end_trial(record.run_id, status="KILLED"))  # noqa: B023 - called now

    def diagnose(self, record: TrialRecord, reference: float, source: str) -> None:
        """Diagnose a trial trained now against ``reference``; a trial without curves keeps its diagnosis."""
        diagnosis = trial_diagnosis(record.outcome.curves, self.data, reference, source, n_train=record.n_train,
                                    kept_epoch=record.outcome.kept_epoch,
                                    config={**record.config.params(), names.N_TRAIN_PARAM: record.n_train})
        if diagnosis is not None:
            record.diagnosis = diagnosis

    def record_payload(self, record: TrialRecord, reference: float | None, *, plot: bool = True):
        """What ``record``'s run holds (:func:`~pipeline.runs.trial_payload`); ``plot=False`` leaves out the curve
        plot and table (a rewrite that changes only words and numbers, or a plot drawn later)."""
        outcome = record.outcome
        return trial_payload(outcome.curves, task=self.data.task, title=record.name, diagnosis=record.diagnosis,
                             failure=failure(outcome), diverged_epoch=outcome.diverged_epoch,
                             train_seconds=outcome.train_seconds, reference_error=reference, plot=plot,
                             **stops(outcome))

    def log_trial(self, record: TrialRecord, reference: float | None) -> bool:
        """End the trial's run with its curves, metrics, tags and artifacts; False when MLflow is unavailable."""
        outcome = record.outcome
        payload = self.record_payload(record, reference, plot=not self.defer_plots)
        try:
            self.tracker.finish_trial(record.run_id, curves=outcome.curves, metrics=payload.metrics,
                                      tags=payload.tags, artifacts=payload.artifacts, status=outcome.status)
        except TrackingUnavailable as error:
            _log.warning("could not log trial %s yet: %s", one_line(record.name), one_line(error))
            return False
        if self.defer_plots and outcome.curves:
            self.unplotted.add(record.run_id)
        return True

    def update_record(self, record: TrialRecord, reference: float | None, *, plot: bool) -> None:
        """Rewrite a logged trial of this invocation (a new diagnosis or advice); ``plot`` draws its plot again."""
        self.update_run(record.run_id, self.record_payload(record, reference, plot=plot))
        if plot:
            self.unplotted.discard(record.run_id)

    def draw_deferred_plots(self, records, reference: float | None) -> None:
        """Log the curve plot of every trial logged without one (the reference is settled now)."""
        for record in records:
            if record.run_id in self.unplotted:
                self.update_record(record, reference, plot=True)

    def update_run(self, run_id: str, payload) -> None:
        """Rewrite a logged trial's metrics, tags and artifacts (a new diagnosis); best effort."""
        self.safe(lambda: self.tracker.update_trial(run_id, metrics=payload.metrics, tags=payload.tags,
                                                    artifacts=payload.artifacts))

    def logged_curves(self, run_id: str, columns: list[str] | None = None) -> dict[str, list[float]]:
        """A logged trial's curves (every curve of the task unless ``columns``); empty when MLflow is unavailable."""
        columns = columns if columns is not None else names.curve_columns(self.data.task)
        return self.safe(lambda: self.tracker.reader.curves(run_id, columns)) or {}

    def mark_interrupted(self) -> None:
        """Ctrl-C: end this process's trials in flight and the parent as KILLED; a rerun resumes them.

        Best effort: a run this cannot end stays RUNNING, and the rerun marks it KILLED.
        """
        try:
            self.tracker.end_own_runs(status="KILLED")
        except Exception:  # noqa: BLE001 - the user asked to stop; never mask the interrupt
            _log.warning("could not mark the interrupted runs KILLED; a rerun will")
