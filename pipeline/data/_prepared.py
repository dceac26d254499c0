"""The prepared arrays of one dataset: each split's inputs and encoded targets, and their fingerprint."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class PreparedData:
    """Float32 feature matrices and encoded targets for each split.

    Classification targets are integer class indices ``0..n_classes-1``; regression targets are
    standardised with the training split's mean and scale (``target_scale`` turns a standardised
    RMSE back into the target's units).
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    feature_names: list[str]
    classes: list[str] = field(default_factory=list)
    target_scale: float = 1.0
    frame: pd.DataFrame | None = None
    target: str = "target"
    #: Positions in ``frame`` of each split's rows, by :data:`pipeline.names.TRAINING_CONTEXT` and the others.
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    #: The split's seed: it also fixes the order :func:`training_subset` takes training rows in.
    split_seed: int = 0

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape: ``(n_features,)`` for tabular data, ``(8, 8, 1)`` for 8x8 grey images."""
        return tuple(int(size) for size in self.X_train.shape[1:])

    @property
    def n_features(self) -> int:
        """Values per sample (the product of :attr:`input_shape`)."""
        return math.prod(self.input_shape)

    def fingerprint(self) -> str:
        """A hash of the prepared arrays: same data and split, same fingerprint."""
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_val, self.y_val):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(self.task.encode())
        if len(self.input_shape) > 1:  # tabular data keeps the fingerprint it always had
            digest.update(repr(self.input_shape).encode())
        return digest.hexdigest()[:16]
