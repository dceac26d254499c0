"""Loading and preparing data: files, arrays and synthetic sets become a :class:`PreparedData`.

Arrays out, ready for any trainer; a bad dataset is refused before TensorFlow or MLflow is paid for.

Never imports: tensorflow, keras, mlflow, pipeline.training, pipeline.tracking, pipeline.sweep.
"""

from __future__ import annotations

from pipeline.data._prepare import infer_task, load_dataset, prepare_inputs
from pipeline.data._prepared import PreparedData
from pipeline.data._subsets import subset_rows, training_subset

__all__ = ["PreparedData", "infer_task", "load_dataset", "prepare_inputs", "subset_rows", "training_subset"]
