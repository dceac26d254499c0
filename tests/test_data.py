"""Datasets: CSV with categorical columns, bundled and synthetic data, and every bad CSV."""

from __future__ import annotations

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


@pytest.mark.parametrize(("text", "spec_kwargs", "expected"), [
    ("", {}, "the CSV is empty"),
    ("a,b,y\n", {}, "header but no data rows"),
    ("a,b,y\n1,2,0\n1,2,3,4\n", {}, "ragged rows"),
    ("a,y\n1,0\n2,1\n", {"target": "label"}, "target column 'label' not found; columns are: a, y"),
    ("a,y\n1,0\n2,1\n", {"features": ["b"]}, "feature column 'b' not found"),
    ("a,y\n1,0\n2,0\n3,0\n", {}, "single class"),
    ("a,b,y\n1,,0\n2,3,1\n,4,0\n5,6,1\n", {}, "column 'a' has 1 missing value(s) (and 1 more columns); set dataset.impute"),
    ("a,y\n1,0\n2,1\nthree,0\n4,1\n5,0\n6,1\n", {}, "column 'a' is numeric but holds non-numeric value 'three'"),
    ("a,y\n1,0\n2,1\n3,0\n4,1\n5,2\n6,2\n", {}, "too small to hold each of the 3 classes"),
])
def test_bad_csvs_give_one_line_naming_the_problem(tmp_path, text, spec_kwargs, expected):
    spec = DatasetSpec(csv=_csv(tmp_path, text), **{"target": "y", **spec_kwargs})
    with pytest.raises(FitcheckError) as info:
        load_dataset(spec, SplitSpec(validation=0.2))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert "data.csv" in str(info.value)


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
