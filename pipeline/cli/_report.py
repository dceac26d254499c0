"""``fitcheck report``: rebuild a sweep's HTML report from what MLflow holds."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli import main
from pipeline.cli._common import tracking_uri_option, verbose_option


@main.command("report")
@click.option("--experiment", default=None, help="Report the latest sweep in this MLflow experiment.")
@click.option("--sweep-run-id", default=None, help="Report this sweep (parent) run instead of the latest one.")
@tracking_uri_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the HTML file.  [default: reports/<experiment>.html]")
@verbose_option
def report_command(experiment: str | None, sweep_run_id: str | None, tracking_uri: str, out: Path | None) -> None:
    """Write one self-contained HTML report of a sweep, built only from MLflow."""
    from pipeline.report import build_report
    from pipeline.tracking import check_tracking_uri

    check_tracking_uri(tracking_uri)
    path = build_report(tracking_uri, experiment_name=experiment, sweep_run_id=sweep_run_id, out=out)
    click.echo(f"report: {path}")
