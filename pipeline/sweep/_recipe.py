"""A recipe search (``search: {method: recipe, rounds, budget}``): sweeps in rounds, each from the last one's diagnoses.

Round 1 runs a few configurations spanning the grid's capacity (:func:`pipeline.recipe.first_round`); each later
round runs the changes the best configurations' advice names (:func:`pipeline.recipe.next_round`), until the best
is a good fit within noise of the reference error, nothing is left to change, or the rounds or the trial budget are
spent. Each round is an ordinary sweep with its own parent run (tagged with its number, linked to the round before,
its description saying which diagnosis led to which change), so resume, failure isolation, early stopping and the
executors work as for any sweep; running the same spec again resumes every round.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.recipe import (
    Round,
    best_configurations,
    first_round,
    grid_axes,
    next_round,
    nothing_left,
    read_previous_sweep,
    stop_reason,
)
from pipeline.runs import markdown_text, one_line
from pipeline.spec import (
    DEFAULT_RECIPE_BUDGET,
    DEFAULT_RECIPE_ROUNDS,
    SweepSpec,
    by_name,
)
from pipeline.sweep._options import SweepOptions
from pipeline.sweep._result import SweepResult
from pipeline.tracking import SweepTracker


def run_recipe(spec: SweepSpec, options: SweepOptions, *, data: object = None,
               build_model: Callable | None = None) -> SweepResult:
    """Run a recipe search round by round; the last round's :class:`SweepResult`, with every round in ``rounds``
    and why the recipe stopped in ``stopped``. The report (when ``options.report``) is written once, at the end,
    for the last round: it tells the path."""
    from pipeline.sweep._api import sweep_spec

    started = time.monotonic()
    budget = spec.search.budget or DEFAULT_RECIPE_BUDGET
    max_rounds = spec.search.rounds or DEFAULT_RECIPE_ROUNDS
    base = spec.model_dump(mode="json", exclude_unset=True, exclude={"search"})
    grids, first_why = first_round(base)
    name_axes = grid_axes(base)  # every round names its trials alike: by the axes the user's grid varies
    n_seeds = len(grids[0].get(by_name("seed").key, [0]))
    round_spec = {**base, "grid": grids[:max(1, budget // n_seeds)]}
    why: tuple[str, ...] = (first_why,)
    rounds: list[Round] = []
    spent, ending_errors = 0, []
    while True:
        result = sweep_spec(round_spec, replace(options, report=False), data=data, build_model=build_model,
                            name_axes=name_axes)
        spent += len(result.all_records)
        metric = names.task_metric(result.task)
        try:
            previous = read_previous_sweep(result.parent_run_id, tracking_uri=options.tracking_uri, spec=round_spec)
        except FitcheckError as error:  # no trial of any round finished, or the store cannot be read: the rounds stand
            previous, cannot = None, f"cannot go on: {one_line(error, limit=300)}"
        ranked = best_configurations(previous.trials, n_val=previous.n_val, metric=metric) if previous else []
        best = ranked[0] if ranked else None
        stopped = cannot if previous is None else stop_reason(
            best, reference_error=result.reference_error, n_val=result.n_val, metric=metric, spent=spent,
            budget=budget, number_done=len(rounds) + 1, rounds=max_rounds, per_configuration=n_seeds)
        plan = None
        if not stopped:
            plan = next_round(round_spec, previous.trials, n_val=previous.n_val, metric=metric,
                              n_train_full=previous.n_train, previous_sweep=result.parent_run_id,
                              max_new=(budget - spent) // n_seeds)
            if plan.spec is None:
                stopped = nothing_left(best, reference_error=result.reference_error, n_val=result.n_val,
                                       metric=metric)
        done = Round(len(rounds) + 1, result.parent_run_id, len(result.all_records), spent, why,
                     best.name if best else "", best.val_metric if best else None,
                     (best.label_at_recommended or best.label) if best else "", stopped,
                     tuple(str(reason) for reason in plan.reasons) if plan and plan.spec is None else ())
        rounds.append(done)
        _record(options, done, metric=metric, result=result)
        ending_errors += result.ending_errors
        if stopped:
            break
        round_spec, why = plan.spec, tuple(str(reason) for reason in plan.reasons)
    result.rounds, result.stopped, result.ending_errors = rounds, stopped, ending_errors
    result.seconds = time.monotonic() - started
    if options.report:
        _report(options, result)
    return result


def _record(options: SweepOptions, done: Round, *, metric: str, result: SweepResult) -> None:
    """Tag the round's parent run with its number and log what it held and why, above its description; say it on
    the terminal (with progress on). A store that refuses costs the record, not the recipe."""
    if options.progress:
        best = f"; recommended so far: {done.best_name}" if done.best_name else ""
        print(f"recipe round {done.number}: {done.n_trials} trials ({done.spent} so far){best}"
              + (f"; stopped: {done.stopped}" if done.stopped else ""), file=sys.stderr)

    try:
        tracker = SweepTracker(options.tracking_uri)
        tracker.update_trial(done.parent_run_id, metrics={}, tags={names.RECIPE_ROUND_TAG: str(done.number)},
                             artifacts={names.RECIPE_ROUND_FILE: done.to_json()})
        tracker.preface_description(done.parent_run_id, done.description(metric=metric, escape=markdown_text))
    except Exception as error:  # noqa: BLE001 - the round's trials are logged; its record is a rerun away
        result.ending_errors.append(f"recipe round {done.number} could not be recorded: {one_line(error, limit=300)}")


def _report(options: SweepOptions, result: SweepResult) -> None:
    """The report of the last round, which tells the path of every round."""
    from pipeline.report import build_report, default_report_path

    try:
        result.report_path = build_report(options.tracking_uri, sweep_run_id=result.parent_run_id,
                                          out=default_report_path(result.experiment))
    except Exception as error:  # noqa: BLE001 - as any sweep's report: the trials stand
        result.ending_errors.append(f"report not written: {one_line(error, limit=300)}")
