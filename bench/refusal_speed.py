"""How long does ``fitcheck sweep`` take to refuse a bad spec? Prints a table; the target is 2 s.

Each case is a spec that validation refuses; each run is the real command in a fresh process
(``fitcheck sweep SPEC --tracking-uri sqlite:///<tmp>/mlflow.db``), timed from just before the
process starts to its exit, so Python's start-up and every import before validation count. The
table shows the median of ``--repeats`` runs per case (runs alternate between cases so that a
busy machine slows all of them alike) and checks each refusal: exit code 2, one line on stderr,
no tracking store created.

    .venv/bin/python bench/refusal_speed.py [--repeats 7] [--importtime]

``--importtime`` also runs one refusal under ``python -X importtime`` and lists the slowest
top-level imports: what to make lazy when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
TARGET_SECONDS = 2.0
_BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
CASES = {  # name: spec text
    "learning_rate .nan": "dataset: {synthetic: moons}\ngrid: {learning_rate: .nan}\n",
    "negative seed": "dataset: {synthetic: moons}\ngrid: {seeds: [-1]}\n",
    "epochs 1e9": "dataset: {synthetic: moons}\ngrid: {epochs: 1e9}\n",
    "unknown key": "dataset: {synthetic: moons}\ngrdi: {depth: [1]}\n",
    "alias bomb": "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + _BOMB,
    "deep nesting": "dataset: " + "[" * 5000 + "]" * 5000 + "\n",
}


def refuse_once(spec: Path, folder: Path) -> tuple[float, subprocess.CompletedProcess]:
    """One refusal: the wall time of the whole command and its result."""
    command = [FITCHECK, "sweep", str(spec), "--tracking-uri", f"sqlite:///{folder}/mlflow.db", "--no-progress"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=120)
    return time.perf_counter() - started, result


def check(result: subprocess.CompletedProcess, folder: Path) -> str:
    """'' when the refusal kept its promise, else what went wrong."""
    lines = result.stderr.strip().splitlines()
    problems = [f"exit {result.returncode}"] if result.returncode != 2 else []
    problems += [f"{len(lines)} stderr lines"] if len(lines) != 1 else []
    problems += ["traceback"] if "Traceback" in result.stderr else []
    problems += ["store created"] if (folder / "mlflow.db").exists() or (folder / "mlruns").exists() else []
    return ", ".join(problems)


def slowest_imports(spec: Path, folder: Path, count: int = 8) -> list[tuple[float, str]]:
    """The slowest top-level imports (cumulative seconds) of one refusal."""
    command = [sys.executable, "-X", "importtime", "-m", "pipeline", "sweep", str(spec),
               "--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=120)
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[2].startswith("   ") and not parts[2].startswith("    ") and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="runs per case (at least 5 for a median)")
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports of one refusal")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        specs = {name: folder / f"case{i}.yaml" for i, name in enumerate(CASES)}
        for name, text in CASES.items():
            specs[name].write_text(text)
        for _ in range(args.repeats):
            for name in CASES:
                seconds, result = refuse_once(specs[name], folder)
                times[name].append(seconds)
                problem = check(result, folder)
                if problem:
                    failures.setdefault(name, f"{problem}: {result.stderr.strip()[-200:]}")
        print(f"refusal_speed: fitcheck sweep on refused specs, {args.repeats} runs per case, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print(f"{'case':22s} {'median s':>9s}  runs (s)")
        for name, runs in times.items():
            print(f"{name:22s} {statistics.median(runs):9.2f}  {' '.join(f'{r:.2f}' for r in runs)}")
        overall = statistics.median([r for runs in times.values() for r in runs])
        worst = max(statistics.median(runs) for runs in times.values())
        verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
        print(f"\nmedian of all runs {overall:.2f} s; slowest case median {worst:.2f} s; "
              f"target <= {TARGET_SECONDS:g} s: {verdict}")
        for name, problem in failures.items():
            print(f"PROMISE BROKEN {name}: {problem}")
        if args.importtime:
            print("\nslowest top-level imports before the refusal (cumulative s):")
            for seconds, module in slowest_imports(specs["learning_rate .nan"], folder):
                print(f"  {seconds:6.3f}  {module}")
    sys.exit(1 if failures or verdict != "met" else 0)


if __name__ == "__main__":
    main()
