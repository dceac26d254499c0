"""The training and validation sizes of a run, from what fitcheck and Keras autologging log.

A diagnosis needs both (the noise of the validation error; of an estimated reference). They are read,
first found first:

1. the params ``n_train`` and ``n_val`` (fitcheck's sweep and ``FitDiagnostics``, on the run or its parent);
2. the datasets logged as the run's inputs (``mlflow.keras.autolog()``'s ``train`` and ``eval``
   contexts, or ``training``/``validation`` from ``mlflow.log_input``), their rows read from the
   profile MLflow stores; autolog's ``validation_split`` is carved from the training rows as Keras does;
3. ``steps_per_epoch`` and ``validation_steps`` times the batch size (at most: a last batch may be short).

Each size says where it came from. Pure: reads plain mappings and the
:class:`pipeline.tracking.LoggedDataset` values that :func:`pipeline.tracking.logged_datasets` reads from a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline import names

if TYPE_CHECKING:
    from pipeline.tracking import LoggedDataset

TRAIN_CONTEXTS = ("train", "training")
VALIDATION_CONTEXTS = ("eval", "validation", "val", "valid")
#: Keras' ``fit`` arguments as autolog logs them.
VALIDATION_SPLIT, BATCH_SIZE, VALIDATION_BATCH_SIZE = "validation_split", "batch_size", "validation_batch_size"
STEPS_PER_EPOCH, VALIDATION_STEPS = "steps_per_epoch", "validation_steps"


@dataclass(frozen=True)
class Size:
    """A split's size and where it was read."""

    value: int
    source: str


def dataset_rows(profile: Mapping) -> int | None:
    """Rows of a logged dataset from MLflow's profile: a pandas ``num_rows``, or the first dimension of a
    NumPy ``features_shape`` (or ``targets_shape``; a dict of arrays gives its first); None when unknown.

    >>> dataset_rows({"features_shape": [500, 4]}), dataset_rows({"num_rows": 7}), dataset_rows({})
    (500, 7, None)
    """
    if isinstance(profile.get("num_rows"), int):
        return profile["num_rows"]
    for key in ("features_shape", "targets_shape"):
        shape = profile.get(key)
        if isinstance(shape, dict):
            shape = next(iter(shape.values()), None)
        if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], int):
            return shape[0]
    return None


def _number(params: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(params[name])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _dataset(datasets: Sequence[LoggedDataset], contexts: tuple[str, ...]) -> tuple[LoggedDataset, int] | None:
    for dataset in datasets:
        rows = dataset_rows(dataset.profile)
        if dataset.context in contexts and rows:
            return dataset, rows
    return None


def infer_sizes(params: Mapping[str, str], datasets: Sequence[LoggedDataset]) -> tuple[Size | None, Size | None]:
    """``(n_train, n_val)`` from a run's params (its parent's merged in) and dataset inputs; None where unknown.

    >>> from pipeline.tracking import LoggedDataset
    >>> train = LoggedDataset("x", "train", {"features_shape": [500, 4]})
    >>> infer_sizes({"validation_split": "0.2"}, [train])
    (Size(value=400, source="dataset 'x' (train, 500 rows) less validation_split 0.2"), Size(value=100, source="validation_split 0.2 of dataset 'x' (train, 500 rows)"))
    """
    n_train = n_val = None
    for name in (names.N_TRAIN_PARAM, names.N_VAL_PARAM):
        value = _number(params, name)
        if value is not None:
            size = Size(int(value), f"param {name}")
            n_train, n_val = (size, n_val) if name == names.N_TRAIN_PARAM else (n_train, size)
    train, val = _dataset(datasets, TRAIN_CONTEXTS), _dataset(datasets, VALIDATION_CONTEXTS)
    split = _number(params, VALIDATION_SPLIT)
    if val and n_val is None:
        n_val = Size(val[1], f"dataset {val[0].name!r} ({val[0].context}, {val[1]} rows)")
    if train:
        dataset, rows = train
        described = f"dataset {dataset.name!r} ({dataset.context}, {rows} rows)"
        if split and split < 1 and not val:  # Keras holds out the last rows: floor(rows * (1 - split)) train
            kept = int(math.floor(rows * (1.0 - split)))
            n_train = n_train or Size(kept, f"{described} less validation_split {split:g}")
            n_val = n_val or Size(rows - kept, f"validation_split {split:g} of {described}")
        n_train = n_train or Size(rows, described)
    batch = _number(params, BATCH_SIZE)
    for name, current, steps_name, batch_name in ((names.N_TRAIN_PARAM, n_train, STEPS_PER_EPOCH, BATCH_SIZE),
                                                  (names.N_VAL_PARAM, n_val, VALIDATION_STEPS, VALIDATION_BATCH_SIZE)):
        steps, per_batch = _number(params, steps_name), _number(params, batch_name) or batch
        if current is None and steps and per_batch:
            size = Size(int(steps * per_batch), f"at most {steps_name} {steps:g} x batch size {per_batch:g}")
            n_train, n_val = (size, n_val) if name == names.N_TRAIN_PARAM else (n_train, size)
    return n_train, n_val
