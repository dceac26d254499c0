"""Logging into the MLflow run someone else started (``mlflow.start_run``), never stopping their work.

:class:`ActiveRunLog` is how code that runs inside a user's own training (``FitDiagnostics``) logs:
params, per-epoch metrics, tags and a JSON file, each onto the active run when there is one. The first
failure (an unreachable server, a rejected value) warns once and turns logging off until
:meth:`ActiveRunLog.begin` is called again; argument errors of the caller are not its business.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

#: MLflow's HTTP client settings inside these calls: one try and a short timeout, so an unreachable
#: server costs seconds once, not MLflow's default minutes of retries per call.
BOUNDED_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


class ActiveRunLog:
    """Failure-tolerant logging onto MLflow's active run, on behalf of ``owner`` (named in its warning).

    Examples
    --------
    >>> log = ActiveRunLog("FitDiagnostics")
    >>> log.begin(enabled=True)
    >>> log.metrics({"val_error": 0.2}, step=1)  # no active run: nothing is logged
    """

    def __init__(self, owner: str):
        self.owner = owner
        self.enabled = False

    def begin(self, *, enabled: bool) -> None:
        """Start a new piece of work (a ``fit``): log when ``enabled``, whatever failed before."""
        self.enabled = enabled

    def params(self, params: Mapping[str, object]) -> None:
        self._log(lambda mlflow: mlflow.log_params(dict(params)))

    def metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Log ``metrics``, at ``step`` (an epoch) when given."""
        self._log(lambda mlflow: mlflow.log_metrics(dict(metrics), step=step))

    def tags(self, tags: Mapping[str, str]) -> None:
        self._log(lambda mlflow: mlflow.set_tags(dict(tags)))

    def json_file(self, content: dict, name: str) -> None:
        """Attach ``content`` as the JSON file ``name`` (``diagnosis.json``)."""
        self._log(lambda mlflow: mlflow.log_dict(content, name))

    def _log(self, write: Callable[..., None]) -> None:
        """Run ``write(mlflow)`` against the active run, if any; a failure warns once and stops logging."""
        if not self.enabled:
            return
        import mlflow

        if mlflow.active_run() is None:
            return
        try:
            with _bounded_http():
                write(mlflow)
        except Exception as error:  # MLflow must never stop the caller's work
            self.enabled = False
            warnings.warn(f"{self.owner}: MLflow logging failed, so it is off for the rest of this fit "
                          f"(training and the diagnosis go on): {type(error).__name__}: {error}",
                          RuntimeWarning, stacklevel=4)


@contextmanager
def _bounded_http() -> Iterator[None]:
    """MLflow's HTTP retry settings bounded (:data:`BOUNDED_HTTP`) for the calls inside, then restored."""
    saved = {name: os.environ.get(name) for name in BOUNDED_HTTP}
    os.environ.update(BOUNDED_HTTP)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
