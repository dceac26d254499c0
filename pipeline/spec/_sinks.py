"""What the places a spec's names and values end up in accept: MLflow keys and values, run names, terminals.

A spec is refused up front for anything a later sink would refuse mid-sweep, so these rules are
restated here (this package never imports MLflow): MLflow's key rule (letters, digits, ``_ - . /``
and spaces, no path that resolves elsewhere, at most 250 characters), the 250 characters of a run
name in MLflow's SQL stores (PostgreSQL's ``varchar(250)``), and text free of control characters,
which would move a terminal's cursor or break a description's table.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata

#: MLflow's longest param, metric and tag key (``MAX_ENTITY_KEY_LENGTH``).
MAX_KEY_CHARS = 250
#: A run name's column in MLflow's SQL stores (``runs.name``: ``varchar(250)``).
MAX_RUN_NAME_CHARS = 250
#: MLflow's longest param value (``MAX_PARAM_VAL_LENGTH``).
MAX_PARAM_VALUE_CHARS = 6000
#: MLflow's key characters where every platform accepts them (a colon is refused on Windows).
KEY_CHARACTERS = "letters, digits, '_', '-', '.', '/' and spaces"
_KEY = re.compile(r"^[\w.\- /]+$")
_NOT_KEY = re.compile(r"[^\w.\- /]")
#: Unicode's bidirectional controls: they reorder how the text around them is shown.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def control_character(text: str) -> str | None:
    """The first control character of ``text`` as ``U+001B`` (newlines, escapes, bidi overrides), or None."""
    for char in text:
        if unicodedata.category(char) == "Cc" or char in _BIDI:
            return f"U+{ord(char):04X}"
    return None


def key_problem(key: str) -> str | None:
    """Why MLflow would refuse ``key`` as a param or metric name, in words; None when it accepts it.

    >>> key_problem("units"), key_problem("a/../b")
    (None, "is a path that resolves to 'b'")
    >>> key_problem("units<b>")
    "holds '<'; accepted: letters, digits, '_', '-', '.', '/' and spaces"
    """
    if not key:
        return "is empty"
    if len(key) > MAX_KEY_CHARS:
        return f"is {len(key)} characters long; at most {MAX_KEY_CHARS}"
    refused = _NOT_KEY.search(key)
    if refused:
        return f"holds {refused.group()!r}; accepted: {KEY_CHARACTERS}"
    normal = posixpath.normpath(key)
    if normal != key or normal == "." or normal.startswith(("..", "/")):
        return f"is a path that resolves to {normal!r}"
    return None


def capped(name: str, *, limit: int = MAX_RUN_NAME_CHARS) -> str:
    """``name``, or its first characters and a hash of the whole when it is longer than ``limit``.

    Two names that differ only past the cut keep different hashes, so shortened names stay apart.

    >>> capped("d2w32"), len(capped("x" * 300)), capped("x" * 300) != capped("x" * 299 + "y")
    ('d2w32', 250, True)
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[:limit - len(digest) - 1]}-{digest}"


def key_part(name: str, *, limit: int) -> str:
    """``name`` made fit to stand inside an MLflow key (``lc_val_error/<name>``), at most ``limit`` characters.

    A name MLflow accepts (a run name of letters, digits, ``_ - .`` and spaces) stays as it is; in
    another, each refused character and each ``/`` becomes ``_`` and a hash of the original is added, so
    two names that differ only there stay apart.

    >>> key_part("d2w32-lr0.01", limit=50), key_part("act<x>", limit=50)
    ('d2w32-lr0.01', 'act_x_-cd310a69ef')
    """
    safe = _NOT_KEY.sub("_", name).replace("/", "_")
    if safe == name and key_problem(name) is None:
        return capped(name, limit=limit)
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{safe[:limit - len(digest) - 1]}-{digest}"
