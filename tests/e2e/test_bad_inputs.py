"""The catalogue of bad inputs, one parametrised test per family of input, through the CLI.

Each bad input gets one line naming the file, key or value and what is accepted, exit code 2, no
traceback (unless --verbose), and nothing written: a refused spec leaves the working folder as it
was (no mlflow.db), and a refused dataset leaves an existing store as it was. Fuzz tests throw
random specs and CSVs at validation and show it only ever raises FitcheckError (hostile YAML is
in tests/test_spec.py).
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.data import load_dataset
from pipeline.errors import FitcheckError
from pipeline.report import default_report_path
from pipeline.spec import ACTIVATIONS, LOSSES, OPTIMIZERS, parse_spec

GOOD = {"dataset": {"synthetic": "moons", "n_samples": 100}, "grid": {"depth": [0], "epochs": [1]}}
MOONS = "dataset: {synthetic: moons, n_samples: 100}\n"


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_spec(folder: Path, content, name: str = "spec.yaml") -> str:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return str(path)


def assert_user_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def _csv(folder: Path, text: str | bytes, **dataset) -> dict:
    path = folder / "d.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return {"dataset": {"csv": "d.csv", "target": "y", **dataset}, "grid": {"depth": [0], "epochs": [1]}}


# -- spec families: refused before anything opens a store --------------------------------------------
SPEC_CASES = {  # family: (spec, the message after "<file>: ")
    "malformed_yaml": ("dataset: [\n", "malformed YAML at line 2, column 1"),
    "unknown_key": ({**GOOD, "grdi": {}}, "unknown key 'grdi' (did you mean 'grid'?)"),
    "unknown_activation": ({**GOOD, "grid": {"activation": ["reluu"]}},
                           "grid.activation[0]: 'reluu' is not accepted (did you mean 'relu'?)"),
    "unknown_loss": ({**GOOD, "grid": {"loss": ["bce"]}}, "grid.loss[0]: 'bce' is not accepted"),
    "wrong_type": ({**GOOD, "grid": {"width": "wide"}}, "grid.width: must be a whole number in [1, 4096] but got 'wide'"),
    "empty_grid": ({**GOOD, "grid": {"depth": []}}, "grid: grid axis 'depth' is empty"),
    "nan_float": (MOONS + "grid: {learning_rate: .nan}\n", "grid.learning_rate: must be a finite number in (0, 10] but got nan"),
    "inf_float": (MOONS + "grid: {l2: [0, .inf]}\n", "grid.l2[1]: must be a finite number in [0, 100] but got inf"),
    "negative_seed": (MOONS + "grid: {seeds: [-1]}\n", "grid.seeds[0]: must be a whole number in [0, 4294967295] but got -1"),
    "seed_too_big": (MOONS + "split: {seed: 4294967296}\n", "split.seed: must be a whole number in [0, 4294967295]"),
    "boolean_number": (MOONS + "grid: {depth: true}\n", "grid.depth: must be a whole number in [0, 100] but got True "
                                                         "(true/false is not a number)"),
    "quoted_number": (MOONS + 'grid: {learning_rate: "0.01"}\n', "grid.learning_rate: must be a finite number in (0, 10] but got "
                                                                  "'0.01' (a quoted string; write the number without quotes)"),
    "yaml11_exponent": (MOONS + "grid: {epochs: 1e9}\n", "grid.epochs: must be a whole number in [1, 100000] but got "
                                                          "1000000000.0"),
    "zero_epochs": ({**GOOD, "grid": {"epochs": [0]}}, "grid.epochs[0]: must be a whole number in [1, 100000] but got 0"),
    "width_bound": (MOONS + "grid: {width: 100000}\n", "grid.width: must be a whole number in [1, 4096] but got 100000"),
    "batch_bound": (MOONS + "grid: {batch_size: [-1]}\n", "grid.batch_size[0]: must be a whole number in [1, 1000000]"),
    "samples_bound": ("dataset: {synthetic: moons, n_samples: 1e8}\n", "dataset.n_samples: must be a whole number in "
                                                                        "[10, 1000000] but got 100000000.0"),
    "dropout_one": (MOONS + "grid: {dropout: 1}\n", "grid.dropout: must be a finite number in [0, 1) but got 1"),
    "split_fraction": (MOONS + "split: {validation: 0.5, test: 0.5}\n", "split: validation + test must leave at least 10% for training "
                                                                "but got 1"),
    "not_a_boolean": (MOONS + "split: {stratify: maybe}\n", "split.stratify: must be true or false but got 'maybe'"),
    "experiment_name": (MOONS + "experiment: " + "x" * 300 + "\n", "experiment: must be at most 256 characters but got 300"),
    "missing_dataset_file": ({"dataset": {"csv": "nope.csv", "target": "y"}}, "dataset.csv: file 'nope.csv' not found"),
    "alias_bomb": ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
        "expands to more than 10000 values (through aliases or a long list)"),
    "deep_nesting": ("dataset: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper than 20 levels"),
    "too_large": ("experiment: " + "x" * 150_000 + "\n", "larger than 100 KB"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "holds NUL bytes, so it is a binary file"),
    "empty_file": ("", "the spec is empty"),
}


@pytest.mark.parametrize("case", sorted(SPEC_CASES))
def test_refused_spec_is_one_line_and_writes_nothing(case, tmp_path, monkeypatch):
    content, expected = SPEC_CASES[case]
    spec = write_spec(tmp_path, content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    line = assert_user_error(run_cli("sweep", spec, "--no-progress"))
    assert line.startswith(f"fitcheck: error: {spec}: {expected}") and len(line) < 500
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spec.yaml"]  # no mlflow.db, mlruns or reports


# -- data families: refused after the store is opened, before anything is written to it -------------------
ROWS = "".join(f"{i},{i * 3 % 7},{i % 2}\n" for i in range(40))
DATA_CASES = {  # family: (make the spec in a folder, the message after "<csv>: ")
    "missing_target": (lambda d: _csv(d, "a,b\n1,2\n"), "target column 'y' not found; columns are: a, b"),
    "duplicated_target": (lambda d: _csv(d, "y,x1,y\n" + ROWS),
                          "column name(s) given more than once in the header: 'y' in columns 1, 3"),
    "duplicated_feature": (lambda d: _csv(d, "a,a,y\n" + ROWS),
                           "column name(s) given more than once in the header: 'a' in columns 1, 2"),
    "unnamed_column": (lambda d: _csv(d, ",a,y\n" + ROWS), "column 1 of 3 has no name in the header"),
    "unclosed_quote_in_header": (lambda d: _csv(d, '"a,y\n' + ROWS), "the header row cannot be read as CSV"),
    "label_variants": (lambda d: _csv(d, "a,y\n" + "".join(f"{i},{['yes', 'no', 'yes '][i % 3]}\n" for i in range(30))),
                       "target column 'y' writes one label several ways that differ only by spaces or case: 'yes', 'yes '"),
    "value_variants": (lambda d: _csv(d, "a,y\n" + "".join(f"{['pro', 'pro '][i % 2]},{i % 2}\n" for i in range(30))),
                       "column 'a' writes one value several ways that differ only by surrounding spaces"),
    "latin1": (lambda d: _csv(d, "a,y\ncaf\xe9,1\n".encode("latin-1")), "not UTF-8 text (byte 0xe9 on line 2)"),
    "binary_csv": (lambda d: _csv(d, b"PK\x03\x04\x00\x00"), "holds NUL bytes, so it is a binary file"),
    "decimal_comma": (lambda d: _csv(d, "a;y\n" + "".join(f"{i},5;{i % 2}\n" for i in range(20))),
                      "column 'a' holds numbers with a decimal comma ('0,5')"),
    "extra_fields": (lambda d: _csv(d, "a,y\n" + "".join(f"{i},{i % 2},{i}\n" for i in range(20))),
                     "rows have more fields than the 2 of the header"),
    "empty_target": (lambda d: _csv(d, "a,y\n" + "".join(f"{i},\n" for i in range(20)), impute="drop"),
                     "target column 'y' has no values (all 20 rows are empty)"),
    "infinite_value": (lambda d: _csv(d, "a,y\n" + "".join(f"{'-inf' if i == 2 else i},{i % 2}\n" for i in range(20))),
                       "column 'a' holds an infinite value in 1 row(s)"),
    "single_class": (lambda d: _csv(d, "a,y\n1,0\n2,0\n3,0\n4,0\n"), "target 'y' has a single class"),
    "empty_csv": (lambda d: _csv(d, ""), "the CSV is empty"),
    "header_only_csv": (lambda d: _csv(d, "a,y\n"), "the CSV has a header but no data rows"),
    "ragged_csv": (lambda d: _csv(d, "a,y\n1,0\n2,1,5\n"), "ragged rows"),
    "identifier_column": (lambda d: _csv(d, "id,a,y\n" + "".join(f"row{i},{i},{i % 2}\n" for i in range(30))),
                          "column 'id' holds a different text in every one of its 30 rows ('row0', 'row1', ...): an "
                          "identifier, which one-hot encoded tells nothing about new rows; leave it out of "
                          "dataset.features"),
    "missing_values": (lambda d: _csv(d, "a,y\n1,0\n,1\n3,0\n4,1\n"), "column 'a' has 1 missing value(s)"),
    "non_numeric": (lambda d: _csv(d, "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(9)) + "x9,1\n"),
                    "column 'a' is numeric but holds non-numeric value 'x9'"),
    "validation_too_small": (lambda d: {**_csv(d, "a,y\n" + "".join(f"{i},{i % 4}\n" for i in range(12))),
                                        "split": {"validation": 0.1}},
                             "the validation split (2 rows) is too small to hold each of the 4 classes"),
}
GRID_CASES = {  # family: (spec, the message after "<spec>: "): refused once the task is known
    "invalid_combination": ({"dataset": {"sklearn": "diabetes"}, "grid": {"loss": ["hinge"]}},
                            "grid.loss: loss 'hinge' does not fit a regression target"),
    "reference_above_one": ({**GOOD, "reference_error": 2},
                            "reference_error: 2 is above 1, but a binary task's error rate lies in [0, 1]; accepted: "
                            "a number in [0, 1]"),
    "over_limit": ({**GOOD, "max_trials": 2, "grid": {"depth": [1, 2, 3], "epochs": [1]}},
                   "grid has 3 trials, over max_trials=2; pass --yes"),
    "over_limit_in_a_list_of_grids": (  # 9.8 million configurations in the second: refused before expanding it
        {**GOOD, "grid": [{"depth": [0], "epochs": [1]},
                          {"depth": [1, 2, 3, 4, 5], "width": list(range(1, 41)), "learning_rate": [0.001 * k for k in range(1, 36)],
                           "batch_size": list(range(8, 43)), "epochs": list(range(1, 41))}]},
        "grids have at least 9800000 trials, over max_trials=500; pass --yes"),
}


@pytest.fixture(scope="module")
def existing_store(tmp_path_factory):
    """A store holding one finished run: what a refused sweep must leave exactly as it was."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('store')}/mlflow.db"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("kept"))
    client.log_metric(run.info.run_id, "val_error", 0.1, step=1)
    client.set_terminated(run.info.run_id)
    return uri, client


