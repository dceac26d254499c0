"""A finished sweep read back for its next round: its spec file, its trials and the advice of the best ones.

Reads MLflow only through :class:`pipeline.tracking.TrackingReader`, and only what the next round needs: the
parent run and the rounds it came from, one run per trial key of each, the spec file logged on the parent and ``diagnosis.json`` of the trials whose
advice the round follows (:func:`pipeline.recipe.best_configurations`). It never writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from pipeline import names
from pipeline.diagnostics import AdviceItem
from pipeline.errors import FitcheckError
from pipeline.recipe._next import TOP, FinishedTrial, best_configurations
from pipeline.spec import AXES, by_name
from pipeline.spec._read_yaml import read_yaml_text
from pipeline.tracking import TrackingReader, one_run_per_trial_key, store_errors

#: An MLflow run as :class:`~pipeline.tracking.TrackingReader` returns it (this package never imports MLflow).
Run = Any

#: The file a trial's diagnosis is logged as (:func:`pipeline.runs.trial_payload`).
DIAGNOSIS_FILE = "diagnosis.json"
#: What a spec file's name may end with, tried in turn: the parent logs the spec file under its own name.
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class PreviousSweep:
    """A finished sweep as its next round needs it: the spec it ran, its finished trials (and those of the rounds it
    came from) and its sizes."""

    run_id: str
    experiment: str
    spec_name: str
    spec: dict
    trials: tuple[FinishedTrial, ...]
    task: str
    n_val: int
    n_train: int | None
    #: How many rounds the trials come from: the sweep and those it is the next round of.
    rounds: int = 1

    @property
    def metric(self) -> str:
        """The task metric, ``"error"`` or ``"rmse"``."""
        return names.task_metric(self.task)


def read_previous_sweep(sweep: str, *, tracking_uri: str, top: int = TOP, spec: dict | None = None) -> PreviousSweep:
    """Read the sweep ``sweep`` (a sweep run id, or an experiment's name for its latest sweep) from MLflow.

    The advice (``diagnosis.json``) is read for the ``top`` configurations the round follows. ``spec``: the spec
    it ran, as a dict (a recipe search holds it); else the spec file the sweep logged. A sweep that logged no spec
    file (a spec given in Python as a dict) or holds no finished trial is refused in one line.
    """
    reader = TrackingReader(tracking_uri)  # refuses a store that does not exist
    with store_errors(f"cannot read the sweep from {tracking_uri}"):
        parent = _find_sweep(reader, sweep)
        experiment = reader.experiment_by_id(parent.info.experiment_id)
        rounds = reader.sweep_chain(parent)  # newest first: their trials compete, measured changes are quoted
        spec_name = parent.data.tags.get(names.SPEC_NAME_TAG, "")
        spec = spec if spec is not None else _logged_spec(reader, parent, spec_name)
        params = parent.data.params
        task = params.get(names.TASK_PARAM, names.BINARY)
        trials = [_finished(run, task, f" [round {number}]" if len(rounds) > 1 else "")
                  for number, sweep in enumerate(reversed(rounds), start=1)
                  for run in one_run_per_trial_key(reader.trial_runs(sweep.info.experiment_id, sweep.info.run_id))
                  if run.info.status == "FINISHED"]
        if not any(trial.val_metric is not None for trial in trials):
            raise FitcheckError(f"sweep {parent.info.run_id} holds no finished trial with a validation "
                                f"{names.task_metric(task)} to learn from; run or resume it first")
        n_val = int(params.get(names.N_VAL_PARAM, 0) or 0)
        sources = {trial.run_id for trial in best_configurations(trials, n_val=n_val, metric=names.task_metric(task),
                                                                 top=top)}
        trials = [_with_advice(reader, trial) if trial.run_id in sources else trial for trial in trials]
    n_train = params.get(names.N_TRAIN_PARAM)
    return PreviousSweep(parent.info.run_id, experiment.name, spec_name, _reference_given(spec, parent),
                         tuple(trials), task, n_val, int(n_train) if n_train else None, len(rounds))


def _find_sweep(reader: TrackingReader, sweep: str) -> Run:
    """The sweep run ``sweep``, else the latest sweep of the experiment so named."""
    run = reader.find_run(sweep)
    if run is not None:
        role = run.data.tags.get(names.ROLE_TAG)
        if role != names.ROLE_SWEEP:
            raise FitcheckError(f"run {sweep!r} is not a fitcheck sweep: its tag {names.ROLE_TAG} is {role!r}, "
                                f"expected {names.ROLE_SWEEP!r}; give a sweep (parent) run id or an experiment name")
        return run
    experiment = reader.experiment(sweep)
    if experiment is None:
        known = ", ".join(repr(name) for name in reader.experiment_names()) or "none"
        raise FitcheckError(f"{sweep!r} is neither a run id nor an experiment in {reader.tracking_uri}; "
                            f"accepted: a sweep run id or an experiment name ({known})")
    latest = reader.latest_sweep(experiment.experiment_id)
    if latest is None:
        raise FitcheckError(f"experiment {sweep!r} holds no fitcheck sweep (no run tagged "
                            f"{names.ROLE_TAG}={names.ROLE_SWEEP}); run `fitcheck sweep` first")
    return latest


def _logged_spec(reader: TrackingReader, parent: Run, spec_name: str) -> dict:
    """The spec file the parent logged, parsed (YAML 1.2 numbers, bounded, as the spec loader reads it)."""
    for file in (f"{spec_name}{suffix}" for suffix in SPEC_SUFFIXES):
        text = reader.artifact_text(parent.info.run_id, file) if spec_name else None
        if text is not None:
            raw = read_yaml_text(text, source=f"sweep {parent.info.run_id}: {file}")
            if isinstance(raw, dict):
                return raw
    raise FitcheckError(f"sweep {parent.info.run_id} logged no spec file {spec_name or '(unnamed)'}.yaml: a spec "
                        "given in Python as a dict logs none; accepted: a sweep run from a spec file")


def _reference_given(spec: dict, parent: Run) -> dict:
    """The spec, with the reference error the sweep was given on the command line (``--reference-error``) where the
    spec itself names none: the next round is judged against the same reference."""
    key = names.REFERENCE_ERROR  # the spec key is spelt as the parent's metric
    given = parent.data.tags.get(names.REFERENCE_SOURCE_TAG) == names.REFERENCE_GIVEN
    value = parent.data.metrics.get(names.REFERENCE_ERROR)
    if given and value is not None and isinstance(spec.get(key, names.REFERENCE_SPEC_ESTIMATE), str):
        return {**spec, key: value}
    return spec


def _finished(run: Run, task: str, round_mark: str = "") -> FinishedTrial:
    """A finished trial run as the round reads it; a pruned one ranked by its best value and never followed;
    ``round_mark`` follows its name where several rounds are read."""
    tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
    label = tags.get(names.DIAGNOSIS_TAG, names.UNDIAGNOSED)
    pruned = label == names.PRUNED
    value = metrics.get(names.summary_metric(names.BEST_VAL if pruned else names.RECOMMENDED_VAL, task))
    epochs = metrics.get(names.RECOMMENDED_EPOCHS)
    return FinishedTrial(
        name=(run.info.run_name or run.info.run_id[:8]) + round_mark, config=_config(params), val_metric=value, label=label,
        label_at_recommended=tags.get(names.DIAGNOSIS_AT_RECOMMENDED_TAG, label),
        recommended_epochs=int(epochs) if epochs is not None else None,
        n_parameters=int(params.get(names.N_PARAMETERS_PARAM, 0) or 0), eligible=not pruned, run_id=run.info.run_id)


def _config(params: dict[str, str]) -> dict[str, Any]:
    """A trial's configuration from its params, each axis typed by its declaration; a builder's hyperparameters as
    numbers where they read as numbers; ``n_train`` as rows."""
    config: dict[str, Any] = {}
    for name, text in params.items():
        if name in AXES:
            config[name] = _typed(text, by_name(name).kind)
        elif name == names.N_TRAIN_PARAM:
            config[name] = int(text)
        elif names.MODEL_PARAM in params and name not in (names.TASK_PARAM, names.N_PARAMETERS_PARAM):
            config[name] = text if name == names.MODEL_PARAM else _typed(text, int | float)
    return config


def _typed(text: str, kind: Any) -> Any:
    """``text`` as ``kind`` (``int``, ``float``, ``str``, or a union of numbers: whole numbers without a point)."""
    if kind is str:
        return text
    for candidate in (int, float):
        if kind is candidate or kind == int | float:
            try:
                return candidate(text)
            except ValueError:
                continue
    return text


def _with_advice(reader: TrackingReader, trial: FinishedTrial) -> FinishedTrial:
    """``trial`` with the advice its ``diagnosis.json`` holds (unchanged when it holds none)."""
    text = reader.artifact_text(trial.run_id, DIAGNOSIS_FILE)
    try:
        logged = json.loads(text) if text else {}
    except json.JSONDecodeError:
        logged = {}
    items = tuple(AdviceItem(item.get("change", ""), item.get("axis", ""), item.get("from"), item.get("to"),
                             item.get("reason", ""))
                  for item in logged.get("advice_items", []) if isinstance(item, dict))
    return replace(trial, advice_items=items, advice=str(logged.get("advice", "")))
