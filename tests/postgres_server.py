"""A real PostgreSQL server for tests: a throwaway cluster (``initdb``) on a free 127.0.0.1 port.

Uses the server binaries of Debian's ``postgresql`` package (``make test`` installs it). PostgreSQL
refuses to run as root, so under root (CI) the cluster belongs to the package's ``postgres`` user
and its commands run through ``runuser``; its folder is made outside pytest's private temporary
tree, which that user cannot enter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tracking_server import free_port

SERVER_USER = "postgres"
DATABASE_USER = "fitcheck"


def server_bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: on the PATH, else the newest of Debian's versions."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    if not versions:
        raise RuntimeError("PostgreSQL's server is not installed: apt-get install postgresql (make test does)")
    return Path(versions[-1]).parent


class PostgresServer:
    """A PostgreSQL cluster of its own, with trust authentication for :data:`DATABASE_USER` on 127.0.0.1."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fitcheck-postgres-"))
        self.data = self.root / "data"
        self.bindir = server_bindir()
        self._as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.root, user=SERVER_USER)

    def uri(self, database: str, *, driver: str = "") -> str:
        """The SQLAlchemy URI of ``database``, e.g. ``postgresql://fitcheck@127.0.0.1:PORT/mlflow``."""
        return f"postgresql{'+' + driver if driver else ''}://{DATABASE_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = self.root / "server.log"
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr[-2000:]}"
                               + (log.read_text()[-2000:] if log.exists() else ""))

    def start(self) -> "PostgresServer":
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", DATABASE_USER, "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "start")
        return self

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URI."""
        import psycopg

        with psycopg.connect(self.uri("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
