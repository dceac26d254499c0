"""A recipe search's rounds as data: what each round held and why, and when the recipe stops.

Pure: the loop that runs the rounds (:func:`pipeline.sweep.run_recipe`) records a :class:`Round` per sweep and
asks :func:`stop_reason` after each; the report and the CLI read the same records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from pipeline import names
from pipeline.diagnostics import metric_se
from pipeline.recipe._next import FinishedTrial
from pipeline.runs._descriptions import number


@dataclass(frozen=True)
class Round:
    """One round of a recipe search: its sweep (parent run), the trials it ran, the recipe's trials so far,
    why it holds its configurations, the best configuration of all rounds so far, and why the recipe stopped
    after it (empty when it went on)."""

    number: int
    parent_run_id: str
    n_trials: int
    spent: int
    why: tuple[str, ...]
    best_name: str = ""
    best_value: float | None = None
    best_label: str = ""
    stopped: str = ""
    #: Where the recipe stopped because nothing was left to change: what each advised change came to.
    left: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        """The round as the file its parent run logs (:data:`pipeline.names.RECIPE_ROUND_FILE`)."""
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_logged(cls, logged: object) -> Round | None:
        """The round :meth:`to_json` wrote, parsed (keys it does not know are left out); None when ``logged`` is
        not one."""
        if not isinstance(logged, dict):
            return None
        known = {field.name for field in fields(cls)}
        try:
            return cls(**{key: tuple(value) if isinstance(value, list) else value
                          for key, value in logged.items() if key in known})
        except TypeError:
            return None

    def description(self, *, metric: str, escape: Callable[[str], str] = str) -> str:
        """The round in words, markdown lines above its sweep's description; ``escape`` makes the text that names
        trials and values literal markdown (:func:`pipeline.runs.markdown_text`)."""
        lines = [f"**Recipe round {self.number}** ({self.n_trials} trials; {self.spent} so far)", ""]
        lines += [f"- {escape(why)}" for why in self.why]
        if self.best_name:
            lines += ["", escape(f"Recommended so far: {self.best_name}, validation {metric} "
                                 f"{number(self.best_value, metric)} "
                                 f"({names.LABEL_TITLES.get(self.best_label, self.best_label)})")]
        if self.stopped:
            lines += ["", escape(f"The recipe stopped here: {self.stopped}")]
            lines += [f"- {escape(left)}" for left in self.left]
        return "\n".join(lines)


#: Why a recipe stops when the advice names nothing new (each change's outcome is in :attr:`Round.left`).
NOTHING_LEFT = ("nothing left to change: each change the best configurations' advice names was run already, is a "
                "stop at an earlier epoch, or needs what the sweep cannot give (more rows than the split holds)")


def nothing_left(best: FinishedTrial | None, *, reference_error: float | None, n_val: int, metric: str) -> str:
    """Why the recipe stops when nothing is left to change; where the best is still above the reference error
    beyond one standard error, what that gap may mean.

    >>> best = FinishedTrial("d3w64", {}, 0.123, names.HIGH_BIAS)
    >>> nothing_left(best, reference_error=0.05, n_val=120, metric="error").split("; ")[-1]
    'the best, d3w64 at 12.3%, is above the reference error 5.0% by more than one standard error (3.1%): if no change helps, the reference may be lower than this data allows (label noise, overlapping classes): give the error a person or a strong model reaches, or let fitcheck estimate it'
    """
    if best is None or best.val_metric is None or reference_error is None:
        return NOTHING_LEFT
    gap, se = best.val_metric - reference_error, metric_se(best.val_metric, max(n_val, 1), metric=metric)
    if gap <= se:
        return NOTHING_LEFT
    return (f"{NOTHING_LEFT}; the best, {best.name} at {number(best.val_metric, metric)}, is above the reference "
            f"error {number(reference_error, metric)} by more than one standard error ({number(se, metric)}): if no "
            "change helps, the "
            "reference may be lower than this data allows (label noise, overlapping classes): give the error a "
            "person or a strong model reaches, or let fitcheck estimate it")


def stop_reason(best: FinishedTrial | None, *, reference_error: float | None, n_val: int, metric: str,
                spent: int, budget: int, number_done: int, rounds: int, per_configuration: int = 1) -> str:
    """Why the recipe stops after round ``number_done`` ("" to go on): the best configuration is a good fit within
    one standard error of the reference error, the trial budget is spent (it has no room for one more
    configuration of ``per_configuration`` seeds) or the rounds are.

    >>> best = FinishedTrial("d1w8", {}, 0.09, names.GOOD_FIT)
    >>> stop_reason(best, reference_error=0.08, n_val=300, metric="error", spent=6, budget=40, number_done=1,
    ...             rounds=4)
    'reached: d1w8 is a good fit at validation error 9.0%, within one standard error (1.7%) of the reference error 8.0%'
    >>> stop_reason(best, reference_error=0.0, n_val=300, metric="error", spent=39, budget=40, number_done=2, rounds=4,
    ...             per_configuration=2)
    'budget spent: 39 of 40 trials, no room for a configuration of 2 seeds'
    """
    if best is not None and best.val_metric is not None and reference_error is not None:
        label = best.label_at_recommended or best.label
        se = metric_se(best.val_metric, max(n_val, 1), metric=metric)
        if label == names.GOOD_FIT and best.val_metric - reference_error <= se:
            return (f"reached: {best.name} is a good fit at validation {metric} {number(best.val_metric, metric)}, "
                    f"within one standard error ({number(se, metric)}) of the reference error "
                    f"{number(reference_error, metric)}")
    if spent + per_configuration > budget:
        room = f", no room for a configuration of {per_configuration} seeds" if spent < budget else ""
        return f"budget spent: {spent} of {budget} trials{room}"
    if number_done >= rounds:
        return f"rounds spent: {number_done} of {rounds}"
    return ""
