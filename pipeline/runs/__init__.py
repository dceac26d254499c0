"""What a run says: its payload (metrics, tags, files), its description and its curve plot."""

from __future__ import annotations

from pipeline.runs._descriptions import MARKER, MAX_CHARS, ML_LAYOUT, TrialLine, best_trial, launcher_description, merge_description, sweep_description, trial_description
from pipeline.runs._keras_names import CurveNames, curve_names, guess_task
from pipeline.runs._payload import curves_frame, trial_payload
from pipeline.runs._sizes import LoggedDataset, Size, infer_sizes

__all__ = ["CurveNames", "LoggedDataset", "MARKER", "MAX_CHARS", "ML_LAYOUT", "Size", "TrialLine", "best_trial", "curve_names", "curves_frame", "guess_task", "infer_sizes", "launcher_description", "merge_description", "sweep_description", "trial_description", "trial_payload"]
