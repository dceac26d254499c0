"""A synthetic sweep logged in the MLflow layout of :mod:`pipeline.names`, without training anything.

Test and benchmark support, not part of the package. Used by the report tests and
``bench/report_scale.py``: it writes the same params, tags and metric histories a real sweep writes,
with plausible under- and over-fitting curves, a few diverged trials and a FAILED run, so the report
can be built and timed on a store of any size in seconds. It labels a trial by a fixed margin on its
avoidable bias and variance gap, not by :func:`pipeline.diagnostics.diagnose`.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from pipeline import names
from pipeline.executors import InProcessExecutor, TrialStarted
from pipeline.diagnostics._labels import fit_label

SYNTHETIC_GRID = {
    "depth": [1, 2, 4, 8],
    "width": [16, 64],
    "activation": ["relu", "tanh"],
    "loss": ["categorical_crossentropy"],
    "optimizer": ["sgd", "adam"],
    "learning_rate": [0.001, 0.01],
    "batch_size": [32],
    "epochs": [30],
    "seed": [0, 1],
    "l2": [0.0, 0.0001],
    "dropout": [0.0, 0.2],
}
SYNTHETIC_GRID_DEFAULTS = {axis: values[0] for axis, values in SYNTHETIC_GRID.items()}
_MARGIN = 0.05


def _label(avoidable_bias: float, variance_gap: float) -> str:
    return fit_label(high_bias=avoidable_bias > _MARGIN, high_variance=variance_gap > _MARGIN)


def _curves(config: dict, epochs: int, rng: random.Random) -> tuple[dict[str, list[float]], int | None]:
    """Per-epoch task metric (``"train"``, ``"val"``) and loss (``names.TRAIN_LOSS``, ``names.VAL_LOSS``);
    returns the curves and the epoch they diverged at (or None)."""
    capacity = config["depth"] * config["width"] / 64.0
    regularised = 1.0 - 0.4 * (config["dropout"] > 0) - 0.3 * (config["l2"] > 0)
    speed = (0.25 if config["optimizer"] == "adam" else 0.06) * (config["learning_rate"] / 0.001) ** 0.5
    floor = 0.03 + 0.25 / (1.0 + 4 * capacity) + (0.03 if config["activation"] == "tanh" else 0.0)
    train_floor = floor * (1.0 - min(0.8, 0.1 * capacity * regularised))
    overfit_rate, overfit_start = 0.0015 * capacity * regularised, min(25.0, 2.0 / speed)
    diverges = config["optimizer"] == "sgd" and config["learning_rate"] >= 0.01 and config["depth"] >= 8
    diverged_epoch = rng.randint(3, 8) if diverges else None
    curves: dict[str, list[float]] = {key: [] for key in ("train", "val", names.TRAIN_LOSS, names.VAL_LOSS)}
    for epoch in range(1, (diverged_epoch or epochs + 1)):
        decay = math.exp(-speed * epoch)
        train_error = train_floor + (0.6 - train_floor) * decay
        val_error = floor + 0.01 + (0.59 - floor) * decay + overfit_rate * max(0.0, epoch - overfit_start)
        curves["train"].append(min(max(train_error + rng.gauss(0, 0.004), 0.0), 1.0))
        curves["val"].append(min(max(val_error + rng.gauss(0, 0.006), 0.0), 1.0))
        curves[names.TRAIN_LOSS].append(2.2 * curves["train"][-1] + 0.05)
        curves[names.VAL_LOSS].append(2.4 * curves["val"][-1] + 0.07)
    return curves, diverged_epoch


def log_synthetic_sweep(
    tracking_uri: str,
    experiment_name: str,
    *,
    n_trials: int = 24,
    dataset: str = "synthetic-moons",
    spec_name: str = "synthetic",
    reference_error: float = 0.05,
    grid: dict | None = None,
    seed: int = 0,
    task: str = names.BINARY,
) -> str:
    """Log one synthetic sweep (a parent run and ``n_trials`` child runs); return the parent run id.

    For ``task=names.REGRESSION`` the same curves are logged as ``train_rmse``/``val_rmse``.

    >>> log_synthetic_sweep("sqlite:///demo.db", "demo", n_trials=8)  # doctest: +SKIP
    """
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    grid = grid or SYNTHETIC_GRID
    *_, train_metric, val_metric = names.curve_columns(task)
    logged_as = {"train": train_metric, "val": val_metric, names.TRAIN_LOSS: names.TRAIN_LOSS,
                 names.VAL_LOSS: names.VAL_LOSS}
    configs = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    rng = random.Random(seed)
    if n_trials < len(configs):
        configs = [configs[index] for index in sorted(rng.sample(range(len(configs)), n_trials))]
    start = int(time.time() * 1000)
    parent = client.create_run(experiment_id, start_time=start, run_name=f"sweep-{spec_name}",
                               tags={names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_NAME_TAG: spec_name,
                                     names.REFERENCE_SOURCE_TAG: names.REFERENCE_GIVEN})
    parent_id = parent.info.run_id
    counts = {"finished": 0, "failed": 0}
    for index, config in enumerate(configs):
        epochs = int(config.get("epochs", 30))
        curves, diverged_epoch = _curves({**SYNTHETIC_GRID_DEFAULTS, **config}, epochs, rng)
        key = "-".join(f"{axis}={value}" for axis, value in config.items())
        tags = {names.ROLE_TAG: names.ROLE_TRIAL, names.PARENT_RUN_TAG: parent_id, names.TRIAL_KEY_TAG: key}
        run = client.create_run(experiment_id, start_time=start + index, tags=tags, run_name=f"trial-{index:04d}")
        metrics = [Metric(logged_as[name], value, start + step, step)
                   for name, values in curves.items() for step, value in enumerate(values, start=1)]
        metrics += [Metric(names.RUNNING_LOSS, value * 1.05, start + step, step)
                    for step, value in enumerate(curves[names.TRAIN_LOSS], start=1)]
        run_tags = []
        if diverged_epoch:
            run_tags += [RunTag(names.DIAGNOSIS_TAG, names.DIVERGED),
                         RunTag(names.DIAGNOSIS_AT_RECOMMENDED_TAG, names.DIVERGED),
                         RunTag(names.ERROR_TAG, f"loss became NaN at epoch {diverged_epoch}"),
                         RunTag(names.DIVERGED_EPOCH_TAG, str(diverged_epoch))]
        else:
            train, val = curves["train"], curves["val"]
            best_epoch = min(range(epochs), key=val.__getitem__) + 1
            avoidable_bias, variance_gap = train[-1] - reference_error, val[-1] - train[-1]
            summary = {
                names.summary_metric("best_val", task): val[best_epoch - 1], names.BEST_EPOCH: best_epoch,
                names.summary_metric("final_train", task): train[-1],
                names.summary_metric("final_val", task): val[-1],
                names.TRAIN_SECONDS: 0.4 * epochs * config.get("depth", 1), names.RECOMMENDED_EPOCHS: best_epoch,
                "avoidable_bias": avoidable_bias, names.VARIANCE_GAP: variance_gap,
                "variance_gap_se": 0.01, names.REFERENCE_ERROR: reference_error,
            }
            metrics += [Metric(name, float(value), start, 0) for name, value in summary.items()]
            at_best = _label(train[best_epoch - 1] - reference_error, val[best_epoch - 1] - train[best_epoch - 1])
            run_tags += [RunTag(names.DIAGNOSIS_TAG, _label(avoidable_bias, variance_gap)),
                         RunTag(names.DIAGNOSIS_AT_RECOMMENDED_TAG, at_best)]
        params = [Param(axis, str(value)) for axis, value in config.items()] + [Param(names.TASK_PARAM, task)]
        for offset in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[offset:offset + 1000],
                             params=params if offset == 0 else (), tags=run_tags if offset == 0 else ())
        client.set_terminated(run.info.run_id, status="FAILED" if diverged_epoch else "FINISHED")
        counts["failed" if diverged_epoch else "finished"] += 1
    parent_params = {"dataset": dataset, names.TASK_PARAM: task, names.N_TRAIN_PARAM: 800, names.N_VAL_PARAM: 200,
                     "n_test": 200, "n_features": 2, "grid_size": len(configs), "n_dropped_invalid": 0,
                     "spec_hash": f"synthetic{seed}", names.GRID_PARAM: json.dumps(grid)}
    parent_metrics = {names.REFERENCE_ERROR: reference_error, names.N_TRIALS: len(configs),
                      names.N_FINISHED: counts["finished"], names.N_FAILED: counts["failed"], names.N_SKIPPED: 0,
                      names.SWEEP_SECONDS: 12.5 * len(configs)}
    client.log_batch(parent_id, params=[Param(key, str(value)) for key, value in parent_params.items()],
                     metrics=[Metric(key, float(value), start, 0) for key, value in parent_metrics.items()])
    client.set_terminated(parent_id)
    return parent_id


class InterruptedExecutor(InProcessExecutor):
    """Trains in this process and raises KeyboardInterrupt (Ctrl-C) once trial ``after`` has started."""

    def __init__(self, after: int, **options):
        super().__init__(**options)
        self.after = after

    def run(self, jobs, data):
        for event in super().run(jobs, data):
            yield event
            if isinstance(event, TrialStarted) and event.index == self.after:
                raise KeyboardInterrupt
