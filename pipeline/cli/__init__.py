"""The ``fitcheck`` command line: ``sweep``, ``diagnose``, ``report`` and ``next``; flags in, text out.

Each command parses its flags, calls one library function and prints; the work lives elsewhere.

Never imports: mlflow, tensorflow, keras, pipeline.training.
"""

from __future__ import annotations

import logging
import os
import sys
import time

STARTED = time.perf_counter()  # the command's own start, for the wall time the sweep reports

import click

from pipeline.errors import FitcheckError


class _Group(click.Group):
    """A click group that turns :class:`FitcheckError` into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FitcheckError as error:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(f"fitcheck: error: {_one_line(error)}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("fitcheck: interrupted; run the same command again to resume", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.option("--verbose", is_flag=True, help="Show tracebacks and TensorFlow/MLflow logs.")
@click.version_option(package_name="fitcheck")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """fitcheck: sweep Keras networks, track them in MLflow, diagnose bias and variance."""
    from pipeline.tracking import quiet_telemetry

    quiet_telemetry()  # before MLflow is imported and before any thread starts
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    to_stderr = logging.StreamHandler()
    to_stderr.setFormatter(_Prefixed())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[to_stderr])
    if not verbose:  # MLflow logs its own failures as tracebacks: fitcheck says each in one line instead
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "CRITICAL")  # MLflow sets its loggers' level on import
        logging.getLogger("mlflow").setLevel(logging.CRITICAL)


class _Prefixed(logging.Formatter):
    """fitcheck's own log lines as ``fitcheck: warning: ...`` (as its errors are said); other libraries' unchanged."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"fitcheck: {record.levelname.lower()}: {text}" if record.name.startswith("pipeline") else text


def _one_line(error: Exception) -> str:
    from pipeline.runs import one_line

    return one_line(error, limit=2000)


def _register() -> None:
    from pipeline.cli import _diagnose, _next, _report, _sweep  # noqa: F401  (commands attach to main)


_register()
