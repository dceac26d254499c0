"""Train one trial with Keras and return its per-epoch curves.

Runs inside a worker process: it imports TensorFlow, never MLflow. Everything it measures
goes back to the sweep as a plain :class:`TrialOutcome`, and the sweep does the logging.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from pipeline.data import PreparedData, training_subset
from pipeline.grid import TrialConfig
from pipeline.names import FULL_TRAIN_SIZE


@dataclass
class TrialOutcome:
    """What a trial produced: curves (one value per epoch), status and timing."""

    index: int
    status: str  # "FINISHED" or "FAILED"
    curves: dict[str, list[float]] = field(default_factory=dict)
    train_seconds: float = 0.0
    error: str | None = None
    diverged_epoch: int | None = None


def configure_tensorflow(threads: int, *, verbose: bool = False) -> None:
    """Size TensorFlow's thread pools and quiet its logs; call once per process, before training."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if not verbose:
        tf.get_logger().setLevel("ERROR")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # pools already initialised in this process: keep them
        pass


def train_trial(index: int, config: TrialConfig, data: PreparedData) -> TrialOutcome:
    """Build, compile and fit the trial's model; never raises.

    A Python error, or a loss that becomes NaN or infinite, gives a ``FAILED`` outcome with the
    error message (or the epoch it diverged at) and the curves measured so far. A ``train_size``
    below the whole split trains on :func:`pipeline.data.training_subset`'s rows, against the same
    validation split.
    """
    import keras

    from pipeline.callbacks import EpochEndEvaluation
    from pipeline.model import build_model, make_optimizer
    from pipeline.targets import output_head

    started = time.perf_counter()
    evaluation = None
    try:
        keras.backend.clear_session()
        keras.utils.set_random_seed(config.seed)
        X_train, y_train_raw = _training_rows(config, data)
        head = output_head(data.task, config.loss, data.n_classes)
        y_train, y_val = head.encode(y_train_raw), head.encode(data.y_val)
        model = build_model(config, n_features=data.n_features, head=head)
        steps_per_epoch = math.ceil(len(X_train) / config.batch_size)
        # XLA would compile every trial's new model again (seconds on CPU) to save microseconds per step
        model.compile(optimizer=make_optimizer(config), loss=config.loss, steps_per_execution=steps_per_epoch,
                      jit_compile=False)
        evaluation = EpochEndEvaluation(
            (X_train, y_train, y_train_raw), (data.X_val, y_val, data.y_val),
            loss=config.loss, head=head, target_scale=data.target_scale,
        )
        model.fit(_epoch_stream(X_train, y_train, config), steps_per_epoch=steps_per_epoch,
                  epochs=config.epochs, shuffle=False, verbose=0, callbacks=[evaluation])
    except Exception as error:  # a failing trial must not take the sweep down
        curves = evaluation.curves if evaluation is not None else {}
        return TrialOutcome(index, "FAILED", curves, time.perf_counter() - started,
                            error=f"{type(error).__name__}: {error}".strip()[:1000] or traceback.format_exc(limit=1))
    seconds = time.perf_counter() - started
    if evaluation.diverged_epoch is not None:
        return TrialOutcome(index, "FAILED", evaluation.curves, seconds,
                            error=f"loss diverged (non-finite) at epoch {evaluation.diverged_epoch}",
                            diverged_epoch=evaluation.diverged_epoch)
    return TrialOutcome(index, "FINISHED", evaluation.curves, seconds)


def _training_rows(config: TrialConfig, data: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    """The training features and targets of the trial's ``train_size``."""
    if config.train_size == FULL_TRAIN_SIZE:
        return data.X_train, data.y_train
    rows = training_subset(data.y_train, config.train_size, task=data.task, seed=data.split_seed)
    return data.X_train[rows], data.y_train[rows]


def _epoch_stream(X: np.ndarray, y: np.ndarray, config: TrialConfig):
    """Shuffled batches, reshuffled every epoch, repeated: one iterator for the whole fit.

    Keras builds a new ``tf.data`` iterator per epoch for in-memory arrays; on small tabular
    data that costs more than the epoch's training. With ``steps_per_epoch`` = batches per
    epoch, each epoch still sees every row once, in a seeded order.
    """
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices((X, y))
            .shuffle(len(X), seed=config.seed, reshuffle_each_iteration=True)
            .batch(config.batch_size)
            .repeat()
            .prefetch(2))
