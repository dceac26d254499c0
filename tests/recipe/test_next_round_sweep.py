"""``fitcheck next`` end to end: a tiny real sweep on a real ``mlflow server``, its next round written, loaded back
and run as an ordinary sweep whose parent links to the round it came from."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mlflow import MlflowClient

from pipeline import SweepOptions, names, run_sweep
from pipeline.cli import main
from pipeline.spec import HIDDEN_LAYER_AXES, load_spec

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "specs" / "tiny.yaml"

pytestmark = pytest.mark.slow


def _one_axis_apart(grid: dict, configurations: list[dict]) -> bool:
    """Whether the sub-grid's configuration differs from one of ``configurations`` (params as text) in one axis; a
    depth-0 network's hidden-layer axes collapse (the sub-grid writes their first values, the params their absence)."""
    values = {"seed" if key == "seeds" else key: str(value[0]) for key, value in grid.items()}
    compared = [axis for axis in values if axis != "seed" and not (values["depth"] == "0" and axis in HIDDEN_LAYER_AXES)]
    return any(sum(values[axis] != config.get(axis, values[axis]) for axis in compared) == 1
               for config in configurations)


def test_the_next_round_is_written_with_reasons_and_runs_as_a_sweep_linked_to_its_round(mlflow_server, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = f"next-{uuid.uuid4().hex[:8]}"
    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY.read_text().replace("experiment: tiny", f"experiment: {experiment}"))
    options = SweepOptions(tracking_uri=mlflow_server.uri, executor="inprocess", progress=False, report=False)
    first = run_sweep(spec_path, options)
    client = MlflowClient(mlflow_server.uri)
    old_configs = [dict(run.data.params) for run in client.search_runs(
        [client.get_experiment_by_name(experiment).experiment_id],
        f"tags.`{names.PARENT_RUN_TAG}` = '{first.parent_run_id}'")]

    out = tmp_path / "tiny-next1.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["next", experiment, "--tracking-uri", mlflow_server.uri, "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"next round of sweep {first.parent_run_id} (experiment {experiment!r}, 6 finished trials):"
    written = load_spec(out)
    n_new = len(written.grids)
    assert 1 <= n_new <= 8
    assert lines[-2:] == [f"spec: {out} ({n_new} new configuration{'s' * (n_new != 1)})",
                          f"run it: fitcheck sweep {out} --tracking-uri {mlflow_server.uri}"]
    assert written.previous_sweep == first.parent_run_id and written.experiment == experiment
    raw = yaml.safe_load(out.read_text())
    assert raw["dataset"] == yaml.safe_load(TINY.read_text())["dataset"] and raw["reference_error"] == 0.08
    assert all(_one_axis_apart(grid, old_configs) for grid in raw["grid"])  # each one change of a trial that ran
    reasons = [line for line in out.read_text().splitlines() if line.startswith("#   - ")]
    assert len(reasons) == sum(line.startswith("    - ") for line in lines) and reasons
    assert sum("→ new configuration: " in line for line in reasons) == n_new

    again = runner.invoke(main, ["next", first.parent_run_id, "--tracking-uri", mlflow_server.uri, "-o", str(out)])
    assert again.exit_code == 2
    assert again.output == f"fitcheck: error: {out}: exists; accepted: --force to overwrite it, or -o/--output " \
                           "naming another file\n"

    (tmp_path / "a-file").write_text("")
    unwritable = tmp_path / "a-file" / "next.yaml"
    refused = runner.invoke(main, ["next", experiment, "--tracking-uri", mlflow_server.uri, "-o", str(unwritable)])
    assert refused.exit_code == 2 and not unwritable.parent.is_dir()
    assert refused.output == f"fitcheck: error: {unwritable}: cannot write the next round's spec (File exists); " \
                             "accepted: -o/--output naming a file in a writable folder\n"

    second = run_sweep(out, options)
    parent = client.get_run(second.parent_run_id)
    assert parent.data.tags[names.PREVIOUS_SWEEP_TAG] == first.parent_run_id
    assert parent.info.run_name == "sweep-tiny-next1" and second.parent_run_id != first.parent_run_id
    assert parent.info.experiment_id == client.get_experiment_by_name(experiment).experiment_id
    assert second.n_trials == n_new and second.n_failed == 0
    assert client.get_run(first.parent_run_id).data.tags.get(names.PREVIOUS_SWEEP_TAG) is None

    third = runner.invoke(main, ["next", experiment, "--tracking-uri", mlflow_server.uri, "-o", str(tmp_path / "n2.yaml")])
    assert third.exit_code == 0, third.output
    assert third.output.splitlines()[0] == (f"next round of sweep {second.parent_run_id} (experiment {experiment!r}, "
                                            f"{6 + n_new} finished trials over 2 rounds):")
    assert all("[round " in line for line in third.output.splitlines() if line.startswith("  ") and
               not line.startswith("    "))  # each followed trial names its round
