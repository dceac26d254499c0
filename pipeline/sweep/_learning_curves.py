"""Learning curves over training-set size in a sweep: which trials to add, and each configuration's curve.

The helpers plan and group and are pure; :func:`add_learning_curves` and :func:`judge_learning_curves`
run the phase through the sweep's :class:`~pipeline.sweep._session.Session` (the only way they train or
talk to MLflow). No statistics here: :func:`pipeline.diagnostics.data_size_verdict` judges a curve.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from pipeline import names
from pipeline.data import subset_rows
from pipeline.names import FULL_TRAIN_SIZE
from pipeline.runs import trial_payload
from pipeline.search import TrialConfig
from pipeline.spec import LearningCurveSpec
from pipeline.sweep._result import SweepResult, TrialRecord
from pipeline.sweep._session import Session, failure, trial_diagnosis


@dataclass(frozen=True)
class CurvePoint:
    """One trial of a configuration's learning curve: its size and metrics at its recommended epoch."""

    config: TrialConfig
    n_train: int
    val_metric: float | None
    train_metric: float | None
    run_id: str | None
    #: Every seed's run at this size when the seeds of a configuration are pooled (``run_id`` is the first).
    run_ids: tuple[str, ...] = ()


#: The seed a configuration's pooled learning curve is keyed by (its seeds are averaged).
SEED_POOLED = 0


def configuration(config: TrialConfig) -> TrialConfig:
    """The configuration a trial belongs to: everything but its ``train_size``."""
    return replace(config, train_size=FULL_TRAIN_SIZE)


def largest(configs: Sequence[TrialConfig], n_train: int) -> list[TrialConfig]:
    """The trials at the largest training size among ``configs``: the ones a leaderboard compares."""
    sizes = {config: subset_rows(config.train_size, n_train) for config in configs}
    top = max(sizes.values(), default=0)
    return [config for config, size in sizes.items() if size == top]


def top_configurations(candidates: pd.DataFrame, *, top: int, metric: str, n_val: int) -> list[TrialConfig]:
    """The ``top`` best configurations, ranked as the leaderboard ranks them.

    ``candidates`` has one row per trial: ``config`` (a :class:`TrialConfig`), ``value`` (the validation
    metric at the recommended epoch), ``n_parameters`` and ``epochs`` (recommended). Rows without a
    finite value are never picked.
    """
    from pipeline.diagnostics import rank_trials

    finite = candidates[pd.to_numeric(candidates["value"], errors="coerce").notna()]
    if finite.empty:
        return []
    ranked = rank_trials(finite, metric=metric, n_val=max(n_val, 1), value="value", parameters="n_parameters",
                         epochs="epochs")
    ordered = ranked.sort_values(["rank", "n_parameters"], kind="stable")
    return list(dict.fromkeys(configuration(config) for config in ordered["config"]))[:top]


def missing_trials(configurations: Iterable[TrialConfig], sizes: Sequence[float | int],
                   existing: Iterable[TrialConfig]) -> list[TrialConfig]:
    """The trials that complete each configuration's curve at ``sizes``: those not among ``existing``."""
    have = set(existing)
    wanted = (replace(config, train_size=size) for config in configurations for size in sizes)
    return [config for config in dict.fromkeys(wanted) if config not in have]


def curves_by_configuration(points: Iterable[CurvePoint], *, min_sizes: int = 2) -> dict[TrialConfig, list[CurvePoint]]:
    """Points grouped by configuration, ascending in size, for the configurations with at least ``min_sizes``
    sizes that have a finite validation metric.

    The seeds of a configuration are pooled: one curve and one verdict per configuration, each size's
    point the mean of its seeds' metrics (the first point given per seed and size counts), with every
    seed's run in ``run_ids``.
    """
    groups: dict[TrialConfig, dict[int, dict[TrialConfig, CurvePoint]]] = {}
    for point in points:
        if point.val_metric is None or not math.isfinite(point.val_metric):
            continue
        pooled = replace(configuration(point.config), seed=SEED_POOLED)
        groups.setdefault(pooled, {}).setdefault(point.n_train, {}).setdefault(point.config, point)
    return {config: [_mean_point(config, n_train, list(by_size[n_train].values())) for n_train in sorted(by_size)]
            for config, by_size in groups.items() if len(by_size) >= min_sizes}


def _mean_point(config: TrialConfig, n_train: int, seeds: list[CurvePoint]) -> CurvePoint:
    trains = [point.train_metric for point in seeds]
    train = (None if any(value is None or not math.isfinite(value) for value in trains)
             else float(sum(trains) / len(trains)))
    run_ids = tuple(point.run_id for point in seeds if point.run_id)
    return CurvePoint(config, n_train, float(sum(point.val_metric for point in seeds) / len(seeds)), train,
                      run_ids[0] if run_ids else None, run_ids)


