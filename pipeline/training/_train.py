"""Train one trial with Keras and return its per-epoch curves.

Runs inside a worker process: it imports TensorFlow, never MLflow. Everything it measures
goes back to the sweep as a plain :class:`TrialOutcome`, and the sweep does the logging.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pipeline.data import PreparedData, training_subset
from pipeline.errors import FitcheckError
from pipeline.search import TrialConfig
from pipeline.names import FULL_TRAIN_SIZE
from pipeline import names


@dataclass
class TrialOutcome:
    """What a trial produced: curves (one value per epoch), status and timing."""

    index: int
    status: str  # "FINISHED" or "FAILED"
    curves: dict[str, list[float]] = field(default_factory=dict)
    train_seconds: float = 0.0
    error: str | None = None
    diverged_epoch: int | None = None
    #: Early stopping: the epoch the trial stopped at, the epoch whose weights it kept, and the
    #: validation values (``val_loss``, ``val_<metric>``) measured again on the kept weights.
    stopped_epoch: int | None = None
    kept_epoch: int | None = None
    kept_values: dict[str, float] = field(default_factory=dict)
    #: Successive halving: the rung that pruned the trial.
    pruned_epoch: int | None = None


def require_tensorflow() -> None:
    """Refuse, in one line, to train without TensorFlow (fitcheck, like Keras 3, does not install it).

    Looks the package up without importing it, so a missing install is told before any work starts.
    """
    if importlib.util.find_spec("tensorflow") is None:
        raise FitcheckError("TensorFlow is not installed; fitcheck trains with it: pip install 'fitcheck[cpu]' "
                            "(CPU), 'fitcheck[gpu]' (NVIDIA GPU), or any TensorFlow >= 2.16 of your own")


@contextlib.contextmanager
def native_logs_hidden(hidden: bool = True) -> Iterator[None]:
    """Hide what TensorFlow's C++ start-up writes straight to this process's stderr while it loads.

    Its first lines (oneDNN, absl) ignore ``TF_CPP_MIN_LOG_LEVEL``. Python's own errors still raise;
    with ``hidden=False`` (``--verbose``) nothing is hidden.
    """
    if not hidden:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure_tensorflow(threads: int, *, verbose: bool = False) -> None:
    """Size TensorFlow's thread pools and quiet its logs; call once per process, before training."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if not verbose:
        tf.get_logger().setLevel("ERROR")
    for gpu in tf.config.list_physical_devices("GPU"):  # workers share a GPU: each takes memory as it needs it
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is already initialised in this process
            pass
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # pools already initialised in this process: keep them
        pass


def train_trial(index: int, config: TrialConfig, data: PreparedData) -> TrialOutcome:
    """Build, compile and fit the trial's model (fitcheck's MLP, or the trial's builder's); never raises.

    A Python error, or a loss that becomes NaN or infinite, gives a ``FAILED`` outcome with the
    error message (or the epoch it diverged at) and the curves measured so far. A ``train_size``
    below the whole split trains on :func:`pipeline.data.training_subset`'s rows, against the same
    validation split.
    """
    import keras

    from pipeline.training._callbacks import EpochEndEvaluation
    from pipeline.names import task_metric
    from pipeline.training._model import build_model, make_optimizer
    from pipeline.training._targets import output_head

    started = time.perf_counter()
    evaluation = None
    try:
        keras.backend.clear_session()
        keras.utils.set_random_seed(config.seed)
        X_train, y_train_raw = training_rows(config, data)
        if config.builder:
            from pipeline.training._builders import build

            model, head, loss = build(config, input_shape=data.input_shape, task=data.task, n_classes=data.n_classes)
        else:
            head, loss = output_head(data.task, config.loss, data.n_classes), config.loss
            model = build_model(config, input_shape=data.input_shape, head=head)
        y_train, y_val = head.encode(y_train_raw), head.encode(data.y_val)
        steps_per_epoch = math.ceil(len(X_train) / config.batch_size)
        # XLA would compile every trial's new model again (seconds on CPU) to save microseconds per step
        model.compile(optimizer=make_optimizer(config), loss=loss, steps_per_execution=steps_per_epoch,
                      jit_compile=False)
        evaluation = EpochEndEvaluation(
            (X_train, y_train, y_train_raw), (data.X_val, y_val, data.y_val),
            loss=loss, head=head, target_scale=data.target_scale,
        )
        stoppers = _stoppers(config, monitor=names.val_curve(task_metric(data.task)), n_val=len(data.y_val),
                             metric=task_metric(data.task))
        model.fit(epoch_stream(X_train, y_train, config), steps_per_epoch=steps_per_epoch,
                  epochs=config.epochs, shuffle=False, verbose=0, callbacks=[evaluation, *stoppers.values()])
    except Exception as error:  # a failing trial must not take the sweep down
        curves = evaluation.curves if evaluation is not None else {}
        return TrialOutcome(index, "FAILED", curves, time.perf_counter() - started,
                            error=f"{type(error).__name__}: {error}".strip()[:1000] or traceback.format_exc(limit=1))
    seconds = time.perf_counter() - started
    if evaluation.diverged_epoch is not None:
        return TrialOutcome(index, "FAILED", evaluation.curves, seconds,
                            error=f"loss diverged (non-finite) at epoch {evaluation.diverged_epoch}",
                            diverged_epoch=evaluation.diverged_epoch)
    outcome = TrialOutcome(index, "FINISHED", evaluation.curves, seconds)
    early, pruning = stoppers.get("early"), stoppers.get("pruning")
    if early is not None and early.kept_epoch is not None:
        outcome.stopped_epoch, outcome.kept_epoch = early.stopped_epoch, early.kept_epoch
        outcome.kept_values = {name: value for name, value in evaluation.measure().items() if name.startswith("val_")}
    if pruning is not None:
        outcome.pruned_epoch = pruning.pruned_epoch
    return outcome


def _stoppers(config: TrialConfig, *, monitor: str, n_val: int, metric: str) -> dict:
    """The callbacks that may end the trial before its last epoch: ``early`` and ``pruning``, as configured."""
    from pipeline.training._callbacks import OnlineStopping, RungPruning

    stoppers: dict = {}
    if config.early_stopping:
        stoppers["early"] = OnlineStopping(monitor)
    if config.pruning is not None:
        stoppers["pruning"] = RungPruning(monitor, record=config.pruning.record, trial=config.key(""),
                                          epochs=config.epochs, min_epochs=config.pruning.min_epochs,
                                          reduction_factor=config.pruning.reduction_factor, n_val=n_val,
                                          metric=metric)
    return stoppers


def training_rows(config: TrialConfig, data: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    """The training features and targets of the trial's ``train_size``."""
    if config.train_size == FULL_TRAIN_SIZE:
        return data.X_train, data.y_train
    rows = training_subset(data.y_train, config.train_size, task=data.task, seed=data.split_seed)
    return data.X_train[rows], data.y_train[rows]


def epoch_stream(X: np.ndarray, y: np.ndarray, config: TrialConfig):
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
