"""Reaching MLflow: check a tracking URI, make a client, retry a call while the server is away.

Sets no global state when imported: :func:`make_client` applies fitcheck's client defaults and
quiets MLflow's start-up loggers when a client is first made; the command line calls
:func:`quiet_telemetry` once, before MLflow is imported.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlparse

from pipeline.errors import FitcheckError
from pipeline.tracking._store import local_store_lock

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")
_log = logging.getLogger(__name__)

ACCEPTED_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "file")
#: Schemes that may name a driver after a ``+`` (``postgresql+psycopg2://``), as SQLAlchemy reads them.
DATABASE_SCHEMES = ("postgresql", "mysql")
#: An MLflow REST call that any MLflow server answers with JSON, asked after ``/health``.
API_PROBE = "api/2.0/mlflow/experiments/search?max_results=1"
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
#: What a store says when its disk is full (SQLite, the OS, PostgreSQL): waiting does not free space, so no retries.
DISK_FULL = ("disk is full", "no space left on device", "could not extend file")
#: MLflow's own HTTP retries, kept short: :func:`with_retries` does the patient retrying. MLflow's
#: "View run ... at ..." lines (one per trial, and a run read back for each) are left out: the sweep
#: prints one link to all its trials instead.
CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
#: MLflow 3 reads this when it is imported; a telemetry thread then posts usage records.
TELEMETRY_SWITCH = "MLFLOW_DISABLE_TELEMETRY"
#: Set by a parent MLflow process (``mlflow run``); MLflow deletes it at import when telemetry is off.
TELEMETRY_SESSION = "_MLFLOW_TELEMETRY_SESSION_ID"
_NOISY_LOGGERS = ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent")


#: The store a command uses when neither ``--tracking-uri`` nor ``$MLFLOW_TRACKING_URI`` names one.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else :data:`DEFAULT_TRACKING_URI` (as ``fitcheck``'s commands read them)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


class TrackingUnavailable(Exception):
    """MLflow could not be reached after the bounded retries."""


def check_tracking_uri(uri: str) -> None:
    """Fail fast, in one line naming the URI, when it cannot be a working tracking store.

    Creates nothing: a SQLite file that does not exist yet stays absent.
    """
    parsed = urlparse(uri)
    if _base_scheme(parsed.scheme) not in ACCEPTED_SCHEMES:
        raise FitcheckError(f"--tracking-uri {uri!r}: unsupported scheme; accepted: "
                            "sqlite:///path.db, http://host:port, https://..., postgresql://..., file:///path")
    if parsed.scheme == "sqlite":
        path = Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
        if path is None or not path.parent.exists():
            raise FitcheckError(f"--tracking-uri {uri!r}: folder '{path.parent if path else uri}' does not exist")
    if parsed.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5) as response:
                body = response.read(64).decode(errors="replace").strip()
        except urllib.error.HTTPError as error:
            raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /health answered {error.code})") from None
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise FitcheckError(f"--tracking-uri {uri!r}: cannot reach the MLflow server ({reason})") from None
        if body != "OK":
            raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /health answered {body!r})")
        _check_mlflow_api(uri)
    if _base_scheme(parsed.scheme) in DATABASE_SCHEMES:
        _check_database_driver(uri)


def _base_scheme(scheme: str) -> str:
    """A database scheme without its driver: ``postgresql+psycopg`` -> ``postgresql``."""
    base = scheme.split("+", 1)[0]
    return base if base in DATABASE_SCHEMES else scheme


def _check_mlflow_api(uri: str) -> None:
    """Refuse a server that answers ``/health`` but not MLflow's REST API (another web server)."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/{API_PROBE}", timeout=5) as response:
            json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):  # an MLflow server with authentication: the client sends the credentials
            return
        raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /{API_PROBE} answered "
                            f"{error.code})") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FitcheckError(f"--tracking-uri {uri!r}: not an MLflow server (GET /{API_PROBE} gave no MLflow "
                            f"answer: {str(reason)[:100]})") from None


def _check_database_driver(uri: str) -> None:
    """Refuse a database URI whose Python driver is not installed (SQLAlchemy would fail deep inside MLflow)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        dialect = make_url(uri).get_dialect()
    except (ArgumentError, NoSuchModuleError) as error:
        raise FitcheckError(f"--tracking-uri {uri!r}: not a database URI SQLAlchemy accepts ({error})") from None
    try:
        dialect.import_dbapi()
    except ImportError as error:
        hint = 'pip install "fitcheck[postgres]"' if dialect.name == "postgresql" else f"install the {dialect.driver} driver"
        raise FitcheckError(f"--tracking-uri {uri!r}: needs the database driver {error.name or dialect.driver!r}, "
                            f"which is not installed; {hint}") from None


def quiet_telemetry() -> None:
    """Turn MLflow's telemetry off in this process and its children, unless the user chose (call before
    MLflow is imported, while one thread runs).

    MLflow's telemetry thread once crashed a sweep under ``mlflow run``: at import MLflow deleted
    the session variable inherited from ``mlflow run`` while ``requests`` read the environment in
    another thread (``KeyError: '_MLFLOW_TELEMETRY_SESSION_ID'``). With telemetry off nothing posts,
    and the variable is removed here, before any other thread exists.
    """
    if TELEMETRY_SWITCH in os.environ:
        return
    os.environ[TELEMETRY_SWITCH] = "true"
    os.environ.pop(TELEMETRY_SESSION, None)


def make_client(tracking_uri: str) -> MlflowClient:
    """An ``MlflowClient`` for ``tracking_uri``, with fitcheck's client defaults (the user's own
    ``MLFLOW_HTTP_REQUEST_*`` and ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT`` settings win) and
    MLflow's start-up chatter quieted."""
    from mlflow import MlflowClient

    for name, value in CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in _NOISY_LOGGERS:  # raised to WARNING, never lowered (the CLI without --verbose sets CRITICAL)
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    with local_store_lock(tracking_uri):  # MLflow creates a new store here, schema and all
        return MlflowClient(tracking_uri)


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn an MLflow error inside into a :class:`FitcheckError`: ``what``, then MLflow's first line.

    >>> with store_errors("cannot read the sweep from sqlite:///mlflow.db"):  # doctest: +SKIP
    ...     reader.trial_runs(experiment_id, parent_run_id)
    """
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        raise FitcheckError(f"{what}: {error.message.splitlines()[0]}") from None


def with_retries(call: Callable[[], T], *, what: str, delays: Iterable[float] = RETRY_DELAYS) -> T:
    """Run ``call``; on a connection or server error wait and retry, then raise :class:`TrackingUnavailable`."""
    from mlflow.exceptions import MlflowException

    last: Exception | None = None
    for delay in (0.0, *delays):
        if delay:
            time.sleep(delay)
        try:
            return call()
        except MlflowException as error:
            if error.get_http_status_code() < 500 and "connect" not in str(error).lower() and "max retries" not in str(error).lower():
                raise
            last = error
        except (OSError, ConnectionError) as error:
            last = error
        if any(words in str(last).lower() for words in DISK_FULL):
            break
        _log.warning("MLflow %s failed (%s); retrying", what, _first_line(last, 200))
    raise TrackingUnavailable(f"{what}: {_first_line(last, 300)}")


def _first_line(error: Exception, limit: int) -> str:
    """An error's first line that says something (SQLAlchemy's first line can be a hint about autoflush)."""
    lines = [line for line in str(error).splitlines() if line.strip() and not line.startswith("(raised as a result")]
    return (lines[0] if lines else str(error))[:limit]
