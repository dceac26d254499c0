"""A real ``mlflow server`` process for tests, on a free 127.0.0.1 port with its own SQLite store
(or the database given)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """A real ``mlflow server`` process with its own SQLite store (or ``backend_store_uri``) and artifact folder."""

    def __init__(self, root: Path, port: int | None = None, *, backend_store_uri: str | None = None):
        self.root = root
        self.backend_store_uri = backend_store_uri or f"sqlite:///{root / 'mlflow.db'}"
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> "MlflowServer":
        self.root.mkdir(parents=True, exist_ok=True)
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        self.process = subprocess.Popen(
            [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", self.backend_store_uri,
             "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1"],
            stdout=open(self.root / "server.log", "ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server did not start on {self.uri}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
