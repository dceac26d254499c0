"""The trials' early stopping and pruning settings, and a resumed sweep's rung record."""

from __future__ import annotations

from pathlib import Path

from pipeline import names
from pipeline.search import Pruning
from pipeline.spec import SweepSpec
from pipeline.sweep._session import Session


def stopping_settings(spec: SweepSpec, folder: str) -> dict:
    """The trials' early stopping and pruning settings (:class:`~pipeline.search.TrialConfig` fields);
    pruning reports to a rung record in ``folder``."""
    stopping = spec.stopping
    pruning = Pruning(str(Path(folder) / "rungs.jsonl"), stopping.min_epochs,
                      stopping.reduction_factor) if stopping.prune else None
    return {"early_stopping": stopping.early, "pruning": pruning}


def seed_rungs(session: Session, pruning: Pruning, finished_before: list) -> None:
    """A resumed sweep's rung record starts with what its earlier invocations' trials reached at each rung,
    so the trials it trains now are pruned against those too."""
    from pipeline.diagnostics import SuccessiveHalving
    from pipeline.training import RungRecord

    pruner = SuccessiveHalving(min_epochs=pruning.min_epochs, reduction_factor=pruning.reduction_factor)
    record, monitor = RungRecord(pruning.record), names.val_curve(names.task_metric(session.data.task))
    for run in finished_before:
        curve = session.logged_curves(run.info.run_id, [monitor]).get(monitor, [])
        # a pruned trial reported at its last epoch; one that went on did not report at its final epoch
        for rung in pruner.rungs(len(curve) + (names.PRUNED_TAG in run.data.tags)):
            record.report(rung=rung, trial=run.data.tags[names.TRIAL_KEY_TAG], value=min(curve[:rung]))
