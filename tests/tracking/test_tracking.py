"""The tracking boundary: which MLflow failures are retried, which URIs are refused, which runs are stale.

Real parts only: SQLite stores in a temporary folder, a closed port, and a tiny HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import errno
import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.tracking import SweepTracker, TrackingUnavailable, check_tracking_uri, with_retries
from tracking_server import free_port

NO_WAIT = (0.0, 0.0)  # two retries without sleeping: three attempts in all


class _Server:
    """A tiny HTTP server on 127.0.0.1 that answers every request with one status and body (or, for a
    path in ``routes``, that path's), and records them."""

    def __init__(self, status: int, body: bytes, routes: dict[str, tuple[int, bytes]] | None = None):
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(f"{self.command} {self.path}")
                status, body = (routes or {}).get(self.path, default)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        default = (status, body)
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


@pytest.fixture
def http_server() -> Iterator:
    """Start tiny servers answering a fixed status and body: ``http_server(503, b"busy")``, or
    per path: ``http_server(404, b"", routes={"/health": (200, b"OK")})``."""
    started = []

    def start(status: int, body: bytes, routes: dict[str, tuple[int, bytes]] | None = None) -> _Server:
        started.append(_Server(status, body, routes))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory) -> str:
    """One SQLite store for the module (creating one costs seconds); tests use their own experiments."""
    return f"sqlite:///{tmp_path_factory.mktemp('tracking') / 'mlflow.db'}"


@pytest.fixture
def no_http_retries(monkeypatch):
    """MLflow's own HTTP client retries nothing, so each attempt of ``with_retries`` is one request."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


def _counted(call):
    """``call`` wrapped so that ``wrapper.attempts`` counts how often it ran."""
    def wrapper():
        wrapper.attempts += 1
        return call()

    wrapper.attempts = 0
    return wrapper


# -- with_retries ------------------------------------------------------------------------------
def test_a_client_error_is_raised_at_once(store_uri):
    client = MlflowClient(store_uri)
    call = _counted(lambda: client.get_run("0" * 32))
    with pytest.raises(MlflowException) as raised:
        with_retries(call, what="read run", delays=NO_WAIT)
    assert raised.value.get_http_status_code() == 404 and raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert call.attempts == 1


def test_a_refused_connection_is_retried_then_unavailable(no_http_retries):
    client = MlflowClient(f"http://127.0.0.1:{free_port()}")
    call = _counted(lambda: client.search_experiments(max_results=1))
    with pytest.raises(TrackingUnavailable, match=r"^connect: API request to http://127\.0\.0\.1:\d+/api/2\.0/"
                                                  r"mlflow/experiments/search failed with exception"):
        with_retries(call, what="connect", delays=NO_WAIT)
    assert call.attempts == 3


def test_an_os_error_is_retried():
    port = free_port()
    call = _counted(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
    with pytest.raises(TrackingUnavailable, match=rf"^open socket: \[Errno {errno.ECONNREFUSED}\] Connection refused$"):
        with_retries(call, what="open socket", delays=NO_WAIT)
    assert call.attempts == 3


def test_a_full_disk_is_not_retried():
    """Waiting frees no space: the kernel's own ENOSPC (writing to /dev/full) is unavailable at the first attempt."""
    def write_to_full_device():
        with open("/dev/full", "w") as device:
            device.write("x")

    call = _counted(write_to_full_device)
    with pytest.raises(TrackingUnavailable, match=r"^log artifacts: \[Errno 28\] No space left on device$"):
        with_retries(call, what="log artifacts", delays=NO_WAIT)
    assert call.attempts == 1


def test_a_server_error_is_retried(no_http_retries, http_server):
    server = http_server(503, b"busy")
    client = MlflowClient(server.uri)
    call = _counted(lambda: client.search_experiments(max_results=1))
    with pytest.raises(TrackingUnavailable, match="too many 503 error responses"):
        with_retries(call, what="search", delays=NO_WAIT)
    assert call.attempts == 3
    assert server.requests == ["POST /api/2.0/mlflow/experiments/search"] * 3


def test_a_client_error_from_a_server_is_raised_at_once(no_http_retries, http_server):
    server = http_server(400, b'{"error_code": "INVALID_PARAMETER_VALUE", "message": "max_results is wrong"}')
    client = MlflowClient(server.uri)
    call = _counted(lambda: client.search_experiments(max_results=1))
    with pytest.raises(MlflowException, match="^INVALID_PARAMETER_VALUE: max_results is wrong$"):
        with_retries(call, what="search", delays=NO_WAIT)
    assert call.attempts == 1 and len(server.requests) == 1


def test_a_success_after_a_connection_error_returns_its_value():
    outcomes = iter([OSError("connection reset"), "logged"])

    def flaky():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    call = _counted(flaky)
    assert with_retries(call, what="log", delays=NO_WAIT) == "logged"
    assert call.attempts == 2


# -- check_tracking_uri ------------------------------------------------------------------------
def _accepted(uri: str) -> bool:
    try:
        check_tracking_uri(uri)
    except FitcheckError:
        return False
    return True


@pytest.mark.parametrize("uri", [
    "postgresql://user:secret@db.invalid:5432/mlflow",
    "postgresql+psycopg://user@db.invalid/mlflow",
    "postgresql+psycopg2://user@db.invalid/mlflow",
    "file:///nowhere/mlruns",
])
def test_database_and_file_uris_are_accepted_without_connecting(uri):
    assert _accepted(uri)
    assert not _accepted(uri.replace("://", "x://", 1))  # the same URI under an unknown scheme is refused


