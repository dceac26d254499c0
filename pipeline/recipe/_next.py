"""The next round of a sweep, as a pure function: the previous spec and its finished trials in, the next spec and why out.

Andrew Ng's recipe, applied to the best configurations (those tied with the best, the recommended one first):
each one's first concrete advice items (high bias: train longer, raise the learning rate, add capacity; high
variance: stop early, more data, regularise, a smaller network) become new configurations, each the
configuration with that one axis changed. A change the sweep already ran is not run again: its measured result is
quoted instead. Never reads MLflow or files; the loop of rounds and ``fitcheck next`` both call it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline import names
from pipeline.diagnostics import (
    AdviceItem,
    measured_neighbour,
    metric_se,
    neighbour_sentence,
    rank_trials,
)
from pipeline.recipe._configs import changed, identity, spec_grids, sub_grid
from pipeline.runs._descriptions import number
from pipeline.spec import HIDDEN_LAYER_AXES

#: How many of the best configurations give their advice, how many concrete items each, how many new ones at most.
TOP, ITEMS_PER_TRIAL, MAX_NEW = 3, 2, 8
#: The spec key that links a round to the sweep it came from.
PREVIOUS_SWEEP_KEY = "previous_sweep"


@dataclass(frozen=True)
class FinishedTrial:
    """One finished trial of the previous round, as the next round reads it.

    ``config``: its axes as its params hold them (``seed`` and ``train_size`` included) and ``n_train``, the rows
    it trained on. ``val_metric``: the validation metric at its recommended epoch (what trials are ranked by).
    ``eligible``: False for a pruned trial (its value counts in the ties, it is never a source of changes).
    """

    name: str
    config: Mapping[str, object]
    val_metric: float | None
    label: str
    label_at_recommended: str = ""
    recommended_epochs: int | None = None
    n_parameters: int = 0
    advice_items: tuple[AdviceItem, ...] = ()
    advice: str = ""
    eligible: bool = True
    run_id: str = ""


@dataclass(frozen=True)
class Reason:
    """Why the next round holds a configuration, or why a change of the advice is not in it.

    ``trial``: the trial the advice came from, with its label and validation metric; ``change``: the advised
    change; ``evidence``: what the diagnosis and the sweep measured for it; ``outcome``: what the next round does.
    """

    trial: str
    change: str
    evidence: str
    outcome: str

    def __str__(self) -> str:
        return f"{self.trial}: {self.change} ({self.evidence}) → {self.outcome}"


@dataclass(frozen=True)
class NextRound:
    """The next round: its ``spec`` (a dict the spec loader accepts; None when nothing is left to change), every
    ``reason``, the new ``configurations`` (one sub-grid each) and the ``best`` trial of the previous round."""

    spec: dict | None
    reasons: tuple[Reason, ...]
    configurations: tuple[dict, ...] = ()
    best: FinishedTrial | None = None


def best_configurations(trials: Sequence[FinishedTrial], *, n_val: int, metric: str,
                        top: int = TOP) -> list[FinishedTrial]:
    """The configurations whose advice the next round follows, at most ``top``: the recommended one, then the
    others tied with the best (within one standard error, :func:`pipeline.diagnostics.rank_trials`) by rank.

    Only trials with a validation metric at the largest training size compete (a learning curve's smaller sizes
    are evidence); a pruned trial counts in the ties, never as a source; one configuration's seeds count once.
    """
    valued = [trial for trial in trials if _finite(trial.val_metric)]
    if not valued:
        return []
    largest = max(_rows(trial) for trial in valued)
    full = [trial for trial in valued if _rows(trial) == largest]
    frame = pd.DataFrame({"value": [trial.val_metric for trial in full],
                          "n_parameters": [trial.n_parameters for trial in full],
                          "epochs": [trial.recommended_epochs or 0 for trial in full],
                          "label": [trial.label_at_recommended or trial.label for trial in full],
                          "eligible": [trial.eligible for trial in full]})
    ranked = rank_trials(frame, metric=metric, n_val=max(n_val, 1), value="value", parameters="n_parameters",
                         epochs="epochs", label="label", eligible="eligible")
    by_rank = ranked.sort_values(["rank", "n_parameters"], kind="stable")
    order = list(by_rank.index[by_rank["pick"]]) + list(by_rank.index[by_rank["tied_with_best"] & by_rank["eligible"]])
    chosen: dict[tuple, FinishedTrial] = {}
    for index in order:
        chosen.setdefault(identity(full[index].config), full[index])
    return list(chosen.values())[:top]


def next_round(spec: Mapping[str, Any], trials: Sequence[FinishedTrial], *, n_val: int, metric: str,
               n_train_full: int | None = None, previous_sweep: str | None = None, experiment: str | None = None,
               top: int = TOP, items_per_trial: int = ITEMS_PER_TRIAL, max_new: int = MAX_NEW) -> NextRound:
    """The spec of the next round and the reasons for it, from the previous round's spec and finished trials.

    Parameters
    ----------
    spec : mapping
        The previous round's spec as read from its YAML (a dict): its dataset, split, reference error, stopping
        and every other section are kept; its grid becomes the new configurations, its search a plain grid.
    trials : sequence of FinishedTrial
        Every finished trial of the previous round (all seeds and training sizes).
    n_val : int
        Validation rows, for the standard error of the ranking.
    metric : {"error", "rmse"}
    n_train_full : int, optional
        Rows of the whole training split: "get more training data" becomes a larger ``train_size`` only for a
        trial that trained on fewer (None: no more rows to give).
    previous_sweep : str, optional
        The previous round's sweep run id, written as ``previous_sweep`` (the new sweep tags its parent with it).
    experiment : str, optional
        The experiment the next round goes to (default: the previous spec's ``experiment``).
    top, items_per_trial, max_new : int
        Configurations whose advice is followed, concrete advice items read from each, new configurations at most.

    Returns
    -------
    NextRound
        ``spec`` is None when no advised change is left to run (a good fit, or every change already measured).

    Examples
    --------
    >>> item = AdviceItem("train longer (epochs 20 → 60)", "epochs", 20, 60, "still learning")
    >>> trial = FinishedTrial("d1w8", {"depth": 1, "width": 8, "epochs": 20, "seed": 0, "n_train": 700}, 0.2,
    ...                       "high_bias", advice_items=(item,))
    >>> plan = next_round({"dataset": {"synthetic": "moons"}, "grid": {"depth": [1]}}, [trial], n_val=300,
    ...                   metric="error", previous_sweep="abc")
    >>> plan.spec["grid"][0]["epochs"], plan.spec["previous_sweep"]
    ([60], 'abc')
    >>> print(plan.reasons[0])
    d1w8 (high bias; val error 20.0%): train longer (epochs 20 → 60) (still learning) → new configuration: d1w8 with epochs 60
    """
    sources = best_configurations(trials, n_val=n_val, metric=metric, top=top)
    plan = _Plan(spec, trials, metric=metric, n_val=n_val, n_train_full=n_train_full, max_new=max_new)
    for source in sources:
        plan.follow(source, items_per_trial)
    best = sources[0] if sources else None
    if not plan.configurations:
        return NextRound(None, tuple(plan.reasons), (), best)
    grids = [sub_grid(config, seeds, spec_grids(spec)) for config, seeds in plan.configurations]
    new_spec = _next_spec(spec, grids, early=plan.early, previous_sweep=previous_sweep, experiment=experiment)
    return NextRound(new_spec, tuple(plan.reasons), tuple(grids), best)


class _Plan:
    """The next round as it is planned: its new configurations with their seeds, and the reasons."""

    def __init__(self, spec: Mapping[str, Any], trials: Sequence[FinishedTrial], *, metric: str, n_val: int,
                 n_train_full: int | None, max_new: int):
        self.spec, self.metric, self.n_train_full, self.max_new = spec, metric, n_train_full, max_new
        self.n_val = max(n_val, 1)
        self.trials = [trial for trial in trials if _finite(trial.val_metric)]
        self.ran = {identity(trial.config): trial for trial in self.trials}
        self.seeds: dict[tuple, set] = {}
        for trial in trials:
            self.seeds.setdefault(identity(trial.config), set()).add(trial.config.get("seed", 0))
        self.configurations: list[tuple[dict, set]] = []
        self.planned: dict[tuple, str] = {}
        self.reasons: list[Reason] = []
        self.early = bool((spec.get("stopping") or {}).get("early"))

    def follow(self, source: FinishedTrial, items_per_trial: int) -> None:
        """Plan the changes ``source``'s concrete advice items name until ``items_per_trial`` new configurations
        come from it (a stop, a change measured already or one the sweep cannot make is said and not counted),
        with a reason for each."""
        header = _header(source, self.metric)
        concrete = [item for item in source.advice_items if item.to is not None]
        if not concrete:
            generic = "; ".join(item.change for item in source.advice_items)
            outcome = f"nothing to run: its advice names no value ({generic})" if generic else "nothing to run"
            evidence = source.advice or names.LABEL_TITLES.get(source.label, source.label)
            self.reasons.append(Reason(header, "no change advised" if not generic else "no concrete change", evidence,
                                       outcome))
            return
        counted = 0
        for item in concrete:
            if counted == items_per_trial:
                break
            stop = item.axis == "epochs" and _numbers(item.to, item.from_) and item.to < item.from_  # type: ignore
            planned = len(self.configurations)
            outcome = self._stop_early() if stop else self._outcome(source, item)
            counted += len(self.configurations) > planned
            self.reasons.append(Reason(header, item.change, item.reason, outcome))

    def _outcome(self, source: FinishedTrial, item: AdviceItem) -> str:
        """Plan ``item``'s change of ``source`` and say what the next round does about it."""
        if item.axis == names.N_TRAIN_PARAM:
            rows = source.config.get(names.N_TRAIN_PARAM)
            if self.n_train_full is None or rows is None or int(rows) >= self.n_train_full:
                return (f"no change: the training split has no more rows to give (this trial trained on all {rows}); "
                        "more data has to come from outside the sweep: collect or augment it")
            target = min(int(item.to), self.n_train_full)  # type: ignore[call-overload]
            size = names.FULL_TRAIN_SIZE if target >= self.n_train_full else target
            config = {**source.config, "train_size": size, names.N_TRAIN_PARAM: target}
            return self._add(source, config, item, f"new configuration: {source.name} with train_size {size} "
                                                   f"({target} of the {self.n_train_full} training rows)")
        if item.axis not in source.config:
            return f"no change: {item.axis} is not an axis of this sweep"
        if (stalled := self._last_step_did_not_help(source, item)) is not None:
            return stalled
        config = changed(source.config, item.axis, item.to, spec_grids(self.spec))
        return self._add(source, config, item, f"new configuration: {source.name} with {item.axis} {config[item.axis]}")

    def _last_step_did_not_help(self, source: FinishedTrial, item: AdviceItem) -> str | None:
        """Why not to take ``item``'s step: the sweep took the same step into ``source`` already (the same
        configuration at the nearest value behind it on that axis) and it did not lower the validation metric by more
        than one standard error of the difference; None when there is no such step, or it helped."""
        if not _numbers(item.to, item.from_) or item.to == item.from_:
            return None
        own = dict(identity(source.config))
        current, ahead = _as_number(own.get(item.axis)), item.to > item.from_  # type: ignore[operator]
        if current is None:
            return None
        behind = []
        for key, trial in self.ran.items():
            back = dict(key)
            value = _as_number(back.get(item.axis))
            if (value is not None and value != current and (value < current) == ahead
                    and {**back, item.axis: own.get(item.axis)} == own):
                behind.append((abs(current - value), back[item.axis], trial))
        if not behind:
            return None
        _, value, trial = min(behind, key=lambda step: step[0])
        gain = float(trial.val_metric) - float(source.val_metric)  # type: ignore[arg-type]
        noise = math.hypot(metric_se(float(trial.val_metric), self.n_val, metric=self.metric),
                           metric_se(float(source.val_metric), self.n_val, metric=self.metric))
        if gain > noise:
            return None
        return (f"not run: the last step that way did not help: {trial.name} ({item.axis} {value}) "
                f"reached validation {self.metric} {number(trial.val_metric, self.metric)}, this one "
                f"{number(source.val_metric, self.metric)} (within one standard error of the difference, "
                f"{number(noise, self.metric)}, or worse)")

    def _stop_early(self) -> str:
        """A stop is no new run: the curves measured the model at that epoch, and retraining to it with the same seed
        repeats the same epochs. The next round stops its trials early (``stopping: {early: true}``), so each is
        judged and kept at its own best epoch."""
        if (self.spec.get("stopping") or {}).get("early"):
            return ("no new run: the sweep measured its model at that epoch, and already stops every trial early "
                    "(stopping: {early: true})")
        self.early = True
        return ("no new run: the sweep measured its model at that epoch already (a rerun repeats the same epochs); "
                "stopping: {early: true} keeps such a model, and is on for any next round")

    def _add(self, source: FinishedTrial, config: dict, item: AdviceItem, added: str) -> str:
        """Add ``config`` (``source`` changed as ``item`` says) unless the sweep ran it or the round holds it already;
        ``added``: what the round does, said when it is added, with what the sweep measured of the change."""
        key = identity(config)
        done = self.ran.get(key)
        if done is not None:
            return (f"not run again: the sweep ran it as {done.name} ({_label(done)}, validation {self.metric} "
                    f"{number(done.val_metric, self.metric)})")
        if key in self.planned:
            return f"already in the next round (from {self.planned[key]})"
        if len(self.configurations) >= self.max_new:
            return f"left out: the next round holds at most {self.max_new} new configuration{'s' * (self.max_new != 1)}"
        self.configurations.append((config, self.seeds.get(identity(source.config), {0})))
        self.planned[key] = source.name
        return added + self._measured(source, item)

    def _measured(self, source: FinishedTrial, item: AdviceItem) -> str:
        """What the sweep measured of ``item`` (the same configuration further that way), as a clause."""
        own = identity(source.config)
        trials = [(dict(key), trial.val_metric) for key, trial in self.ran.items() if key != own]
        ignore = HIDDEN_LAYER_AXES if item.axis == "depth" and not source.config.get("depth") else ()
        neighbour = measured_neighbour(item, dict(own), trials, ignore=ignore)
        if neighbour is None:
            return ""
        return "; " + neighbour_sentence(item, neighbour, own=float(source.val_metric), metric=self.metric)


def _next_spec(spec: Mapping[str, Any], grids: list[dict], *, early: bool, previous_sweep: str | None,
               experiment: str | None) -> dict:
    """The previous spec with the new sub-grids as its grid, a plain grid search, stopping early where the advice
    said so, the experiment kept and the link to the previous round."""
    head = {key: value for key, value in (("experiment", experiment or spec.get("experiment")),
                                          (PREVIOUS_SWEEP_KEY, previous_sweep)) if value}
    rest = {key: grids if key == "grid" else value for key, value in spec.items()
            if key not in ("experiment", PREVIOUS_SWEEP_KEY, "search")}
    new = {**head, **rest, "grid": grids} if "grid" not in rest else {**head, **rest}
    if early:
        new["stopping"] = {**(spec.get("stopping") or {}), "early": True}
    return new


def _header(trial: FinishedTrial, metric: str) -> str:
    """``d2-tanh-adam-mse (good fit; val error 6.6%)``: the trial, its label and its validation metric."""
    return f"{trial.name} ({_label(trial)}; val {metric} {number(trial.val_metric, metric)})"


def _label(trial: FinishedTrial) -> str:
    """The label in words, and the label at the recommended epoch where it differs."""
    title = names.LABEL_TITLES.get(trial.label, trial.label)
    at = trial.label_at_recommended
    if at and at != trial.label and trial.recommended_epochs:
        title += f", {names.LABEL_TITLES.get(at, at)} at epoch {trial.recommended_epochs}"
    return title


def _rows(trial: FinishedTrial) -> int:
    return int(trial.config.get(names.N_TRAIN_PARAM) or 0)


def _as_number(text: object) -> float | None:
    """A configuration's value as a number (identities hold text), None when it is not one."""
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _numbers(*values: object) -> bool:
    return all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
