"""A synthetic sweep logged in the MLflow layout of :mod:`pipeline.names`, without training anything.

Used by ``bench/report_scale.py`` and the report tests: it writes the same params, tags and metric
histories a real sweep writes, with plausible under- and over-fitting curves, a few diverged trials
and a FAILED run, so the report can be built and timed on a store of any size in seconds.
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
    bias, variance = avoidable_bias > _MARGIN, variance_gap > _MARGIN
    return {(False, False): "good_fit", (True, False): "high_bias",
            (False, True): "high_variance", (True, True): "high_bias_high_variance"}[(bias, variance)]


def _curves(config: dict, epochs: int, rng: random.Random) -> tuple[dict[str, list[float]], int | None]:
    """Per-epoch train/val error and loss; returns the curves and the epoch they diverged at (or None)."""
    capacity = config["depth"] * config["width"] / 64.0
    regularised = 1.0 - 0.4 * (config["dropout"] > 0) - 0.3 * (config["l2"] > 0)
    speed = (0.25 if config["optimizer"] == "adam" else 0.06) * (config["learning_rate"] / 0.001) ** 0.5
    floor = 0.03 + 0.25 / (1.0 + 4 * capacity) + (0.03 if config["activation"] == "tanh" else 0.0)
    train_floor = floor * (1.0 - min(0.8, 0.1 * capacity * regularised))
    overfit_rate, overfit_start = 0.0015 * capacity * regularised, min(25.0, 2.0 / speed)
    diverges = config["optimizer"] == "sgd" and config["learning_rate"] >= 0.01 and config["depth"] >= 8
    diverged_epoch = rng.randint(3, 8) if diverges else None
    curves: dict[str, list[float]] = {key: [] for key in ("train_error", "val_error", "train_loss", "val_loss")}
    for epoch in range(1, (diverged_epoch or epochs + 1)):
        decay = math.exp(-speed * epoch)
        train_error = train_floor + (0.6 - train_floor) * decay
        val_error = floor + 0.01 + (0.59 - floor) * decay + overfit_rate * max(0.0, epoch - overfit_start)
        curves["train_error"].append(min(max(train_error + rng.gauss(0, 0.004), 0.0), 1.0))
        curves["val_error"].append(min(max(val_error + rng.gauss(0, 0.006), 0.0), 1.0))
        curves["train_loss"].append(2.2 * curves["train_error"][-1] + 0.05)
        curves["val_loss"].append(2.4 * curves["val_error"][-1] + 0.07)
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
    task: str = "classification",
) -> str:
    """Log one synthetic sweep (a parent run and ``n_trials`` child runs); return the parent run id.

    For ``task="regression"`` the same curves are logged as ``train_rmse``/``val_rmse``.

    >>> log_synthetic_sweep("sqlite:///demo.db", "demo", n_trials=8)  # doctest: +SKIP
    """
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    grid, metric = grid or SYNTHETIC_GRID, names.task_metric(task)
    configs = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    rng = random.Random(seed)
    if n_trials < len(configs):
        configs = [configs[index] for index in sorted(rng.sample(range(len(configs)), n_trials))]
    start = int(time.time() * 1000)
    parent = client.create_run(experiment_id, start_time=start, run_name=f"sweep-{spec_name}",
                               tags={names.ROLE_TAG: names.ROLE_SWEEP, names.SPEC_NAME_TAG: spec_name,
                                     names.REFERENCE_SOURCE_TAG: "given"})
    parent_id = parent.info.run_id
    counts = {"finished": 0, "failed": 0}
    for index, config in enumerate(configs):
        epochs = int(config.get("epochs", 30))
        curves, diverged_epoch = _curves({**SYNTHETIC_GRID_DEFAULTS, **config}, epochs, rng)
        key = "-".join(f"{axis}={value}" for axis, value in config.items())
        tags = {names.ROLE_TAG: names.ROLE_TRIAL, names.PARENT_RUN_TAG: parent_id, names.TRIAL_KEY_TAG: key}
        run = client.create_run(experiment_id, start_time=start + index, tags=tags, run_name=f"trial-{index:04d}")
        metrics = [Metric(name.replace("error", metric), value, start + step, step)
                   for name, values in curves.items() for step, value in enumerate(values, start=1)]
        metrics += [Metric(names.RUNNING_LOSS, value * 1.05, start + step, step)
                    for step, value in enumerate(curves["train_loss"], start=1)]
        run_tags = []
        if diverged_epoch:
            run_tags += [RunTag(names.DIAGNOSIS_TAG, "diverged"), RunTag(names.DIAGNOSIS_AT_RECOMMENDED_TAG, "diverged"),
                         RunTag(names.ERROR_TAG, f"loss became NaN at epoch {diverged_epoch}"),
                         RunTag(names.DIVERGED_EPOCH_TAG, str(diverged_epoch))]
        else:
            best_epoch = min(range(epochs), key=curves["val_error"].__getitem__) + 1
            train_final, val_final = curves["train_error"][-1], curves["val_error"][-1]
            summary = {
                "best_val_error": curves["val_error"][best_epoch - 1], "best_epoch": best_epoch,
                "final_train_error": train_final, "final_val_error": val_final,
                "train_seconds": 0.4 * epochs * config.get("depth", 1), "recommended_epochs": best_epoch,
                "avoidable_bias": train_final - reference_error, "variance_gap": val_final - train_final,
                "variance_gap_se": 0.01, "reference_error": reference_error,
            }
            metrics += [Metric(name.replace("_error", f"_{metric}") if name.startswith(("best_", "final_")) else name,
                               float(value), start, 0) for name, value in summary.items()]
            at_best = _label(curves["train_error"][best_epoch - 1] - reference_error,
                             curves["val_error"][best_epoch - 1] - curves["train_error"][best_epoch - 1])
            run_tags += [RunTag(names.DIAGNOSIS_TAG, _label(summary["avoidable_bias"], summary["variance_gap"])),
                         RunTag(names.DIAGNOSIS_AT_RECOMMENDED_TAG, at_best)]
        params = [Param(axis, str(value)) for axis, value in config.items()] + [Param("task", task)]
        for offset in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[offset:offset + 1000],
                             params=params if offset == 0 else (), tags=run_tags if offset == 0 else ())
        client.set_terminated(run.info.run_id, status="FAILED" if diverged_epoch else "FINISHED")
        counts["failed" if diverged_epoch else "finished"] += 1
    parent_params = {"dataset": dataset, "task": task, "n_train": 800, "n_val": 200, "n_test": 200,
                     "n_features": 2, "grid_size": len(configs), "n_dropped_invalid": 0,
                     "spec_hash": f"synthetic{seed}", "grid": json.dumps(grid)}
    parent_metrics = {"reference_error": reference_error, "n_trials": len(configs), "n_finished": counts["finished"],
                      "n_failed": counts["failed"], "n_skipped": 0, "sweep_seconds": 12.5 * len(configs)}
    client.log_batch(parent_id, params=[Param(key, str(value)) for key, value in parent_params.items()],
                     metrics=[Metric(key, float(value), start, 0) for key, value in parent_metrics.items()])
    client.set_terminated(parent_id)
    return parent_id

