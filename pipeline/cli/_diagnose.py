"""``fitcheck diagnose``: label a run's fit from a curves CSV, an MLflow run or every run of an experiment.

Reads through :class:`pipeline.tracking.TrackingReader`; with ``--write`` the diagnosis goes back onto
each run through :class:`pipeline.tracking.RunWriter` (tags, summary metrics, files, description).
Writing is asked for, not the default: ``diagnose`` is otherwise a read-only look at runs that may be
someone else's, on a server where one may read but not write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click
import pandas as pd

from pipeline import names
from pipeline.cli import main
from pipeline.cli._common import tracking_uri_option, verbose_option
from pipeline.errors import FitcheckError
from pipeline.runs import CurveNames, curve_names, guess_task
from pipeline.runs import Size, infer_sizes


@dataclass(frozen=True)
class Diagnosed:
    """One diagnosis and what it was made from."""

    source: str
    diagnosis: object
    curves: pd.DataFrame
    n_train: Size
    n_val: Size
    running_train: bool = False
    run: object | None = None

    def to_dict(self) -> dict:
        sizes = {"n_train": self.n_train.value, "n_train_from": self.n_train.source,
                 "n_val": self.n_val.value, "n_val_from": self.n_val.source}
        run = {"run_id": self.run.info.run_id, "run_name": self.run.info.run_name} if self.run else {}
        return {"source": self.source, **run, "sizes": sizes, **self.diagnosis.to_dict()}


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
    if sum(value is not None for value in (curves_path, run_id, experiment)) != 1:
        raise FitcheckError("give exactly one of --curves FILE.csv, --run-id ID or --experiment NAME.")
    given = dict(task=task, n_train=n_train, n_val=n_val, reference_error=reference_error)
    if curves_path is not None:
        if write:
            raise FitcheckError("--write needs --run-id or --experiment: a CSV has no run to write to.")
        return _print(_from_csv(curves_path, **given), output_format)
    from pipeline.tracking import RunWriter, TrackingReader, check_tracking_uri

    check_tracking_uri(tracking_uri)
    reader = TrackingReader(tracking_uri)
    writer = RunWriter(tracking_uri, reader.client) if write else None
    if run_id is not None:
        run = reader.find_run(run_id)
        if run is None:
            raise FitcheckError(f"run {run_id!r} not found at {tracking_uri}.")
        diagnosed = _from_run(reader, run, **given)
        if writer:
            _write_back(writer, diagnosed)
        return _print(diagnosed, output_format, written=bool(writer))
    _diagnose_experiment(reader, writer, experiment, given, output_format)


def _diagnose(source: str, curves: pd.DataFrame, *, task: str, n_train: Size, n_val: Size,
              reference_error: float | None, reference_source: str, running_train: bool, run=None) -> Diagnosed:
    from pipeline.diagnostics import diagnose

    try:
        diagnosis = diagnose(curves, task=task, n_train=n_train.value, n_val=n_val.value, reference_error=reference_error,
                             reference_source=reference_source, running_train=running_train)
    except FitcheckError as error:
        raise FitcheckError(f"{source}: {error}") from None
    return Diagnosed(source, diagnosis, curves, n_train, n_val, running_train, run)


def _from_csv(path: Path, *, task, n_train, n_val, reference_error) -> Diagnosed:
    """Read a curves CSV (fitcheck's or Keras' names); every problem becomes one line naming the file."""
    missing = [flag for flag, value in (("--n-train", n_train), ("--n-val", n_val)) if value is None]
    if missing:
        raise FitcheckError(f"--curves needs {' and '.join(missing)}: a CSV holds no split sizes.")
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise FitcheckError(f"{path}: no such file.") from None
    except pd.errors.EmptyDataError:
        raise FitcheckError(f"{path}: empty file; need a header and one row per epoch.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise FitcheckError(f"{path}: not a readable CSV ({str(error).splitlines()[0]}).") from None
    task = task or guess_task(table.columns)
    if task is None:
        raise FitcheckError(f"{path}: cannot tell the task from columns {', '.join(map(str, table.columns))}; give --task.")
    found = curve_names(table.columns, task=task, source=str(path))
    curves = table if not found.running_train else found.curves(table)  # Keras' rows are epochs in order
    return _diagnose(str(path), curves, task=task, n_train=Size(n_train, "given"), n_val=Size(n_val, "given"),
                     reference_error=reference_error, reference_source=names.REFERENCE_GIVEN,
                     running_train=found.running_train)


def _from_run(reader, run, *, task, n_train, n_val, reference_error) -> Diagnosed:
    """A run's curves (fitcheck's or Keras' names) and sizes (given, or read from it and its parent)."""
    from pipeline.tracking import logged_datasets

    source = f"run {run.info.run_id}"
    if not run.data.metrics:
        raise FitcheckError(f"{source}: logs no metrics, so there are no curves to diagnose.")
    parent = reader.parent_of(run)
    params = {**(parent.data.params if parent else {}), **run.data.params}
    task = task or params.get(names.TASK_PARAM) or guess_task(run.data.metrics)
    if task not in names.TASKS:
        raise FitcheckError(f"{source}: cannot tell the task from its params or metric names; give --task.")
    found_train, found_val = infer_sizes(params, logged_datasets(run) + (logged_datasets(parent) if parent else []))
    sizes = {flag: Size(value, "given") if value else found
             for flag, value, found in (("--n-train", n_train, found_train), ("--n-val", n_val, found_val))}
    missing = [flag for flag, size in sizes.items() if size is None]
    if missing:
        raise FitcheckError(
            f"{source}: its size is not logged (no n_train/n_val params, no training or validation dataset input "
            f"with a shape, no validation_split or steps); give {' and '.join(missing)}, or log the data with "
            "mlflow.log_input(mlflow.data.from_numpy(x, targets=y), context='training') and context='validation'.")
    reference_source = names.REFERENCE_GIVEN
    if reference_error is None and parent is not None and names.REFERENCE_ERROR in parent.data.metrics:
        reference_error = parent.data.metrics[names.REFERENCE_ERROR]
        reference_source = parent.data.tags.get(names.REFERENCE_SOURCE_TAG, names.REFERENCE_GIVEN)
    elif reference_error is None and names.REFERENCE_ERROR in run.data.metrics:  # e.g. FitDiagnostics' own
        reference_error = run.data.metrics[names.REFERENCE_ERROR]
    found = curve_names(run.data.metrics, task=task, source=source)
    return _diagnose(source, _curves(reader, run, found), task=task, n_train=sizes["--n-train"],
                     n_val=sizes["--n-val"], reference_error=reference_error, reference_source=reference_source,
                     running_train=found.running_train, run=run)


