"""Compare two runs of the same sweep, trial by trial: per-epoch curves, labels, recommended epochs.

For behaviour-preserving changes: run a spec with the old code into one store and with the new code
into another, then

    .venv/bin/python bench/compare_sweeps.py sqlite:///old/mlflow.db sqlite:///new/mlflow.db --experiment quickstart

prints the number of trials matched by trial key, the largest per-epoch difference over every
curve, and every trial whose label, label at the recommended epoch or recommended epoch differs.
Exits 1 when the trial keys or the curve lengths differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import names  # noqa: E402
from pipeline.tracking import TrackingReader  # noqa: E402

CURVES = (names.RUNNING_LOSS, names.TRAIN_LOSS, names.VAL_LOSS, "train_error", "val_error", "train_rmse", "val_rmse")


def latest_sweep_trials(uri: str, experiment: str) -> dict[str, dict]:
    """Per trial key of the experiment's latest sweep: its curves, labels and recommended epochs."""
    reader = TrackingReader(uri)
    found = reader.experiment(experiment)
    parent = reader.latest_sweep(found.experiment_id) if found else None
    if parent is None:
        sys.exit(f"{uri}: no sweep in experiment {experiment!r}")
    trials = {}
    for run in reader.trial_runs(found.experiment_id, parent.info.run_id):
        if run.info.status != "FINISHED":
            continue
        trials[run.data.tags[names.TRIAL_KEY_TAG]] = {
            "name": run.info.run_name, "label": run.data.tags.get(names.DIAGNOSIS_TAG),
            "label_at_recommended": run.data.tags.get(names.DIAGNOSIS_AT_RECOMMENDED_TAG),
            "recommended_epochs": run.data.metrics.get(names.RECOMMENDED_EPOCHS),
            "curves": {name: list(reader.history(run.info.run_id, name).values())
                       for name in CURVES if name in run.data.metrics},
        }
    return trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--experiment", required=True)
    args = parser.parse_args()
    old, new = (latest_sweep_trials(uri, args.experiment) for uri in (args.old, args.new))
    if set(old) != set(new):
        sys.exit(f"trial keys differ: {len(set(old) ^ set(new))} of {len(set(old) | set(new))}")
    largest, differences = 0.0, []
    for key, before in old.items():
        after = new[key]
        for name, values in before["curves"].items():
            if len(values) != len(after["curves"].get(name, [])):
                sys.exit(f"{before['name']}: {name} has {len(values)} epochs before, "
                         f"{len(after['curves'].get(name, []))} after")
            largest = max([largest, *(abs(a - b) for a, b in zip(values, after["curves"][name]))])
        differences += [f"{before['name']}: {field} {before[field]} -> {after[field]}"
                        for field in ("label", "label_at_recommended", "recommended_epochs")
                        if before[field] != after[field]]
    print(f"{len(old)} trials matched by trial key; largest per-epoch difference {largest:.3g}")
    print("labels and recommended epochs: " + ("identical" if not differences else "\n  " + "\n  ".join(differences)))


if __name__ == "__main__":
    main()
