"""Generate the learning-curve corpus: models trained at sizes N/4, N/2, N and, as the truth, 2N and 4N.

Every task has a known Bayes error: x is uniform in [-1, 1]^d, a deterministic rule of the first two
inputs gives the clean label (the other d - 2 inputs are irrelevant), and each label is flipped with
probability eta, so the Bayes error is eta. For each case (rule, d, eta, model, N), one model is
trained on the first n rows of one seeded training sample (nested subsets, as fitcheck's ``train_size``
axis) at each size, and measured on the same 1,000 validation rows (what the verdict sees) and on
20,000 fresh rows (the truth it never sees). The truth is the expected error: at N, 2N and 4N, models
are also trained on two more independent training samples, and the truth averages the three.

Models: scikit-learn's logistic regression (fitcheck's depth 0) and a small MLP (2 x 32 ReLU, Adam,
at most 200 epochs): plain loops without MLflow, so the whole corpus trains in minutes on 2 cores.

Writes ``corpus.csv`` (``--replicate 1``: ``corpus_holdout.csv``, new samples, the same design): one row per (case, size) with ``case``, ``rule``, ``d``, ``eta``, ``model``,
``N``, ``n_train``, ``draw`` (the training sample), ``role`` (``measured``: what the verdict sees, or ``truth``), ``train_error``, ``val_error``,
``true_error``, ``n_val``.

    .venv/bin/python bench/learning_curves/generate.py [--workers 2] [--limit K] [--replicate 1]
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_VAL = 1_000
N_TRUTH = 20_000
RULES = {
    "linear": lambda x: x[:, 0] + 0.5 * x[:, 1] > 0,
    "circle": lambda x: (x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.2) ** 2 < 0.4,
    "xor": lambda x: (x[:, 0] - 0.3) * (x[:, 1] + 0.2) > 0,
    "sine": lambda x: x[:, 1] > 0.6 * np.sin(3 * x[:, 0]),
}
DIMS = (2, 8)
ETAS = (0.05, 0.2)
MODELS = ("logistic", "mlp")
SIZES = (200, 800)
MEASURED = (0.25, 0.5, 1.0)
TRUTH = (2.0, 4.0)
#: Independent training samples trained at N, 2N and 4N: the truth is their mean error on the fresh rows.
TRUTH_DRAWS = 3


def sample(rule: str, d: int, eta: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of the task: inputs uniform in [-1, 1]^d, the rule's label flipped with probability ``eta``."""
    x = rng.uniform(-1.0, 1.0, size=(n, d))
    clean = RULES[rule](x).astype(int)
    flipped = rng.random(n) < eta
    return x, np.where(flipped, 1 - clean, clean)


def make_model(name: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "logistic":
        return LogisticRegression(max_iter=1000)
    return MLPClassifier(hidden_layer_sizes=(32, 32), alpha=1e-4, learning_rate_init=3e-3, max_iter=200,
                         random_state=seed)


def run_case(case: tuple) -> list[dict]:
    index, replicate, (rule, d, eta, model, N) = case
    rng = np.random.default_rng(1000 + index + 10_000 * replicate)
    x_val, y_val = sample(rule, d, eta, N_VAL, rng)
    x_truth, y_truth = sample(rule, d, eta, N_TRUTH, rng)
    rows = []
    for draw in range(TRUTH_DRAWS):  # draw 0 is what the verdict sees; all draws average into the truth
        x_train, y_train = sample(rule, d, eta, int(N * max(TRUTH)), rng)
        for factor in (*MEASURED, *TRUTH) if draw == 0 else (1.0, *TRUTH):
            n = int(N * factor)
            fitted = make_model(model, seed=index + 100 * draw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLP convergence warnings: the cap on epochs is the design
                fitted.fit(x_train[:n], y_train[:n])
            rows.append({"case": index, "rule": rule, "d": d, "eta": eta, "model": model, "N": N, "n_train": n,
                         "draw": draw, "role": "measured" if draw == 0 and factor in MEASURED else "truth",
                         "n_val": N_VAL,
                         "train_error": float(np.mean(fitted.predict(x_train[:n]) != y_train[:n])),
                         "val_error": float(np.mean(fitted.predict(x_val) != y_val)),
                         "true_error": float(np.mean(fitted.predict(x_truth) != y_truth))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first K cases (a quick look)")
    parser.add_argument("--replicate", type=int, default=0,
                        help="new samples for the same design (1 writes the held-out corpus_holdout.csv)")
    args = parser.parse_args()
    out = HERE / ("corpus.csv" if args.replicate == 0 else f"corpus_holdout{args.replicate if args.replicate > 1 else ''}.csv")
    cases = [(index, args.replicate, design) for index, design in
             enumerate(itertools.product(RULES, DIMS, ETAS, MODELS, SIZES))][:args.limit]
    started = time.perf_counter()
    with Pool(args.workers) as pool:
        rows = [row for case_rows in pool.imap(run_case, cases) for row in case_rows]
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"{len(cases)} cases, {len(rows)} models in {time.perf_counter() - started:.0f} s -> {out}")


if __name__ == "__main__":
    main()
