"""``build_report``: gather from MLflow → summarise → draw → render → write one self-contained HTML file."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from pathlib import Path

import pandas as pd

from pipeline import names
from pipeline.diagnostics import confound_note, confounds
from pipeline.spec import AXIS_TABLE
from pipeline.report import _figures, _path, _summary
from pipeline.report._gather import LoggedSweep, gather_sweep
from pipeline.report._render import render_report

logger = logging.getLogger(__name__)
_EFFECT_AXES_FIRST = ("activation", "loss", "optimizer")
_SLUG_CHARS = 60
_MAX_CURVE_PANELS = 9
#: The reference's words in the report of a sweep whose parent has not ended (it ends with the reference).
_NOT_FINISHED_REFERENCE = "not logged: the sweep did not finish"
_DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10))}


#: Hidden-layer axes and the value only a network without one takes (dropout's 0 is also a real choice):
#: structure, never a confound.
COLLAPSED = {axis.name: axis.absent for axis in AXIS_TABLE if axis.hidden_layer and axis.absent != axis.default}


def default_report_path(experiment_name: str) -> Path:
    """``reports/<stem>.html``: a safe, bounded file name, distinct for distinct experiment names.

    A name made only of lower-case ASCII letters, digits, ``.``, ``_`` and ``-`` (neither starting
    nor ending with one of those three, and not a Windows device name) is its own stem. Any other name gets a readable
    slug of at most 60 characters plus ``+`` and a hash of the full name; ``+`` never appears in
    a name kept as is, so two names never share a file, even on case-insensitive file systems.

    >>> default_report_path("quickstart").name
    'quickstart.html'
    >>> default_report_path("My exp/1").name
    'my_exp_1+3c0b17884fa4.html'
    """
    slug = re.sub(r"[^a-z0-9._-]+", "_", experiment_name.lower()).strip("._-")[:_SLUG_CHARS].strip("._-")
    if slug and slug == experiment_name and slug.split(".")[0] not in _DEVICE_NAMES:
        return Path("reports") / f"{slug}.html"
    digest = hashlib.sha256(experiment_name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return Path("reports") / f"{slug or 'experiment'}+{digest}.html"


def _run_url(sweep: LoggedSweep, run_id: str) -> str | None:
    """The MLflow UI page of a run, when the tracking URI is an HTTP(S) server."""
    uri = sweep.tracking_uri.rstrip("/")
    if not uri.lower().startswith(("http://", "https://")):
        return None
    return f"{uri}/#/experiments/{sweep.experiment_id}/runs/{run_id}"


def _header(sweep: LoggedSweep, frame: pd.DataFrame) -> dict:
    params, metrics = sweep.params, sweep.metrics
    source = sweep.tags.get(names.REFERENCE_SOURCE_TAG)
    finished = sweep.status == "FINISHED"
    if source is None:  # the parent ends with its reference: a sweep cut short (or still running) has none yet
        source_words = "not logged" if finished else _NOT_FINISHED_REFERENCE
    else:
        source_words = names.REFERENCE_SOURCES.get(source, source)
    return {
        "status": sweep.status, "finished": finished,
        "experiment_name": sweep.experiment_name, "run_id": sweep.run_id, "run_name": sweep.run_name,
        "run_url": _run_url(sweep, sweep.run_id), "start_time": sweep.start_time,
        "spec_name": sweep.tags.get(names.SPEC_NAME_TAG), "dataset": params.get("dataset"), "task": sweep.task,
        "metric": sweep.metric, "n_train": params.get("n_train"), "n_val": params.get("n_val"),
        "n_test": params.get("n_test"), "n_features": params.get("n_features"),
        "input_shape": params.get(names.INPUT_SHAPE_PARAM),
        "n_dropped_invalid": params.get("n_dropped_invalid"), names.REFERENCE_ERROR: metrics.get(names.REFERENCE_ERROR),
        "reference_source": source_words + (
            f"; capped from {metrics[names.REFERENCE_ESTIMATE]:.4g} by the sweep's best validation {sweep.metric}"
            if names.REFERENCE_ESTIMATE in metrics else ""),
        "reference_baselines": {name.removeprefix(names.REFERENCE_BASELINE_PREFIX).replace("_", " "): value
                                for name, value in sorted(metrics.items())
                                if name.startswith(names.REFERENCE_BASELINE_PREFIX)},
        names.N_TRIALS: len(frame), names.N_FAILED: int((frame["status"] == "FAILED").sum()),
        names.N_SKIPPED: metrics.get(names.N_SKIPPED), names.SWEEP_SECONDS: metrics.get(names.SWEEP_SECONDS),
        names.TRAIN_SECONDS: float(frame[names.TRAIN_SECONDS].sum()) if len(frame) else 0.0,
        "n_superseded_runs": sweep.n_superseded_runs,
    }


def _grid(sweep: LoggedSweep, frame: pd.DataFrame, axes: list[str]) -> list[tuple[str, list]]:
    if sweep.grid:
        return [(axis, values if isinstance(values, list) else [values]) for axis, values in sweep.grid.items()]
    return [(axis, _summary.value_order(frame[axis])) for axis in axes]


def _leaderboard(sweep: LoggedSweep, frame: pd.DataFrame, axes: list[str]) -> dict:
    """Trials ranked by validation ``metric`` at their recommended epoch: label and that value lead,
    then the axes that vary (constant ones are in the header), then the end-of-training numbers."""
    metric = sweep.metric
    columns = [
        {"key": "rank", "title": "#", "kind": "num"}, {"key": "run_name", "title": "trial", "kind": "text"},
        {"key": "label", "title": "label", "kind": "label"},
        {"key": "rec_val", "title": f"val {metric} at rec.", "kind": "num"},
        {"key": names.RECOMMENDED_EPOCHS, "title": "rec. epochs", "kind": "num"},
        {"key": "label_at_recommended", "title": "label at rec.", "kind": "label"},
    ]
    columns += [{"key": axis, "title": axis, "kind": "num" if frame[axis].map(
        lambda value: isinstance(value, (int, float))).all() else "text"} for axis in axes]
    columns += [
        {"key": names.FINAL_TRAIN, "title": f"final train {metric}", "kind": "num"},
        {"key": names.FINAL_VAL, "title": f"final val {metric}", "kind": "num"},
        {"key": "gap", "title": "final gap", "kind": "num"},
        {"key": names.BEST_VAL, "title": f"best val {metric}", "kind": "num"},
        {"key": names.BEST_EPOCH, "title": "best epoch", "kind": "num"},
        {"key": names.TRAIN_SECONDS, "title": "train time", "kind": "num"},
    ]
    rows = []
    for record in _summary.ranked(frame, metric=metric, n_val=_int(sweep.params.get(names.N_VAL_PARAM))).to_dict(
            "records"):
        notes = {"rank": "tied with the best" if record["tied_with_best"] else None,
                 "label": "bias undecided" if record["bias_undecided"] else None}
        rows.append({"run_id": record["run_id"], "label": record["label"], "status": record["status"],
                     "error": record["error"], "url": _run_url(sweep, record["run_id"]), "pick": record["pick"],
                     "tied": record["tied_with_best"],
                     "cells": [{"value": record[column["key"]], "kind": column["kind"], "note": notes.get(column["key"])}
                               for column in columns]})
    return {"columns": columns, "rows": rows}


def _int(value: object) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _reference_sentence(sweep: LoggedSweep, n_trials: int) -> str | None:
    """What the reference error is, where it came from, and what it means for the bias bar, in words."""
    metrics, metric = sweep.metrics, sweep.metric
    reference = metrics.get(names.REFERENCE_ERROR)
    if reference is None:
        return None
    source = sweep.tags.get(names.REFERENCE_SOURCE_TAG)
    value = f"{reference:.3g}"
    if source == names.REFERENCE_GIVEN:
        return (f"The reference {metric}, {value}, was given: the {metric} the best possible model would make "
                "(a Bayes or human-level error). A trial's training error above it is avoidable bias.")
    if source == names.REFERENCE_SWEEP_BEST:
        return (f"The reference {metric}, {value}, is the sweep's own best validation {metric}: the bias bar says "
                "how far each trial's training error is from the best trial, not from the best possible model.")
    baselines = {name.removeprefix(names.REFERENCE_BASELINE_PREFIX).replace("_", " "): error
                 for name, error in metrics.items() if name.startswith(names.REFERENCE_BASELINE_PREFIX)}
    made = ", ".join(f"{name} {error:.3g}" for name, error in sorted(baselines.items()))
    sentence = (f"The reference {metric} was estimated as the lower of {len(baselines) or 'the'} non-neural "
                f"baselines' cross-validated {metric} on the training split ({made}).")
    estimate = metrics.get(names.REFERENCE_ESTIMATE)
    if estimate is not None:
        sentence += (f" That estimate, {estimate:.3g}, was above what the sweep reached, so it was capped at {value}: "
                     f"the best validation {metric} of {n_trials} trials plus an allowance for picking the best "
                     "of many noisy values.")
    return sentence + (" An estimate sits at or above the Bayes error, so avoidable bias smaller than its excess "
                       "cannot be seen; give reference_error when a Bayes or human-level error is known.")


def _detection_sentence(best: dict | None, frame: pd.DataFrame, sweep: LoggedSweep) -> str | None:
    """What the validation size cannot tell, in words: the smallest gap that counts at the pick's error."""
    from pipeline.diagnostics import error_rate_se, rmse_se

    n_val = _int(sweep.params.get(names.N_VAL_PARAM))
    if best is None or not n_val or best.get("rec_val") is None:
        return None
    value = float(best["rec_val"])
    se = rmse_se(value, n_val) if sweep.metric == "rmse" else error_rate_se(value, n_val)
    sentence = (f"With {n_val} validation rows, a train/validation gap under {1.645 * se:.2g} cannot be told from "
                f"noise at a validation {sweep.metric} of {value:.3g} (1.645 standard errors, a one-sided 5% test).")
    undecided = int(frame["bias_undecided"].fillna(False).astype(bool).sum())
    if undecided:
        sentence += (f" For {undecided} trial{'s' if undecided != 1 else ''} the estimated reference is too uncertain "
                     "to decide the bias verdict (marked bias ?).")
    return sentence


