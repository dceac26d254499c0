"""A stop signal ends the sweep even when its KeyboardInterrupt is swallowed by a finalizer."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest

from pipeline import interrupt


@pytest.fixture
def installed():
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    interrupt.install()
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


class _SignalsInFinalizer:
    """Sends SIGTERM to this process from ``__del__``, where Python swallows the exception it raises."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):  # the Python-level handler runs here, inside the finalizer
            pass


@pytest.mark.usefixtures("installed")
def test_a_signal_lost_in_a_finalizer_is_still_raised_at_the_next_check(monkeypatch):
    swallowed = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: swallowed.append(unraisable.exc_type))
    interrupt.raise_if_requested()  # nothing asked yet
    _SignalsInFinalizer()  # collected at once; its KeyboardInterrupt is "ignored"
    gc.collect()
    assert swallowed == [KeyboardInterrupt]  # Python swallowed it ...
    with pytest.raises(KeyboardInterrupt):
        interrupt.raise_if_requested()  # ... and the check raises it again


@pytest.mark.usefixtures("installed")
def test_install_clears_an_earlier_request():
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):
            pass
    interrupt.install()
    interrupt.raise_if_requested()  # a new sweep starts clean
