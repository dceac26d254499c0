"""fitcheck: sweep Keras networks, track them in MLflow, diagnose bias and variance.

The pieces, each usable alone:

- :mod:`pipeline.spec` validates a sweep spec (no Keras, no MLflow);
- :mod:`pipeline.sweep` runs one (``run_sweep``);
- :mod:`pipeline.diagnostics` labels any curves (numpy and pandas only);
- :mod:`pipeline.fit_diagnostics` brings the diagnosis into anyone's ``model.fit``;
- :mod:`pipeline.report` writes the HTML report from what MLflow holds.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fitcheck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
