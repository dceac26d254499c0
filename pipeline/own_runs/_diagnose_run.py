"""Diagnose a curves CSV, an MLflow run or an experiment's runs; optionally write the diagnosis back.

Reads through :class:`pipeline.tracking.TrackingReader`; with ``write=True`` the diagnosis goes back onto
each run through :class:`pipeline.tracking.RunWriter` (tags, summary metrics, files, description).
Writing is asked for, not the default: a run may be someone else's, on a server where one may read
but not write. Every problem is one :class:`FitcheckError` line naming its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import names
from pipeline.diagnostics import NON_FINITE_WORDS
from pipeline.errors import FitcheckError, echo
from pipeline.runs import (
    MODEL_SUMMARY,
    CurveNames,
    Size,
    curve_names,
    guess_task,
    infer_sizes,
    merge_description,
    run_configuration,
    task_from_summary,
    trial_payload,
)
from pipeline.spec import check_reference_error
from pipeline.tracking import (
    RunWriter,
    TrackingReader,
    check_tracking_uri,
    default_tracking_uri,
    logged_datasets,
)


@dataclass(frozen=True)
class DiagnosedRun:
    """One diagnosis and what it was made from: the source, the curves read, the sizes and the run, if any."""

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


@dataclass(frozen=True)
class ExperimentDiagnosis:
    """Every run of an experiment that could be diagnosed, and why the others could not (run, reason)."""

    experiment: str
    diagnosed: list[DiagnosedRun]
    skipped: list[tuple[object, str]] = field(default_factory=list)
    n_runs: int = 0


def diagnose_csv(path: str | Path, *, n_train: int, n_val: int, task: str | None = None,
                 reference_error: float | None = None) -> DiagnosedRun:
    """Diagnose a curves CSV: fitcheck's names, or Keras' ``pd.DataFrame(history.history).to_csv()``.

    >>> diagnose_csv("history.csv", n_train=800, n_val=200).diagnosis.label  # doctest: +SKIP
    'high_variance'
    """
    path = Path(path)
    try:  # "nan" and "inf" stay values (a diverged run); an empty cell or NA is an epoch not measured
        table = pd.read_csv(path, keep_default_na=False, na_values=MISSING_CELLS)
    except FileNotFoundError:
        raise FitcheckError(f"{path}: no such file.") from None
    except pd.errors.EmptyDataError:
        raise FitcheckError(f"{path}: empty file; need a header and one row per epoch.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise FitcheckError(f"{path}: not a readable CSV ({str(error).splitlines()[0]}).") from None
    task = task or _told_task(str(path), guess_task(table.columns), f"columns {', '.join(map(str, table.columns))}")
    found = curve_names(table.columns, task=task, source=str(path))
    if found.running_train:  # Keras' names: History's rows, or CSVLogger's with a 0-based epoch column
        curves = found.curves(_measured_epochs(table, found, source=str(path)), source=str(path))
    else:
        curves = table
    return _diagnose(str(path), curves, task=task, n_train=Size(n_train, "given"), n_val=Size(n_val, "given"),
                     reference_error=reference_error, reference_source=names.REFERENCE_GIVEN,
                     running_train=found.running_train)


def diagnose_run(run_id: str, *, tracking_uri: str | None = None, task: str | None = None,
                 n_train: int | None = None, n_val: int | None = None, reference_error: float | None = None,
                 write: bool = False) -> DiagnosedRun:
    """Diagnose one MLflow run (fitcheck's, ``mlflow.keras.autolog()``'s or ``MlflowCallback``'s).

    The task, sizes and reference not given are read from the run and its parent (see
    :func:`pipeline.runs.infer_sizes`); ``tracking_uri`` defaults to ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlflow.db``. With ``write=True`` the diagnosis is written onto the run.

    >>> pipeline.diagnose_run("4f1c…", tracking_uri="sqlite:///mlflow.db").diagnosis.label  # doctest: +SKIP
    'good_fit'
    """
    reader, writer = _open(tracking_uri, write=write)
    run = reader.find_run(run_id)
    if run is None:
        raise FitcheckError(f"run {run_id!r} not found at {reader.tracking_uri}.")
    diagnosed = _from_run(reader, run, task=task, n_train=n_train, n_val=n_val, reference_error=reference_error)
    if writer:
        _write_back(writer, diagnosed)
    return diagnosed


def diagnose_experiment(experiment: str, *, tracking_uri: str | None = None, task: str | None = None,
                        n_train: int | None = None, n_val: int | None = None, reference_error: float | None = None,
                        write: bool = False) -> ExperimentDiagnosis:
    """Diagnose every run of an experiment that has curves (a sweep's parent has none); the runs that
    cannot be diagnosed are listed with the reason. Raises when none could be."""
    from tqdm import tqdm

    reader, writer = _open(tracking_uri, write=write)
    found = reader.experiment(experiment)
    if found is None:
        known = ", ".join(repr(name) for name in reader.experiment_names()) or "none"
        raise FitcheckError(f"--experiment {experiment!r}: no such experiment; experiments: {known}.")
    runs = [run for run in reader.runs(found.experiment_id)
            if run.data.tags.get(names.ROLE_TAG) != names.ROLE_SWEEP]
    diagnosed, skipped = [], []
    for run in tqdm(runs, desc="diagnose", unit="run", disable=None, leave=False):
        try:
            diagnosed.append(_from_run(reader, run, task=task, n_train=n_train, n_val=n_val,
                                       reference_error=reference_error))
        except FitcheckError as error:
            skipped.append((run, str(error).removeprefix(f"run {run.info.run_id}: ")))
            continue
        if writer:
            _write_back(writer, diagnosed[-1])
    if not diagnosed:
        reasons = "; ".join(f"{run.info.run_name}: {reason}" for run, reason in skipped[:3]) or "it holds no runs"
        raise FitcheckError(f"--experiment {experiment!r}: no run could be diagnosed ({reasons}).")
    return ExperimentDiagnosis(experiment, diagnosed, skipped, len(runs))


#: Cells of a curves CSV that hold no value (an epoch a curve was not measured at, e.g. ``validation_freq``).
MISSING_CELLS = ["", "NA", "N/A", "null", "None"]


def _measured_epochs(table: pd.DataFrame, found: CurveNames, *, source: str) -> pd.DataFrame:
    """The rows of a Keras curves table in epoch order (by its ``epoch`` column where it has one) at which every
    curve was measured; a repeated epoch (two fits appended to one CSVLogger file) is refused in one line."""
    if "epoch" in table.columns:
        epochs = pd.to_numeric(table["epoch"], errors="coerce")
        repeated = epochs.duplicated()
        if epochs.isna().any() or repeated.any():
            row = int(np.flatnonzero((epochs.isna() | repeated).to_numpy())[0])
            raise FitcheckError(f"{source}: column epoch, row {row + 1}: epoch {echo(str(table['epoch'].iloc[row]))} "
                                "is not a new whole number (two fits appended to one file?); keep one fit's rows")
        table = table.assign(epoch=epochs).sort_values("epoch", kind="stable")
    theirs = sorted({name for name, _ in found.columns.values()})
    missing = table[theirs].isna().any(axis=1)  # an empty cell: not measured that epoch ("nan" is a value)
    for name in theirs:
        numeric = pd.to_numeric(table[name], errors="coerce")
        text = table[name].astype(str).str.strip().str.lower()
        bad = numeric.isna() & table[name].notna() & ~text.isin(NON_FINITE_WORDS)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise FitcheckError(f"{source}: column {name}, row {row + 1}: must be a number (nan and inf allowed: a "
                                f"diverged run) but got {echo(table[name].iloc[row])}.")
        table = table.assign(**{name: numeric})
    measured = table[~missing.to_numpy()]
    if measured.empty:
        raise FitcheckError(f"{source}: no epoch holds every curve ({', '.join(theirs)}); need one row per epoch")
    return measured.reset_index(drop=True)


def _told_task(source: str, guessed: str | None, looked_at: str) -> str:
    """The task a guess tells, or a one-line refusal naming what was read and the flag that settles it."""
    if guessed == names.CLASSIFICATION:
        raise FitcheckError(f"{source}: {looked_at} tell a classification but not whether it is binary or "
                            "multiclass; give --task binary or --task multiclass.")
    if guessed is None:
        raise FitcheckError(f"{source}: cannot tell the task from {looked_at}; give --task.")
    return guessed


def _open(tracking_uri: str | None, *, write: bool) -> tuple[TrackingReader, RunWriter | None]:
    tracking_uri = tracking_uri or default_tracking_uri()
    check_tracking_uri(tracking_uri)
    reader = TrackingReader(tracking_uri)
    return reader, RunWriter(tracking_uri, reader.client) if write else None


def _diagnose(source: str, curves: pd.DataFrame, *, task: str, n_train: Size, n_val: Size,
              reference_error: float | None, reference_source: str, running_train: bool, run=None,
              config: dict | None = None) -> DiagnosedRun:
    from pipeline.diagnostics import diagnose

    if reference_source == names.REFERENCE_GIVEN:
        check_reference_error(reference_error, task, where="--reference-error")
    try:
        diagnosis = diagnose(curves, task=task, n_train=n_train.value, n_val=n_val.value, reference_error=reference_error,
                             reference_source=reference_source, running_train=running_train, config=config)
    except FitcheckError as error:
        raise FitcheckError(f"{source}: {error}") from None
    return DiagnosedRun(source, diagnosis, curves, n_train, n_val, running_train, run)


def _from_run(reader: TrackingReader, run, *, task, n_train, n_val, reference_error) -> DiagnosedRun:
    """A run's curves (fitcheck's or Keras' names) and sizes (given, or read from it and its parent)."""
    source = f"run {run.info.run_id}"
    if not run.data.metrics:
        raise FitcheckError(f"{source}: logs no metrics, so there are no curves to diagnose.")
    parent = reader.parent_of(run)
    params = {**(parent.data.params if parent else {}), **run.data.params}
    if not task and not params.get(names.TASK_PARAM):
        guessed = guess_task(run.data.metrics)
        if guessed == names.CLASSIFICATION:  # plain "accuracy" tells classification, not how many classes: read the model
            guessed = task_from_summary(reader.artifact_text(run.info.run_id, MODEL_SUMMARY), guessed)
        task = _told_task(source, guessed, "its params, metric names or model summary")
    task = task or params.get(names.TASK_PARAM)
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
        # a diagnosis written back says where its reference came from: a second diagnosis keeps it (idempotent)
        reference_source = run.data.tags.get(names.REFERENCE_SOURCE_TAG, names.REFERENCE_GIVEN)
    found = curve_names(run.data.metrics, task=task, source=source)
    return _diagnose(source, _curves(reader, run, found), task=task, n_train=sizes["--n-train"],
                     n_val=sizes["--n-val"], reference_error=reference_error, reference_source=reference_source,
                     running_train=found.running_train, run=run,
                     config=run_configuration(params, n_train=sizes["--n-train"].value))


def _curves(reader: TrackingReader, run, found: CurveNames) -> pd.DataFrame:
    """The run's histories under fitcheck's names, one row per step that every curve logged, in step order."""
    theirs = sorted({name for name, _ in found.columns.values()})
    histories = reader.histories((run.info.run_id, name) for name in theirs)
    table = pd.DataFrame({name: pd.Series(histories[(run.info.run_id, name)], dtype=float) for name in theirs})
    return found.curves(table.sort_index().dropna(), source=f"run {run.info.run_id}")


def _write_back(writer: RunWriter, diagnosed: DiagnosedRun) -> None:
    """Put the diagnosis on its run: labels, summary metrics, files and description (the user's own text kept)."""
    run, diagnosis = diagnosed.run, diagnosed.diagnosis
    curves = {name: list(values) for name, values in diagnosed.curves.drop(columns="epoch").items()}
    title = run.info.run_name or run.info.run_id
    title += "  (training curves: Keras' running averages)" if diagnosed.running_train else ""
    payload = trial_payload(curves, task=diagnosis.task, title=title, diagnosis=diagnosis,
                            reference_error=diagnosis.reference_error)
    tags = {**payload.tags, names.REFERENCE_SOURCE_TAG: diagnosis.reference_source, names.NOTE_TAG: merge_description(run.data.tags.get(names.NOTE_TAG),
                                                              payload.tags[names.NOTE_TAG])}
    writer.write(run.info.run_id, metrics=payload.metrics, tags=tags, artifacts=payload.artifacts)
