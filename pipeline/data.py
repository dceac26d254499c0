"""Load a dataset, infer its task, split it and preprocess it (fitted on the training split only).

No Keras, no MLflow: arrays out, ready for any trainer. scikit-learn is imported when a dataset is
loaded, not with this module, so that a bad spec is refused before it is paid for.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline._read_csv import read_csv
from pipeline.errors import FitcheckError, echo
from pipeline.spec import MAX_CLASSES, DatasetSpec, SplitSpec

_DECIMAL_COMMA = re.compile(r"^\s*[-+]?[0-9]+,[0-9]+\s*$")


@dataclass
class PreparedData:
    """Float32 feature matrices and encoded targets for each split.

    Classification targets are integer class indices ``0..n_classes-1``; regression targets are
    standardised with the training split's mean and scale (``target_scale`` turns a standardised
    RMSE back into the target's units).
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    feature_names: list[str]
    classes: list[str] = field(default_factory=list)
    target_scale: float = 1.0
    frame: pd.DataFrame | None = None
    target: str = "target"
    #: The split's seed: it also fixes the order :func:`training_subset` takes training rows in.
    split_seed: int = 0

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def fingerprint(self) -> str:
        """A hash of the prepared arrays: same data and split, same fingerprint."""
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_val, self.y_val):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(self.task.encode())
        return digest.hexdigest()[:16]


def _load_frame(spec: DatasetSpec) -> tuple[pd.DataFrame, str]:
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
    return read_csv(spec.csv), spec.target  # type: ignore[arg-type,return-value]


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


def _check_columns(frame: pd.DataFrame, spec: DatasetSpec, target: str, where: str) -> pd.DataFrame:
    columns = [str(column) for column in frame.columns]
    if target not in columns:
        raise _not_found("target", target, columns, where)
    features = spec.features or [c for c in columns if c != target]
    missing = [c for c in features if c not in columns]
    if missing:
        raise _not_found("feature", missing[0], columns, where)
    if target in features:
        raise FitcheckError(f"{where}: the target column '{target}' is also listed in dataset.features")
    if not features:
        raise FitcheckError(f"{where}: no feature columns besides the target '{target}'")
    frame = frame[features + [target]]
    for column in frame.columns:
        _check_values(frame[column], column=column, is_target=column == target, where=where)
    return frame


def _check_values(series: pd.Series, *, column: str, is_target: bool, where: str) -> None:
    """Refuse a column that is empty, infinite, numbers written as text, or one value written several ways."""
    name = f"target column {echo(column)}" if is_target else f"column {echo(column)}"
    present = series.dropna()
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
    variants = _variants(text, fold_case=is_target)
    if variants:
        differ = "spaces or case" if is_target else "surrounding spaces"
        raise FitcheckError(f"{where}: {name} writes one {'label' if is_target else 'value'} several ways that differ "
                            f"only by {differ}: {', '.join(map(echo, variants))}; write each "
                            f"{'class' if is_target else 'category'} one way (fitcheck would count them as different)")


def _variants(values: pd.Series, *, fold_case: bool) -> list[str]:
    """The first group of distinct values equal once stripped of surrounding spaces (and case-folded)."""
    groups: dict[str, list[str]] = {}
    for value in values.unique():
        key = value.strip().casefold() if fold_case else value.strip()
        groups.setdefault(key, []).append(value)
    return next((sorted(group)[:3] for group in groups.values() if len(group) > 1), [])


def _handle_missing(frame: pd.DataFrame, spec: DatasetSpec, target: str, where: str) -> pd.DataFrame:
    if frame[target].isna().any():
        count = int(frame[target].isna().sum())
        if spec.impute != "drop":
            raise FitcheckError(f"{where}: target column '{target}' has {count} missing value(s); "
                                "set dataset.impute: drop to drop those rows")
    counts = frame.drop(columns=[target]).isna().sum()
    counts = counts[counts > 0]
    if spec.impute == "drop":
        frame = frame.dropna()
    elif len(counts) and spec.impute == "none":
        column, count = counts.index[0], int(counts.iloc[0])
        raise FitcheckError(f"{where}: column '{column}' has {count} missing value(s)"
                            f"{f' (and {len(counts) - 1} more columns)' if len(counts) > 1 else ''}; "
                            "set dataset.impute: mean or dataset.impute: drop")
    if frame.empty:
        raise FitcheckError(f"{where}: no rows left after dropping rows with missing values")
    return frame


