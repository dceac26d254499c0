"""Training in worker processes: models, builders, callbacks, fused groups, pruning rungs.

Keras and TensorFlow are imported here (lazily, except by the callbacks module, which is not
re-exported); what a run logs is decided elsewhere.

Never imports: mlflow, pipeline.tracking, pipeline.report, pipeline.sweep, pipeline.runs.
"""

from __future__ import annotations

from pipeline.training._builders import builder_reference, check_and_count, load_builder, resolve_builder, serialise_builder
from pipeline.training._fused import train_group
from pipeline.training._fusion import Job, fusable, fusion_key, plan_groups
from pipeline.training._model import build_model, make_optimizer
from pipeline.training._rungs import RungRecord
from pipeline.training._targets import OutputHead, head_of, output_head
from pipeline.training._train import TrialOutcome, configure_tensorflow, native_logs_hidden, require_tensorflow, train_trial

__all__ = ["Job", "OutputHead", "RungRecord", "TrialOutcome", "build_model", "builder_reference", "check_and_count", "configure_tensorflow", "fusable", "fusion_key", "head_of", "load_builder", "make_optimizer", "native_logs_hidden", "output_head", "plan_groups", "require_tensorflow", "resolve_builder", "serialise_builder", "train_group", "train_trial"]
