"""How fast is a fitcheck sweep next to what practitioners run today? Prints a table.

The same 16 configurations of the same data, trained several ways, each variant in its own
process (so TensorFlow start-up and memory count fairly), repeated and alternated so that drift
on a busy machine hits every variant alike; the table shows the median wall time, the median
peak memory of the variant's whole process tree and the ratio to the ``bare`` loop.

    .venv/bin/python bench/sweep_speed.py [--repeats 3] [--quick] [--scale] [--ray] [--keep DIR]

Variants: ``bare`` (a loop of ``model.fit(..., validation_data=...)``), ``bare-tuned`` (the same
with ``steps_per_execution`` = steps per epoch), ``autolog`` (the loop with
``mlflow.keras.autolog()`` into a fresh SQLite store), ``kerastuner`` (Keras Tuner
``GridSearch``), ``fitcheck-w1`` / ``fitcheck-w2`` (``fitcheck sweep --workers 1|2`` into a fresh
SQLite store, with everything it logs: epoch-end evaluation, diagnosis, plots, report; trials of
one optimizer train as fused groups), ``fitcheck-w2-nofuse`` (the same with ``--no-fuse``: one
model per trial); with ``--ray`` also ``fitcheck-ray-w2`` (the Ray executor on a local Ray), with
``--scale`` also ``fitcheck-w2-x64`` and ``fitcheck-w2-x256`` (the grid run for 4 and 16 seeds: 64 and 256 trials,
for linearity; the table then adds each one's seconds per configuration and the marginal cost of a configuration
over the 16-trial sweep, as a share of a bare configuration).

The variants must do the same work: the final validation accuracy of each configuration is
compared across variants and must agree within ``ACCURACY_TOLERANCE``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
#: Largest difference in final validation accuracy allowed between variants, per configuration.
#: The Keras loops shuffle with Keras' array adapter and fitcheck with a seeded ``tf.data`` stream,
#: so the same configuration sees its batches in a different order: 3 points of 1000 rows.
ACCURACY_TOLERANCE = 0.03
LEARNING_RATES = {"adam": 0.001, "sgd": 0.01}  # the Keras defaults of ``optimizer="adam"`` / ``"sgd"``
AXES = {"depth": [1, 3], "activation": ["relu", "tanh"], "optimizer": ["adam", "sgd"],
        "loss": ["binary_crossentropy", "mse"]}
WIDTH, BATCH_SIZE, SEED = 64, 64, 0
LOADS: list[float] = []  # the 1-minute load average as each run starts: how busy the machine was
TARGETS = {  # variant: {baseline: largest allowed ratio}
    "fitcheck-w1": {"bare": 0.8, "bare-tuned": 1.1},
    "fitcheck-w2": {"bare": 0.15, "autolog": 0.25, "kerastuner": 0.35, "fitcheck-w2-nofuse": 1.0},
    "fitcheck-w2-x64": {"fitcheck-w2": 3.0},
}
SCALES = {"x64": 4, "x256": 16}  # variant suffix: seeds of the 16-configuration grid
#: Largest marginal cost of a configuration beyond the 16-trial sweep, as a share of a bare configuration.
MARGINAL_TARGET = 0.03


def configurations() -> list[dict]:
    """The 16 configurations, as dicts of the four axes."""
    return [dict(zip(AXES, values)) for values in product(*AXES.values())]


def config_name(config: dict) -> str:
    return f"d{config['depth']}-{config['activation']}-{config['optimizer']}-{config['loss']}"


def make_data(folder: Path) -> Path:
    """make_classification(5000, 20 features, 10 informative, flip_y 0.05) as a CSV."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10, flip_y=0.05, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = y
    path = folder / "classification.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def load_split(csv: Path):
    """Standardised (on the training rows) 80/20 stratified split, float32, as fitcheck makes it."""
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(csv)
    X, y = frame.drop(columns=["target"]).to_numpy(), frame["target"].to_numpy()
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32), y_train.astype(np.float32),
            scaler.transform(X_val).astype(np.float32), y_val.astype(np.float32))


def write_spec(folder: Path, csv: Path, epochs: int, seeds: list[int]) -> Path:
    """The fitcheck spec of the same grid (one sub-grid per optimizer, at its Keras default rate)."""
    import yaml

    grids = [{"depth": list(AXES["depth"]), "width": [WIDTH], "activation": list(AXES["activation"]),
              "loss": list(AXES["loss"]),
              "optimizer": [optimizer], "learning_rate": [rate], "batch_size": [BATCH_SIZE], "epochs": [epochs],
              "seeds": list(seeds)} for optimizer, rate in LEARNING_RATES.items()]
    spec = {"experiment": "speed", "dataset": {"csv": str(csv), "target": "target"},
            "split": {"validation": 0.2, "seed": SEED}, "grid": grids}
    path = folder / f"speed-{len(seeds)}seeds.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


# -- the variants that are plain Keras loops, run in a child process ---------------------------------
def build(config: dict):
    import keras

    layers = [keras.Input(shape=(20,))]
    layers += [keras.layers.Dense(WIDTH, activation=config["activation"]) for _ in range(config["depth"])]
    return keras.Sequential(layers + [keras.layers.Dense(1, activation="sigmoid")])


