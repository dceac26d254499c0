"""The sweep spec: read, validated and normalised before anything runs.

Each grid axis is declared once in :data:`AXIS_TABLE` and the task x loss rule once in
:data:`LOSS_TABLE`; validation, expansion, sampling, run names and fusion derive from them. What the
sinks a name reaches accept (MLflow keys, run names, terminals) is restated in :mod:`._sinks`.

Never imports: tensorflow, keras, mlflow, sklearn, pipeline.data, pipeline.training, pipeline.tracking, pipeline.sweep.
"""

from __future__ import annotations

from pipeline.spec._axes import (ACTIVATIONS, AXES, AXIS_TABLE, CAPACITY_AXES, FIRST_LISTED, FUSION_MEMBER, FUSION_SHARED,
                                 HIDDEN_LAYER_AXES, LARGEST, MIDDLE, OPTIMIZERS, SAMPLED, SMALLEST, STARTS,
                                 TRAINING_AXES, TRAINING_KEYS, Axis, axes, by_key, by_name)
from pipeline.spec._losses import (CROSSENTROPY_LOSSES, LOSS_TABLE, LOSSES, LOSSES_BY_TASK, MARGIN_LOSSES,
                                   SOFTMAX_LOSSES, Loss, incompatibility)
from pipeline.spec._sections import (DEFAULT_RECIPE_BUDGET, DEFAULT_RECIPE_ROUNDS, DatasetSpec, GridSpec,
                                     LearningCurveSpec, SearchSpec, SplitSpec, StoppingSpec)
from pipeline.spec._spec import DICT_SOURCE, SweepSpec, check_reference_error, load_spec, parse_spec
from pipeline.spec._values import MAX_CLASSES, is_range

__all__ = ["ACTIVATIONS", "AXES", "AXIS_TABLE", "Axis", "CAPACITY_AXES", "CROSSENTROPY_LOSSES", "DEFAULT_RECIPE_BUDGET",
           "DEFAULT_RECIPE_ROUNDS", "DICT_SOURCE", "DatasetSpec", "FIRST_LISTED", "LARGEST", "MIDDLE", "SMALLEST", "STARTS",
           "check_reference_error",
           "FUSION_MEMBER", "FUSION_SHARED", "GridSpec", "HIDDEN_LAYER_AXES", "LOSSES", "LOSSES_BY_TASK", "LOSS_TABLE",
           "LearningCurveSpec", "Loss", "MARGIN_LOSSES", "MAX_CLASSES", "OPTIMIZERS", "SAMPLED", "SOFTMAX_LOSSES",
           "SearchSpec", "SplitSpec", "StoppingSpec", "SweepSpec", "TRAINING_AXES", "TRAINING_KEYS", "axes", "by_key",
           "by_name", "incompatibility", "is_range", "load_spec", "parse_spec"]
