"""``fitcheck next``: write the spec of a sweep's next round and say why, change by change.

Parses the flags, calls :func:`pipeline.recipe.write_next_round` and prints its reasons.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli import main
from pipeline.cli._common import tracking_uri_option, verbose_option


@main.command("next")
@click.argument("sweep")
@tracking_uri_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The spec file to write.  [default: experiments/<spec>-next<k>.yaml]")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@verbose_option
def next_command(sweep: str, tracking_uri: str, output: Path | None, force: bool) -> None:
    """Write the next round's spec for SWEEP (a sweep run id, or an experiment's latest sweep): the changes the
    best configurations' advice names, each with its evidence."""
    from pipeline.recipe import write_next_round
    from pipeline.runs._descriptions import number
    from pipeline.tracking import check_tracking_uri

    check_tracking_uri(tracking_uri)
    written = write_next_round(sweep, tracking_uri=tracking_uri, output=output, force=force)
    plan, previous = written.plan, written.previous
    over = f" over {previous.rounds} rounds" if previous.rounds > 1 else ""
    click.echo(f"next round of sweep {previous.run_id} (experiment {previous.experiment!r}, "
               f"{len(previous.trials)} finished trials{over}):")
    shown = None
    for reason in plan.reasons:  # grouped by the trial whose advice they follow
        if reason.trial != shown:
            click.echo(f"  {reason.trial}")
            shown = reason.trial
        click.echo(f"    - {reason.change} ({reason.evidence}) → {reason.outcome}")
    if plan.best is not None:
        click.echo(f"to beat: {plan.best.name}, validation {previous.metric} "
                   f"{number(plan.best.val_metric, previous.metric)} (the recommended configuration)")
    if written.path is None:
        click.echo("no next round: no advised change is left to run; confirm the best configuration on held-out "
                   "test data")
        return
    count = len(plan.configurations)
    click.echo(f"spec: {written.path} ({count} new configuration{'s' * (count != 1)})")
    click.echo(f"run it: fitcheck sweep {written.path} --tracking-uri {tracking_uri}")