def _curves(reader, run, found: CurveNames) -> pd.DataFrame:
    """The run's histories under fitcheck's names, one row per step that every curve logged, in step order."""
    theirs = sorted({name for name, _ in found.columns.values()})
    histories = reader.histories((run.info.run_id, name) for name in theirs)
    table = pd.DataFrame({name: pd.Series(histories[(run.info.run_id, name)], dtype=float) for name in theirs})
    return found.curves(table.sort_index().dropna())


def _write_back(writer, diagnosed: Diagnosed) -> None:
    """Put the diagnosis on its run: labels, summary metrics, files and description (the user's own text kept)."""
    from pipeline.runs import merge_description
    from pipeline.runs import trial_payload

    run, diagnosis = diagnosed.run, diagnosed.diagnosis
    curves = {name: list(values) for name, values in diagnosed.curves.drop(columns="epoch").items()}
    title = run.info.run_name or run.info.run_id
    title += "  (training curves: Keras' running averages)" if diagnosed.running_train else ""
    payload = trial_payload(curves, task=diagnosis.task, title=title, diagnosis=diagnosis,
                            reference_error=diagnosis.reference_error)
    tags = {**payload.tags, names.NOTE_TAG: merge_description(run.data.tags.get(names.NOTE_TAG),
                                                              payload.tags[names.NOTE_TAG])}
    writer.write(run.info.run_id, metrics=payload.metrics, tags=tags, artifacts=payload.artifacts)


