"""Load a dataset, infer its task, split it and preprocess it (fitted on the training split only).

Data comes from a spec's ``dataset`` section (:func:`load_dataset`) or from Python
(:func:`prepare_inputs`: a DataFrame and its target column, arrays ``(X, y)``, or explicit
training and validation sets); both go through the same checks. Tabular (2-D) inputs are
standardised and one-hot encoded; inputs of any other shape (images, sequences) are used as given.

No Keras, no MLflow: arrays out, ready for any trainer. scikit-learn is imported when a dataset is
loaded, not with this module, so that a bad spec is refused before it is paid for.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data._read_csv import read_csv
from pipeline.errors import FitcheckError, echo
from pipeline.names import TEST_CONTEXT, TRAINING_CONTEXT, VALIDATION_CONTEXT
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
    #: Positions in ``frame`` of each split's rows, by :data:`pipeline.names.TRAINING_CONTEXT` and the others.
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    #: The split's seed: it also fixes the order :func:`training_subset` takes training rows in.
    split_seed: int = 0

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape: ``(n_features,)`` for tabular data, ``(8, 8, 1)`` for 8x8 grey images."""
        return tuple(int(size) for size in self.X_train.shape[1:])

    @property
    def n_features(self) -> int:
        """Values per sample (the product of :attr:`input_shape`)."""
        return math.prod(self.input_shape)

    def fingerprint(self) -> str:
        """A hash of the prepared arrays: same data and split, same fingerprint."""
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_val, self.y_val):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(self.task.encode())
        if len(self.input_shape) > 1:  # tabular data keeps the fingerprint it always had
            digest.update(repr(self.input_shape).encode())
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


