"""Stage 2 of a recipe search's report: the path of its rounds, as table rows and as the series its chart draws.

Pure: no MLflow, no matplotlib, no HTML. It reads the rounds :func:`pipeline.report.gather_sweep` gathered, and
their words (why a round holds what it holds, why the recipe stopped) as the rounds recorded them.
"""

from __future__ import annotations

import math

from pipeline.report._gather import LoggedRound
from pipeline.report._summary import validation_values


def path_rows(rounds: list[LoggedRound]) -> list[dict]:
    """One row per round, oldest first: its number and parent run, its trials and the recipe's trials so far, why
    it holds its configurations, the best configuration so far (name, validation value, label) and, on the round
    the recipe stopped after, why. A round whose record is unreadable keeps its number and trial counts."""
    rows, spent = [], 0
    for logged in rounds:
        record = logged.record
        spent = record.spent if record else spent + len(logged.trials)
        rows.append({
            "number": logged.number, "run_id": logged.run_id,
            "in_round": record.n_trials if record else len(logged.trials), "spent": spent,
            "recorded": record is not None, "why": list(record.why) if record else [],
            "best_name": record.best_name if record else "", "best_value": record.best_value if record else None,
            "best_label": record.best_label if record else "", "stopped": record.stopped if record else "",
            "left": list(record.left) if record else [],
        })
    return rows


def best_so_far(rounds: list[LoggedRound], task: str) -> dict:
    """The chart's series over every round's trials in start order: ``spent`` (1, 2, …), each trial's validation
    value (NaN where it has none, :func:`validation_values`), the lowest value so far (NaN before the first), and
    each round's ``(number, first, last)`` trial positions (``first`` is 1-based; an empty round has last = first - 1).

    >>> best_so_far([], "binary")
    {'spent': [], 'values': [], 'best': [], 'spans': []}
    """
    values = [math.nan if value is None else value
              for logged in rounds for value in validation_values(logged.trials, task)]
    best, lowest = [], math.nan
    for value in values:
        lowest = value if math.isnan(lowest) or value < lowest else lowest
        best.append(lowest)
    spans, start = [], 1
    for logged in rounds:
        spans.append((logged.number, start, start + len(logged.trials) - 1))
        start += len(logged.trials)
    return {"spent": list(range(1, len(values) + 1)), "values": values, "best": best, "spans": spans}