def keras_loop(csv: Path, epochs: int, *, tuned: bool, autolog_uri: str | None) -> dict[str, float]:
    """The practitioner's loop; returns each configuration's final validation accuracy."""
    import keras

    X_train, y_train, X_val, y_val = load_split(csv)
    steps = int(np.ceil(len(X_train) / BATCH_SIZE))
    if autolog_uri:
        import mlflow

        mlflow.set_tracking_uri(autolog_uri)
        mlflow.set_experiment("autolog")
        mlflow.keras.autolog()
    accuracies = {}
    for config in configurations():
        keras.backend.clear_session()
        keras.utils.set_random_seed(SEED)
        model = build(config)
        model.compile(optimizer=config["optimizer"], loss=config["loss"], metrics=["accuracy"],
                      steps_per_execution=steps if tuned else 1)
        if autolog_uri:
            import mlflow

            with mlflow.start_run(run_name=config_name(config)):
                history = model.fit(X_train, y_train, batch_size=BATCH_SIZE, epochs=epochs,
                                    validation_data=(X_val, y_val), verbose=0)
        else:
            history = model.fit(X_train, y_train, batch_size=BATCH_SIZE, epochs=epochs,
                                validation_data=(X_val, y_val), verbose=0)
        accuracies[config_name(config)] = float(history.history["val_accuracy"][-1])
    return accuracies


def kerastuner_grid(csv: Path, epochs: int, folder: Path) -> dict[str, float]:
    """Keras Tuner ``GridSearch`` over the same axes; returns final validation accuracies."""
    import keras
    import keras_tuner

    X_train, y_train, X_val, y_val = load_split(csv)

    def hypermodel(hp):
        config = {axis: hp.Choice(axis, values) for axis, values in AXES.items()}
        keras.utils.set_random_seed(SEED)
        model = build(config)
        model.compile(optimizer=config["optimizer"], loss=config["loss"], metrics=["accuracy"])
        return model

    tuner = keras_tuner.GridSearch(hypermodel, objective="val_accuracy", seed=SEED, directory=str(folder),
                                   project_name="grid", overwrite=True)
    tuner.search(X_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, validation_data=(X_val, y_val), verbose=0)
    return {config_name(trial.hyperparameters.values): float(trial.metrics.get_history("val_accuracy")[-1].mean())
            for trial in tuner.oracle.trials.values()}


def child_main(variant: str, csv: Path, epochs: int, folder: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if variant == "kerastuner":
        accuracies = kerastuner_grid(csv, epochs, folder)
    else:
        accuracies = keras_loop(csv, epochs, tuned=variant == "bare-tuned",
                                autolog_uri=f"sqlite:///{folder / 'autolog.db'}" if variant == "autolog" else None)
    (folder / "accuracies.json").write_text(json.dumps(accuracies))


# -- the parent: run, time and measure every variant -------------------------------------------------
def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid and child not in tree]
        tree.update(children)
        frontier.extend(children)
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Run ``command``; its wall time and the peak resident memory of its process tree."""
    LOADS.append(os.getloadavg()[0])
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RAY_USAGE_STATS_ENABLED": "0"})
    peak = 0
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        time.sleep(0.25)
    seconds = time.perf_counter() - started
    reader.join()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{''.join(output)[-3000:]}")
    return seconds, peak


def fitcheck_accuracies(store: Path) -> dict[str, float]:
    """Final validation accuracy per configuration (seed 0) from a fitcheck sweep's store."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("speed")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`fitcheck.role` = 'trial'",
                              max_results=1000)
    return {config_name(run.data.params): 1.0 - run.data.metrics["final_val_error"]
            for run in runs if run.data.params["seed"] == str(SEED)}


def run_variant(variant: str, csv: Path, specs: dict[int, Path], epochs: int, folder: Path) -> tuple[float, int, dict]:
    folder.mkdir(parents=True)
    if not variant.startswith("fitcheck"):
        command = [sys.executable, __file__, "--child", variant, "--csv", str(csv), "--epochs", str(epochs),
                   "--folder", str(folder)]
        seconds, peak = timed(command, folder)
        return seconds, peak, json.loads((folder / "accuracies.json").read_text())
    workers = "1" if "-w1" in variant else "2"
    spec = specs[SCALES.get(variant.rsplit("-", 1)[-1], 1)]
    command = [FITCHECK, "sweep", str(spec), "--workers", workers, "--tracking-uri",
               f"sqlite:///{folder / 'mlflow.db'}", "--no-progress"]
    if "-ray" in variant:
        command += ["--executor", "ray"]
    if "-nofuse" in variant:
        command += ["--no-fuse"]
    seconds, peak = timed(command, folder)
    return seconds, peak, fitcheck_accuracies(folder / "mlflow.db")


