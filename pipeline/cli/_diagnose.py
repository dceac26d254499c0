"""``fitcheck diagnose``: label a run's fit from a curves CSV, an MLflow run or every run of an experiment.

Parses the flags, calls :mod:`pipeline.own_runs` (:func:`~pipeline.own_runs.diagnose_csv`,
:func:`~pipeline.own_runs.diagnose_run`, :func:`~pipeline.own_runs.diagnose_experiment`) and prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from pipeline import names
from pipeline.cli import main
from pipeline.cli._common import tracking_uri_option, verbose_option
from pipeline.errors import FitcheckError


@main.command("diagnose")
@click.option("--curves", "curves_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV, one row per epoch: fitcheck's epoch, train_loss, val_loss, train_error, val_error "
                   "(train_rmse, val_rmse for regression), or Keras' pd.DataFrame(history.history).to_csv().")
@click.option("--run-id", default=None, help="Diagnose this MLflow run (fitcheck, autolog or MlflowCallback).")
@click.option("--experiment", default=None, help="Diagnose every run of this MLflow experiment.")
@click.option("--task", type=click.Choice(names.TASKS), default=None,
              help="The task; default: the run's task param, else told by the metric names.")
@click.option("--n-train", type=click.IntRange(min=1), default=None,
              help="Training split size; default: read from the run (params, dataset inputs, validation_split).")
@click.option("--n-val", type=click.IntRange(min=1), default=None, help="Validation split size; default: as --n-train.")
@click.option("--reference-error", type=click.FloatRange(min=0), default=None,
              help="Known optimal (Bayes or human-level) error; default: the sweep's, else 0.")
@click.option("--write/--no-write", default=False, show_default=True,
              help="Write the diagnosis back onto each run: tags diagnosis and diagnosis_at_recommended, "
                   "summary metrics, diagnosis.json, curves.png and the run's description.")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="text", show_default=True)
@tracking_uri_option
@verbose_option
def diagnose_command(curves_path, run_id, experiment, task, n_train, n_val, reference_error, write, output_format,
                     tracking_uri) -> None:
    """Label runs high bias, high variance, both or a good fit, and say where each should have stopped."""
    from pipeline.own_runs import diagnose_csv, diagnose_experiment, diagnose_run

    if sum(value is not None for value in (curves_path, run_id, experiment)) != 1:
        raise FitcheckError("give exactly one of --curves FILE.csv, --run-id ID or --experiment NAME.")
    if curves_path is not None:
        if write:
            raise FitcheckError("--write needs --run-id or --experiment: a CSV has no run to write to.")
        missing = [flag for flag, value in (("--n-train", n_train), ("--n-val", n_val)) if value is None]
        if missing:
            raise FitcheckError(f"--curves needs {' and '.join(missing)}: a CSV holds no split sizes.")
        return _print(diagnose_csv(curves_path, task=task, n_train=n_train, n_val=n_val,
                                   reference_error=reference_error), output_format)
    given = dict(tracking_uri=tracking_uri, task=task, n_train=n_train, n_val=n_val, reference_error=reference_error,
                 write=write)
    if run_id is not None:
        return _print(diagnose_run(run_id, **given), output_format, written=write)
    _print_experiment(diagnose_experiment(experiment, **given), output_format, written=write)


def _print_experiment(result, output_format: str, *, written: bool) -> None:
    if output_format == "json":
        click.echo(json.dumps({"experiment": result.experiment, "runs": [item.to_dict() for item in result.diagnosed],
                               "skipped": [{"run_id": run.info.run_id, "run_name": run.info.run_name, "reason": reason}
                                           for run, reason in result.skipped]}, indent=2))
        return
    for item in result.diagnosed:
        d, run = item.diagnosis, item.run
        stop = f"stop at epoch {d.recommended_epochs} of {d.epochs_run}" if d.recommended_epochs else "no stop"
        click.echo(f"{run.info.run_name} ({run.info.run_id[:8]}): {d.label}; {stop}; "
                   f"validation {d.metric} {_fmt(d.val_metric)}")
    for run, reason in result.skipped:
        click.echo(f"skipped {run.info.run_name} ({run.info.run_id[:8]}): {reason}")
    counts = pd.Series([item.diagnosis.label for item in result.diagnosed]).value_counts()
    click.echo(f"\n{len(result.diagnosed)} of {result.n_runs} runs diagnosed: "
               + ", ".join(f"{count} {label}" for label, count in counts.items()))
    if written:
        click.echo(f"written back: filter them in the MLflow UI with tags.{names.DIAGNOSIS_TAG} = '{counts.index[0]}'")


def _print(diagnosed, output_format: str, *, written: bool = False) -> None:
    if output_format == "json":
        click.echo(json.dumps(diagnosed.to_dict(), indent=2))
        return
    click.echo(_text(diagnosed))
    if written:
        click.echo(f"  written to the run: tags {names.DIAGNOSIS_TAG}, {names.DIAGNOSIS_AT_RECOMMENDED_TAG}, "
                   "summary metrics, diagnosis.json, curves.png and its description")


def _text(diagnosed) -> str:
    d = diagnosed.diagnosis
    lines = [
        f"{diagnosed.source}: {d.label}  (at the recommended epoch: {d.label_at_recommended})",
        f"  train {d.metric} {_fmt(d.train_metric)}, validation {_fmt(d.val_metric)}, "
        f"reference {_fmt(d.reference_error)} ({d.reference_source})",
        f"  avoidable bias {_fmt(d.avoidable_bias)} (counts above {_fmt(d.bias_threshold)}); "
        f"variance gap {_fmt(d.variance_gap)} ± {_fmt(d.variance_gap_se)} (counts above {_fmt(d.variance_threshold)})",
        f"  sizes: {diagnosed.n_train.value} training rows ({diagnosed.n_train.source}), "
        f"{diagnosed.n_val.value} validation rows ({diagnosed.n_val.source})",
        "  converged: " + ("cannot tell (too few epochs)" if d.converged is None else "yes" if d.converged
                           else "no, still learning: the training loss was still falling beyond its noise"),
    ]
    if d.unstable:
        lines.append(f"  unstable: from epoch {d.unstable_epoch}, a jump far beyond the curve's noise")
    if d.borderline:
        lines.append(f"  borderline: {' and '.join(d.borderline)} within one standard error of the threshold")
    if d.recommended_epochs is not None:
        stop = d.early_stopping
        lines += [
            f"  stop after {d.recommended_epochs} of {d.epochs_run} epochs "
            f"(regret {_fmt(d.regret)}, {d.epochs_saved} epochs saved)",
            f"  keras.callbacks.EarlyStopping(monitor={stop['monitor']!r}, mode={stop['mode']!r}, "
            f"patience={stop['patience']}, min_delta={stop['min_delta']:.4g}, restore_best_weights=True)",
        ]
    lines.append(f"  advice: {d.advice}")
    lines += [f"  note: {note}" for note in d.notes]
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"
