"""Stage 4 of the report: the one Jinja2 environment (autoescaped) and its formatting filters.

Templates only lay out what they are given; every number is formatted by a filter defined here, and
every value from the user (dataset, experiment, axis values, tags) is escaped by autoescaping.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from pipeline.names import LABEL_TITLES


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value: object, digits: int = 4) -> str:
    """``0.123456`` → ``"0.1235"``, ``12.0`` → ``"12"``, missing → ``"—"``; strings pass through."""
    if _is_missing(value):
        return "—"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def sort_key(value: object) -> str:
    """The ``data-sort`` attribute of a leaderboard cell: the raw number, or the text; missing → empty."""
    if _is_missing(value):
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def duration(seconds: object) -> str:
    """``3725`` → ``"1 h 2 min"``, ``75`` → ``"1 min 15 s"``, ``4.2`` → ``"4.2 s"``."""
    if _is_missing(seconds):
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def percent(fraction: object) -> str:
    return "—" if _is_missing(fraction) else f"{100 * float(fraction):.0f}%"


def timestamp(milliseconds: object) -> str:
    if _is_missing(milliseconds) or not milliseconds:
        return "—"
    return dt.datetime.fromtimestamp(float(milliseconds) / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The report's Jinja2 environment: package templates, autoescape on, undefined names are errors."""
    env = Environment(loader=PackageLoader("pipeline.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(number=number, sort_key=sort_key, duration=duration, percent=percent, timestamp=timestamp,
                       label_title=lambda label: LABEL_TITLES.get(label, label or "—"))
    return env


def render_report(context: dict) -> str:
    """Render ``templates/report.html.j2`` with the report context built by :mod:`pipeline.report._build`."""
    return environment().get_template("report.html.j2").render(**context)
