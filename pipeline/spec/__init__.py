"""The sweep spec: read, validated and normalised before anything runs."""

from __future__ import annotations

from pipeline.spec._spec import ACTIVATIONS, DICT_SOURCE, DatasetSpec, GridSpec, LOSSES, LearningCurveSpec, MAX_CLASSES, OPTIMIZERS, SearchSpec, SplitSpec, SweepSpec, is_range, load_spec, parse_spec

__all__ = ["ACTIVATIONS", "DICT_SOURCE", "DatasetSpec", "GridSpec", "LOSSES", "LearningCurveSpec", "MAX_CLASSES", "OPTIMIZERS", "SearchSpec", "SplitSpec", "SweepSpec", "is_range", "load_spec", "parse_spec"]
