"""Learning curves over training-set size in a sweep: which trials to add, and each configuration's curve.

Plans and groups; never trains, never talks to MLflow (the sweep does both) and holds no statistics
(:func:`pipeline.diagnostics.data_size_verdict` judges a curve).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from pipeline import names
from pipeline.data import subset_rows
from pipeline.search import TrialConfig
from pipeline.names import FULL_TRAIN_SIZE


@dataclass(frozen=True)
class CurvePoint:
    """One trial of a configuration's learning curve: its size and metrics at its recommended epoch."""

    config: TrialConfig
    n_train: int
    val_metric: float | None
    train_metric: float | None
    run_id: str | None


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
    """Points grouped by configuration, ascending in size, one per size (the first given wins), for the
    configurations with at least ``min_sizes`` sizes that have a finite validation metric."""
    groups: dict[TrialConfig, dict[int, CurvePoint]] = {}
    for point in points:
        if point.val_metric is None or not math.isfinite(point.val_metric):
            continue
        groups.setdefault(configuration(point.config), {}).setdefault(point.n_train, point)
    return {config: [by_size[n] for n in sorted(by_size)] for config, by_size in groups.items()
            if len(by_size) >= min_sizes}


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