def _read_npz(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
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


def _digits_images() -> tuple[np.ndarray, np.ndarray]:
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


def _check_columns(frame: pd.DataFrame, features: list[str] | None, target: str, where: str) -> pd.DataFrame:
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


def _handle_missing(frame: pd.DataFrame, impute: str, target: str, where: str) -> pd.DataFrame:
    if frame[target].isna().any():
        count = int(frame[target].isna().sum())
        if impute != "drop":
            raise FitcheckError(f"{where}: target column '{target}' has {count} missing value(s); "
                                "set dataset.impute: drop to drop those rows")
    counts = frame.drop(columns=[target]).isna().sum()
    counts = counts[counts > 0]
    if impute == "drop":
        frame = frame.dropna()
    elif len(counts) and impute == "none":
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
    Arrays of more than two dimensions (an ``.npz`` file's, the digits as images) are used as given.
    """
    where = spec.file or f"{source}: dataset"
    if spec.npz is not None or spec.as_images:
        X, y = _read_npz(spec) if spec.npz is not None else _digits_images()
        return _prepare_arrays(X, y, split=split, name=spec.name, task=spec.task, where=where)
    frame, target = _load_frame(spec)
    return _prepare_frame(frame, target, split=split, name=spec.name, task=spec.task, where=where,
                          features=spec.features, impute=spec.impute)


#: Which :func:`prepare_inputs` forms the ``data=`` argument accepts, for its messages.
ACCEPTED_INPUTS = ("(DataFrame, 'target column'), (X, y) arrays, or {'train': (X, y), 'validation': (X, y)} "
                   "(each part (X, y) or (DataFrame, 'target column'))")


def prepare_inputs(inputs: Any, split: SplitSpec, *, where: str = "data=", task: str | None = None) -> PreparedData:
    """Check, split and preprocess data given in Python, as :func:`load_dataset` does a spec's.

    Parameters
    ----------
    inputs : tuple or mapping
        ``(frame, "target")``: a pandas DataFrame and the name of its column to predict;
        ``(X, y)``: an array of inputs of any shape (rows first) and one target per row;
        ``{"train": ..., "validation": ..., "test": ...}`` (``test`` optional): sets used as given,
        not split again, each in one of the two forms above.
    split : SplitSpec
        How ``(frame, target)`` and ``(X, y)`` are split.
    where : str
        The argument's name in messages.
    task : {"binary", "multiclass", "regression"}, optional
        Inferred from the target when None.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.random.default_rng(0).normal(size=(100, 3)), np.arange(100) % 2
    >>> data = prepare_inputs((X, y), SplitSpec(validation=0.25))
    >>> data.task, data.input_shape, len(data.y_val)
    ('binary', (3,), 25)
    """
    if isinstance(inputs, Mapping):
        return _prepare_sets(inputs, where=where, task=task)
    frame, target = _input_pair(inputs, where)
    if isinstance(target, str):
        return _prepare_frame(frame, target, split=split, name="DataFrame", task=task, where=where)
    return _prepare_arrays(frame, target, split=split, name="arrays", task=task, where=where)


def _input_pair(pair: Any, where: str) -> tuple[Any, Any]:
    """``(X, y)`` or ``(frame, target column)``, checked for its form and lengths."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise FitcheckError(f"{where} must be {ACCEPTED_INPUTS} but got {type(pair).__name__}"
                            f"{f' of length {len(pair)}' if isinstance(pair, (tuple, list)) else ''}")
    features, target = pair
    if isinstance(target, str):
        if not isinstance(features, pd.DataFrame):
            raise FitcheckError(f"{where}: a target column name ({echo(target)}) goes with a pandas DataFrame "
                                f"but got {type(features).__name__}")
        return features, target
    X = features if isinstance(features, pd.DataFrame) else np.asarray(features)
    y = np.asarray(target)
    if X.ndim == 0 or y.ndim == 0:
        raise FitcheckError(f"{where}: X and y must be arrays with one row per sample but got "
                            f"{'a scalar X' if X.ndim == 0 else 'a scalar y'}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise FitcheckError(f"{where}: y must hold one target per row (shape (n,)) but got shape {y.shape}")
    if len(X) != len(y):
        raise FitcheckError(f"{where}: X and y must have the same number of rows but got {len(X)} and {len(y)}")
    return X, y


def _prepare_sets(sets: Mapping, *, where: str, task: str | None) -> PreparedData:
    """Explicit training, validation (and test) sets: checked as one table, used as given."""
    unknown = sorted(set(map(str, sets)) - {"train", "validation", "test"})
    if unknown or not {"train", "validation"} <= set(sets):
        raise FitcheckError(f"{where} as a mapping must have keys 'train' and 'validation' (and optionally 'test') "
                            f"but got {', '.join(map(echo, sets)) or 'none'}")
    order = [name for name in ("train", "validation", "test") if name in sets]
    contexts = {"train": TRAINING_CONTEXT, "validation": VALIDATION_CONTEXT, "test": TEST_CONTEXT}
    pairs = {name: _input_pair(sets[name], f"{where}[{name!r}]") for name in order}
    targets = {name: target for name, (_, target) in pairs.items()}
    if len({isinstance(target, str) for target in targets.values()}) > 1:
        raise FitcheckError(f"{where}: the sets must all be (X, y) or all (DataFrame, 'target column')")
    sizes = [len(pairs[name][0]) for name in order]
    bounds = np.cumsum([0, *sizes])
    positions = {contexts[name]: np.arange(bounds[i], bounds[i + 1]) for i, name in enumerate(order)}
    first = pairs["train"]
    if isinstance(first[1], str):
        if len(set(targets.values())) > 1:
            raise FitcheckError(f"{where}: the sets must name the same target column but got "
                                f"{', '.join(map(echo, targets.values()))}")
        frame = pd.concat([pairs[name][0] for name in order], ignore_index=True)
        return _prepare_frame(frame, first[1], split=None, name="DataFrame", task=task, where=where, positions=positions)
    shapes = {pairs[name][0].shape[1:] for name in order}
    if len(shapes) > 1:
        raise FitcheckError(f"{where}: the sets' inputs must have one shape per sample but got "
                            f"{', '.join(str(shape) for shape in shapes)}")
    X = np.concatenate([np.asarray(pairs[name][0]) for name in order])
    y = np.concatenate([pairs[name][1] for name in order])
    return _prepare_arrays(X, y, split=None, name="arrays", task=task, where=where, positions=positions)


def _prepare_arrays(X: Any, y: np.ndarray, *, split: SplitSpec | None, name: str, task: str | None, where: str,
                    positions: dict[str, np.ndarray] | None = None) -> PreparedData:
    """Arrays: tabular ones (1 or 2 dimensions, or a DataFrame) go the table's way; others are used as given."""
    if isinstance(X, pd.DataFrame) or np.asarray(X).ndim <= 2:
        if isinstance(X, pd.DataFrame):
            frame = X.reset_index(drop=True)
        else:
            table = np.asarray(X).reshape(len(X), -1)
            frame = pd.DataFrame(table, columns=[f"x{i}" for i in range(table.shape[1])])
        target = "target" if "target" not in frame.columns else "__target__"
        frame[target] = y
        return _prepare_frame(frame, target, split=split, name=name, task=task, where=where, positions=positions)
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)):
        raise FitcheckError(f"{where}: X must hold numbers but got dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise FitcheckError(f"{where}: X holds {int((~np.isfinite(X)).sum())} missing or infinite value(s); "
                            "the inputs must be finite numbers")
    labels = pd.Series(y, name="y")
    if labels.isna().any():
        raise FitcheckError(f"{where}: y has {int(labels.isna().sum())} missing value(s); every row needs a target")
    _check_values(labels, column="y", is_target=True, where=where)
    task, y_encoded, classes = _encode_target(labels, task=task, target="y", where=where)
    indices = positions or _split_rows(y_encoded, task=task, classes=classes, split=split, where=where)
    y_encoded, target_scale = _scaled_target(y_encoded, task, indices[TRAINING_CONTEXT])
    X = X.astype(np.float32)
    test = indices.get(TEST_CONTEXT)
    return PreparedData(
        name=name, task=task, X_train=X[indices[TRAINING_CONTEXT]], y_train=y_encoded[indices[TRAINING_CONTEXT]],
        X_val=X[indices[VALIDATION_CONTEXT]], y_val=y_encoded[indices[VALIDATION_CONTEXT]],
        X_test=X[test] if test is not None and len(test) else None,
        y_test=y_encoded[test] if test is not None and len(test) else None,
        feature_names=[], classes=classes, target_scale=target_scale, target="y",
        split_seed=split.seed if split is not None else 0)


