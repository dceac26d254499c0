"""The sweep's one loop: ask the sampler for a batch, claim and train what is left, tell each trial its value.

Every search method runs through it (:class:`~pipeline.search.Sampler`): a grid or random search gives
all of its trials at the first ask, TPE ``workers`` configurations at a time.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline import names
from pipeline.search import Sampler
from pipeline.sweep._result import SweepResult, TrialRecord
from pipeline.sweep._session import Session


def run_trials(session: Session, sampler: Sampler, *, batch_size: int, stopping: dict, finished_before: list,
               result: SweepResult) -> list[TrialRecord]:
    """Run the sampler's trials, each with the ``stopping`` settings, until it is exhausted; return the record of
    every trial asked, once per trial, in the order first asked.

    A trial finished by an earlier invocation (in ``finished_before``) is skipped and told its logged value, so
    a rerun with the same batch size asks what the first run asked and trains only what it had not finished.
    A trial asked again is trained once. A trial's value is its best validation value; None when it failed
    or another live sweep holds it.
    """
    from pipeline.diagnostics import curve_summary

    best_val = names.summary_metric(names.BEST_VAL, session.data.task)
    values = {run.data.tags[names.TRIAL_KEY_TAG]: run.data.metrics.get(best_val) for run in finished_before}
    records: dict[str, TrialRecord] = {}
    while asked := sampler.ask(batch_size):
        trials = [replace(config, **stopping) for config in asked]
        keys = [trial.key(session.fingerprint) for trial in trials]
        todo: dict[str, TrialRecord] = {}
        for trial, key in zip(trials, keys):
            result.n_trials += 1
            if key not in records:
                records[key] = session.record(result.n_trials - 1, trial, result.varying_axes)
            if key in values:
                result.n_skipped += 1
            elif key not in todo:
                todo[key] = records[key]
        claimed, n_held = session.claim(list(todo.values()))
        result.n_held += n_held
        session.train(claimed, result)
        for record in claimed:
            finished = record.outcome is not None and record.outcome.status == "FINISHED"
            values[record.key] = (curve_summary(record.outcome.curves, task=session.data.task).get(best_val)
                                  if finished else None)
        for config, key in zip(asked, keys):
            sampler.tell(config, values.get(key))
    return list(records.values())
