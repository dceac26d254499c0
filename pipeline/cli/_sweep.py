"""``fitcheck sweep SPEC``: train every configuration of a grid and track it in MLflow."""

from __future__ import annotations

import sys

import click

from pipeline.cli import STARTED, main
from pipeline.cli._common import tracking_uri_option, verbose_option


class ReferenceErrorOption(click.ParamType):
    """A non-negative number, or ``spec`` to keep what the spec says."""

    name = "ERROR|spec"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, float) or value == "spec":
            return None if value == "spec" else value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number; give an error rate or RMSE >= 0, or 'spec'", param, ctx)
        if number < 0:
            self.fail(f"{number:g} is negative; give an error rate or RMSE >= 0, or 'spec'", param, ctx)
        return number


@main.command("sweep")
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
@tracking_uri_option
@click.option("--experiment", default=None, help="MLflow experiment (default: the spec's 'experiment' or file name).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where trials run: local processes or a Ray cluster (pip install fitcheck[ray]).")
@click.option("--ray-address", default=None, help="Ray cluster address (default: start a local Ray instance).")
@click.option("--resume/--restart", default=True, show_default=True,
              help="Resume the latest sweep of this spec (skip finished trials) or start a fresh parent run.")
@click.option("--reference-error", type=ReferenceErrorOption(), default="spec", show_default=True,
              help="Known optimal (Bayes or human-level) error; 'spec' keeps the spec's setting.")
@click.option("--yes", is_flag=True, help="Run a grid larger than the spec's max_trials.")
@click.option("--early-stopping", is_flag=True,
              help="End each trial once its recommended epoch can no longer change; keep that epoch's weights.")
@click.option("--fail-on-error", is_flag=True, help="Exit with code 1 when any trial failed.")
@click.option("--learning-curve", is_flag=True,
              help="After the sweep, train its best configurations on nested subsets of the training split (the "
                   "spec's learning_curve, else sizes 1/8, 1/4, 1/2, 1 for the top 3) and judge whether more data "
                   "would help.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--no-fuse", is_flag=True,
              help="Train one model per trial (default: trials sharing optimizer, learning rate, batch size, epochs "
                   "and seed train as one fused model).")
@verbose_option
@click.pass_context
def sweep_command(ctx: click.Context, spec: str, workers, tracking_uri, experiment, executor, ray_address, resume,
                  reference_error, yes, early_stopping, fail_on_error, learning_curve, no_report, no_progress,
                  no_fuse) -> None:
    """Run the sweep described by the YAML file SPEC."""
    from pipeline import interrupt
    from pipeline.sweep import SweepOptions, run_sweep

    interrupt.install()  # Ctrl-C and `kill` end the runs in flight as KILLED

    options = SweepOptions(
        tracking_uri=tracking_uri, experiment=experiment, workers=workers, executor=executor,
        ray_address=ray_address, resume=resume, yes=yes, reference_error=reference_error,
        early_stopping=early_stopping, report=not no_report, progress=not no_progress, fuse=not no_fuse,
        verbose=bool(ctx.find_root().obj.get("verbose")), started=STARTED, learning_curve=learning_curve,
    )
    result = run_sweep(spec, options)
    _print_summary(result)
    if result.n_unlogged:
        sys.exit(1)
    if fail_on_error and result.n_failed:
        sys.exit(1)


def _print_summary(result) -> None:
    from pipeline.runs import one_line

    labels = result.labels()
    click.echo(f"\nexperiment '{result.experiment}', sweep run {result.parent_run_id}")
    held = f", {result.n_held} held by another fitcheck process" if result.n_held else ""
    click.echo(f"trials: {result.n_trials} in grid, {len(result.records)} run now, {result.n_skipped} already finished "
               f"(resumed){held}, {result.n_dropped_invalid} dropped as invalid, {result.n_failed} failed")
    if result.reference_error is not None:
        capped = (f", capped from the estimate {result.reference_estimate:.4g} by the sweep's best validation "
                  "error" if result.reference_estimate not in (None, result.reference_error) else "")
        click.echo(f"reference error: {result.reference_error:.4g} ({result.reference_source}{capped})")
    if labels:
        click.echo("diagnosis: " + ", ".join(f"{label} {count}" for label, count in labels.most_common()))
    if result.all_records:
        from pipeline.diagnostics import ranking_sentence

        ranked = result.summary_frame(result.task)
        click.echo("\n" + ranking_sentence(ranked, n_val=result.n_val, name="trial"))
        shown = ranked.head(10).assign(tied=ranked["tied_with_best"].map({True: "yes", False: ""}),
                                       pick=ranked["pick"].map({True: "<-", False: ""}))
        shown = shown.drop(columns=["se", "tied_with_best", "status", "eligible"], errors="ignore").rename(
            columns={"pick": ""})
        click.echo("\nbest trials (validation at the recommended epoch; tied = within one standard error "
                   "of the best):\n" + shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if result.rounds:
        _print_rounds(result)
    failures = [r for r in result.records if r.outcome and r.outcome.status == "FAILED"]
    for record in failures[:10]:
        click.echo(f"FAILED {record.name}: {one_line(record.outcome.error or 'failed')}", err=True)
    for name, _, verdict in result.learning_curves:
        click.echo(f"learning curve {name}: {verdict.advice}")
    if result.n_unlogged:
        click.echo(f"{result.n_unlogged} trial(s) could not be written to MLflow; run the same command again to "
                   "resume them", err=True)
    for line in result.ending_errors:  # the trials stand: one line each, the exit code stays the sweep's
        click.echo(f"fitcheck: warning: {line}", err=True)
    click.echo(f"wall time: {result.seconds:.1f} s")
    if result.report_path:
        click.echo(f"report: {result.report_path}")
    if result.links:
        click.echo("\n".join(result.links.lines()))


def _print_rounds(result) -> None:
    """A recipe search's path: each round, why it held what it ran, its best so far, and why the recipe stopped."""
    from pipeline import names
    from pipeline.runs._descriptions import number

    metric = names.task_metric(result.task)
    last = result.rounds[-1]
    count = len(result.rounds)
    click.echo(f"\nrecipe: {count} round{'s' * (count != 1)}, {last.spent} trials (the summary above is of the last "
               "round; the report tells the path)")
    for done in result.rounds:
        best = (f"; recommended so far {done.best_name}, validation {metric} {number(done.best_value, metric)} "
                f"({names.LABEL_TITLES.get(done.best_label, done.best_label)})" if done.best_name else "")
        click.echo(f"  round {done.number} ({done.n_trials} trials){best}")
        for why in done.why:
            click.echo(f"    - {why}")
    click.echo(f"stopped: {result.stopped}")
    for left in last.left:
        click.echo(f"    - {left}")
