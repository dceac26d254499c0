"""How long does the report of a 500-trial sweep take? Prints the time; the budget is 30 s.

Logs a synthetic sweep (500 child runs, 5 curves x 30 epochs each; ``tests/synthetic_sweep.py``) into
a fresh SQLite MLflow store with ``MlflowClient.log_batch``, then times ``build_report`` on it, gather
and render separately.

    .venv/bin/python bench/report_scale.py [--trials 500] [--keep DIR] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from pipeline.report import build_report, gather_sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the synthetic sweep is test support
from synthetic_sweep import log_synthetic_sweep  # noqa: E402

BUDGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="write the store and the report here instead of a temp folder")
    parser.add_argument("--tracking-uri", help="use this store (e.g. an http:// server) instead of a new SQLite one")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="fitcheck-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    uri = args.tracking_uri or f"sqlite:///{folder / 'mlflow.db'}"
    experiment = f"bench-report-{args.trials}-{int(time.time())}"
    started = time.perf_counter()
    log_synthetic_sweep(uri, experiment, n_trials=args.trials)
    logged = time.perf_counter()
    print(f"logged {args.trials} synthetic trials into {uri} in {logged - started:.1f} s")
    sweep = gather_sweep(uri, experiment_name=experiment)
    gathered = time.perf_counter()
    path = build_report(uri, experiment_name=experiment, out=folder / "report.html")
    finished = time.perf_counter()
    total = finished - gathered
    print(f"gather alone: {gathered - logged:.1f} s for {len(sweep.trials)} trials")
    print(f"build_report: {total:.1f} s (budget {BUDGET_SECONDS:.0f} s) -> {path} "
          f"({path.stat().st_size / 1e6:.1f} MB)")
    if total > BUDGET_SECONDS:
        raise SystemExit(f"report took {total:.1f} s, over the {BUDGET_SECONDS:.0f} s budget")


if __name__ == "__main__":
    main()
