"""The one error type fitcheck raises for a user's mistake, and how its messages echo the input."""

from __future__ import annotations

from typing import Any

#: Longest piece of the user's input echoed in an error message.
ECHO_CHARS = 80


class FitcheckError(Exception):
    """A user error: bad spec, bad data, bad option, unreachable server.

    The CLI prints ``str(error)`` on one line and exits with code 2, without a
    traceback unless ``--verbose`` is given. Messages name the file, key or value
    and what would be accepted.
    """

    exit_code = 2


def echo(value: Any) -> str:
    """``repr(value)`` cut to :data:`ECHO_CHARS` characters, for echoing input in an error message.

    >>> echo("x" * 200)[-5:]
    "x...'"
    """
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS - 4]}...{text[-1]}"
