"""``run_sweep``: a sweep from a spec file, a dict or a parsed spec, with data and a model given in Python."""

from __future__ import annotations

import os
from collections.abc import Callable

from pipeline.errors import FitcheckError
from pipeline.spec import DICT_SOURCE, SweepSpec, load_spec, parse_spec
from pipeline.sweep._options import SweepOptions
from pipeline.sweep._result import SweepResult
from pipeline.sweep._sweep import Sweep


def run_sweep(spec: str | os.PathLike | SweepSpec | dict, options: SweepOptions | None = None, *,
              data: object = None, build_model: Callable | None = None) -> SweepResult:
    """Run every trial of a sweep, log it to MLflow, diagnose each trial and write the report.

    Parameters
    ----------
    spec : path, SweepSpec or dict
        The sweep spec: a YAML file, a parsed spec, or the same keys as a dict. Its ``dataset``
        section is left out when ``data`` is given.
    options : SweepOptions, optional
        Where to log, which executor, how many workers (defaults: a local ``mlflow.db``, one
        worker process per core).
    data : tuple or mapping, optional
        The data, instead of the spec's ``dataset``: ``(frame, "target")``, ``(X, y)`` with inputs of
        any shape, or ``{"train": (X, y), "validation": (X, y)}`` used as given (see
        :func:`pipeline.data.prepare_inputs`).
    build_model : callable, optional
        ``build_model(hp, input_shape, task, n_outputs) -> keras.Model`` (see :mod:`pipeline.training._builders`),
        instead of the spec's ``model`` or fitcheck's MLP; the grid's keys other than the training
        axes are its ``hp``. It may be defined in a notebook: it is sent to the workers with cloudpickle.

    Returns
    -------
    SweepResult
        ``result.trials`` is a DataFrame of this run's trials; ``result.report_path`` the HTML report.

    Examples
    --------
    >>> from pipeline import run_sweep, SweepOptions  # doctest: +SKIP
    >>> result = run_sweep("experiments/quickstart.yaml", SweepOptions(workers=2))  # doctest: +SKIP
    >>> result.labels()  # doctest: +SKIP
    Counter({'good_fit': 20, 'high_bias': 8, ...})
    """
    return sweep_spec(spec, options or SweepOptions(), data=data, build_model=build_model)


def sweep_spec(spec: str | os.PathLike | SweepSpec | dict, options: SweepOptions, *, data: object = None,
               build_model: Callable | None = None, name_axes: tuple[str, ...] = ()) -> SweepResult:
    """:func:`run_sweep`, with ``name_axes`` that every trial's run name shows beside the sweep's varying axes
    (a recipe's rounds name their trials by the axes the user's grid varies, whatever one round varies)."""
    given = {"data_given": data is not None, "model_given": build_model is not None}
    spec_path = None
    if isinstance(spec, SweepSpec):
        if data is not None or build_model is not None:  # validate it again, knowing what Python gives
            spec = parse_spec(spec.model_dump(mode="json", exclude_unset=True), source=spec.source or DICT_SOURCE,
                              **given)
    elif isinstance(spec, dict):
        spec = parse_spec(spec, source=DICT_SOURCE, **given)
    elif isinstance(spec, (str, os.PathLike)):
        spec_path = str(spec)
        spec = load_spec(spec, **given)
    else:
        raise FitcheckError(f"spec must be a spec file's path, a dict or a SweepSpec but got {type(spec).__name__}")
    if spec.search.method == "recipe":  # rounds of ordinary sweeps, each from the last one's diagnoses
        from pipeline.sweep._recipe import run_recipe

        return run_recipe(spec, options, data=data, build_model=build_model)
    if build_model is not None:
        from pipeline.training import builder_reference

        spec = spec.model_copy(update={"model": builder_reference(build_model)})  # in the spec's fingerprint
    return Sweep(spec, options, spec_path=spec_path, inputs=data, builder=build_model, name_axes=name_axes).run()
