"""The words :class:`pipeline.tracking.SweepTracker` writes: a sweep's trial runs, read back, as descriptions.

:class:`SweepDescriptions` is the :class:`pipeline.tracking.SweepTexts` the sweep hands its tracker:
the tracker gives plain trial runs and links, this reads fitcheck's tags and metrics off them and
words the descriptions (:mod:`._descriptions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline import names
from pipeline.runs._descriptions import TrialLine, launcher_description, sweep_description

if TYPE_CHECKING:
    from pipeline.tracking import TrialRun


def trial_line(run: TrialRun, task: str) -> TrialLine:
    """A trial run as its sweep's description lists it: a failed run without a label is ``failed``."""
    metrics, tags = run.metrics, run.tags
    label = tags.get(names.DIAGNOSIS_TAG) or (names.FAILED if run.status == "FAILED" else names.UNDIAGNOSED)
    epochs = metrics.get(names.RECOMMENDED_EPOCHS)
    n_train = run.params.get(names.N_TRAIN_PARAM)
    return TrialLine(run_id=run.run_id, name=run.name, label=label,
                     best_val=metrics.get(names.summary_metric(names.BEST_VAL, task)),
                     recommended_val=metrics.get(names.summary_metric(names.RECOMMENDED_VAL, task)),
                     recommended_epochs=None if epochs is None else int(epochs),
                     n_train=int(n_train) if n_train and n_train.isdigit() else None, link=run.link)


class SweepDescriptions:
    """Words a sweep's descriptions for its tracker (:class:`pipeline.tracking.SweepTexts`)."""

    def sweep_description(self, trials: Sequence[TrialRun], *, task: str, reference_error: float | None,
                          reference_source: str, view_link: str,
                          learning_curves: Sequence[tuple[str, str | None, str]]) -> str:
        return sweep_description([trial_line(run, task) for run in trials], task=task,
                                 reference_error=reference_error, reference_source=reference_source,
                                 view_link=view_link, learning_curves=learning_curves)

    def launcher_description(self, *, sweep_name: str, sweep_link: str, experiment_name: str,
                             view_link: str) -> str:
        return launcher_description(sweep_name=sweep_name, sweep_link=sweep_link, experiment_name=experiment_name,
                                    view_link=view_link)
