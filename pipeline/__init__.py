"""fitcheck: sweep Keras networks, track them in MLflow, diagnose bias and variance.

The pieces, each usable alone:

- :mod:`pipeline.spec._spec` validates a sweep spec (no Keras, no MLflow);
- :mod:`pipeline.sweep` runs one (``run_sweep``);
- :mod:`pipeline.diagnostics` labels any curves (numpy and pandas only);
- :mod:`pipeline.fit_diagnostics` brings the diagnosis into anyone's ``model.fit``;
- :mod:`pipeline.report` writes the HTML report from what MLflow holds.

From a notebook: ``run_sweep(spec, options, data=(frame, "target"), build_model=my_builder)``
(imported on first use, so ``import pipeline`` stays cheap).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fitcheck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["SweepOptions", "SweepResult", "__version__", "run_sweep"]
_SWEEP_API = ("SweepOptions", "SweepResult", "run_sweep")


def __getattr__(name: str):
    """``pipeline.run_sweep`` and friends, imported from :mod:`pipeline.sweep` when first asked for."""
    if name in _SWEEP_API:
        from pipeline import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
