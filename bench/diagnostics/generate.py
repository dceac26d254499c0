"""Generate the labelled corpus of real Keras runs for the diagnostics benchmark.

Every dataset has a known Bayes error: classification labels come from a deterministic rule
(circles, XOR, a random teacher network, a random linear function) and are flipped at a known
rate ``eta`` (Bayes error = eta); regression targets are Friedman #1 or a random linear function
plus Gaussian noise of known ``sigma`` (Bayes RMSE = sigma). Each run trains a small Keras MLP
built by the product (:func:`pipeline.training._model.build_model`, the head and target encoding of
:mod:`pipeline.training._targets`) and records with the product's
:class:`~pipeline.training._callbacks.EpochEndEvaluation`, at every epoch end, in inference mode: the
loss and task metric on the whole training split, on the validation split, and on a fresh
sample of 20,000 points the diagnostics never see (the truth).

Writes ``corpus/runs.csv`` (one row per run) and ``corpus/curves/<run_id>.csv`` (one row per
epoch), adding each run as it finishes and skipping runs already there (``--fresh`` starts
over). Seeded: the same command writes the same corpus up to TensorFlow's CPU nondeterminism.

    .venv/bin/python bench/diagnostics/generate.py --fresh [--workers 2] [--limit N]
    .venv/bin/python bench/diagnostics/generate.py --fresh --replicate 1 --out bench/diagnostics/corpus_holdout
    .venv/bin/python bench/diagnostics/generate.py --references   # only the reference columns
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.names import BINARY, MULTICLASS, REGRESSION, RUNNING_LOSS  # noqa: E402
CORPUS = Path(__file__).resolve().parent / "corpus"
N_FRESH = 20_000
FAMILIES = {  # family: (task, noise levels, input dimension)
    "circles": ("binary", (0.05, 0.15), 10),
    "xor": ("binary", (0.05, 0.15), 12),
    "teacher": ("binary", (0.05, 0.15), 10),
    "teacher3": ("multiclass", (0.05, 0.15), 10),
    "friedman1": ("regression", (0.5, 1.5), 10),
    # linear rules, where a network with no hidden layer is the right size and can reach the
    # Bayes error: the corpus's true good fits (added in a second part, run ids from r110)
    "plane": ("binary", (0.05, 0.15), 10),
    "plane3": ("multiclass", (0.05, 0.15), 10),
    "linear": ("regression", (0.5, 1.5), 10),
}
PARTS = (("circles", "xor", "teacher", "teacher3", "friedman1"), ("plane", "plane3", "linear"))
LINEAR_FAMILIES = PARTS[1]
SIZES = (300, 4000)
N_VALS = (250, 500, 1000, 2000)


def n_classes(family: str) -> int:
    """Classes of a classification family: 3 for the multiclass ones, else 2."""
    return 3 if FAMILIES[family][0] == MULTICLASS else 2


def _rule(family: str, X: np.ndarray, teacher_seed: int) -> np.ndarray:
    """Noise-free target of a family: class label or regression mean."""
    if family == "circles":
        return (X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5).astype(int)
    if family == "xor":
        return (X[:, 0] * X[:, 1] > 0).astype(int)
    if family == "friedman1":
        return (10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2
                + 10 * X[:, 3] + 5 * X[:, 4])
    rng = np.random.default_rng(teacher_seed)  # odd, bias-free teacher: balanced at threshold 0
    d = X.shape[1]
    if family in LINEAR_FAMILIES:
        out = X @ rng.normal(size=(d, 3 if family == "plane3" else 1))
        if family == "linear":
            return out[:, 0]
        return (out[:, 0] > 0).astype(int) if family == "plane" else out.argmax(axis=1)
    hidden = np.tanh(X @ rng.normal(size=(d, 16)) / np.sqrt(d))
    n_out = 3 if family == "teacher3" else 1
    out = hidden @ rng.normal(size=(16, n_out))
    return (out[:, 0] > 0).astype(int) if n_out == 1 else out.argmax(axis=1)


def sample(family: str, noise: float, n: int, rng: np.random.Generator, teacher_seed: int):
    """Draw ``n`` points of a family with label-flip rate or noise ``noise``."""
    _task, _levels, d = FAMILIES[family]
    if FAMILIES[family][0] == "regression":
        X = rng.uniform(size=(n, d)) if family == "friedman1" else rng.normal(size=(n, d))
        return X, _rule(family, X, teacher_seed) + rng.normal(scale=noise, size=n)
    X = rng.uniform(-1, 1, size=(n, d)) if family == "circles" else rng.normal(size=(n, d))
    y = _rule(family, X, teacher_seed)
    flip = rng.uniform(size=n) < noise
    classes = n_classes(family)
    y[flip] = (y[flip] + rng.integers(1, classes, size=flip.sum())) % classes
    return X, y


def model_configs(n_train: int, task: str) -> list[dict]:
    """The model settings tried on a dataset of ``n_train`` rows: bias, variance and good fits."""
    alt_loss = {"binary": "hinge", "multiclass": "sparse_categorical_crossentropy",
                "regression": "huber"}[task]
    base = dict(depth=2, width=64, activation="relu", optimizer="adam", learning_rate=1e-3,
                loss="default", dropout=0.0, l2=0.0, batch_size=32)
    if n_train < 1000:
        return [
            {**base, "kind": "linear", "depth": 0, "learning_rate": 1e-2, "epochs": 60},
            {**base, "kind": "big_long", "depth": 3, "width": 128, "epochs": 80},
            {**base, "kind": "big_regularised", "depth": 3, "width": 128, "dropout": 0.3,
             "l2": 1e-3, "optimizer": "rmsprop", "epochs": 80},
            {**base, "kind": "narrow", "depth": 1, "width": 4, "activation": "tanh",
             "optimizer": "sgd", "learning_rate": 0.05, "epochs": 80},
            {**base, "kind": "tiny_lr", "optimizer": "sgd", "learning_rate": 1e-4, "epochs": 40},
        ]
    base["batch_size"] = 64
    return [
        {**base, "kind": "linear", "depth": 0, "learning_rate": 1e-2, "epochs": 30},
        {**base, "kind": "right_sized", "epochs": 40},
        {**base, "kind": "big_long", "depth": 3, "width": 128, "epochs": 60},
        {**base, "kind": "too_few_epochs", "epochs": 3},
        {**base, "kind": "sgd_momentum_alt_loss", "width": 32, "optimizer": "sgd_momentum",
         "learning_rate": 1e-2, "loss": alt_loss, "epochs": 40},
    ]


LARGE = 20_000  # rows for the good-fit runs: enough data that a right-sized network fits well


def good_fit_jobs(families: tuple[str, ...], start: int, replicate: int = 0) -> list[dict]:
    """Right-sized networks on 20,000 training rows, one per family and noise level."""
    out = []
    for family in families:
        task, levels, _d = FAMILIES[family]
        teacher = family.startswith("teacher")
        for noise in levels:
            index = start + len(out)
            out.append({
                "run_id": f"r{index:03d}", "family": family, "task": task, "noise": noise,
                "n_train": LARGE, "n_val": 5000, "data_seed": index * 7919 + replicate,
                "seed": index * 7919 + 1 + replicate,
                "depth": 0 if family in LINEAR_FAMILIES else 1 if teacher else 2, "width": 32,
                "activation": "tanh" if teacher else "relu",
                "optimizer": "adam", "learning_rate": 1e-3, "loss": "default", "dropout": 0.0,
                "l2": 0.0, "batch_size": 128, "kind": "right_sized_large_data", "epochs": 20,
            })
    return out


def jobs(replicate: int = 0) -> list[dict]:
    """Every run of the corpus, each with its own seed; a part's run ids follow the previous part's.

    ``replicate`` 0 is the committed corpus; another value draws new datasets, teachers and
    seeds with the same design (a held-out corpus).
    """
    out: list[dict] = []
    for families in PARTS:
        for family in families:
            task, levels, _d = FAMILIES[family]
            for noise, n_train in itertools.product(levels, SIZES):
                data_seed = len(out) * 7919 + replicate
                n_val = N_VALS[(len(out) // 5 + replicate) % len(N_VALS)]
                for config in model_configs(n_train, task):
                    out.append({
                        "run_id": f"r{len(out):03d}", "family": family, "task": task,
                        "noise": noise, "n_train": n_train, "n_val": n_val,
                        "data_seed": data_seed, "seed": data_seed + len(out), **config,
                    })
        out += good_fit_jobs(families, len(out), replicate)
    return out


#: The loss a job's ``"default"`` stands for.
DEFAULT_LOSS = {BINARY: "binary_crossentropy", MULTICLASS: "sparse_categorical_crossentropy", REGRESSION: "mse"}


def _build(job: dict, n_features: int):
    """The product's model, head and compiled loss for a job (:mod:`pipeline.training._model`, :mod:`pipeline.training._targets`).

    ``sgd_momentum`` is SGD with momentum 0.9, which the product's optimizer axis cannot name.
    """
    import keras

    from pipeline.search import TrialConfig
    from pipeline.training import build_model, make_optimizer
    from pipeline.training import output_head

    loss = DEFAULT_LOSS[job["task"]] if job["loss"] == "default" else job["loss"]
    momentum = job["optimizer"] == "sgd_momentum"
    config = TrialConfig(depth=job["depth"], width=job["width"], activation=job["activation"], loss=loss,
                         optimizer="sgd" if momentum else job["optimizer"], learning_rate=job["learning_rate"],
                         batch_size=job["batch_size"], epochs=job["epochs"], seed=job["seed"], l2=job["l2"],
                         dropout=job["dropout"])
    head = output_head(job["task"], loss, n_classes(job["family"]))
    model = build_model(config, input_shape=(n_features,), head=head)
    optimizer = keras.optimizers.SGD(job["learning_rate"], momentum=0.9) if momentum else make_optimizer(config)
    model.compile(optimizer=optimizer, loss=loss)
    return model, head, loss


def draw_splits(job: dict) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The run's training, validation and fresh samples, standardised on the training split."""
    family, noise = job["family"], job["noise"]
    rng = np.random.default_rng(job["data_seed"])
    drawn = [sample(family, noise, n, rng, job["data_seed"]) for n in (job["n_train"], job["n_val"], N_FRESH)]
    mean, std = drawn[0][0].mean(axis=0), drawn[0][0].std(axis=0) + 1e-9
    return tuple(((X - mean) / std, y) for X, y in drawn)


