"""Helpers for the concurrent-sweep tests: start ``fitcheck sweep`` processes at one moment, read what
each printed, and check that MLflow holds one sweep with one FINISHED run per trial."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from mlflow import MlflowClient

from pipeline import names

ROOT = Path(__file__).resolve().parents[1]
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
N_TINY_TRIALS = 6  # tests/specs/tiny.yaml: depth 0 collapses the activations: (1 + 2) x 2 losses
_TRIALS_LINE = re.compile(r"trials: (\d+) in grid, (\d+) run now, (\d+) already finished \(resumed\)"
                          r"(?:, (\d+) held by another fitcheck process)?")


def short_spec(folder: Path, name: str = "tiny.yaml", *, epochs: int = 3) -> Path:
    """tests/specs/``name`` with ``epochs`` epochs, written into ``folder``."""
    raw = yaml.safe_load((ROOT / "tests" / "specs" / name).read_text())
    raw["grid"]["epochs"] = [epochs]
    path = folder / name
    path.write_text(yaml.safe_dump(raw))
    return path


@dataclass
class Outcome:
    """What one ``fitcheck sweep`` process did, from its exit code and summary."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def counts(self) -> dict[str, int]:
        """Trials in the grid, run now, already finished and held by another process."""
        found = _TRIALS_LINE.search(self.stdout)
        assert found, self.stdout + self.stderr[-3000:]
        grid, run_now, finished, held = (int(value or 0) for value in found.groups())
        return {"grid": grid, "run_now": run_now, "finished": finished, "held": held}

    @property
    def sweep_run_id(self) -> str:
        return re.search(r"sweep run (\w+)", self.stdout).group(1)


def sweep_at_once(*runs: tuple[Path, Path], uri: str, extra: tuple[str, ...] = ("--no-report",),
                  timeout: float = 600) -> list[Outcome]:
    """Start ``fitcheck sweep SPEC`` for each ``(spec, working folder)`` at one moment; wait for all."""
    processes = [subprocess.Popen([FITCHECK, "sweep", str(spec), "--workers", "1", "--tracking-uri", uri,
                                   "--no-progress", *extra], cwd=cwd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for spec, cwd in runs]
    outcomes = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=timeout)
        outcomes.append(Outcome(process.returncode, stdout, stderr))
    return outcomes


def assert_one_sweep(client: MlflowClient, experiment: str, n_trials: int, *, dataset: str | None = None) -> str:
    """One FINISHED parent (of ``dataset``'s sweep, when given) with one FINISHED run per trial key and
    nothing left RUNNING or SCHEDULED; return the parent's run id."""
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    parents = client.search_runs([experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")
    if dataset is not None:
        parents = [run for run in parents if run.data.params["dataset"] == dataset]
    assert [run.info.status for run in parents] == ["FINISHED"]
    parent_id = parents[0].info.run_id
    trials = client.search_runs([experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent_id}'")
    assert Counter(run.info.status for run in trials) == {"FINISHED": n_trials}
    assert len({run.data.tags[names.TRIAL_KEY_TAG] for run in trials}) == n_trials
    return parent_id


def assert_split_between(outcomes: list[Outcome], n_trials: int, *, finished_before: int = 0) -> None:
    """All succeeded in one sweep, and each trial not finished before was run by exactly one of them
    (a process that started late may find some of them finished by the other already)."""
    for outcome in outcomes:
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        counts = outcome.counts
        assert counts["grid"] == counts["run_now"] + counts["finished"] + counts["held"] == n_trials
        assert counts["finished"] >= finished_before
    assert sum(outcome.counts["run_now"] for outcome in outcomes) == n_trials - finished_before
    assert len({outcome.sweep_run_id for outcome in outcomes}) == 1
