"""Loading and preparing data: files, arrays and synthetic sets become a :class:`PreparedData`."""

from __future__ import annotations

from pipeline.data._prepare import PreparedData, infer_task, load_dataset, prepare_inputs, subset_rows, training_subset

__all__ = ["PreparedData", "infer_task", "load_dataset", "prepare_inputs", "subset_rows", "training_subset"]