def curve_metrics(name: str, points: Sequence[CurvePoint], *, task: str) -> dict[str, list[tuple[int, float]]]:
    """The parent's learning-curve metrics of one configuration: ``lc_val_error/<name>`` (and
    ``lc_train_error/<name>``) as ``(step = training rows, value)`` pairs."""
    series = {names.learning_curve_metric(names.LC_VAL_PREFIX, task, name):
              [(p.n_train, float(p.val_metric)) for p in points]}
    train = [(p.n_train, float(p.train_metric)) for p in points
             if p.train_metric is not None and math.isfinite(p.train_metric)]
    if train:
        series[names.learning_curve_metric(names.LC_TRAIN_PREFIX, task, name)] = train
    return series


def add_learning_curves(session: Session, records: list[TrialRecord], finished_before: list, result: SweepResult,
                        curve_spec: LearningCurveSpec) -> list[TrialRecord]:
    """Train the best configurations at the curve's sizes they lack, as more trials of the sweep
    (claimed, resumed and isolated like any other); return the records of those trials."""
    data = session.data
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
    extra = [session.record(len(records) + i, config, axes) for i, config in
             enumerate(missing_trials(best, curve_spec.sizes, (record.config for record in records)))]
    finished = {run.data.tags[names.TRIAL_KEY_TAG] for run in finished_before}
    todo = [record for record in extra if record.key not in finished]
    if extra:
        result.varying_axes = axes
    result.n_trials += len(extra)
    result.n_skipped += len(extra) - len(todo)
    try:
        claimed, n_held = session.claim(todo)
        result.n_held += n_held
        session.train(claimed, result)
    except KeyboardInterrupt:
        session.mark_interrupted()
        raise
    return extra


def _points(records: list[TrialRecord], finished_before: list, task: str) -> list[CurvePoint]:
    """Each trial's point: trained now (a failed size is no point), else as an earlier invocation logged it."""
    at_stop, train_at_stop = (names.summary_metric(kind, task)
                              for kind in (names.RECOMMENDED_VAL, names.RECOMMENDED_TRAIN))
    logged = {run.data.tags.get(names.TRIAL_KEY_TAG): run for run in finished_before}
    points = []
    for record in records:
        if record.diagnosis is not None and record.outcome.status == "FINISHED":
            diagnosis = record.diagnosis
            train = diagnosis.at_recommended.get("epoch_train_metric")
            points.append(CurvePoint(record.config, record.n_train, diagnosis.recommended_val_metric, train,
                                     record.run_id))
        elif record.key in logged:
            run = logged[record.key]
            points.append(CurvePoint(record.config, record.n_train, run.data.metrics.get(at_stop),
                                     run.data.metrics.get(train_at_stop), run.info.run_id))
    return points


def judge_learning_curves(session: Session, records: list[TrialRecord], finished_before: list,
                          result: SweepResult) -> None:
    """Judge each configuration's curve over training-set size; describe it on its largest trial and
    log it on the parent (``step`` = training rows)."""
    from pipeline.diagnostics import data_size_verdict

    data = session.data
    runs = {run.info.run_id: run for run in finished_before}
    by_record = {record.run_id: record for record in records if record.run_id}
    axes = tuple(axis for axis in result.varying_axes if axis not in ("train_size", "seed"))  # seeds are pooled
    series: dict[str, list[tuple[int, float]]] = {}
    for config, curve in curves_by_configuration(_points(records, finished_before, data.task)).items():
        name = config.name(axes)
        series.update(curve_metrics(name, curve, task=data.task))
        if len(curve) < 3:
            continue
        trains = [point.train_metric for point in curve]
        verdict = data_size_verdict(
            [point.n_train for point in curve], [point.val_metric for point in curve], n_val=len(data.y_val),
            metric=names.task_metric(data.task), reference_error=result.reference_error,
            train_metric=None if any(value is None or not math.isfinite(value) for value in trains) else trains)
        last = curve[-1]
        result.learning_curves.append((name, last.run_id, verdict))  # one verdict per configuration, seeds pooled
        for run_id in last.run_ids or (last.run_id,):
            _describe(session, run_id, last, verdict, by_record, runs, result)
    if series:
        session.safe(lambda: session.tracker.log_parent_curves(series))


def _describe(session: Session, run_id: str, last: CurvePoint, verdict, by_record: dict, runs: dict,
              result: SweepResult) -> None:
    """Put a configuration's data-size verdict on one of its runs at the largest size (its diagnosis and payload)."""
    from pipeline.diagnostics import with_data_size

    data = session.data
    record = by_record.get(run_id)
    if record is not None and record.diagnosis is not None:
        record.diagnosis = with_data_size(record.diagnosis, verdict)
        curves, title, failed = record.outcome.curves, record.name, failure(record.outcome)
    else:
        curves = session.logged_curves(run_id)
        title, failed = runs[run_id].info.run_name, None
        diagnosis = trial_diagnosis(curves, data, result.reference_error, result.reference_source,
                                    n_train=last.n_train,
                                    config={**last.config.params(), names.N_TRAIN_PARAM: last.n_train})
        if diagnosis is None:
            return
        record = TrialRecord(-1, last.config, "", title, 0, diagnosis=with_data_size(diagnosis, verdict))
    session.update_run(run_id, trial_payload(curves, task=data.task, title=title, diagnosis=record.diagnosis,
                                             failure=failed, reference_error=result.reference_error))