def _ranking_sentence(ranking: pd.DataFrame, sweep: LoggedSweep) -> str:
    from pipeline.diagnostics import ranking_sentence

    fitted = ranking[ranking["rank"].notna()]
    return ranking_sentence(fitted, n_val=_int(sweep.params.get(names.N_VAL_PARAM)), name="run_name")


def _data_size(curves: list[dict], metric: str, reference: float | None) -> dict | None:
    """The learning-curve section: the figure and, per configuration, its verdict on more data in words."""
    if not curves:
        return None
    shown = curves[:_MAX_CURVE_PANELS]
    return {"figure": _figures.learning_curve_figure(shown, metric, reference), "n_hidden": len(curves) - len(shown),
            "items": [{"name": curve["name"], "run_id": curve["run_id"], "label": curve["label"],
                       "verdict": curve["verdict"].more_data_helps if curve["verdict"] else None,
                       "advice": curve["verdict"].advice if curve["verdict"] else
                       f"{len(curve['n_train'])} sizes: a verdict needs at least 3",
                       "evidence": curve["verdict"].evidence if curve["verdict"] else None} for curve in curves]}


def _recipe_path(sweep: LoggedSweep, reference: float | None) -> dict | None:
    """The section on a recipe search's path: one row per round and the best-so-far chart; None for a sweep that
    is not a recipe round."""
    if not sweep.rounds:
        return None
    rows = [{**row, "url": _run_url(sweep, row["run_id"])} for row in _path.path_rows(sweep.rounds)]
    series = _path.best_so_far(sweep.rounds, sweep.task)
    return {"rows": rows, "last": rows[-1]["number"], "spent": rows[-1]["spent"],
            "figure": _figures.path_figure(series, sweep.metric, reference) if series["spent"] else None}