def test_a_database_uri_without_its_driver_names_the_driver():
    uri = "mysql+pymysql://user@db.invalid/mlflow"  # fitcheck installs no MySQL driver
    assert _refusal(uri) == (f"--tracking-uri {uri!r}: needs the database driver 'pymysql', which is not installed; "
                             "install the pymysql driver")


def test_sqlite_in_an_existing_folder_is_accepted(tmp_path):
    assert _accepted(f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()
    assert not _accepted(f"sqlite:///{tmp_path / 'missing' / 'new.db'}")


HEALTH, API = "/health", "/api/2.0/mlflow/experiments/search?max_results=1"


def test_a_server_answering_ok_and_json_is_accepted(http_server):
    server = http_server(404, b"", routes={HEALTH: (200, b"OK"), API: (200, b'{"experiments": []}')})
    assert _accepted(server.uri)
    assert _accepted(server.uri + "/")
    assert server.requests == [f"GET {HEALTH}", f"GET {API}"] * 2


def test_a_server_asking_for_credentials_is_accepted(http_server):
    """An MLflow server with authentication: the client, not the check, sends the credentials."""
    server = http_server(401, b"", routes={HEALTH: (200, b"OK")})
    assert _accepted(server.uri)


def test_a_web_server_answering_health_ok_and_404_elsewhere(http_server):
    server = http_server(404, b"not found", routes={HEALTH: (200, b"OK")})
    assert _refusal(server.uri) == (f"--tracking-uri {server.uri!r}: not an MLflow server "
                                    f"(GET {API} answered 404)")
    assert server.requests == [f"GET {HEALTH}", f"GET {API}"]


def test_a_web_server_answering_health_ok_and_html_elsewhere(http_server):
    server = http_server(200, b"<html>hello</html>", routes={HEALTH: (200, b"OK")})
    assert _refusal(server.uri).startswith(f"--tracking-uri {server.uri!r}: not an MLflow server "
                                           f"(GET {API} gave no MLflow answer: ")


def _refusal(uri: str) -> str:
    with pytest.raises(FitcheckError) as raised:
        check_tracking_uri(uri)
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("uri", ["ftp://example.com/mlflow", "mlflow.db", "s3://bucket/mlruns"])
def test_unsupported_scheme(uri):
    assert _refusal(uri) == (f"--tracking-uri {uri!r}: unsupported scheme; accepted: sqlite:///path.db, "
                             "http://host:port, https://..., postgresql://..., file:///path")


def test_sqlite_in_a_missing_folder(tmp_path):
    uri = f"sqlite:///{tmp_path / 'absent' / 'mlflow.db'}"
    assert _refusal(uri) == f"--tracking-uri {uri!r}: folder '{tmp_path / 'absent'}' does not exist"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_unreachable_server(scheme):
    uri = f"{scheme}://127.0.0.1:{free_port()}"
    assert _refusal(uri) == (f"--tracking-uri {uri!r}: cannot reach the MLflow server "
                             f"([Errno {errno.ECONNREFUSED}] Connection refused)")


def test_a_server_answering_something_else(http_server):
    server = http_server(200, b"<html>hello</html>")
    assert _refusal(server.uri) == (f"--tracking-uri {server.uri!r}: not an MLflow server "
                                    "(GET /health answered '<html>hello</html>')")


def test_a_server_answering_404(http_server):
    server = http_server(404, b"not found")
    assert _refusal(server.uri) == f"--tracking-uri {server.uri!r}: not an MLflow server (GET /health answered 404)"
    assert server.requests == ["GET /health"]


# -- SweepTracker.kill_stale -------------------------------------------------------------------
@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of another process on this host that stays alive for the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_kill_stale_marks_runs_of_dead_or_foreign_sweeps(store_uri, live_pid):
    tracker = SweepTracker(store_uri)
    tracker.use_experiment("stale")
    parent = tracker.client.create_run(tracker.experiment_id, tags={names.ROLE_TAG: names.ROLE_SWEEP})
    tracker.parent_run_id = parent.info.run_id
    host, dead_pid = socket.gethostname(), _dead_pid()
    owners = {
        "dead here": (str(dead_pid), host, "RUNNING"),
        "live here": (str(live_pid), host, "RUNNING"),
        "live elsewhere": (str(live_pid), "another-host.invalid", "RUNNING"),
        "this process": (str(os.getpid()), host, "RUNNING"),
        "no pid": ("", host, "RUNNING"),
        "dead here, finished": (str(dead_pid), host, "FINISHED"),
        "dead here, failed": (str(dead_pid), host, "FAILED"),
    }
    for key, (pid, run_host, status) in owners.items():
        run = tracker.client.create_run(tracker.experiment_id, tags={
            names.PARENT_RUN_TAG: tracker.parent_run_id, names.ROLE_TAG: names.ROLE_TRIAL, names.TRIAL_KEY_TAG: key,
            names.PID_TAG: pid, names.HOST_TAG: run_host})
        if status != "RUNNING":
            tracker.client.set_terminated(run.info.run_id, status=status)

    runs = [run for same_key in tracker.trial_runs().values() for run in same_key]
    assert tracker.kill_stale(runs) == 4

    after = {key: (run.info.status, run.data.tags.get(names.ERROR_TAG))
             for key, (run,) in tracker.trial_runs().items()}
    died = "sweep process died; run again by resume"
    assert after == {
        "dead here": ("KILLED", died),
        "live here": ("RUNNING", None),
        "live elsewhere": ("KILLED", died),
        "this process": ("KILLED", died),
        "no pid": ("KILLED", died),
        "dead here, finished": ("FINISHED", None),
        "dead here, failed": ("FAILED", None),
    }
    assert tracker.client.get_run(tracker.parent_run_id).info.status == "RUNNING"
