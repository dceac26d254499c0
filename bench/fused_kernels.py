"""How long does one fused group's fit take: stacked kernels, one model per member inside the fused model
(the path before issue 23), and one model per trial? Prints the medians.

    .venv/bin/python bench/fused_kernels.py [--repeats 3] [--members 16] [--epochs 30]

The group: ``--members`` trials of the benchmark grid's shape (depth 3, width 64, relu/tanh x
binary crossentropy/mse, Adam 0.001, batch 64) on 4000 rows of 20 features, in one process on the
threads TensorFlow picks; each way times :func:`pipeline.training.train_group` (or ``train_trial``
per member) after one warm-up group.
"""

from __future__ import annotations

import argparse
import statistics
import time
from itertools import cycle, islice

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    from sklearn.datasets import make_classification

    import pipeline.training._stacked as stacked
    from pipeline.data import load_dataset
    from pipeline.search import TrialConfig
    from pipeline.spec import SplitSpec
    from pipeline.training import train_group, train_trial

    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10, flip_y=0.05, random_state=0)
    data = load_dataset(_spec(X, y), SplitSpec(validation=0.2))
    shapes = cycle([(activation, loss) for activation in ("relu", "tanh") for loss in ("binary_crossentropy", "mse")])
    configs = [TrialConfig(3, 64, activation, loss, "adam", 0.001, 64, args.epochs, 0)
               for activation, loss in islice(shapes, args.members)]
    jobs = list(enumerate(configs))
    stack_key = stacked.stack_key

    def per_member_fused():  # the path before issue 23: every member its own model inside the fused model
        stacked.stack_key = lambda config, head: None
        try:
            return train_group(jobs, data)
        finally:
            stacked.stack_key = stack_key

    ways = {"stacked": lambda: train_group(jobs, data), "fused, one model per member": per_member_fused,
            "one model per trial": lambda: [train_trial(index, config, data) for index, config in jobs]}
    train_group(jobs[:2], data)  # warm-up: imports, first traces
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(args.repeats):
        for way, run in ways.items():
            started = time.perf_counter()
            outcomes = run()
            times[way].append(time.perf_counter() - started)
            assert all(outcome.status == "FINISHED" for outcome in outcomes), way
    print(f"fused_kernels: {args.members} members, depth 3 width 64, {args.epochs} epochs, {args.repeats} repeats")
    for way, values in times.items():
        print(f"{way:<30}{statistics.median(values):8.2f} s  (runs {' '.join(f'{v:.2f}' for v in values)})")


def _spec(X: np.ndarray, y: np.ndarray):
    """The data as a CSV dataset spec in a temporary folder."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from pipeline.spec import DatasetSpec

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = y
    path = Path(tempfile.mkdtemp(prefix="fused-kernels-")) / "classification.csv"
    frame.to_csv(path, index=False)
    return DatasetSpec(csv=str(path), target="target")


if __name__ == "__main__":
    main()
