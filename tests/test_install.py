"""Installing fitcheck keeps the user's TensorFlow: no hard TensorFlow dependency, one per extra."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tensorflow-intel",
                            "tensorflow-macos"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _tensorflows(requirements: list[str]) -> set[str]:
    return {Requirement(text).name for text in requirements} & TENSORFLOW_DISTRIBUTIONS


def test_no_tensorflow_among_the_hard_dependencies():
    assert _tensorflows(_project()["dependencies"]) == set()


def test_each_extra_brings_one_tensorflow():
    extras = _project()["optional-dependencies"]
    cpu = [Requirement(text) for text in extras["cpu"]]
    assert {(r.name, str(r.marker)) for r in cpu} == {
        ("tensorflow-cpu", 'platform_machine == "x86_64"'), ("tensorflow", 'platform_machine != "x86_64"')}
    gpu = [Requirement(text) for text in extras["gpu"]]
    assert [(r.name, r.extras) for r in gpu] == [("tensorflow", {"and-cuda"})]


def test_a_sweep_without_tensorflow_is_refused_in_one_line(tmp_path):
    """A real interpreter in which TensorFlow cannot be imported (``sys.modules`` blocks it): exit 2, one line."""
    hide = ("import sys\n"
            "sys.modules['tensorflow'] = None\n"
            "from pipeline.cli import main\n"
            "sys.argv = ['fitcheck', 'sweep', sys.argv[1], '--tracking-uri', sys.argv[2]]\n"
            "main()\n")
    store = tmp_path / "mlflow.db"
    done = subprocess.run([sys.executable, "-c", hide, str(ROOT / "experiments" / "quickstart.yaml"),
                           f"sqlite:///{store}"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "fitcheck: error: TensorFlow is not installed; fitcheck trains with it: pip install 'fitcheck[cpu]' (CPU), "
        "'fitcheck[gpu]' (NVIDIA GPU), or any TensorFlow >= 2.16 of your own"]
    assert not store.exists()


@pytest.mark.slow
def test_pip_resolves_fitcheck_without_any_tensorflow(tmp_path):
    """pip's own resolver, as on a fresh machine (``--ignore-installed``): nothing named TensorFlow is pulled in,
    so an environment's GPU TensorFlow stays the only one."""
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                    "--report", str(report), str(ROOT)], check=True, capture_output=True, timeout=600)
    installed = {item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]}
    assert "fitcheck" in installed and "keras" in installed
    assert installed & TENSORFLOW_DISTRIBUTIONS == set()
