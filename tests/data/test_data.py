"""Datasets: CSV with categorical columns, bundled and synthetic data, and every bad CSV."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import infer_task, load_dataset
from pipeline.errors import FitcheckError
from pipeline.spec import DatasetSpec, SplitSpec

import pandas as pd


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def _churn(tmp_path: Path, n: int = 200) -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "plan": rng.choice(["basic", "pro", "plus"], n), "tenure": rng.integers(1, 60, n),
        "charge": rng.normal(50, 10, n).round(2), "churn": rng.choice(["yes", "no"], n),
    })
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_csv_categorical_one_hot_and_numeric_standardised_on_training_split(tmp_path):
    data = load_dataset(DatasetSpec(csv=_churn(tmp_path), target="churn"), SplitSpec(validation=0.25))
    assert data.task == "binary" and data.classes == ["no", "yes"]
    assert {"plan_basic", "plan_plus", "plan_pro", "tenure", "charge"} == set(data.feature_names)
    numeric = [data.feature_names.index("tenure"), data.feature_names.index("charge")]
    np.testing.assert_allclose(data.X_train[:, numeric].mean(axis=0), 0, atol=1e-5)  # fitted on train only
    assert abs(data.X_val[:, numeric].mean()) > 1e-4
    assert set(np.unique(data.X_train[:, data.feature_names.index("plan_pro")])) <= {0.0, 1.0}
    assert len(data.y_val) == 50 and data.X_train.dtype == np.float32


def test_feature_subset(tmp_path):
    data = load_dataset(DatasetSpec(csv=_churn(tmp_path), target="churn", features=["tenure"]), SplitSpec())
    assert data.feature_names == ["tenure"]


@pytest.mark.parametrize(("name", "task", "n_classes"), [
    ("breast_cancer", "binary", 2), ("iris", "multiclass", 3), ("wine", "multiclass", 3),
    ("digits", "multiclass", 10), ("diabetes", "regression", 0)])
def test_sklearn_datasets(name, task, n_classes):
    data = load_dataset(DatasetSpec(sklearn=name), SplitSpec())
    assert data.task == task and data.n_classes == n_classes


@pytest.mark.parametrize(("generator", "task"), [
    ("moons", "binary"), ("circles", "binary"), ("classification", "binary"), ("friedman1", "regression")])
def test_synthetic(generator, task):
    data = load_dataset(DatasetSpec(synthetic=generator, n_samples=200, noise=0.1), SplitSpec())
    assert data.task == task and len(data.y_train) == 160


def test_stratified_split_keeps_class_balance():
    data = load_dataset(DatasetSpec(synthetic="classification", n_samples=1000, flip_y=0), SplitSpec(validation=0.2))
    assert abs(data.y_val.mean() - data.y_train.mean()) < 0.01


def test_regression_target_standardised_with_scale_kept():
    data = load_dataset(DatasetSpec(sklearn="diabetes"), SplitSpec())
    assert abs(data.y_train.mean()) < 1e-5 and data.target_scale > 1


def test_infer_task():
    assert infer_task(pd.Series([0, 1, 1])) == "binary"
    assert infer_task(pd.Series(["a", "b", "c"])) == "multiclass"
    assert infer_task(pd.Series([0.5, 1.25, 3.0])) == "regression"
    assert infer_task(pd.Series(range(100))) == "regression"


def test_explicit_task_overrides_inference():
    data = load_dataset(DatasetSpec(synthetic="classification", n_samples=200, task="multiclass"), SplitSpec())
    assert data.task == "multiclass"


ROWS = "".join(f"{i},{i * 2},{['no', 'yes'][i % 2]}\n" for i in range(40))


@pytest.mark.parametrize(("text", "spec_kwargs", "expected"), [
    ("", {}, "the CSV is empty"),
    ("a,b,y\n", {}, "header but no data rows"),
    ("a,b,y\n1,2,0\n1,2,3,4\n", {}, "ragged rows"),
    ("a,y\n" + "".join(f"{i},{i % 2},{i}\n" for i in range(20)), {},
     "rows have more fields than the 2 of the header (a separator at the end of each row?)"),
    ("a,y\n1,0\n2,1\n", {"target": "label"}, "target column 'label' not found; columns are: a, y"),
    ("a,Y\n1,0\n2,1\n", {}, "target column 'y' not found (did you mean 'Y'?); columns are: a, Y"),
    ("1,2,0\n3,4,1\n", {}, "(the first row looks like data: the CSV needs a header row naming the columns)"),
    ("a,y\n1,0\n2,1\n", {"features": ["b"]}, "feature column 'b' not found"),
    ("a,y\n1,0\n2,0\n3,0\n", {}, "single class"),
    ("a,b,y\n1,,0\n2,3,1\n,4,0\n5,6,1\n", {}, "column 'a' has 1 missing value(s) (and 1 more columns); set dataset.impute"),
    ("a,y\n1,0\n2,1\nthree,0\n4,1\n5,0\n6,1\n", {}, "column 'a' is numeric but holds non-numeric value 'three'"),
    ("a,y\n1,0\n2,1\n3,0\n4,1\n5,2\n6,2\n", {}, "too small to hold each of the 3 classes"),
    # header: a duplicated target would leak the label (pandas renames it y.1); empty names
    ("y,x1,y\n" + ROWS, {}, "column name(s) given more than once in the header: 'y' in columns 1, 3"),
    ("a, a ,y\n" + ROWS, {}, "column name(s) given more than once in the header: 'a' in columns 1, 2"),
    ("a,,y\n" + ROWS, {}, "column 2 of 3 has no name in the header; every column needs a name"),
    (",a,y\n" + ROWS, {}, "column 1 of 3 has no name in the header (a row index written by pandas' to_csv?"),
    ("a,b,y,\n" + ROWS, {}, "column 4 of 4 has no name in the header (a separator at the end of the header?)"),
    # one label written several ways
    ("a,y\n" + "".join(f"{i},{['yes', 'no', 'yes '][i % 3]}\n" for i in range(30)), {},
     "target column 'y' writes one label several ways that differ only by spaces or case: 'yes', 'yes '"),
    ("a,y\n" + "".join(f"{i},{['yes', 'no', 'Yes'][i % 3]}\n" for i in range(30)), {},
     "differ only by spaces or case: 'Yes', 'yes'; write each class one way"),
    ("a,y\n" + "".join(f"{i},{['yes', 'no', ' '][i % 3]}\n" for i in range(30)), {},
     "target column 'y' has 10 blank label(s) (' '); leave missing labels empty"),
    ("a,y\n" + "".join(f"{['pro', 'basic', 'pro '][i % 3]},{i % 2}\n" for i in range(30)), {},
     "column 'a' writes one value several ways that differ only by surrounding spaces: 'pro', 'pro '"),
    ("a,y\n" + "".join(f"{i},id{i}\n" for i in range(60)), {},
     "target 'y' has 60 distinct values, more than the 50 classes fitcheck classifies"),
    # empty, infinite and decimal-comma columns
    ("a,y\n" + "".join(f"{i},\n" for i in range(20)), {"impute": "drop"},
     "target column 'y' has no values (all 20 rows are empty)"),
    ("a,b,y\n" + "".join(f"{i},,{i % 2}\n" for i in range(20)), {"impute": "mean"},
     "column 'b' has no values (all 20 rows are empty); remove it or leave it out of dataset.features"),
    ("a,y\n" + "".join(f"{'inf' if i == 3 else i},{i % 2}\n" for i in range(20)), {},
     "column 'a' holds an infinite value in 1 row(s)"),
    ("a;y\n" + "".join(f"{i},5;{i % 2}\n" for i in range(20)), {},
     "column 'a' holds numbers with a decimal comma ('0,5'); write them with a decimal point"),
])
def test_bad_csvs_give_one_line_naming_the_problem(tmp_path, text, spec_kwargs, expected):
    spec = DatasetSpec(csv=_csv(tmp_path, text), **{"target": "y", **spec_kwargs})
    with pytest.raises(FitcheckError) as info:
        load_dataset(spec, SplitSpec(validation=0.2))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "data.csv"))


@pytest.mark.parametrize(("content", "expected"), [
    ("a,y\n1,caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 2); save the CSV as UTF-8"),
    (b"PK\x03\x04\x00\x00\x08", "holds NUL bytes, so it is a binary file (a spreadsheet?)"),
])
def test_unreadable_encodings_are_refused(tmp_path, content, expected):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(FitcheckError, match=re.escape(f"{path}: {expected}")):
        load_dataset(DatasetSpec(csv=str(path), target="y"), SplitSpec())


@pytest.mark.parametrize(("separator", "encoding"), [
    (";", "utf-8"), ("\t", "utf-8"), ("|", "utf-8"), (",", "utf-8-sig"), ("\t", "utf-16"), (",", "utf-16-be-bom")])
def test_separators_and_encodings_read_like_the_plain_csv(tmp_path, separator, encoding):
    plain = pd.DataFrame({"a b": np.arange(40) * 0.5, "plan": ["café", "thé"] * 20, "y": ["no", "yes"] * 20})
    plain.to_csv(tmp_path / "plain.csv", index=False)
    text = plain.to_csv(index=False, sep=separator)
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    (tmp_path / "other.csv").write_bytes(data)
    expected, got = (load_dataset(DatasetSpec(csv=str(tmp_path / name), target="y"), SplitSpec())
                     for name in ("plain.csv", "other.csv"))
    assert got.feature_names == expected.feature_names == ["a b", "plan_café", "plan_thé"]
    assert got.fingerprint() == expected.fingerprint()


def test_header_names_lose_surrounding_spaces_and_trailing_empty_fields_are_read(tmp_path):
    path = _csv(tmp_path, " a , y \n" + "".join(f"{i},{i % 2},\n" for i in range(20)))
    data = load_dataset(DatasetSpec(csv=path, target="y"), SplitSpec())
    assert data.feature_names == ["a"] and data.classes == ["0", "1"] and len(data.y_train) == 16


def test_impute_mean_and_drop(tmp_path):
    rows = "a,b,y\n" + "".join(f"{i},{'' if i % 5 == 0 else i * 2},{i % 2}\n" for i in range(40))
    path = _csv(tmp_path, rows)
    mean = load_dataset(DatasetSpec(csv=path, target="y", impute="mean"), SplitSpec())
    drop = load_dataset(DatasetSpec(csv=path, target="y", impute="drop"), SplitSpec())
    assert not np.isnan(mean.X_train).any()
    assert len(mean.y_train) + len(mean.y_val) == 40 and len(drop.y_train) + len(drop.y_val) == 32


def test_fingerprint_changes_with_split_seed():
    spec = DatasetSpec(synthetic="moons", n_samples=200)
    assert load_dataset(spec, SplitSpec(seed=0)).fingerprint() == load_dataset(spec, SplitSpec(seed=0)).fingerprint()
    assert load_dataset(spec, SplitSpec(seed=0)).fingerprint() != load_dataset(spec, SplitSpec(seed=1)).fingerprint()


def test_flip_y_on_moons_flips_that_share_of_labels():
    clean = load_dataset(DatasetSpec(synthetic="moons", n_samples=2000, seed=4), SplitSpec(seed=0))
    noisy = load_dataset(DatasetSpec(synthetic="moons", n_samples=2000, seed=4, flip_y=0.2), SplitSpec(seed=0))
    flipped = (clean.frame["target"] != noisy.frame["target"]).mean()
    assert 0.17 < flipped < 0.23
