"""Diagnose runs fitcheck did not sweep: a curves CSV, one MLflow run, or every run of an experiment.

``fitcheck diagnose`` is a thin shell around these functions: they read the curves and the split sizes
(a run's, its parent's, its dataset inputs), map Keras' names onto fitcheck's, diagnose, and with
``write=True`` put the diagnosis back on each run. MLflow is reached only through :mod:`pipeline.tracking`.

Never imports: mlflow, tensorflow, keras, pipeline.cli, pipeline.sweep, pipeline.training.
"""

from __future__ import annotations

from pipeline.own_runs._diagnose_run import (
    DiagnosedRun,
    ExperimentDiagnosis,
    diagnose_csv,
    diagnose_experiment,
    diagnose_run,
)

__all__ = ["DiagnosedRun", "ExperimentDiagnosis", "diagnose_csv", "diagnose_experiment", "diagnose_run"]
