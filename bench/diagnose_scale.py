"""Is ``diagnose`` linear in the number of epochs? Prints a table; the target is a 1,000,000-epoch
curve diagnosed in seconds.

A noisy, U-shaped run of ``n`` epochs (training error falling, validation error falling then
rising, as in an over-trained run) is diagnosed at doubling sizes; each step of the diagnosis is
also timed on its own (the curve check, the divergence scan, the smoothing, the recommendation,
the Keras ``EarlyStopping`` settings), so that the step that is not linear shows itself. The growth
exponent of each step is the log-log slope between the two largest sizes (1 = linear, 2 =
quadratic), and the time at 1,000,000 epochs is extrapolated from it.

    .venv/bin/python bench/diagnose_scale.py [--sizes 1000,...,256000] [--budget 20] [--full 1000000] [--limit 600]

``--full N`` also runs the real command, ``fitcheck diagnose --curves`` on an N-epoch CSV, in a
subprocess stopped after ``--limit`` seconds.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.diagnostics import diagnose
from pipeline.diagnostics._curves import check_curves, diverged_at
from pipeline.diagnostics._stopping import early_stopping_settings, recommend_stop, smooth

FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
TARGET_EPOCHS = 1_000_000
N_TRAIN, N_VAL = 8000, 2000


def run_curves(n_epochs: int, *, seed: int = 0) -> pd.DataFrame:
    """An over-trained run: validation error bottoms out at 40% of the epochs, then rises."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_epochs + 1) / n_epochs
    train_error = 0.05 + 0.3 * np.exp(-t * 10)
    val_error = train_error + 0.02 + 0.2 * np.clip(t - 0.4, 0, None) ** 2 + rng.normal(0, 0.005, n_epochs)
    return pd.DataFrame({"epoch": np.arange(1, n_epochs + 1), "train_loss": 2 * train_error,
                         "val_loss": 2 * val_error, "train_error": train_error, "val_error": np.clip(val_error, 0, 1)})


def _seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def time_steps(curves: pd.DataFrame, *, skip: set[str]) -> dict[str, float]:
    """Seconds of the whole diagnosis and of each of its steps on ``curves``; steps in ``skip`` are left out."""
    table = check_curves(curves, task="binary")
    val = table["val_error"].to_numpy()
    recommended = recommend_stop(val)
    steps = {
        "diagnose (total)": lambda: diagnose(curves, task="binary", n_train=N_TRAIN, n_val=N_VAL),
        "check_curves": lambda: check_curves(curves, task="binary"),
        "diverged_at": lambda: diverged_at(table),
        "smooth": lambda: smooth(val),
        "recommend_stop": lambda: recommend_stop(val),
        "early_stopping_settings": lambda: early_stopping_settings(
            val, recommended_epochs=recommended, min_delta=0.0025, monitor="val_accuracy", mode="max"),
    }
    return {name: _seconds(step) for name, step in steps.items() if name not in skip}


def full_command(n_epochs: int, limit: float) -> str:
    """The real ``fitcheck diagnose --curves`` on an ``n_epochs`` CSV: its wall time, or how it ended."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "curves.csv"
        run_curves(n_epochs).to_csv(path, index=False)
        command = [FITCHECK, "diagnose", "--curves", str(path), "--task", "binary", "--n-train", str(N_TRAIN),
                   "--n-val", str(N_VAL)]
        started = time.perf_counter()
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return f"still running after {limit:g} s (stopped)"
        seconds = time.perf_counter() - started
        first = (result.stdout or result.stderr).strip().splitlines()[:1]
        return f"{seconds:.1f} s, exit {result.returncode}: {first[0] if first else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,4000,8000,16000,32000,64000,128000,256000", help="epochs, comma-separated, increasing")
    parser.add_argument("--full", type=int, default=0, help="also run the real command on a curve this long")
    parser.add_argument("--limit", type=float, default=600, help="seconds before --full is stopped")
    parser.add_argument("--budget", type=float, default=20, help="seconds a step may take at one size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: dict[int, dict[str, float]] = {}
    slow: set[str] = set()
    for size in sizes:
        rows[size] = time_steps(run_curves(size), skip=slow)
        slow |= {step for step, seconds in rows[size].items() if seconds * 2 ** 2 > args.budget}
    steps = list(rows[sizes[0]])
    print(f"diagnose_scale: seconds per step of diagnose() on U-shaped {sizes[0]:,}-{sizes[-1]:,}-epoch curves "
          f"(a step is left out at larger sizes once it would exceed {args.budget:g} s)")
    print(f"{'step':26s}" + "".join(f"{size:>10,d}" for size in sizes) + f"{'exponent':>10s}{'at 1M (est.)':>16s}")
    verdicts = []
    for step in steps:
        measured = [size for size in sizes if step in rows[size]]
        small, large = rows[measured[-2]][step], rows[measured[-1]][step]
        exponent = math.log(max(large, 1e-6) / max(small, 1e-6)) / math.log(measured[-1] / measured[-2])
        at_target = large * (TARGET_EPOCHS / measured[-1]) ** max(exponent, 1.0)
        verdicts.append((step, exponent, at_target))
        print(f"{step:26s}" + "".join(f"{rows[size][step]:10.3f}" if step in rows[size] else f"{'-':>10s}"
                                      for size in sizes) + f"{exponent:10.2f}{_duration(at_target):>16s}")
    culprits = [f"{step} (exponent {exponent:.1f}, ~{_duration(at_target)} at 1M)" for step, exponent, at_target
                in verdicts if step != "diagnose (total)" and exponent > 1.3]
    print("\nsuper-linear steps: " + ("; ".join(culprits) if culprits else "none"))
    if args.full:
        print(f"fitcheck diagnose --curves on {args.full:,} epochs: {full_command(args.full, args.limit)}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


if __name__ == "__main__":
    main()
