"""Where a group of trials concentrates along the grid's axes, with ties called ties.

Pure: a table in, a sentence out. Never decides which axes a report shows; the caller passes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

MIN_SHARE = 0.5
MIN_LIFT = 1.3


def concentration(frame: pd.DataFrame, selected: pd.Series, *, axes: Sequence[str],
                  min_share: float = MIN_SHARE, min_lift: float = MIN_LIFT) -> str | None:
    """The axis value(s) most over-represented among the ``selected`` trials, or None.

    On each axis that varies in ``frame``, the value(s) with the largest share of the selected
    trials count when that share is at least ``min_share`` and at least ``min_lift`` times their
    share of all trials. Values sharing the top share are a tie and are named together; the
    axis whose top value is the most over-represented wins.

    Parameters
    ----------
    frame : DataFrame
        One row per trial, one column per axis.
    selected : Series of bool
        Which trials form the group (e.g. ``frame["label"] == "high_variance"``).
    axes : sequence of str
        The axes to consider.

    Examples
    --------
    >>> trials = pd.DataFrame({"depth": [0, 0, 1, 1, 4, 4], "optimizer": ["sgd", "adam"] * 3})
    >>> concentration(trials, trials["depth"] > 0, axes=["depth", "optimizer"])
    'depth = 1 and depth = 4: 50% each of these trials (33% each of all trials)'
    >>> concentration(trials, trials["depth"] == 4, axes=["depth", "optimizer"])
    'depth = 4: 100% of these trials, 33% of all trials'
    """
    group = frame[selected.to_numpy(dtype=bool)]
    if len(group) < 2 or len(group) == len(frame):
        return None
    found: tuple[float, str] | None = None
    for axis in axes:
        if frame[axis].nunique(dropna=True) < 2:
            continue
        counts = group[axis].value_counts()
        tied = set(counts[counts == counts.iloc[0]].index)
        top = [value for value in dict.fromkeys(frame[axis]) if value in tied]  # in grid order
        share = counts.iloc[0] / len(group)
        overall = [float((frame[axis] == value).mean()) for value in top]
        lift = share / max(overall)
        if share >= min_share and lift >= min_lift and (found is None or lift > found[0]):
            found = (lift, _sentence(axis, top, share, overall))
    return found[1] if found else None


def _sentence(axis: str, values: list, share: float, overall: list[float]) -> str:
    if len(values) == 1:
        return f"{axis} = {values[0]}: {share:.0%} of these trials, {overall[0]:.0%} of all trials"
    named = " and ".join(f"{axis} = {value}" for value in values)
    of_all = (f"{overall[0]:.0%} each" if len(set(overall)) == 1
              else " and ".join(f"{share_:.0%}" for share_ in overall))
    return f"{named}: {share:.0%} each of these trials ({of_all} of all trials)"
