"""What a run says: its payload (metrics, tags, files), its description and its curve plot.

Pure content: text, tables and PNG bytes from curves and diagnoses; :mod:`pipeline.tracking` writes
them. It reads runs only as the plain values tracking hands over.

Never imports: mlflow, tensorflow, keras, pipeline.sweep, pipeline.cli.
"""

from __future__ import annotations

from pipeline.runs._descriptions import MARKER, MAX_CHARS, TrialLine, best_trial, launcher_description, merge_description, sweep_description, trial_description
from pipeline.runs._keras_names import MODEL_SUMMARY, CurveNames, curve_names, guess_task, run_configuration, task_from_summary
from pipeline.runs._payload import curves_frame, trial_payload
from pipeline.runs._sizes import Size, infer_sizes
from pipeline.runs._texts import SweepDescriptions, trial_line
from pipeline.runs._untrusted import markdown_text, one_line

__all__ = ["MODEL_SUMMARY", "task_from_summary", "CurveNames", "MARKER", "MAX_CHARS", "Size", "SweepDescriptions", "TrialLine", "best_trial", "curve_names", "curves_frame", "guess_task", "run_configuration", "infer_sizes", "launcher_description", "markdown_text", "merge_description", "one_line", "sweep_description", "trial_description", "trial_line", "trial_payload"]
