"""Options shared by the ``fitcheck`` subcommands."""

from __future__ import annotations

import click


def verbose_option(command):
    """Add ``--verbose`` to a subcommand; it sets the same flag as ``fitcheck --verbose``."""

    def _set(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.find_root().ensure_object(dict)["verbose"] = True
        return value

    return click.option(
        "--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set,
        help="Show tracebacks and TensorFlow/MLflow logs.",
    )(command)


def tracking_uri_option(command):
    """Add ``--tracking-uri`` (default: ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``)."""
    return click.option(
        "--tracking-uri", envvar="MLFLOW_TRACKING_URI", default="sqlite:///mlflow.db", show_default=True,
        help="MLflow tracking URI: a sqlite:/// store or an http:// server.",
    )(command)