def infer_task(target: pd.Series) -> str:
    """``binary``, ``multiclass`` or ``regression`` from the target's values."""
    values = target.dropna()
    n_unique = values.nunique()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        is_integral = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
        if not is_integral or n_unique > MAX_CLASSES:
            return "regression"
    return "binary" if n_unique <= 2 else "multiclass"


def load_dataset(spec: DatasetSpec, split: SplitSpec, *, source: str = "spec") -> PreparedData:
    """Load, check, split and preprocess the dataset a spec names.

    Numeric feature columns are standardised and string columns one-hot encoded, with the
    transform fitted on the training split only; missing values are refused unless
    ``impute`` says ``mean`` (numeric columns; most frequent for strings) or ``drop``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    where = spec.csv or f"{source}: dataset"
    frame, target = _load_frame(spec)
    frame = _check_columns(frame, spec, target, where)
    frame = _handle_missing(frame, spec, target, where)
    task = spec.task or infer_task(frame[target])
    y_raw = frame[target]
    X_frame = frame.drop(columns=[target])
    classes: list[str] = []
    if task == "regression":
        y_numeric = pd.to_numeric(y_raw, errors="coerce")
        if y_numeric.isna().any():
            raise FitcheckError(f"{where}: target '{target}' is not numeric (e.g. {y_raw[y_numeric.isna()].iloc[0]!r}); "
                                "a regression target must be numbers")
        y = y_numeric.to_numpy(dtype=np.float64)
    else:
        codes, uniques = pd.factorize(y_raw, sort=True)
        classes = [str(u) for u in uniques]
        if spec.task is None and len(classes) > MAX_CLASSES:
            raise FitcheckError(f"{where}: target {echo(target)} has {len(classes)} distinct values, more than the "
                                f"{MAX_CLASSES} classes fitcheck classifies; is it the column to predict? "
                                "(set dataset.task: regression for a numeric target)")
        if len(classes) < 2:
            raise FitcheckError(f"{where}: target '{target}' has a single class ({classes[0] if classes else 'none'}); "
                                "classification needs at least two")
        if task == "binary" and len(classes) > 2:
            raise FitcheckError(f"{where}: dataset.task is binary but target '{target}' has {len(classes)} classes; "
                                "use task: multiclass")
        y = codes.astype(np.int64)
    stratify = y if task != "regression" and split.stratify else None
    n_rows = len(y)
    n_val = int(np.ceil(split.validation * n_rows))
    n_test = int(np.ceil(split.test * n_rows)) if split.test else 0
    if stratify is not None:
        min_count = int(np.bincount(y).min())
        needed = max(len(classes), 2)
        if n_val < len(classes) or (n_test and n_test < len(classes)) or min_count < needed:
            raise FitcheckError(
                f"{where}: the validation split ({n_val} rows) is too small to hold each of the {len(classes)} "
                f"classes (smallest class has {min_count} rows); raise split.validation or add rows")
    if n_rows - n_val - n_test < 2:
        raise FitcheckError(f"{where}: only {n_rows} rows; too few to split into training and validation sets")
    indices = np.arange(n_rows)
    rest, val_idx = train_test_split(indices, test_size=n_val, random_state=split.seed, stratify=stratify)
    test_idx = np.array([], dtype=int)
    if n_test:
        rest_strat = stratify[rest] if stratify is not None else None
        rest, test_idx = train_test_split(rest, test_size=n_test, random_state=split.seed, stratify=rest_strat)
    train_idx = rest

    numeric_cols = [c for c in X_frame.columns if pd.api.types.is_numeric_dtype(X_frame[c]) and not pd.api.types.is_bool_dtype(X_frame[c])]
    categorical_cols = [c for c in X_frame.columns if c not in numeric_cols]
    numeric_pipe = StandardScaler()
    if spec.impute == "mean":
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        numeric_pipe = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler())
        categorical = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                    OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    else:
        categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    transformer = ColumnTransformer(
        [("numeric", numeric_pipe, numeric_cols), ("categorical", categorical, categorical_cols)],
        verbose_feature_names_out=False,
    )
    X_frame = X_frame.astype({c: str for c in categorical_cols})
    X_train = transformer.fit_transform(X_frame.iloc[train_idx]).astype(np.float32)

    def transform(idx: np.ndarray) -> np.ndarray:
        return transformer.transform(X_frame.iloc[idx]).astype(np.float32)

    target_scale = 1.0
    if task == "regression":
        mean, target_scale = float(y[train_idx].mean()), float(y[train_idx].std() or 1.0)
        y = ((y - mean) / target_scale).astype(np.float32)
    return PreparedData(
        name=spec.name, task=task,
        X_train=X_train, y_train=y[train_idx],
        X_val=transform(val_idx), y_val=y[val_idx],
        X_test=transform(test_idx) if n_test else None, y_test=y[test_idx] if n_test else None,
        feature_names=[str(n) for n in transformer.get_feature_names_out()],
        classes=classes, target_scale=target_scale, frame=frame, target=target, split_seed=split.seed,
    )


def subset_rows(size: float | int, n_train: int, *, source: str = "spec", key: str = "train_size") -> int:
    """The rows a ``train_size`` takes of ``n_train``: a fraction (at least 2 rows) or a row count.

    >>> subset_rows(0.25, 1000), subset_rows(1.0, 1000), subset_rows(300, 1000)
    (250, 1000, 300)
    """
    if isinstance(size, float) or size == 1:
        if not 0 < size <= 1:
            raise FitcheckError(f"{source}: {key} must be a fraction in (0, 1] or a whole number of rows >= 2 "
                                f"but got {size!r}")
        return max(2, min(n_train, int(round(size * n_train))))
    if not 2 <= size <= n_train:
        raise FitcheckError(f"{source}: {key} must be at most the {n_train} rows of the training split "
                            f"(or a fraction of it) but got {size}")
    return int(size)


def training_subset(y: np.ndarray, size: float | int, *, task: str, seed: int) -> np.ndarray:
    """Indices of the first ``size`` training rows in one fixed order: nested, and stratified by class.

    The order is fixed by ``seed`` (the split's), so the rows of a smaller size are among those of
    any larger one, and every size is measured against the same validation split. For classification
    the order interleaves the classes in proportion (the ``k``-th row of a class with ``n_c`` rows
    sits at ``k / n_c``): any prefix holds each class's share to within one row, and the first
    ``n_classes`` rows hold one of each. Regression rows are taken in a seeded random order.

    Parameters
    ----------
    y : ndarray
        The training targets (class indices for classification).
    size : float or int
        A fraction in (0, 1] of the rows, or a row count >= 2 (:func:`subset_rows`).
    task : {"binary", "multiclass", "regression"}
    seed : int

    Returns
    -------
    ndarray of int
        Sorted row indices into ``y``.

    Examples
    --------
    >>> y = np.array([0] * 8 + [1] * 4)
    >>> small = training_subset(y, 3, task="binary", seed=0)
    >>> large = training_subset(y, 0.5, task="binary", seed=0)
    >>> set(small) <= set(large), np.bincount(y[large]).tolist()
    (True, [4, 2])
    """
    n_rows = subset_rows(size, len(y))
    rng = np.random.default_rng(seed)
    if task == "regression":
        order = rng.permutation(len(y))
    else:
        position = np.empty(len(y))
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            position[rng.permutation(rows)] = np.arange(len(rows)) / len(rows)
        order = np.lexsort((rng.random(len(y)), position))  # ties (equal shares) in a seeded order
    return np.sort(order[:n_rows])
