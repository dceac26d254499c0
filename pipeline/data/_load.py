"""Read a spec's dataset into a frame or arrays, and check its columns and values.

No Keras, no MLflow; scikit-learn is imported when a dataset is loaded, not with this module.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from pipeline.data._read_csv import read_csv
from pipeline.errors import FitcheckError, echo
from pipeline.spec import DatasetSpec

_DECIMAL_COMMA = re.compile(r"^\s*[-+]?[0-9]+,[0-9]+\s*$")


def load_frame(spec: DatasetSpec) -> tuple[pd.DataFrame, str]:
    from sklearn import datasets as sk_datasets

    if spec.sklearn:
        loader = getattr(sk_datasets, f"load_{spec.sklearn}")
        bunch = loader(as_frame=True)
        frame = bunch.frame.copy()
        if spec.sklearn != "diabetes":
            frame["target"] = np.asarray(bunch.target_names)[bunch.target]
        return frame, "target"
    if spec.synthetic:
        n, seed = spec.n_samples, spec.seed
        if spec.synthetic == "moons":
            X, y = sk_datasets.make_moons(n, noise=spec.noise, random_state=seed)
        elif spec.synthetic == "circles":
            X, y = sk_datasets.make_circles(n, noise=spec.noise, factor=spec.factor, random_state=seed)
        elif spec.synthetic == "classification":
            X, y = sk_datasets.make_classification(
                n, n_features=spec.n_features, n_informative=min(spec.n_informative, spec.n_features),
                n_redundant=0, n_classes=spec.n_classes, flip_y=spec.flip_y, class_sep=spec.class_sep,
                random_state=seed)
        else:
            X, y = sk_datasets.make_friedman1(n, n_features=max(spec.n_features, 5), noise=spec.noise, random_state=seed)
        if spec.synthetic in ("moons", "circles") and spec.flip_y:
            # flip each label with probability flip_y: the Bayes error is at least flip_y
            flipped = np.random.default_rng(seed).random(len(y)) < spec.flip_y
            y = np.where(flipped, 1 - y, y)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        frame["target"] = y
        return frame, "target"
    if spec.parquet:
        return _read_parquet(spec.parquet), spec.target  # type: ignore[return-value]
    return read_csv(spec.csv), spec.target  # type: ignore[arg-type,return-value]


def _read_parquet(path: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises many kinds for a file it cannot read
        raise FitcheckError(f"{path}: not a readable Parquet file: {str(error).splitlines()[0][:200]}") from None
    frame.columns = [str(column) for column in frame.columns]
    return frame


def read_npz(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
    """The arrays ``spec.x`` and ``spec.y`` of an ``.npz`` file (never unpickles objects)."""
    path = spec.npz
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise FitcheckError(f"{path}: not a readable NumPy .npz file: {str(error).splitlines()[0][:200]}") from None
    with archive:
        if not hasattr(archive, "files"):
            raise FitcheckError(f"{path}: dataset.npz must be a .npz archive of named arrays but got a single array")
        arrays = {}
        for key in ("x", "y"):
            name = getattr(spec, key)
            if name not in archive.files:
                raise FitcheckError(f"{path}: dataset.{key}: array {echo(name)} not found; arrays are: "
                                    f"{', '.join(archive.files) or 'none'}")
            try:
                arrays[key] = archive[name]
            except ValueError as error:  # an object array would need unpickling
                raise FitcheckError(f"{path}: dataset.{key}: array {echo(name)} cannot be read without unpickling "
                                    f"({str(error).splitlines()[0][:120]}); save numbers or strings") from None
    return arrays["x"], arrays["y"]


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as images of shape (8, 8, 1), scaled from 0..16 to [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0)[..., np.newaxis].astype(np.float32), bunch.target


def _not_found(kind: str, name: str, columns: list[str], where: str) -> FitcheckError:
    close = [column for column in columns if column.casefold() == name.casefold()] or \
        difflib.get_close_matches(name, columns, n=1)
    hint = f" (did you mean {echo(close[0])}?)" if close else ""
    if all(_is_number(column) for column in columns):
        hint += " (the first row looks like data: the CSV needs a header row naming the columns)"
    shown = ", ".join(columns[:20]) + (f", ... ({len(columns)} columns)" if len(columns) > 20 else "")
    return FitcheckError(f"{where}: {kind} column {echo(name)} not found{hint}; columns are: {shown}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_columns(frame: pd.DataFrame, features: list[str] | None, target: str, where: str) -> pd.DataFrame:
    columns = [str(column) for column in frame.columns]
    if target not in columns:
        raise _not_found("target", target, columns, where)
    features = features or [c for c in columns if c != target]
    missing = [c for c in features if c not in columns]
    if missing:
        raise _not_found("feature", missing[0], columns, where)
    if target in features:
        raise FitcheckError(f"{where}: the target column '{target}' is also listed in dataset.features")
    if not features:
        raise FitcheckError(f"{where}: no feature columns besides the target '{target}'")
    frame = frame[features + [target]]
    for column in frame.columns:
        check_values(frame[column], column=column, is_target=column == target, where=where)
    return frame


def check_values(series: pd.Series, *, column: str, is_target: bool, where: str) -> None:
    """Refuse a column that is empty, infinite, numbers written as text, or one value written several ways."""
    name = f"target column {echo(column)}" if is_target else f"column {echo(column)}"
    present = series.dropna()
    _check_kind(series, present, name=name, where=where)
    if present.empty:
        fix = "give the column to predict" if is_target else "remove it or leave it out of dataset.features"
        raise FitcheckError(f"{where}: {name} has no values (all {len(series)} rows are empty); {fix}")
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        infinite = int(np.isinf(present.to_numpy(dtype=float)).sum())
        if infinite:
            raise FitcheckError(f"{where}: {name} holds an infinite value in {infinite} row(s); "
                                "the values must be finite numbers")
        return
    text = present.astype(str)
    decimal_comma = text.str.match(_DECIMAL_COMMA)
    if decimal_comma.mean() >= 0.8:
        raise FitcheckError(f"{where}: {name} holds numbers with a decimal comma ({echo(text[decimal_comma].iloc[0])}); "
                            "write them with a decimal point (1.5, not 1,5)")
    numeric = pd.to_numeric(text, errors="coerce")
    bad = text[numeric.isna()]
    if not is_target and numeric.notna().mean() >= 0.8 and len(bad):
        raise FitcheckError(f"{where}: {name} is numeric but holds non-numeric value {echo(bad.iloc[0])} "
                            f"({len(bad)} such row{'s' * (len(bad) > 1)}); fix or remove those values")
    blank = text[text.str.strip() == ""]
    if is_target and len(blank):
        raise FitcheckError(f"{where}: {name} has {len(blank)} blank label(s) ({echo(blank.iloc[0])}); "
                            "leave missing labels empty and set dataset.impute: drop")
    if not is_target and len(text) >= MIN_ROWS_FOR_IDENTIFIER and text.nunique() == len(text):
        raise FitcheckError(f"{where}: {name} holds a different text in every one of its {len(text)} rows "
                            f"({echo(text.iloc[0])}, {echo(text.iloc[1])}, ...): an identifier, which one-hot encoded "
                            "tells nothing about new rows; leave it out of dataset.features")
    variants = _variants(text, fold_case=is_target)
    if variants:
        differ = "spaces or case" if is_target else "surrounding spaces"
        raise FitcheckError(f"{where}: {name} writes one {'label' if is_target else 'value'} several ways that differ "
                            f"only by {differ}: {', '.join(map(echo, variants))}; write each "
                            f"{'class' if is_target else 'category'} one way (fitcheck would count them as different)")


#: Rows from which a text feature with a distinct value in every row is taken for an identifier, not a category.
MIN_ROWS_FOR_IDENTIFIER = 20
#: What a table's column may hold, for messages: numbers, booleans and text (categories).
ACCEPTED_VALUES = "numbers, booleans or text (categories)"


def _check_kind(series: pd.Series, present: pd.Series, *, name: str, where: str) -> None:
    """Refuse a column whose values are neither numbers, booleans nor text: dates, durations, complex
    numbers, bytes, lists, dicts and other objects would otherwise be one-hot encoded by their text,
    one feature per distinct value."""
    dtype = series.dtype
    kind = ("dates" if pd.api.types.is_datetime64_any_dtype(dtype) else
            "durations" if pd.api.types.is_timedelta64_dtype(dtype) else
            "complex numbers" if pd.api.types.is_complex_dtype(dtype) else
            "periods or intervals" if isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype)) else None)
    if kind is None and dtype == object and len(present):
        odd = present[~present.map(lambda value: isinstance(value, (str, bool, int, float, np.number, np.bool_)))]
        if len(odd):
            kind = f"{type(odd.iloc[0]).__name__} values ({len(odd)} row{'s' * (len(odd) > 1)})"
    if kind is None and not isinstance(dtype, pd.CategoricalDtype) and getattr(dtype, "kind", "O") not in "biufO":
        kind = f"values of type {dtype}"
    if kind is not None:
        raise FitcheckError(f"{where}: {name} holds {kind}; accepted: {ACCEPTED_VALUES}: convert it "
                            "(e.g. dates to days since a start) or leave it out of dataset.features")


def _variants(values: pd.Series, *, fold_case: bool) -> list[str]:
    """The first group of distinct values equal once stripped of surrounding spaces (and case-folded)."""
    groups: dict[str, list[str]] = {}
    for value in values.unique():
        key = value.strip().casefold() if fold_case else value.strip()
        groups.setdefault(key, []).append(value)
    return next((sorted(group)[:3] for group in groups.values() if len(group) > 1), [])


def handle_missing(frame: pd.DataFrame, impute: str | None, target: str, where: str) -> pd.DataFrame:
    """``frame`` with missing values dropped (``impute: drop``), or a refusal naming the fix: the spec's
    ``dataset.impute``, or (``impute`` None: data given from Python, which has no such key) filling them first."""
    offered = impute is not None
    if frame[target].isna().any():
        count = int(frame[target].isna().sum())
        if impute != "drop":
            fix = "set dataset.impute: drop to drop those rows" if offered else "drop those rows before passing them"
            raise FitcheckError(f"{where}: target column '{target}' has {count} missing value(s); {fix}")
    counts = frame.drop(columns=[target]).isna().sum()
    counts = counts[counts > 0]
    if impute == "drop":
        frame = frame.dropna()
    elif len(counts) and impute in ("none", None):
        column, count = counts.index[0], int(counts.iloc[0])
        fix = ("set dataset.impute: mean or dataset.impute: drop" if offered else
               "fill or drop them before passing the data (e.g. sklearn's SimpleImputer, DataFrame.dropna)")
        raise FitcheckError(f"{where}: column '{column}' has {count} missing value(s)"
                            f"{f' (and {len(counts) - 1} more columns)' if len(counts) > 1 else ''}; {fix}")
    if frame.empty:
        raise FitcheckError(f"{where}: no rows left after dropping rows with missing values")
    return frame
