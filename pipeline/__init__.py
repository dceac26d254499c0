"""fitcheck: sweep Keras networks, track them in MLflow, diagnose bias and variance.

The pieces, each usable alone:

- :mod:`pipeline.spec._spec` validates a sweep spec (no Keras, no MLflow);
- :mod:`pipeline.sweep` runs one (``run_sweep``);
- :mod:`pipeline.diagnostics` labels any curves (numpy and pandas only);
- :mod:`pipeline.fit_diagnostics` brings the diagnosis into anyone's ``model.fit``;
- :mod:`pipeline.own_runs` diagnoses runs fitcheck did not sweep (``diagnose_run``);
- :mod:`pipeline.report` writes the HTML report from what MLflow holds;
- :mod:`pipeline.recipe` writes a sweep's next round from its diagnoses (``write_next_round``).

From a notebook: ``run_sweep(spec, options, data=(frame, "target"), build_model=my_builder)``
or ``diagnose_run(run_id, tracking_uri=...)`` or ``write_next_round("book")`` (each imported on first use, so
``import pipeline`` stays cheap).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fitcheck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["SweepOptions", "SweepResult", "__version__", "diagnose_run", "run_sweep", "write_next_round"]
_SWEEP_API = ("SweepOptions", "SweepResult", "run_sweep")
_OWN_RUNS_API = ("diagnose_run",)
_RECIPE_API = ("write_next_round",)


def __getattr__(name: str):
    """``pipeline.run_sweep`` and friends (:mod:`pipeline.sweep`), ``pipeline.diagnose_run``
    (:mod:`pipeline.own_runs`) and ``pipeline.write_next_round`` (:mod:`pipeline.recipe`), imported when first
    asked for."""
    if name in _SWEEP_API:
        from pipeline import sweep

        return getattr(sweep, name)
    if name in _OWN_RUNS_API:
        from pipeline import own_runs

        return getattr(own_runs, name)
    if name in _RECIPE_API:
        from pipeline import recipe

        return getattr(recipe, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
