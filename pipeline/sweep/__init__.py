"""The sweep: the only layer that sees both training and tracking; it orchestrates, it owns no rule."""

from __future__ import annotations

from pipeline.sweep._reference import BASELINES, baseline_errors, estimate_reference_error
from pipeline.sweep._sweep import Sweep, SweepOptions, SweepResult, run_sweep

__all__ = ["BASELINES", "Sweep", "SweepOptions", "SweepResult", "baseline_errors", "estimate_reference_error", "run_sweep"]
