"""Where a tracking store lives on disk: whether it exists, and creating a SQLite store one process at a time.

MLflow creates a SQLite store (file and schema) when a client is first made for it. Two processes
doing so at once race on the schema (``sqlite3.OperationalError: duplicate column name``), so
:func:`local_store_lock` serialises client creation on a lock of the store's folder; and a
command that only reads calls :func:`require_store` first, so that it never creates a store.
A database store (PostgreSQL, MySQL) is checked for MLflow's tables before a reading command
makes a client, because MLflow would create them in an empty database.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from pipeline.errors import FitcheckError


def local_store_path(uri: str) -> Path | None:
    """The file (``sqlite:///``) or folder (``file://``) of a store on this machine; None for others."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    if urlparse(uri).scheme == "file":
        return Path(urlparse(uri).path)
    return None


def require_store(uri: str) -> None:
    """Refuse, in one line, a store that does not exist: a missing local file or folder, or a database
    without MLflow's tables (a command that only reads creates none)."""
    path = local_store_path(uri)
    if path is not None and not path.exists():
        kind = "file" if uri.startswith("sqlite:") else "folder"
        raise FitcheckError(f"no MLflow store at {uri!r}: the {kind} does not exist; "
                            "pass the --tracking-uri the sweep wrote to")
    if urlparse(uri).scheme.split("+")[0] in ("postgresql", "mysql") and not _has_mlflow_tables(uri):
        raise FitcheckError(f"no MLflow store at {uri!r}: the database holds no MLflow tables; "
                            "pass the --tracking-uri the sweep wrote to")


def _has_mlflow_tables(uri: str) -> bool:
    """Whether the database at ``uri`` holds MLflow's ``experiments`` table (connection errors say so)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(uri)
    try:
        return inspect(engine).has_table("experiments")
    except SQLAlchemyError as error:
        raise FitcheckError(f"--tracking-uri {uri!r}: cannot read the database "
                            f"({str(error.orig or error).splitlines()[0][:200]})") from None
    finally:
        engine.dispose()


@contextmanager
def local_store_lock(uri: str) -> Iterator[bool]:
    """Hold an exclusive lock on a SQLite store's folder while inside (no file is left behind); True when held.

    False for other stores (a tracking server, PostgreSQL): another machine may write to them, so a caller that
    needs their writes in order waits and reads back instead. Wrap the first client made for a store (whichever
    process gets the lock first creates the schema, the other then finds it complete) and the sweep's claims
    (:mod:`pipeline.tracking._claiming`). Not re-entrant: never make a client inside it.
    """
    path = local_store_path(uri) if uri.startswith("sqlite:///") else None
    if path is None or not path.parent.is_dir():
        yield False
        return
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(folder)  # closing the descriptor releases the lock
