"""Spec validation: every bad spec gives one line naming the file and key, and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import FitcheckError
from pipeline.spec import load_spec, parse_spec

MOONS = {"dataset": {"synthetic": "moons"}}


def _error(raw, source="s.yaml") -> str:
    with pytest.raises(FitcheckError) as info:
        parse_spec(raw, source=source)
    message = str(info.value)
    assert "\n" not in message and message.startswith(source)
    return message


def test_minimal_spec_gets_defaults():
    spec = parse_spec(MOONS, source="s.yaml")
    assert spec.grids[0].depth == [1] and spec.split.validation == 0.2 and spec.reference_error == "estimate"


def test_scalar_axis_values_become_lists():
    spec = parse_spec({**MOONS, "grid": {"depth": 2, "optimizer": "sgd"}}, source="s.yaml")
    assert spec.grids[0].depth == [2] and spec.grids[0].optimizer == ["sgd"]


def test_list_of_grids_is_a_union():
    spec = parse_spec({**MOONS, "grid": [{"depth": [0]}, {"depth": [2], "loss": ["mse"]}]}, source="s.yaml")
    assert spec.axis_values()["depth"] == [0, 2]
    assert spec.axis_values()["loss"] == ["binary_crossentropy", "mse"]


@pytest.mark.parametrize(("raw", "expected"), [
    ({**MOONS, "grd": {}}, "unknown key 'grd' (did you mean 'grid'?)"),
    ({**MOONS, "grid": {"widht": [3]}}, "unknown key 'grid.widht' (did you mean 'width'?)"),
    ({"dataset": {"synthetic": "moons", "nosie": 0.1}}, "did you mean 'noise'?"),
    ({**MOONS, "grid": {"activation": ["relux"]}}, "grid.activation[0]: 'relux' is not accepted (did you mean 'relu'?)"),
    ({**MOONS, "grid": {"loss": ["crossentropy"]}}, "grid.loss[0]: 'crossentropy' is not accepted"),
    ({**MOONS, "grid": {"optimizer": ["adamm"]}}, "(did you mean 'adam'?)"),
    ({**MOONS, "grid": {"epochs": [0]}}, "grid.epochs: must be > 0, got 0"),
    ({**MOONS, "grid": {"batch_size": [-8]}}, "grid.batch_size: must be > 0, got -8"),
    ({**MOONS, "grid": {"learning_rate": [0]}}, "grid.learning_rate: must be > 0"),
    ({**MOONS, "grid": {"depth": "deep"}}, "grid.depth[0]"),
    ({**MOONS, "grid": {"depth": []}}, "grid axis 'depth' is empty"),
    ({**MOONS, "grid": []}, "list of grids is empty"),
    ({**MOONS, "grid": {"dropout": [1.5]}}, "grid.dropout: must be in [0, 1)"),
    ({"dataset": {}}, "exactly one of 'csv', 'sklearn' or 'synthetic'"),
    ({"dataset": {"sklearn": "mnist"}}, "dataset.sklearn: 'mnist' is not accepted"),
    ({"dataset": {"csv": "x.csv"}}, "needs 'target'"),
    ({"grid": {}}, "missing required key 'dataset'"),
    ({**MOONS, "split": {"validation": 1.5}}, "split.validation"),
    ({**MOONS, "reference_error": -0.1}, "reference_error"),
])
def test_bad_specs_name_the_key(raw, expected):
    assert expected in _error(raw)


def test_not_a_mapping():
    assert "must be a mapping" in _error([1, 2])


def test_malformed_yaml_names_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("dataset:\n  synthetic: moons\n grid: [\n")
    with pytest.raises(FitcheckError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_spec(path)


def test_directory_and_missing_file(tmp_path: Path):
    with pytest.raises(FitcheckError, match="is a directory"):
        load_spec(tmp_path)
    with pytest.raises(FitcheckError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")


def test_missing_csv_names_file(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text("dataset: {csv: missing.csv, target: y}\n")
    with pytest.raises(FitcheckError, match="dataset.csv: file 'missing.csv' not found"):
        load_spec(path)


def test_csv_resolved_next_to_spec(tmp_path: Path):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n")
    path = tmp_path / "s.yaml"
    path.write_text("dataset: {csv: d.csv, target: y}\n")
    assert Path(load_spec(path).dataset.csv) == tmp_path / "d.csv"


def test_cli_bad_spec_exits_2_with_one_line(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("dataset: {synthetic: moons}\ngrid: {activaton: [relu]}\n")
    result = subprocess.run([sys.executable, "-m", "pipeline", "sweep", str(path), "--tracking-uri",
                             f"sqlite:///{tmp_path}/m.db"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "typo.yaml" in lines[0] and "did you mean 'activation'?" in lines[0]
    assert "Traceback" not in result.stderr