def run_job(job: dict) -> tuple[dict, pd.DataFrame]:
    """Train one run and return its row and its per-epoch curves.

    The curves are measured by the product's :class:`pipeline.training._callbacks.EpochEndEvaluation`, with
    the fresh sample as one more split (``fresh_loss``, ``fresh_<metric>``).
    """
    import keras

    from pipeline.training._callbacks import EpochEndEvaluation

    started = time.perf_counter()
    (X_train, y_train), (X_val, y_val), (X_fresh, y_fresh) = draw_splits(job)
    keras.utils.set_random_seed(job["seed"])
    model, head, loss = _build(job, X_train.shape[1])
    evaluation = EpochEndEvaluation((X_train, head.encode(y_train), y_train), (X_val, head.encode(y_val), y_val),
                                    loss=loss, head=head,
                                    extra_splits={"fresh": (X_fresh, head.encode(y_fresh), y_fresh)})
    model.fit(X_train, head.encode(y_train), batch_size=job["batch_size"], epochs=job["epochs"], verbose=0,
              shuffle=True, callbacks=[evaluation])
    metric = evaluation.metric
    columns = [RUNNING_LOSS] + [f"{split}_{kind}" for split in ("train", "val", "fresh") for kind in ("loss", metric)]
    curves = pd.DataFrame(evaluation.curves)[columns]
    curves.insert(0, "epoch", np.arange(1, len(curves) + 1))
    curves.insert(0, "run_id", job["run_id"])
    row = {**job, "bayes_error": job["noise"], **references(job, X_train, y_train),
           "seconds": time.perf_counter() - started}
    return row, curves


