"""Ctrl-C and SIGTERM stop a sweep cleanly, even when the KeyboardInterrupt they raise is lost.

A signal handler's exception is swallowed when it lands in a finalizer (``__del__``, a weakref
callback): Python prints "Exception ignored" and carries on. The handler therefore also records
the request, and the sweep checks it between events with :func:`raise_if_requested`.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()


def install() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt and remember that a stop was asked for."""
    _requested.clear()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def raise_if_requested() -> None:
    """Raise KeyboardInterrupt if a signal asked to stop, even if its own exception was lost."""
    if _requested.is_set():
        raise KeyboardInterrupt


def _handler(_signum, _frame) -> None:
    _requested.set()
    raise KeyboardInterrupt
