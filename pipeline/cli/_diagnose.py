"""``fitcheck diagnose``: label one run's fit from a curves CSV or from an MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd

from pipeline import names
from pipeline.cli import main
from pipeline.cli._common import tracking_uri_option, verbose_option
from pipeline.errors import FitcheckError

# Keras / MLflow autolog names of the task metric: (train name, val name, how to turn it into ours)
AUTOLOG_METRICS = {
    "error": [(name, f"val_{name}", lambda v: 1.0 - v) for name in
              ("accuracy", "binary_accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "acc")],
    "rmse": [("root_mean_squared_error", "val_root_mean_squared_error", lambda v: v),
             ("rmse", "val_rmse", lambda v: v)]
    + [(name, f"val_{name}", np.sqrt) for name in ("mean_squared_error", "mse")],
}


@main.command("diagnose")
@click.option("--curves", "curves_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV, one row per epoch: epoch, train_loss, val_loss, train_error, val_error "
                   "(or train_rmse, val_rmse for regression).")
@click.option("--run-id", default=None, help="Diagnose this MLflow run instead (fitcheck, autolog or MlflowCallback).")
@click.option("--task", type=click.Choice(names.TASKS), default=None,
              help="The task; read from the run's params when --run-id is given.")
@click.option("--n-train", type=click.IntRange(min=1), default=None, help="Training split size.")
@click.option("--n-val", type=click.IntRange(min=1), default=None, help="Validation split size.")
@click.option("--reference-error", type=click.FloatRange(min=0), default=None,
              help="Known optimal (Bayes or human-level) error; default: the sweep's, else 0.")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="text",
              show_default=True)
@tracking_uri_option
@verbose_option
def diagnose_command(curves_path, run_id, task, n_train, n_val, reference_error, output_format,
                     tracking_uri) -> None:
    """Label a run high bias, high variance, both or a good fit, and say where it should have stopped."""
    from pipeline.diagnostics import diagnose

    if (curves_path is None) == (run_id is None):
        raise FitcheckError("give exactly one of --curves FILE.csv or --run-id ID.")
    if curves_path is not None:
        inputs = _from_csv(curves_path, task=task, n_train=n_train, n_val=n_val,
                           reference_error=reference_error)
    else:
        inputs = _from_run(run_id, tracking_uri, task=task, n_train=n_train, n_val=n_val,
                           reference_error=reference_error)
    source = inputs.pop("source")
    try:
        diagnosis = diagnose(**inputs)
    except FitcheckError as error:
        raise FitcheckError(f"{source}: {error}") from None
    if output_format == "json":
        click.echo(json.dumps({"source": source, **diagnosis.to_dict()}, indent=2))
    else:
        click.echo(_text(source, diagnosis))


def _from_csv(path: Path, *, task, n_train, n_val, reference_error) -> dict:
    """Read a curves CSV; every problem becomes one line naming the file."""
    missing = [flag for flag, value in (("--task", task), ("--n-train", n_train), ("--n-val", n_val))
               if value is None]
    if missing:
        raise FitcheckError(f"--curves needs {', '.join(missing)}.")
    try:
        curves = pd.read_csv(path)
    except FileNotFoundError:
        raise FitcheckError(f"{path}: no such file.") from None
    except pd.errors.EmptyDataError:
        raise FitcheckError(f"{path}: empty file; need a header and one row per epoch.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise FitcheckError(f"{path}: not a readable CSV ({str(error).splitlines()[0]}).") from None
    return dict(source=str(path), curves=curves, task=task, n_train=n_train, n_val=n_val,
                reference_error=reference_error, reference_source=names.REFERENCE_GIVEN)


def _from_run(run_id: str, tracking_uri: str, *, task, n_train, n_val, reference_error) -> dict:
    """Read a run's metric histories and sizes from MLflow (fitcheck or Keras autolog names)."""
    from pipeline.tracking import TrackingReader, check_tracking_uri

    check_tracking_uri(tracking_uri)
    reader = TrackingReader(tracking_uri)
    run = reader.find_run(run_id)
    if run is None:
        raise FitcheckError(f"run {run_id!r} not found at {tracking_uri}.")
    parent = reader.parent_of(run)
    params = {**(parent.data.params if parent else {}), **run.data.params}
    task = task or params.get(names.TASK_PARAM) or _guess_task(run.data.metrics)
    n_train = n_train or _int(params.get(names.N_TRAIN_PARAM))
    n_val = n_val or _int(params.get(names.N_VAL_PARAM))
    if task not in names.TASKS:
        raise FitcheckError(f"run {run_id}: cannot tell the task from its params; give --task.")
    if n_train is None or n_val is None:
        raise FitcheckError(f"run {run_id}: no n_train/n_val params on the run or its parent; "
                            "give --n-train and --n-val.")
    reference_source = names.REFERENCE_GIVEN
    if reference_error is None and parent is not None and names.REFERENCE_ERROR in parent.data.metrics:
        reference_error = parent.data.metrics[names.REFERENCE_ERROR]
        reference_source = parent.data.tags.get(names.REFERENCE_SOURCE_TAG, names.REFERENCE_GIVEN)
    curves, running = _histories(reader, run, task)
    return dict(source=f"run {run_id}", curves=curves, task=task, n_train=n_train, n_val=n_val,
                reference_error=reference_error, reference_source=reference_source, running_train=running)