_REFERENCES: dict[int, dict] = {}


def references(job: dict, X_train: np.ndarray, y_train: np.ndarray) -> dict:
    """The sweep's reference estimate and each baseline's error, once per dataset.

    ``reference_estimated`` is :func:`pipeline.sweep._reference.estimate_reference_error`, exactly
    what a sweep uses; ``reference_hgb`` and ``reference_linear`` are its two baselines.
    """
    from pipeline.sweep import baseline_errors

    if job["data_seed"] not in _REFERENCES:
        errors = baseline_errors(X_train, y_train, task=job["task"], seed=0)
        _REFERENCES[job["data_seed"]] = {  # estimate_reference_error is the lower of the two
            "reference_hgb": errors["hist_gradient_boosting"], "reference_linear": errors["linear"],
            "reference_estimated": min(errors.values()),
        }
    return _REFERENCES[job["data_seed"]]


def refresh_references(runs_csv: Path) -> None:
    """Recompute the reference columns of the runs already in ``runs_csv`` (no training)."""
    runs = pd.read_csv(runs_csv)
    for column, values in zip(("reference_hgb", "reference_linear", "reference_estimated"), zip(*(
        references(job, *draw_splits(job)[0]).values() for job in runs.to_dict("records")
    ))):
        runs[column] = values
    runs.to_csv(runs_csv, index=False)