def report_context(sweep: LoggedSweep) -> dict:
    """Everything the template shows, as plain values and figure data URIs."""
    frame = _summary.trial_frame(sweep)
    axes = _summary.axes_of(sweep)
    varying = [axis for axis in _summary.varying_axes(frame, axes) if axis not in _summary.NOT_SHOWN_AXES]
    shown = [axis for axis in axes if axis in _summary.varying_axes(frame, axes)]
    reference = sweep.metrics.get(names.REFERENCE_ERROR)
    capacity = None
    full = _summary.full_size(frame)  # a learning curve's smaller sizes would blur the capacity picture
    if "depth" in axes and len(full):
        effects = _summary.axis_effects(full, "depth")
        capacity = {"axis": "depth", "figure": _figures.capacity_figure(effects, "depth", sweep.metric, reference)}
    ordered = [axis for axis in _EFFECT_AXES_FIRST if axis in varying] + [
        axis for axis in varying if axis not in _EFFECT_AXES_FIRST and axis != "depth"]
    effects = []
    for axis in ordered:
        rows = _summary.axis_effects(frame, axis)
        for row in rows:
            row["confound"] = confound_note(confounds(frame, axis, row["value"], axes=varying, collapsed=COLLAPSED))
        effects.append({"axis": axis, "rows": rows, "figure": _figures.effect_figure(rows, axis, sweep.metric)})
    curves = _summary.learning_curves(frame, axes, metric=sweep.metric, n_val=_int(sweep.params.get(names.N_VAL_PARAM)),
                                      reference=reference)
    grid_axes = _summary.grid_axes(frame, axes)
    counts = _summary.label_counts(frame)
    ranking = _summary.ranked(frame, metric=sweep.metric, n_val=_int(sweep.params.get(names.N_VAL_PARAM)))
    picked = ranking[ranking["pick"]]
    best = picked.iloc[0].to_dict() if len(picked) else None
    tied = ranking[ranking["tied_with_best"]]
    return {
        "tied": tied.to_dict("records"), "ranking_sentence": _ranking_sentence(ranking, sweep) if best else None,
        "reference_sentence": _reference_sentence(sweep, len(frame)),
        "detection_sentence": _detection_sentence(best, frame, sweep),
        "header": _header(sweep, frame), "grid": _grid(sweep, frame, axes),
        "label_counts": [(label, count, count / len(frame)) for label, count in counts],
        "labels": [label for label, _ in counts], "leaderboard": _leaderboard(sweep, frame, shown),
        "fixed": _summary.fixed_axes(frame, axes),
        "best": best, "best_url": _run_url(sweep, best["run_id"]) if best else None,
        "axes": axes, "capacity": capacity, "effects": effects,
        "label_grid": _summary.label_grid(frame, *grid_axes) if grid_axes else None,
        "advice": _summary.advice_items(frame, axes, curves), "curves": _summary.curve_payload(sweep, frame),
        "data_size": _data_size(curves, sweep.metric, reference), "recipe_path": _recipe_path(sweep, reference),
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def build_report(tracking_uri: str, *, experiment_name: str | None = None, sweep_run_id: str | None = None,
                 out: str | Path | None = None) -> Path:
    """Write the HTML report of a sweep (``sweep_run_id``, or the latest in ``experiment_name``); return its path.

    The report is built only from what MLflow holds. ``out`` defaults to ``reports/<experiment>.html``.

    >>> build_report("sqlite:///mlflow.db", experiment_name="quickstart")  # doctest: +SKIP
    PosixPath('reports/quickstart.html')
    """
    started = time.perf_counter()
    sweep = gather_sweep(tracking_uri, experiment_name=experiment_name, sweep_run_id=sweep_run_id)
    gathered = time.perf_counter()
    html = render_report(report_context(sweep))
    path = Path(out) if out is not None else default_report_path(sweep.experiment_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    logger.info("report for %d trials written to %s (gather %.1f s, draw and render %.1f s)", len(sweep.trials),
                path, gathered - started, time.perf_counter() - gathered)
    return path