def _histories(reader, run, task: str) -> tuple[pd.DataFrame, bool]:
    """Per-epoch curves under fitcheck's names, and whether training values are running averages."""
    metric = names.task_metric(task)
    keys = set(run.data.metrics)
    ours = {names.TRAIN_LOSS, names.VAL_LOSS, f"train_{metric}", f"val_{metric}"}
    if ours <= keys:
        return _frame(reader, run, {name: (name, lambda v: v) for name in ours}), False
    for train_name, val_name, convert in AUTOLOG_METRICS[metric]:
        if {"loss", names.VAL_LOSS, train_name, val_name} <= keys:  # Keras also calls it val_loss
            mapping = {names.TRAIN_LOSS: ("loss", lambda v: v), names.VAL_LOSS: (names.VAL_LOSS, lambda v: v),
                       f"train_{metric}": (train_name, convert), f"val_{metric}": (val_name, convert)}
            return _frame(reader, run, mapping), True
    raise FitcheckError(
        f"run {run.info.run_id}: no per-epoch {metric} curves; it logs {', '.join(sorted(keys)) or 'no metrics'}; "
        f"need train_loss, val_loss, train_{metric}, val_{metric} or Keras's loss, val_loss and a metric "
        "such as accuracy / val_accuracy."
    )


def _frame(reader, run, mapping: dict) -> pd.DataFrame:
    columns = {}
    for ours, (theirs, convert) in mapping.items():
        by_step = reader.history(run.info.run_id, theirs)
        columns[ours] = pd.Series(convert(np.array(list(by_step.values()), dtype=float)),
                                  index=list(by_step))
    frame = pd.DataFrame(columns).sort_index().reset_index(drop=True)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def _guess_task(metrics: dict) -> str | None:
    if any(name.endswith("accuracy") or name.endswith("error") for name in metrics):
        return names.BINARY  # binary and multiclass are diagnosed alike, on the error rate
    if any(name.endswith(("rmse", "root_mean_squared_error", "mse", "mean_squared_error")) for name in metrics):
        return names.REGRESSION
    return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(source: str, diagnosis) -> str:
    d = diagnosis
    lines = [
        f"{source}: {d.label}  (at the recommended epoch: {d.label_at_recommended})",
        f"  train {d.metric} {_fmt(d.train_metric)}, validation {_fmt(d.val_metric)}, "
        f"reference {_fmt(d.reference_error)} ({d.reference_source})",
        f"  avoidable bias {_fmt(d.avoidable_bias)} (counts above {_fmt(d.bias_threshold)}); "
        f"variance gap {_fmt(d.variance_gap)} ± {_fmt(d.variance_gap_se)} (counts above {_fmt(d.variance_threshold)})",
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