def _diagnose_experiment(reader, writer, experiment: str, given: dict, output_format: str) -> None:
    """Every run of the experiment with curves; runs that cannot be diagnosed are listed with the reason."""
    from tqdm import tqdm

    found = reader.experiment(experiment)
    if found is None:
        known = ", ".join(repr(name) for name in reader.experiment_names()) or "none"
        raise FitcheckError(f"--experiment {experiment!r}: no such experiment; experiments: {known}.")
    runs = [run for run in reader.runs(found.experiment_id)
            if run.data.tags.get(names.ROLE_TAG) != names.ROLE_SWEEP]  # a sweep's parent has no curves
    diagnosed, skipped = [], []
    for run in tqdm(runs, desc="diagnose", unit="run", disable=None, leave=False):
        try:
            diagnosed.append(_from_run(reader, run, **given))
        except FitcheckError as error:
            skipped.append((run, str(error).removeprefix(f"run {run.info.run_id}: ")))
            continue
        if writer:
            _write_back(writer, diagnosed[-1])
    if not diagnosed:
        reasons = "; ".join(f"{run.info.run_name}: {reason}" for run, reason in skipped[:3]) or "it holds no runs"
        raise FitcheckError(f"--experiment {experiment!r}: no run could be diagnosed ({reasons}).")
    if output_format == "json":
        click.echo(json.dumps({"experiment": experiment, "runs": [item.to_dict() for item in diagnosed],
                               "skipped": [{"run_id": run.info.run_id, "run_name": run.info.run_name, "reason": reason}
                                           for run, reason in skipped]}, indent=2))
        return
    for item in diagnosed:
        d, run = item.diagnosis, item.run
        stop = f"stop at epoch {d.recommended_epochs} of {d.epochs_run}" if d.recommended_epochs else "no stop"
        click.echo(f"{run.info.run_name} ({run.info.run_id[:8]}): {d.label}; {stop}; "
                   f"validation {d.metric} {_fmt(d.val_metric)}")
    for run, reason in skipped:
        click.echo(f"skipped {run.info.run_name} ({run.info.run_id[:8]}): {reason}")
    counts = pd.Series([item.diagnosis.label for item in diagnosed]).value_counts()
    click.echo(f"\n{len(diagnosed)} of {len(runs)} runs diagnosed: "
               + ", ".join(f"{count} {label}" for label, count in counts.items()))
    if writer:
        click.echo(f"written back: filter them in the MLflow UI with tags.{names.DIAGNOSIS_TAG} = '{counts.index[0]}'")


def _print(diagnosed: Diagnosed, output_format: str, *, written: bool = False) -> None:
    if output_format == "json":
        click.echo(json.dumps(diagnosed.to_dict(), indent=2))
        return
    click.echo(_text(diagnosed))
    if written:
        click.echo(f"  written to the run: tags {names.DIAGNOSIS_TAG}, {names.DIAGNOSIS_AT_RECOMMENDED_TAG}, "
                   "summary metrics, diagnosis.json, curves.png and its description")


def _text(diagnosed: Diagnosed) -> str:
    d = diagnosed.diagnosis
    lines = [
        f"{diagnosed.source}: {d.label}  (at the recommended epoch: {d.label_at_recommended})",
        f"  train {d.metric} {_fmt(d.train_metric)}, validation {_fmt(d.val_metric)}, "
        f"reference {_fmt(d.reference_error)} ({d.reference_source})",
        f"  avoidable bias {_fmt(d.avoidable_bias)} (counts above {_fmt(d.bias_threshold)}); "
        f"variance gap {_fmt(d.variance_gap)} ± {_fmt(d.variance_gap_se)} (counts above {_fmt(d.variance_threshold)})",
        f"  sizes: {diagnosed.n_train.value} training rows ({diagnosed.n_train.source}), "
        f"{diagnosed.n_val.value} validation rows ({diagnosed.n_val.source})",
        f"  converged: {'yes' if d.converged else 'no, the training loss was still falling'}",
    ]
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
