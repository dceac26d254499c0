"""The sweep report: one self-contained HTML file per sweep, built only from what MLflow holds.

Three stages in separate modules: :mod:`._gather` reads MLflow, :mod:`._summary` and :mod:`._figures`
turn the runs into tables and SVG figures (:mod:`._path` a recipe search's rounds), :mod:`._render` fills
the Jinja2 template. It reads MLflow through :mod:`pipeline.tracking` only and never trains.

Never imports: mlflow, tensorflow, keras, pipeline.training, pipeline.executors, pipeline.sweep.
"""

from pipeline.report._build import build_report, default_report_path
from pipeline.report._gather import LoggedRound, LoggedSweep, LoggedTrial, gather_sweep

__all__ = ["LoggedRound", "LoggedSweep", "LoggedTrial", "build_report", "default_report_path", "gather_sweep"]
