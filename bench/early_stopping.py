"""What do early stopping and pruning save on the benchmark grid, and do they still find the best? Prints a table.

The 16 configurations of ``bench/sweep_speed.py`` (its data and spec), trained by ``fitcheck sweep
--workers 2`` into a fresh SQLite store three ways: ``full`` (every epoch), ``early``
(``--early-stopping``: the online recommendation rule) and ``prune`` (``stopping: {prune: true}``:
successive halving, rungs at 5 and 15 epochs, reduction factor 3). Variants alternate within each
repeat (paired); the table shows medians of epochs trained and wall time, and whether the best
configuration's validation error (at its recommended epoch, the leaderboard's ranking value) is
within one standard error of the full sweep's best.

    .venv/bin/python bench/early_stopping.py [--repeats 2] [--epochs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_speed import FITCHECK, LOADS, make_data, timed, write_spec  # noqa: E402

VARIANTS = ("full", "early", "prune")


def variant_spec(spec: Path, variant: str) -> Path:
    """The benchmark spec, with pruning for ``prune``."""
    raw = yaml.safe_load(spec.read_text())
    if variant == "prune":
        raw["stopping"] = {"prune": True, "min_epochs": 5, "reduction_factor": 3}
    path = spec.with_name(f"{variant}.yaml")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def measure(store: Path) -> dict:
    """Epochs trained by all trials, and the best trial's validation error at its recommended epoch."""
    from mlflow import MlflowClient

    from pipeline import names

    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("speed")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`{names.ROLE_TAG}` = 'trial'",
                              max_results=1000)
    epochs = sum(len(client.get_metric_history(run.info.run_id, "val_error")) for run in runs)
    ranked = [run for run in runs if run.data.tags.get(names.DIAGNOSIS_TAG) != names.PRUNED]
    best = min(ranked, key=lambda run: run.data.metrics["recommended_val_error"])
    return {"epochs": epochs, "best": best.data.metrics["recommended_val_error"], "best_name": best.info.run_name,
            "pruned": len(runs) - len(ranked), "n_val": int(client.get_run(best.data.tags[names.PARENT_RUN_TAG])
                                                             .data.params[names.N_VAL_PARAM])}


def main() -> None:
    from pipeline.diagnostics import error_rate_se

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fitcheck-early-"))
    csv = make_data(folder)
    specs = {variant: variant_spec(write_spec(folder, csv, args.epochs, [0]), variant) for variant in VARIANTS}
    results: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    for repeat in range(args.repeats):
        for variant in (VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]):
            work = folder / f"{variant}-{repeat}"
            work.mkdir()
            extra = ["--early-stopping"] if variant == "early" else []
            seconds, _ = timed([FITCHECK, "sweep", str(specs[variant]), "--workers", "2", "--no-progress",
                                "--no-report", "--tracking-uri", f"sqlite:///{work / 'mlflow.db'}", *extra], cwd=work)
            results[variant].append({"seconds": seconds, **measure(work / "mlflow.db")})
            print(variant, repeat, results[variant][-1], flush=True)
    full_best = statistics.median(r["best"] for r in results["full"])
    se = error_rate_se(full_best, results["full"][0]["n_val"])
    lines = [f"early_stopping: 16 configurations, {args.epochs} epochs, {args.repeats} repeats, 2 workers, "
             f"load average {min(LOADS):.1f}-{max(LOADS):.1f} on {os.cpu_count()} cores",
             "| variant | epochs trained | wall s | vs full | pruned | best val error | within 1 SE of full |",
             "|---|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        rows = results[variant]
        best = statistics.median(r["best"] for r in rows)
        seconds = statistics.median(r["seconds"] for r in rows)
        paired = statistics.median(r["seconds"] / f["seconds"] for r, f in zip(rows, results["full"]))
        lines.append(f"| {variant} | {statistics.median(r['epochs'] for r in rows):.0f} | {seconds:.1f} | "
                     f"{paired:.2f}x | {statistics.median(r['pruned'] for r in rows):.0f} | {best:.4f} "
                     f"({rows[0]['best_name']}) | {'yes' if abs(best - full_best) <= se else 'no'} (SE {se:.4f}) |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
