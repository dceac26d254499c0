"""What a sweep did: each trial as the sweep saw it (:class:`TrialRecord`) and the whole (:class:`SweepResult`)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import names
from pipeline.search import TrialConfig
from pipeline.tracking import SweepLinks
from pipeline.training import TrialOutcome


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
        """The diagnosis label; ``diverged`` for a trial whose loss became NaN or infinite, ``failed`` for one that
        ended with an error (``fitcheck.error`` says why)."""
        if self.outcome is not None and self.outcome.status == "FAILED":
            return names.DIVERGED if self.outcome.diverged_epoch is not None else names.FAILED
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
    #: What failed once the trials were logged (ending the sweep run, the MLflow views, the report), one line each:
    #: the trials stand, and a rerun does the rest.
    ending_errors: list[str] = field(default_factory=list)
    #: Trials finished by earlier invocations of the same sweep (skipped now), read back from MLflow, so a rerun
    #: of a finished sweep (a notebook cell run twice) returns the whole sweep.
    earlier: list[TrialRecord] = field(default_factory=list)
    #: A recipe search (``search: {method: recipe}``): every round (:class:`pipeline.recipe.Round`), this sweep
    #: the last, and why the recipe stopped.
    rounds: list = field(default_factory=list)
    stopped: str = ""

    @property
    def all_records(self) -> list[TrialRecord]:
        """Every trial of the sweep that ended: this call's and those read back from earlier ones, in grid order."""
        return sorted((r for r in (*self.records, *self.earlier) if r.outcome is not None), key=lambda r: r.index)

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.records if r.outcome and r.outcome.status == "FAILED")

    def labels(self) -> Counter:
        """The sweep's trials by diagnosis label (earlier invocations' included)."""
        return Counter(r.label for r in self.all_records)

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial of the sweep: its configuration, validation metric (best, final and at the
        recommended epoch), recommended epoch, label, parameter count and MLflow run id, in grid order.

        Trials finished by an earlier call of the same sweep (skipped now) are read back from MLflow, as
        Optuna's ``study.trials_dataframe()`` lists every trial of a study.
        """
        from pipeline.diagnostics import curve_summary

        best, final, at_stop = (names.summary_metric(kind, self.task)
                                for kind in (names.BEST_VAL, names.FINAL_VAL, names.RECOMMENDED_VAL))
        rows = []
        for record in self.all_records:
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
        """One row per trial of the sweep (earlier invocations' included), ranked by the validation metric at its recommended epoch: config,
        that value, the recommended epoch, label, parameters, and whether it is tied with the best
        (within one standard error; see :func:`pipeline.diagnostics.rank_trials`). Only trials at the
        largest training size are ranked: a learning curve's smaller sizes are not candidates."""
        from pipeline.diagnostics import rank_trials

        at_stop = names.summary_metric(names.RECOMMENDED_VAL, task)
        full = max((record.n_train for record in self.all_records), default=0)
        rows = [{
            "trial": record.name, "status": record.outcome.status,
            at_stop: record.diagnosis.recommended_val_metric
            if record.diagnosis and record.label not in names.ENDED_EARLY else math.nan,
            "eligible": record.label != names.PRUNED,  # a pruned trial's value counts in ties, it is never the pick
            "stop_at": record.diagnosis.recommended_epochs if record.diagnosis else None,
            "label": record.label, names.N_PARAMETERS_PARAM: record.n_parameters,
        } for record in self.all_records if record.n_train == full]
        if not rows:
            return pd.DataFrame(rows)
        frame = pd.DataFrame(rows).astype({"stop_at": "Int64", at_stop: float})
        ranked = rank_trials(frame, metric=names.task_metric(task), n_val=max(self.n_val, 1), value=at_stop,
                             parameters=names.N_PARAMETERS_PARAM, epochs="stop_at")
        return ranked.sort_values(["rank", names.N_PARAMETERS_PARAM], kind="stable")
