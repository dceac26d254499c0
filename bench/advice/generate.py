"""Train the scenarios' base runs (logged with ``mlflow.keras.autolog()``) and every remedy, six seeds each.

Per scenario, ``results/<dataset>__<kind>.json.gz`` caches every fit: its configuration, its curves
(Keras' history), and per validation row the outcome at the last epoch and at the epoch of lowest
``val_loss`` (classification: 1 when right; regression: the residual), for the paired sampling noise
``score.py`` adds to the seeds' noise. The base run of seed 0 is trained under
``mlflow.keras.autolog()`` into the SQLite store ``store/mlflow.db`` (gitignored), as a user would; its
run id is cached with it. Nothing is trained twice: a fit in the cache is skipped; a base run whose id
is not in the store (a fresh checkout) is re-logged (same seed, same curves).

    nice -n 10 .venv/bin/python bench/advice/generate.py [--workers 1] [--only digits/under_trained]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import scenarios as S  # noqa: E402

RESULTS = HERE / "results"
STORE = HERE / "store"
TRACKING_URI = f"sqlite:///{STORE / 'mlflow.db'}"
EXPERIMENT = "advice-bench"


def cache_path(scenario: S.Scenario) -> Path:
    """The scenario's cache: gzipped JSON (per validation row outcomes of every fit, ~25 KB a scenario)."""
    return RESULTS / (scenario.name.replace("/", "__") + ".json.gz")


def load_cache(scenario: S.Scenario) -> dict:
    path = cache_path(scenario)
    if path.exists():
        with gzip.open(path, "rt") as handle:
            return json.load(handle)
    return {"scenario": scenario.name, "dataset": scenario.dataset, "kind": scenario.kind, "n_val": scenario.n_val,
            "task": S.TASKS[scenario.dataset], "note": scenario.note, "base": scenario.base.to_dict(),
            "base_run_id": None, "fits": {}}