def _init_worker() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N runs (smoke test)")
    parser.add_argument("--out", type=Path, default=CORPUS)
    parser.add_argument("--fresh", action="store_true", help="discard runs already in --out")
    parser.add_argument("--runs", default=None, help="comma-separated run ids to generate (default: all)")
    parser.add_argument("--references", action="store_true",
                        help="only recompute the reference columns of the runs already there")
    parser.add_argument("--replicate", type=int, default=0,
                        help="0: the committed corpus; another number: a held-out corpus of the same design")
    args = parser.parse_args()
    runs_csv, curves_dir = args.out / "runs.csv", args.out / "curves"
    if args.references:
        refresh_references(runs_csv)
        return
    if args.fresh:
        runs_csv.unlink(missing_ok=True)
        for path in curves_dir.glob("*.csv"):
            path.unlink()
    curves_dir.mkdir(parents=True, exist_ok=True)
    done = set(pd.read_csv(runs_csv)["run_id"]) if runs_csv.exists() else set()
    wanted = set(args.runs.split(",")) if args.runs else None
    todo = [job for job in jobs(args.replicate)[: args.limit]
            if job["run_id"] not in done and (wanted is None or job["run_id"] in wanted)]
    # round robin over families, so a partial corpus is balanced
    todo.sort(key=lambda job: (int(job["run_id"][1:]) % 20, list(FAMILIES).index(job["family"])))
    started = time.perf_counter()
    with Pool(args.workers, initializer=_init_worker) as pool:
        for i, (row, curves) in enumerate(pool.imap_unordered(run_job, todo), 1):
            # appended as each run finishes, so an interrupted generation resumes where it stopped
            frame = pd.DataFrame([row])
            if runs_csv.exists():  # same columns, same order as the rows already there
                frame = frame[pd.read_csv(runs_csv, nrows=0).columns]
            frame.to_csv(runs_csv, mode="a", header=not runs_csv.exists(), index=False)
            curves.drop(columns="run_id").to_csv(curves_dir / f"{row['run_id']}.csv", index=False,
                                                 float_format="%.6g")
            print(f"[{i}/{len(todo)}] {row['run_id']} {row['family']} {row['kind']} "
                  f"{row['seconds']:.1f}s", flush=True)
    print(f"{len(todo)} runs in {time.perf_counter() - started:.0f}s -> {args.out}")


if __name__ == "__main__":
    main()
