"""The one error type fitcheck raises for a user's mistake."""

from __future__ import annotations


class FitcheckError(Exception):
    """A user error: bad spec, bad data, bad option, unreachable server.

    The CLI prints ``str(error)`` on one line and exits with code 2, without a
    traceback unless ``--verbose`` is given. Messages name the file, key or value
    and what would be accepted.
    """

    exit_code = 2