def report(times: dict[str, list[float]], peaks: dict[str, list[int]], accuracies: dict[str, dict]) -> str:
    medians = {variant: statistics.median(values) for variant, values in times.items()}
    bare = medians.get("bare")
    lines = [f"{'variant':<18}{'median s':>10}{'runs (s)':>28}{'peak MiB':>10}{'x bare':>8}",
             "-" * 74]
    for variant, values in times.items():
        ratio = f"{medians[variant] / bare:.2f}" if bare else "-"
        runs = " ".join(f"{value:.1f}" for value in values)
        lines.append(f"{variant:<18}{medians[variant]:>10.1f}{runs:>28}"
                     f"{statistics.median(peaks[variant]) / 2**20:>10.0f}{ratio:>8}")
    lines.append("")
    for variant, limits in TARGETS.items():
        for baseline, limit in limits.items():
            if variant in medians and baseline in medians:
                ratio = medians[variant] / medians[baseline]
                verdict = "met" if ratio <= limit else "MISSED"
                lines.append(f"target {variant} <= {limit:g} x {baseline}: {ratio:.2f} {verdict}")
    grid = len(configurations())
    for suffix, seeds in SCALES.items():
        variant, n_configs = f"fitcheck-w2-{suffix}", grid * seeds
        if variant in medians and "fitcheck-w2" in medians:
            marginal = (medians[variant] - medians["fitcheck-w2"]) / (n_configs - grid)
            line = (f"{variant}: {medians[variant] / n_configs:.2f} s per configuration; marginal cost of a "
                    f"configuration over the 16-trial sweep {marginal:.2f} s")
            if bare:
                share = marginal / (bare / grid)
                line += (f" = {share:.3f} x a bare configuration ({bare / grid:.2f} s): "
                         f"target <= {MARGINAL_TARGET} {'met' if share <= MARGINAL_TARGET else 'MISSED'}")
            lines.append(line)
    if "fitcheck-ray-w2" in medians and "fitcheck-w2" in medians:
        overhead = medians["fitcheck-ray-w2"] - medians["fitcheck-w2"]
        lines.append(f"Ray executor overhead on one machine: {overhead:+.1f} s "
                     f"({medians['fitcheck-ray-w2'] / medians['fitcheck-w2']:.2f} x local --workers 2)")
    lines.append("")
    names = sorted({name for per_variant in accuracies.values() for name in per_variant})
    worst, where = 0.0, ""
    for name in names:
        values = {variant: per_variant[name] for variant, per_variant in accuracies.items() if name in per_variant}
        spread = max(values.values()) - min(values.values())
        if spread > worst:
            worst, where = spread, f"{name}: " + ", ".join(f"{v} {a:.3f}" for v, a in values.items())
    verdict = "agree" if worst <= ACCURACY_TOLERANCE else "DISAGREE"
    lines.append(f"equivalence: final val accuracy of {len(names)} configurations across {len(accuracies)} variants "
                 f"{verdict}: largest spread {worst:.3f} (tolerance {ACCURACY_TOLERANCE}){' at ' + where if where else ''}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat of 10 epochs: a smoke run, not a measurement")
    parser.add_argument("--scale", action="store_true", help="also run the 64-trial grid (4 seeds) for linearity")
    parser.add_argument("--ray", action="store_true", help="also run fitcheck on the Ray executor (local Ray)")
    parser.add_argument("--variants", help="comma-separated subset of the variants to run")
    parser.add_argument("--keep", type=Path, help="keep every store and report in this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.csv, args.epochs, args.folder)
        return
    repeats, epochs = (1, 10) if args.quick else (args.repeats, args.epochs)
    variants = ["bare", "bare-tuned", "autolog", "kerastuner", "fitcheck-w1", "fitcheck-w2", "fitcheck-w2-nofuse"]
    variants += ["fitcheck-ray-w2"] * args.ray + ["fitcheck-w2-x64", "fitcheck-w2-x256"] * args.scale
    if args.variants:
        variants = args.variants.split(",")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="fitcheck-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv = make_data(folder)
    specs = {seeds: write_spec(folder, csv, epochs, list(range(seeds))) for seeds in (1, *SCALES.values())}
    times: dict[str, list[float]] = {v: [] for v in variants}
    peaks: dict[str, list[int]] = {v: [] for v in variants}
    accuracies: dict[str, dict] = {}
    print(f"{len(variants)} variants x {repeats} repeats, {epochs} epochs, in {folder}", flush=True)
    for repeat in range(repeats):
        order = variants[repeat % len(variants):] + variants[:repeat % len(variants)]  # rotate: drift hits all
        for variant in order:
            seconds, peak, accuracies[variant] = run_variant(variant, csv, specs, epochs, folder / f"{variant}-{repeat}")
            times[variant].append(seconds)
            peaks[variant].append(peak)
            print(f"  repeat {repeat + 1}: {variant:<16} {seconds:7.1f} s  {peak / 2**20:6.0f} MiB  load {LOADS[-1]:.1f}",
                  flush=True)
    table = report(times, peaks, accuracies)
    table = (f"sweep_speed: {len(configurations())} configurations, {epochs} epochs, {repeats} repeats, "
             f"{os.cpu_count()} cores, load average at the runs' starts {min(LOADS):.1f} to {max(LOADS):.1f} "
             f"(median {statistics.median(LOADS):.1f})\n{table}")
    print(f"\n{table}")
    (folder / "sweep_speed.txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
