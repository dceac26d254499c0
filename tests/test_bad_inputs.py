"""The catalogue of bad inputs: each gets one line naming the file, key or value, exit code 2, no
traceback (unless --verbose), and nothing is written to MLflow. A fuzz test throws random specs and
CSVs at validation and shows it only ever raises FitcheckError."""

from __future__ import annotations

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
from pipeline.spec import ACTIVATIONS, LOSSES, OPTIMIZERS, parse_spec

GOOD = {"dataset": {"synthetic": "moons", "n_samples": 100}, "grid": {"depth": [0], "epochs": [1]}}


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_spec(folder: Path, content, name: str = "spec.yaml") -> str:
    path = folder / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return str(path)


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def _csv(folder: Path, text: str) -> dict:
    (folder / "d.csv").write_text(text)
    return {"dataset": {"csv": "d.csv", "target": "y"}, "grid": {"depth": [0], "epochs": [1]}}


CASES = {
    "malformed_yaml": (lambda d: "dataset: [\n", ["malformed YAML at line"]),
    "unknown_key": (lambda d: {**GOOD, "grdi": {}}, ["unknown key 'grdi'", "did you mean 'grid'?"]),
    "wrong_type": (lambda d: {**GOOD, "grid": {"width": "wide"}}, ["grid.width[0]"]),
    "empty_grid": (lambda d: {**GOOD, "grid": {"depth": []}}, ["grid axis 'depth' is empty"]),
    "unknown_activation": (lambda d: {**GOOD, "grid": {"activation": ["reluu"]}}, ["did you mean 'relu'?"]),
    "unknown_loss": (lambda d: {**GOOD, "grid": {"loss": ["bce"]}}, ["grid.loss[0]", "binary_crossentropy"]),
    "unknown_optimizer": (lambda d: {**GOOD, "grid": {"optimizer": ["adamm"]}}, ["did you mean 'adam'?"]),
    "zero_epochs": (lambda d: {**GOOD, "grid": {"epochs": [0]}}, ["grid.epochs: must be > 0, got 0"]),
    "negative_batch": (lambda d: {**GOOD, "grid": {"batch_size": [-1]}}, ["grid.batch_size: must be > 0"]),
    "zero_learning_rate": (lambda d: {**GOOD, "grid": {"learning_rate": [0.0]}}, ["grid.learning_rate: must be > 0"]),
    "missing_dataset_file": (lambda d: {"dataset": {"csv": "nope.csv", "target": "y"}}, ["file 'nope.csv' not found"]),
    "missing_target": (lambda d: {**_csv(d, "a,b\n1,2\n"), }, ["target column 'y' not found; columns are: a, b"]),
    "single_class": (lambda d: _csv(d, "a,y\n1,0\n2,0\n3,0\n4,0\n"), ["single class"]),
    "empty_csv": (lambda d: _csv(d, ""), ["the CSV is empty"]),
    "header_only_csv": (lambda d: _csv(d, "a,y\n"), ["no data rows"]),
    "ragged_csv": (lambda d: _csv(d, "a,y\n1,0\n2,1,5\n"), ["ragged rows"]),
    "missing_values": (lambda d: _csv(d, "a,y\n1,0\n,1\n3,0\n4,1\n"),
                       ["column 'a' has 1 missing value(s)", "impute: mean"]),
    "non_numeric": (lambda d: _csv(d, "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(9)) + "x9,1\n"),
                    ["column 'a' is numeric but holds non-numeric value 'x9'"]),
    "validation_too_small": (lambda d: {**_csv(d, "a,y\n" + "".join(f"{i},{i % 4}\n" for i in range(12))),
                                        "split": {"validation": 0.1}}, ["too small to hold each of the 4 classes"]),
    "invalid_combination": (lambda d: {"dataset": {"sklearn": "diabetes"}, "grid": {"loss": ["hinge"]}},
                            ["loss 'hinge' does not fit a regression target", "skip_invalid"]),
    "over_limit": (lambda d: {**GOOD, "max_trials": 2, "grid": {"depth": [1, 2, 3], "epochs": [1]}},
                   ["grid has 3 trials, over max_trials=2", "--yes"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gives_one_line_and_exit_code_2(case, tmp_path):
    make, fragments = CASES[case]
    spec = write_spec(tmp_path, make(tmp_path))
    result = run_cli("sweep", spec, "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--no-progress")
    assert_user_error(result, *fragments)


def test_spec_path_that_is_a_directory(tmp_path):
    assert_user_error(run_cli("sweep", str(tmp_path)), "is a directory")


def test_bad_input_writes_nothing_to_an_existing_store(tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    experiment = client.create_experiment("kept")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "val_error", 0.1, step=1)
    client.set_terminated(run.info.run_id)
    spec = write_spec(tmp_path, {**GOOD, "experiment": "kept", "grid": {"epochs": [-3]}})
    assert_user_error(run_cli("sweep", spec, "--tracking-uri", uri), "grid.epochs")
    runs = client.search_runs([experiment])
    assert [r.info.run_id for r in runs] == [run.info.run_id] and runs[0].info.status == "FINISHED"


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