def _encode_target(y_raw: pd.Series, *, task: str | None, target: str, where: str) -> tuple[str, np.ndarray, list[str]]:
    """The task (given, else inferred), the targets as class indices or float values, and the class names."""
    given = task
    task = task or infer_task(y_raw)
    if task == "regression":
        y_numeric = pd.to_numeric(y_raw, errors="coerce")
        if y_numeric.isna().any():
            raise FitcheckError(f"{where}: target '{target}' is not numeric (e.g. {y_raw[y_numeric.isna()].iloc[0]!r}); "
                                "a regression target must be numbers")
        return task, y_numeric.to_numpy(dtype=np.float64), []
    codes, uniques = pd.factorize(y_raw, sort=True)
    classes = [str(u) for u in uniques]
    if given is None and len(classes) > MAX_CLASSES:
        raise FitcheckError(f"{where}: target {echo(target)} has {len(classes)} distinct values, more than the "
                            f"{MAX_CLASSES} classes fitcheck classifies; is it the column to predict? "
                            "(set dataset.task: regression for a numeric target)")
    if len(classes) < 2:
        raise FitcheckError(f"{where}: target '{target}' has a single class ({classes[0] if classes else 'none'}); "
                            "classification needs at least two")
    if task == "binary" and len(classes) > 2:
        raise FitcheckError(f"{where}: dataset.task is binary but target '{target}' has {len(classes)} classes; "
                            "use task: multiclass")
    return task, codes.astype(np.int64), classes


def _split_rows(y: np.ndarray, *, task: str, classes: list[str], split: SplitSpec, where: str) -> dict[str, np.ndarray]:
    """Row positions of the training, validation and test splits (stratified for classification unless told not)."""
    from sklearn.model_selection import train_test_split

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
    return {TRAINING_CONTEXT: rest, VALIDATION_CONTEXT: val_idx, TEST_CONTEXT: test_idx}


def _scaled_target(y: np.ndarray, task: str, train_idx: np.ndarray) -> tuple[np.ndarray, float]:
    """A regression target standardised with the training rows' mean and scale (and that scale); else as is."""
    if task != "regression":
        return y, 1.0
    mean, target_scale = float(y[train_idx].mean()), float(y[train_idx].std() or 1.0)
    return ((y - mean) / target_scale).astype(np.float32), target_scale


def _prepare_frame(frame: pd.DataFrame, target: str, *, split: SplitSpec | None, name: str, task: str | None,
                   where: str, features: list[str] | None = None, impute: str = "none",
                   positions: dict[str, np.ndarray] | None = None) -> PreparedData:
    """A table: checked, split (or split at ``positions``, given as is) and preprocessed."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = _check_columns(frame, features, target, where)
    frame = _handle_missing(frame, impute, target, where)
    task, y, classes = _encode_target(frame[target], task=task, target=target, where=where)
    X_frame = frame.drop(columns=[target])
    indices = positions or _split_rows(y, task=task, classes=classes, split=split, where=where)
    train_idx, val_idx, test_idx = indices[TRAINING_CONTEXT], indices[VALIDATION_CONTEXT], indices.get(TEST_CONTEXT, np.array([], int))
    n_test = len(test_idx)

    numeric_cols = [c for c in X_frame.columns if pd.api.types.is_numeric_dtype(X_frame[c]) and not pd.api.types.is_bool_dtype(X_frame[c])]
    categorical_cols = [c for c in X_frame.columns if c not in numeric_cols]
    numeric_pipe = StandardScaler()
    if impute == "mean":
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

    y, target_scale = _scaled_target(y, task, train_idx)
    return PreparedData(
        name=name, task=task,
        X_train=X_train, y_train=y[train_idx],
        X_val=transform(val_idx), y_val=y[val_idx],
        X_test=transform(test_idx) if n_test else None, y_test=y[test_idx] if n_test else None,
        feature_names=[str(n) for n in transformer.get_feature_names_out()],
        classes=classes, target_scale=target_scale, frame=frame, target=target,
        split_seed=split.seed if split is not None else 0,
        rows={split_name: rows for split_name, rows in indices.items() if len(rows)},
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