def save_cache(scenario: S.Scenario, cache: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = cache_path(scenario)
    tmp = path.with_suffix(".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as handle:  # mtime 0: the same cache gives the same bytes
        handle.write(json.dumps(cache, sort_keys=True, separators=(",", ":")).encode())
    os.replace(tmp, path)


def _setup_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.get_logger().setLevel("ERROR")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def _outcome(pred: np.ndarray, data: S.Data, target=None):
    """Per row of ``target`` (default: the validation rows): '1'/'0' (right/wrong) for classification, the
    residual for regression (a diverged prediction counts as the mean, 0 in standardised units)."""
    target = data.y_val if target is None else target
    if data.task == "regression":
        p = np.nan_to_num(pred.reshape(-1).astype(float), nan=0.0, posinf=1e3, neginf=-1e3)
        return [round(float(r), 4) for r in p - target]
    if data.task == "binary":
        label = (np.nan_to_num(pred.reshape(-1), nan=-1.0) > 0.5).astype(int)
    else:
        label = np.where(np.isfinite(pred).all(1), np.nan_to_num(pred).argmax(1), -1)
    return "".join("1" if a == b else "0" for a, b in zip(label, target))


def fit(config: S.Config, data: S.Data, seed: int) -> dict:
    """Train ``config`` with ``seed`` in a plain minibatch loop (Keras' model, loss, optimizer and
    regularisers; shuffled batches of ``S.BATCH_SIZE``, the last one short, as ``model.fit``). The same
    algorithm as ``model.fit`` without its per-epoch overhead (about 50 ms an epoch on this machine), so the
    whole suite trains in minutes; the runs fitcheck reads are real ``model.fit`` runs (:func:`autolog_fit`)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = data.x_pool[:config.n_train], data.y_pool[:config.n_train]
    model = S.build(config, data)
    loss_fn = {"regression": keras.losses.MeanSquaredError, "binary": keras.losses.BinaryCrossentropy,
               "multiclass": keras.losses.SparseCategoricalCrossentropy}[data.task]()
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)

    n, batch = len(x), S.BATCH_SIZE
    n_batches = -(-n // batch)

    @tf.function
    def train_epoch(xs, ys):
        """One epoch over the shuffled rows, batch by batch, in one graph: the mean of the batch losses."""
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            xb, yb = xs[i * batch:(i + 1) * batch], ys[i * batch:(i + 1) * batch]
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
                if model.losses:
                    loss = loss + tf.add_n(model.losses)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            total += loss
        return total / n_batches

    @tf.function
    def evaluate(xv):
        return model(xv, training=False)

    def val_loss(pred) -> float:
        value = float(loss_fn(data.y_val, pred))
        if model.losses:
            value += float(tf.add_n(model.losses))
        return value

    start = time.process_time()
    history = {"loss": [], "val_loss": []}
    best = {"val_loss": math.inf, "epoch": None, "pred": None}
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        total = float(train_epoch(tf.constant(x[order]), tf.constant(y[order])))
        pred = evaluate(data.x_val).numpy()
        vl = val_loss(pred)
        history["loss"].append(total)
        history["val_loss"].append(vl)
        if math.isfinite(vl) and vl < best["val_loss"]:
            best.update(val_loss=vl, epoch=epoch + 1, pred=pred)
        if not math.isfinite(total):  # diverged: the rest of the run is NaN too
            history["loss"] += [math.nan] * (config.epochs - epoch - 1)
            history["val_loss"] += [math.nan] * (config.epochs - epoch - 1)
            break
    train_pred = evaluate(x).numpy()
    record = {"config": config.to_dict(), "seed": seed, "cpu_s": round(time.process_time() - start, 2),
              "history": _clean(history), "final": _outcome(pred, data), "best_epoch": best["epoch"],
              "best": _outcome(best["pred"], data) if best["pred"] is not None else None,
              "train_final": _metric(_outcome(train_pred, data, y))}
    keras.backend.clear_session()
    return record


def _clean(history: dict) -> dict:
    return {k: [round(float(v), 6) if v is not None and math.isfinite(v) else None for v in vals]
            for k, vals in history.items()}


def _metric(outcome) -> float:
    """Error rate (from '1'/'0') or RMSE (from residuals)."""
    if isinstance(outcome, str):
        return round(1 - outcome.count("1") / len(outcome), 6)
    return round(float(np.sqrt(np.mean(np.square(outcome)))), 6)


def autolog_fit(scenario: S.Scenario, data: S.Data) -> dict:
    """The user's run: ``model.fit`` of the base configuration, seed 0, under ``mlflow.keras.autolog()``."""
    import keras
    import mlflow

    keras.utils.set_random_seed(0)
    config = scenario.base
    model = S.build(config, data)
    start = time.process_time()
    # log_models=False: the saved model plays no part in a diagnosis, and logging it (with its pip
    # requirements inferred in a subprocess that imports TensorFlow) costs ~20 s a run on this machine
    mlflow.keras.autolog(silent=True, log_models=False)
    try:
        with mlflow.start_run(run_name=scenario.name, experiment_id=_experiment_id()) as run:
            mlflow.set_tag("bench.advice.scenario", scenario.name)
            history = model.fit(data.x_pool[:config.n_train], data.y_pool[:config.n_train],
                                validation_data=(data.x_val, data.y_val), epochs=config.epochs,
                                batch_size=S.BATCH_SIZE, verbose=0)
    finally:
        mlflow.keras.autolog(disable=True)
    record = {"run_id": run.info.run_id, "cpu_s": round(time.process_time() - start, 2),
              "history": _clean(history.history)}
    keras.backend.clear_session()
    return record


_EXPERIMENT_ID = None


def _experiment_id() -> str:
    global _EXPERIMENT_ID
    if _EXPERIMENT_ID is None:
        import mlflow

        STORE.mkdir(exist_ok=True)
        mlflow.set_tracking_uri(TRACKING_URI)
        found = mlflow.get_experiment_by_name(EXPERIMENT)
        _EXPERIMENT_ID = found.experiment_id if found else mlflow.create_experiment(
            EXPERIMENT, artifact_location=(STORE / "artifacts").as_uri())
    return _EXPERIMENT_ID


def _run_exists(run_id: str | None) -> bool:
    if not run_id or not (STORE / "mlflow.db").exists():
        return False
    import mlflow

    mlflow.set_tracking_uri(TRACKING_URI)
    try:
        mlflow.get_run(run_id)
        return True
    except Exception:
        return False


def units(scenario: S.Scenario) -> list[tuple[str, int, S.Config]]:
    """(remedy, seed, config) to train for ``scenario``: the base first, then each remedy that applies."""
    pool = {"digits": 1797, "breast_cancer": 569, "wine": 178, "diabetes": 442}[scenario.dataset] - \
        S.N_VAL[scenario.dataset]
    out = [("base", seed, scenario.base) for seed in scenario.seeds]
    for remedy in S.REMEDIES:
        config = S.remedy_config(scenario.base, remedy, pool)
        if config is not None:
            out += [(remedy, seed, config) for seed in scenario.seeds]
    return out


def key(remedy: str, seed: int) -> str:
    return f"{remedy}/s{seed}"


def log_base(name: str, progress=None) -> None:
    """The scenario's autolog run, unless the store has it."""
    _setup_tf()
    scenario = S.scenario(name)
    data = S.load(scenario.dataset, scenario.n_val)
    cache = load_cache(scenario)
    if not _run_exists(cache.get("base_run_id")):
        # the user's run (again, on a fresh store: same seed; the curves are checked against the cache)
        record = autolog_fit(scenario, data)
        old = (cache.get("autolog") or {}).get("history", {}).get("val_loss", [])
        new = record["history"].get("val_loss", [])
        drift = max((abs(a - b) for a, b in zip(old, new) if a is not None and b is not None), default=0.0)
        if drift > 1e-3:
            print(f"warning: {name}: the re-logged base run differs from the cache by {drift:.2g} in val_loss",
                  file=sys.stderr)
        with _lock(scenario):
            cache = load_cache(scenario)
            cache["base_run_id"], cache["autolog"] = record["run_id"], record
            save_cache(scenario, cache)
        if progress:
            progress(name, "autolog", record["cpu_s"], count=False)


def _lock(scenario: S.Scenario):
    """An exclusive lock on the scenario's cache file (the autolog logger and a trainer both write it)."""
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def held():
        RESULTS.mkdir(exist_ok=True)
        with open(RESULTS / (scenario.name.replace("/", "__") + ".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    return held()


def run_scenario(name: str, *, bases_only: bool = False, progress=None) -> None:
    """Train the scenario's fits that the cache lacks (not the autolog run: :func:`log_base`)."""
    _setup_tf()
    scenario = S.scenario(name)
    data = S.load(scenario.dataset, scenario.n_val)
    cache = load_cache(scenario)
    for remedy, seed, config in units(scenario):
        if bases_only and remedy != "base":
            break
        k = key(remedy, seed)
        if k in cache["fits"]:
            continue
        record = fit(config, data, seed)
        with _lock(scenario):
            cache = load_cache(scenario)
            cache["fits"][k] = record
            save_cache(scenario, cache)
        if progress:
            progress(name, k, record["cpu_s"])


def _worker(args):
    name, bases_only = args
    run_scenario(name, bases_only=bases_only)
    return name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="scenario name(s), e.g. digits/under_trained")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bases-only", action="store_true", help="only the base runs (every seed)")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    chosen = [s for s in S.SCENARIOS if not args.only or s.name in args.only]
    total = sum(len(units(s)) if not args.bases_only else len(s.seeds) for s in chosen)
    done = sum(1 for s in chosen for r, seed, _ in units(s)
               if key(r, seed) in load_cache(s)["fits"] and (not args.bases_only or r == "base"))
    bar = tqdm(total=total, initial=done, unit="fit", desc="advice bench")
    cpu = [0.0]

    def progress(name, k, cpu_s, count=True):
        cpu[0] += cpu_s
        if count:
            bar.update(1)
            bar.set_postfix_str(f"{name} {k} cpu {cpu[0]:.0f}s")

    # the autolog runs in this process (one process writes the SQLite store) while the workers train
    pool = None
    if not args.bases_only and args.workers > 1:
        from multiprocessing import get_context

        pool = get_context("spawn").Pool(args.workers)
        pending = pool.map_async(_worker, [(s.name, False) for s in chosen])
    for s in chosen:
        log_base(s.name, progress=progress)
    if args.bases_only or args.workers <= 1:
        for s in chosen:
            run_scenario(s.name, bases_only=args.bases_only, progress=progress)
    else:
        while not pending.ready():
            pending.wait(15)
            bar.n = sum(1 for s in chosen for r, seed, _ in units(s) if key(r, seed) in load_cache(s)["fits"])
            bar.refresh()
        pending.get()
        pool.close()
    bar.close()
    cpu_total = sum(r["cpu_s"] for s in chosen for r in
                    list(load_cache(s)["fits"].values()) + [load_cache(s).get("autolog") or {"cpu_s": 0}])
    print(f"cached fits: {sum(len(load_cache(s)['fits']) for s in chosen)}; training CPU time in the cache: "
          f"{cpu_total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
