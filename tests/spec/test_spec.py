"""Spec validation: every bad spec gives one line naming the file, key and value, and what is accepted.

Everything Keras, scikit-learn or MLflow would refuse is refused here, before anything trains, in
one template: ``<file>: <key>: must be <rule> but got <value>``. Hostile YAML (deep nesting,
alias bombs, huge scalars, binary bytes) is refused quickly, in bounded memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import FitcheckError
from pipeline.spec import load_spec, parse_spec

MOONS = {"dataset": {"synthetic": "moons"}}
NAN, INF = float("nan"), float("inf")


def _error(raw, source="s.yaml") -> str:
    with pytest.raises(FitcheckError) as info:
        parse_spec(raw, source=source)
    message = str(info.value)
    assert "\n" not in message and message.startswith(source)
    return message


def _file_error(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "s.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(FitcheckError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)) and len(message) < 400
    return message.removeprefix(f"{path}: ")


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


def test_bounds_themselves_are_accepted():
    spec = parse_spec({**MOONS, "grid": {"seeds": [0, 2**32 - 1], "epochs": 100_000, "learning_rate": 10,
                                         "dropout": 0.0, "width": 4096, "depth": 100}}, source="s.yaml")
    grid = spec.grids[0]
    assert grid.seeds == [0, 4294967295] and grid.epochs == [100000] and grid.learning_rate == [10.0]


@pytest.mark.parametrize(("raw", "expected"), [
    # names and choices
    ({**MOONS, "grd": {}}, "unknown key 'grd' (did you mean 'grid'?)"),
    ({**MOONS, "grid": {"widht": [3]}}, "unknown key 'grid.widht' (did you mean 'width'?)"),
    ({"dataset": {"synthetic": "moons", "nosie": 0.1}}, "did you mean 'noise'?"),
    ({**MOONS, "grid": {"activation": ["relux"]}}, "grid.activation[0]: 'relux' is not accepted (did you mean 'relu'?)"),
    ({**MOONS, "grid": {"loss": ["crossentropy"]}}, "grid.loss[0]: 'crossentropy' is not accepted"),
    ({**MOONS, "grid": {"optimizer": ["adamm"]}}, "(did you mean 'adam'?)"),
    ({"dataset": {"sklearn": "mnist"}}, "dataset.sklearn: 'mnist' is not accepted"),
    ({"dataset": {}}, "dataset: give exactly one of 'csv', 'parquet', 'npz', 'sklearn' or 'synthetic'"),
    ({"dataset": {"csv": "x.csv"}}, "needs 'target'"),
    ({"grid": {}}, "missing required key 'dataset'"),
    ({**MOONS, 5: 1}, "s.yaml: keys must be names (strings) but got 5"),
    # structure
    ({**MOONS, "grid": {"depth": []}}, "grid axis 'depth' is empty"),
    ({**MOONS, "grid": []}, "list of grids is empty"),
    ({**MOONS, "grid": "wide"}, "s.yaml: grid: must be a mapping but got 'wide'"),
    ({"dataset": [1]}, "s.yaml: dataset: must be a mapping but got [1]"),
    # NaN and infinities
    ({**MOONS, "grid": {"learning_rate": NAN}}, "s.yaml: grid.learning_rate: must be a finite number in (0, 10] but got nan"),
    ({**MOONS, "grid": {"learning_rate": [0.1, INF]}}, "grid.learning_rate[1]: must be a finite number in (0, 10] but got inf"),
    ({**MOONS, "grid": {"l2": NAN}}, "grid.l2: must be a finite number in [0, 100] but got nan"),
    ({**MOONS, "grid": {"dropout": -INF}}, "grid.dropout: must be a finite number in [0, 1) but got -inf"),
    ({"dataset": {"synthetic": "moons", "noise": NAN}}, "dataset.noise: must be a finite number >= 0 but got nan"),
    ({**MOONS, "split": {"validation": NAN}}, "split.validation: must be a finite number in (0, 1) but got nan"),
    ({**MOONS, "reference_error": INF}, "reference_error: must be a finite number >= 0 (an error rate or RMSE), "
                                        "'estimate' or 'sweep' but got inf"),
    # seeds: NumPy, scikit-learn and Keras take 0 .. 2**32 - 1
    ({**MOONS, "grid": {"seeds": [-1]}}, "grid.seeds[0]: must be a whole number in [0, 4294967295] but got -1"),
    ({**MOONS, "grid": {"seeds": 2**32}}, "grid.seeds: must be a whole number in [0, 4294967295] but got 4294967296"),
    ({"dataset": {"synthetic": "moons", "seed": -3}}, "dataset.seed: must be a whole number in [0, 4294967295]"),
    ({**MOONS, "split": {"seed": 1.5}}, "split.seed: must be a whole number in [0, 4294967295] but got 1.5"),
    # booleans and quoted strings where numbers are expected, and numbers where booleans are
    ({**MOONS, "grid": {"depth": True}}, "grid.depth: must be a whole number in [0, 100] but got True "
                                         "(true/false is not a number)"),
    ({**MOONS, "grid": {"learning_rate": "0.01"}}, "grid.learning_rate: must be a finite number in (0, 10] but got "
                                                   "'0.01' (a quoted string; write the number without quotes)"),
    ({**MOONS, "grid": {"width": "wide"}}, "grid.width: must be a whole number in [1, 4096] but got 'wide'"),
    ({**MOONS, "max_trials": True}, "max_trials: must be a whole number in [1, 1000000] but got True"),
    ({**MOONS, "split": {"stratify": "yes"}}, "split.stratify: must be true or false but got 'yes'"),
    ({**MOONS, "skip_invalid": 1}, "skip_invalid: must be true or false but got 1"),
    ({"dataset": {"csv": "d.csv", "target": 5}}, "dataset.target: must be a string but got 5"),
    # ranges, upper bounds included
    ({**MOONS, "grid": {"epochs": [0]}}, "grid.epochs[0]: must be a whole number in [1, 100000] but got 0"),
    ({**MOONS, "grid": {"epochs": 1e9}}, "grid.epochs: must be a whole number in [1, 100000] but got 1000000000.0"),
    ({**MOONS, "grid": {"epochs": 2.5}}, "grid.epochs: must be a whole number in [1, 100000] but got 2.5"),
    ({**MOONS, "grid": {"batch_size": [-8]}}, "grid.batch_size[0]: must be a whole number in [1, 1000000] but got -8"),
    ({**MOONS, "grid": {"width": 5000}}, "grid.width: must be a whole number in [1, 4096] but got 5000"),
    ({**MOONS, "grid": {"depth": 101}}, "grid.depth: must be a whole number in [0, 100] but got 101"),
    ({**MOONS, "grid": {"learning_rate": [0]}}, "grid.learning_rate[0]: must be a finite number in (0, 10] but got 0"),
    ({**MOONS, "grid": {"dropout": [1.0]}}, "grid.dropout[0]: must be a finite number in [0, 1) but got 1.0"),
    ({**MOONS, "grid": [{"depth": 1}, {"depth": -1}]}, "grid[1].depth: must be a whole number in [0, 100] but got -1"),
    ({"dataset": {"synthetic": "moons", "n_samples": 10**7}}, "dataset.n_samples: must be a whole number in "
                                                              "[10, 1000000] but got 10000000"),
    ({"dataset": {"synthetic": "classification", "n_samples": 10**6, "n_features": 1000}},
     "dataset: n_samples x n_features must be at most 50000000 but got 1000000 x 1000"),
    ({"dataset": {"synthetic": "classification", "n_classes": 5, "n_informative": 2}},
     "dataset: n_informative (and n_features) must be at least 4 for n_classes=5"),
    ({**MOONS, "split": {"validation": 1.5}}, "split.validation: must be a finite number in (0, 1) but got 1.5"),
    ({**MOONS, "split": {"validation": 0.5, "test": 0.45}}, "split: validation + test must leave at least 10% "
                                                            "for training but got 0.95"),
    ({**MOONS, "reference_error": -0.1}, "reference_error: must be a finite number >= 0"),
    ({**MOONS, "reference_error": "estimat"}, "'estimate' or 'sweep' but got 'estimat'"),
    # names
    ({**MOONS, "experiment": "x" * 300}, "experiment: must be at most 256 characters but got 300: 'xxx"),
    ({**MOONS, "experiment": "a\nb"}, "experiment: must be free of control characters (newlines, tabs, escapes) but got U+000A in 'a\\nb'"),
    ({**MOONS, "experiment": "  "}, "experiment: must be a non-blank name but got '  '"),
    ({"dataset": {"csv": "d.csv", "target": "y", "features": ["a", "a"]}},
     "dataset.features: must name each column once but got 'a' more than once"),
    ({"dataset": {"csv": "d.csv", "target": "y", "features": []}}, "dataset.features: must name at least one column"),
])
def test_bad_specs_name_the_key_and_value(raw, expected):
    assert expected in _error(raw)


def test_echoed_values_are_cut():
    message = _error({**MOONS, "grid": {"depth": [1, "x" * 10_000]}})
    assert message.startswith("s.yaml: grid.depth[1]: must be a whole number in [0, 100] but got 'xxx")
    assert len(message) < 200
    assert len(_error({**MOONS, "k" * 10_000: 1})) < 300


def test_not_a_mapping_and_empty():
    assert _error([1, 2]) == "s.yaml: a sweep spec must be a mapping with keys dataset, grid, ... but got list"
    assert "the spec is empty" in _error(None)


# -- YAML as read from a file ----------------------------------------------------------------------
def test_yaml_12_numbers(tmp_path: Path):
    """1e9 is a number (YAML 1.1 reads a string), 010 is ten (not octal), 1:30 is a string (not 90)."""
    path = tmp_path / "s.yaml"
    path.write_text("dataset: {synthetic: moons, n_samples: 1e3}\ngrid: {learning_rate: [1e-3, 2.5E-2], seeds: [010]}\n")
    spec = load_spec(path)
    assert spec.dataset.n_samples == 1000 and spec.grids[0].learning_rate == [0.001, 0.025]
    assert spec.grids[0].seeds == [10]
    assert _file_error(tmp_path, "dataset: {synthetic: moons}\ngrid: {epochs: 1:30}\n") == \
        "grid.epochs: must be a whole number in [1, 100000] but got '1:30'"
    assert _file_error(tmp_path, "dataset: {synthetic: moons}\ngrid: {epochs: 1e9}\n") == \
        "grid.epochs: must be a whole number in [1, 100000] but got 1000000000.0"
    assert _file_error(tmp_path, "dataset: {synthetic: moons}\ngrid: {learning_rate: .nan}\n") == \
        "grid.learning_rate: must be a finite number in (0, 10] but got nan"


def _bomb(levels: int, fanout: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "flow nesting": ("dataset: " + "[" * 40_000 + "]" * 40_000, "nested deeper than 20 levels"),
    "block nesting": ("".join(" " * i + f"k{i}:\n" for i in range(300)), "nested deeper than 20 levels"),
    "billion laughs": (_bomb(9, 9), "expands to more than 10000 values"),
    "deep aliases": ("".join(f"a{i}: &a{i} [[[[[{'*a' + str(i - 1) if i else 1}]]]]]\n" for i in range(10)),
                     "nested deeper than 20 levels (through aliases)"),
    "long list": ("grid: {seeds: [" + ", ".join(["1"] * 20_000) + "]}", "expands to more than 10000 values"),
    "huge number": ("dataset: {synthetic: moons, n_samples: " + "9" * 5000 + "}", "has more than 30 digits"),
    "over the size limit": ("experiment: " + "x" * 200_000, "larger than 100 KB"),
    "NUL bytes": (b"dataset:\x00\x01\x02", "holds NUL bytes, so it is a binary file"),
    "not UTF-8": (b"experiment: caf\xe9\n", "not UTF-8 text (byte 0xe9 on line 1)"),
    "control character": ("experiment: a\x07b\n", "holds the non-printable character #x0007"),
    "malformed": ("dataset:\n  synthetic: moons\n grid: [\n", "malformed YAML at line"),
    "two documents": ("--- {dataset: {synthetic: moons}}\n--- {}\n", "malformed YAML at line 2"),
    "python tag": ("!!python/object/apply:os.system [ls]", "could not determine a constructor"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_yaml_is_refused_quickly_in_one_line(tmp_path: Path, case):
    content, expected = HOSTILE[case]
    started = time.perf_counter()
    assert expected in _file_error(tmp_path, content)
    assert time.perf_counter() - started < 5
    tracemalloc.start()
    try:
        _file_error(tmp_path, content)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()


def test_directory_missing_file_and_missing_csv(tmp_path: Path):
    with pytest.raises(FitcheckError, match="is a directory"):
        load_spec(tmp_path)
    with pytest.raises(FitcheckError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")
    assert _file_error(tmp_path, "dataset: {csv: missing.csv, target: y}\n").startswith(
        "dataset.csv: file 'missing.csv' not found")


def test_csv_resolved_next_to_spec(tmp_path: Path):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n")
    path = tmp_path / "s.yaml"
    path.write_text("dataset: {csv: d.csv, target: y}\n")
    assert Path(load_spec(path).dataset.csv) == tmp_path / "d.csv"


# -- hypothesis: hostile structures only ever give FitcheckError -----------------------------------------
SCALAR_TEXT = st.one_of(st.sampled_from(["1e9", ".nan", "-.inf", "010", "0x1f", "1:30", "yes", "~", "''", "!!binary aGk=",
                                         "moons", "relu", "-1", "4294967296", "&a x", "*a", "? x"]),
                        st.integers(1, 200_000).map(lambda n: "9" * n), st.integers(1, 200_000).map(lambda n: "x" * n),
                        st.text(max_size=20))
KEYS = st.sampled_from(["dataset", "grid", "split", "synthetic", "depth", "epochs", "seeds", "learning_rate",
                        "experiment", "<<", "csv", "target"])


@st.composite
def hostile_yaml(draw) -> str | bytes:
    kind = draw(st.sampled_from(["nesting", "aliases", "scalar", "binary", "mixed"]))
    if kind == "nesting":
        depth = draw(st.integers(1, 30_000))
        return "dataset: " + ("[" * depth + "]" * depth if draw(st.booleans()) else "{a: " * depth + "1" + "}" * depth)
    if kind == "aliases":
        return _bomb(draw(st.integers(1, 12)), draw(st.integers(1, 12))) + "dataset: *l0\n"
    if kind == "scalar":
        return f"{draw(KEYS)}: {draw(SCALAR_TEXT)}\n"
    if kind == "binary":
        return draw(st.binary(max_size=2000))
    lines = draw(st.lists(st.tuples(st.integers(0, 6), KEYS, SCALAR_TEXT), max_size=12))
    return "".join(f"{' ' * indent}{key}: {value}\n" for indent, key, value in lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
@given(content=hostile_yaml())
def test_hostile_yaml_only_ever_raises_fitcheck_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("hostile") / "s.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    started = time.perf_counter()
    try:
        load_spec(path)
    except FitcheckError as error:
        assert "\n" not in str(error) and len(str(error)) < 600
    assert time.perf_counter() - started < 5


def test_cli_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("dataset: {synthetic: moons}\ngrid: {activaton: [relu]}\n")
    result = subprocess.run([sys.executable, "-m", "pipeline", "sweep", str(path)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=_env())
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "typo.yaml" in lines[0] and "did you mean 'activation'?" in lines[0]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["typo.yaml"]


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}


def test_spec_and_data_modules_import_no_framework():
    """A bad spec is refused before Keras, MLflow or scikit-learn is paid for (bench/refusal_speed.py)."""
    code = ("import sys, pipeline.spec._spec, pipeline.data._prepare; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"
