"""The sweep: the only layer that sees both training and tracking; it orchestrates, it owns no rule.

One loop asks a sampler for trials, claims them, hands them to an executor and logs what comes back;
the reference lifecycle, learning curves and the parent run are modules of their own. It decides
nothing a diagnosis, a spec or a run description decides.

Never imports: mlflow, pipeline.cli, pipeline.report._gather.
"""

from __future__ import annotations

from pipeline.sweep._api import run_sweep
from pipeline.sweep._options import SweepOptions
from pipeline.sweep._reference import BASELINES, baseline_errors, estimate_reference_error
from pipeline.sweep._result import SweepResult, TrialRecord
from pipeline.sweep._sweep import Sweep

__all__ = ["BASELINES", "Sweep", "SweepOptions", "SweepResult", "TrialRecord", "baseline_errors",
           "estimate_reference_error", "run_sweep"]