def _store_content(client) -> list[tuple]:
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    return sorted((e.name for e in experiments)) + sorted((r.info.run_id, r.info.status) for r in runs)


@pytest.mark.parametrize("case", sorted(DATA_CASES) + sorted(GRID_CASES))
def test_refused_data_is_one_line_and_writes_nothing(case, tmp_path, existing_store):
    uri, client = existing_store
    before = _store_content(client)
    if case in DATA_CASES:
        make, expected = DATA_CASES[case]
        spec, prefix = write_spec(tmp_path, make(tmp_path)), str(tmp_path / "d.csv")
    else:
        content, expected = GRID_CASES[case]
        spec = prefix = write_spec(tmp_path, content)
    line = assert_user_error(run_cli("sweep", spec, "--tracking-uri", uri, "--no-progress"))
    assert line.startswith(f"fitcheck: error: {prefix}: {expected}")
    assert _store_content(client) == before


def test_refused_data_creates_no_store(tmp_path, monkeypatch):
    spec = write_spec(tmp_path, _csv(tmp_path, "y,x1,y\n" + ROWS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert_user_error(run_cli("sweep", spec, "--no-progress"), "given more than once")
    assert not (tmp_path / "mlflow.db").exists()


# -- curves families: fitcheck diagnose --curves ----------------------------------------------------------------
HEADER = "epoch,train_loss,val_loss,train_error,val_error\n"
CURVE_CASES = {  # family: (CSV, task, the message after "<csv>: ")
    "error_below_0": (HEADER + "1,0.5,0.6,0.2,0.3\n2,0.4,0.5,-0.1,0.3\n", "binary",
                      "column train_error, row 2: must be an error rate in [0, 1] but got -0.1."),
    "error_above_1": (HEADER + "1,0.5,0.6,0.2,1.3\n", "multiclass",
                      "column val_error, row 1: must be an error rate in [0, 1] but got 1.3."),
    "negative_rmse": ("epoch,train_loss,val_loss,train_rmse,val_rmse\n1,0.5,0.6,0.2,0.3\n2,0.4,0.5,0.1,-0.3\n",
                      "regression", "column val_rmse, row 2: must be an RMSE >= 0 but got -0.3."),
    "fractional_epoch": (HEADER + "1,0.5,0.6,0.2,0.3\n1.5,0.4,0.5,0.1,0.3\n", "binary",
                         "column epoch, row 2: must be a whole number >= 1 but got 1.5."),
    "repeated_epoch": (HEADER + "1,0.5,0.6,0.2,0.3\n1,0.4,0.5,0.1,0.3\n", "binary",
                       "column epoch, row 2: must be an epoch no earlier row gave but got 1."),
    "text_value": (HEADER + "1,0.5,0.6,0.2,abc\n", "binary",
                   "column val_error, row 1: must be a number (NaN and inf are allowed: they mean divergence) but got 'abc'."),
    "missing_column": (HEADER.replace(",val_error", "") + "1,0.5,0.6,0.2\n", "binary",
                       "curves lack column(s) val_error; a binary run needs epoch, train_loss, val_loss, train_error, "
                       "val_error."),
}


def _diagnose(path: Path, task: str, *extra: str):
    return run_cli("diagnose", "--curves", str(path), "--task", task, "--n-train", "800", "--n-val", "200", *extra)


@pytest.mark.parametrize("case", sorted(CURVE_CASES))
def test_bad_curves_name_the_column_row_and_value(case, tmp_path):
    text, task, expected = CURVE_CASES[case]
    path = tmp_path / "curves.csv"
    path.write_text(text)
    assert assert_user_error(_diagnose(path, task)) == f"fitcheck: error: {path}: {expected}"


def test_one_infinite_val_loss_gives_the_numbers_of_one_epoch(tmp_path):
    """Diverged at epoch 10: train/val error, avoidable bias and gap all describe epoch 9, the last usable one."""
    rows = [(epoch, 1 / epoch, "inf" if epoch == 10 else f"{1 / epoch + 0.1:.4f}", 0.3 / epoch + 0.06,
             0.3 / epoch + 0.08) for epoch in range(1, 31)]
    path = tmp_path / "curves.csv"
    path.write_text(HEADER + "".join(",".join(map(str, row)) + "\n" for row in rows))
    payload = json.loads(_diagnose(path, "binary", "--format", "json", "--reference-error", "0.05").output)
    assert payload["label"] == "diverged" and payload["diverged_epoch"] == 10
    assert payload["train_metric"] == pytest.approx(0.3 / 9 + 0.06)
    assert payload["val_metric"] == pytest.approx(0.3 / 9 + 0.08)
    assert payload["avoidable_bias"] == pytest.approx(payload["train_metric"] - 0.05)
    assert payload["variance_gap"] == pytest.approx(payload["val_metric"] - payload["train_metric"])


# -- report file names from any experiment name -------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(first=st.text(max_size=300), second=st.text(max_size=300))
def test_report_file_names_are_safe_bounded_and_distinct(first, second):
    for name in (first, second):
        path = default_report_path(name)
        assert path.parent == Path("reports") and re.fullmatch(r"[a-z0-9][a-z0-9._+-]*\.html", path.name)
        assert len(path.name) <= 80
    if first != second:
        assert default_report_path(first).name.lower() != default_report_path(second).name.lower()


@pytest.mark.parametrize(("name", "expected"), [
    ("quickstart", "quickstart.html"), ("my-sweep_2.v1", "my-sweep_2.v1.html"),
    ("Quickstart", "quickstart+d3b2aefa7524.html"), ("实验一", "experiment+2dac6e5b8c89.html"),
    ("实验二", "experiment+6ad7af0b248f.html"), ("../../etc/passwd", "etc_passwd+3754d6cb3a38.html"),
    ("", "experiment+e3b0c44298fc.html"), ("con", "con+1143da2bc54c.html"),
    ("x" * 300, "x" * 60 + "+0d4e2ca9e9cb.html"),
])
def test_report_file_names(name, expected):
    assert default_report_path(name) == Path("reports") / expected


@pytest.mark.slow
def test_report_command_writes_one_file_per_awkward_experiment_name(tmp_path, monkeypatch):
    from synthetic_sweep import log_synthetic_sweep

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    names = ["实验一", "实验二", "x" * 300, "a/../b"]
    for name in names:
        log_synthetic_sweep(uri, name, n_trials=2)
    monkeypatch.chdir(tmp_path)
    written = []
    for name in names:
        result = run_cli("report", "--experiment", name, "--tracking-uri", uri)
        assert result.exit_code == 0, result.output
        written.append(tmp_path / result.output.strip().removeprefix("report: "))
    assert [path.parent for path in written] == [tmp_path / "reports"] * 4 and len(set(written)) == 4
    assert all(path.is_file() for path in written)


def test_spec_path_that_is_a_directory(tmp_path):
    assert_user_error(run_cli("sweep", str(tmp_path)), "is a directory")


def test_unsupported_tracking_uri_scheme(tmp_path):
    spec = write_spec(tmp_path, GOOD)
    assert_user_error(run_cli("sweep", spec, "--tracking-uri", "ftp://x"), "unsupported scheme", "sqlite:///")


def test_verbose_shows_the_traceback(tmp_path):
    spec = write_spec(tmp_path, {**GOOD, "grid": {"epochs": [0]}})
    with pytest.raises(FitcheckError):
        run_cli("--verbose", "sweep", spec)


def _store(tmp_path: Path) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/m.db"
    MlflowClient(uri).create_experiment("other")
    return uri


def test_report_for_missing_experiment(tmp_path):
    result = run_cli("report", "--experiment", "does-not-exist", "--tracking-uri", _store(tmp_path))
    assert_user_error(result, "does-not-exist")


def test_report_for_missing_run(tmp_path):
    result = run_cli("report", "--sweep-run-id", "0123456789abcdef", "--tracking-uri", _store(tmp_path))
    assert_user_error(result, "0123456789abcdef")


def test_report_for_missing_store(tmp_path):
    result = run_cli("report", "--experiment", "x", "--tracking-uri", f"sqlite:///{tmp_path}/absent.db")
    assert_user_error(result, "absent.db", "does not exist")


# -- fuzz -----------------------------------------------------------------------------------------------
KEYS = ["dataset", "grid", "split", "experiment", "skip_invalid", "reference_error", "max_trials", "csv", "target",
        "synthetic", "sklearn", "depth", "width", "activation", "loss", "optimizer", "epochs", "validation", "seed",
        "n_samples", "noise", "task", "impute", "features"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(list(ACTIVATIONS + LOSSES + OPTIMIZERS)
                                                         + ["moons", "iris", "d.csv", "y", "binary"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
                      max_leaves=12)
CELLS = st.one_of(st.integers(-3, 3).map(str), st.floats(-10, 10).map(lambda v: f"{v:.2f}"),
                  st.sampled_from(["", "a", "b", "NaN", " ", "x,y", '"q"']), st.text(string.printable, max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_fuzz_random_specs_only_raise_fitcheck_error(raw):
    try:
        spec = parse_spec(raw, source="fuzz.yaml")
    except FitcheckError:
        return
    if spec.dataset.csv is None:
        try:
            load_dataset(spec.dataset.model_copy(update={"n_samples": min(spec.dataset.n_samples, 300)}), spec.split)
        except FitcheckError:
            pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELLS, min_size=0, max_size=4), max_size=12),
       header=st.lists(st.sampled_from(["a", "b", "y", "c"]), min_size=0, max_size=4),
       validation=st.floats(0.05, 0.6), impute=st.sampled_from(["none", "mean", "drop"]))
def test_fuzz_random_csvs_only_raise_fitcheck_error(tmp_path, rows, header, validation, impute):
    from pipeline.spec import DatasetSpec, SplitSpec

    path = tmp_path / "fuzz.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(row) for row in rows]) + "\n")
    try:
        load_dataset(DatasetSpec(csv=str(path), target="y", impute=impute), SplitSpec(validation=validation))
    except FitcheckError:
        pass
