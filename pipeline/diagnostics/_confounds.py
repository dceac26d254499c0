"""Which other axes an axis value was run with only in part: a per-axis summary's confounds.

A summary such as "learning_rate 0.0003: 100% high variance" reads as the learning rate's effect,
but when that value was run only with depth 4 it is depth's effect as much. Pure: a table in,
plain values out; it never decides which axes a report shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd


def confounds(frame: pd.DataFrame, axis: str, value: object, *, axes: Sequence[str],
              collapsed: Mapping[str, object] | None = None, gate: str = "depth") -> dict[str, list]:
    """The other axes on which the trials with ``axis == value`` did not meet every value the sweep ran.

    Parameters
    ----------
    frame : DataFrame
        One row per trial, one column per axis.
    axis, value : str, object
        The axis value whose trials are summarised.
    axes : sequence of str
        The axes to check (those that vary in the sweep); ``axis`` itself is skipped.
    collapsed : mapping, optional
        Axes that only exist where ``gate`` is above 0 (a depth-0 network has no hidden layer), with the
        value they collapse to there: such structure is not a confound. The collapsed value is left out
        on both sides, a collapsed value of ``axis`` has no confounds, and a hidden-layer axis is not
        said to miss ``gate`` 0.

    Returns
    -------
    dict
        ``{other axis: the values it took with axis == value}``, in ``axes`` order, for each other
        axis whose values there are fewer than in all trials; empty when the value met them all.

    Examples
    --------
    >>> trials = pd.DataFrame({"learning_rate": [0.01, 0.01, 0.0003], "depth": [1, 4, 4]})
    >>> confounds(trials, "learning_rate", 0.0003, axes=["learning_rate", "depth"])
    {'depth': [4]}
    >>> confounds(trials, "learning_rate", 0.01, axes=["learning_rate", "depth"])
    {}
    """
    collapsed = {name: _plain(absent) for name, absent in (collapsed or {}).items()}
    if axis in collapsed and _plain(value) == collapsed[axis]:
        return {}  # the networks without a hidden layer: structure, not a confound
    group = frame[frame[axis] == value]
    found = {}
    for other in axes:
        if other == axis or other not in frame:
            continue
        everywhere, here = _values(frame[other]), _values(group[other])
        skip = {collapsed[other]} if other in collapsed else set()
        if axis in collapsed and other == gate:
            skip.add("0")
        everywhere = [v for v in everywhere if _plain(v) not in skip]
        here = [v for v in here if _plain(v) not in skip]
        if len(everywhere) > 1 and len(here) < len(everywhere):
            found[other] = here
    return found


def _plain(value: object) -> str:
    """A value as compared with a collapsed one: ``0``, ``0.0`` and ``"0"`` alike."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def confound_note(found: dict[str, list]) -> str | None:
    """``found`` (from :func:`confounds`) in words, e.g. ``"run only with depth 4"``; None when empty."""
    if not found:
        return None
    parts = [f"{other} {', '.join(_shown(v) for v in values)}" for other, values in found.items()]
    return "run only with " + "; ".join(parts) + ": its effect cannot be told from theirs"


def _values(column: pd.Series) -> list:
    return sorted(dict.fromkeys(column.dropna()), key=lambda v: (isinstance(v, str), str(v) if isinstance(v, str) else v))


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
