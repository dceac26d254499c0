"""Load a dataset, infer its task, split it and preprocess it (fitted on the training split only).

Data comes from a spec's ``dataset`` section (:func:`load_dataset`) or from Python
(:func:`prepare_inputs`: a DataFrame and its target column, arrays ``(X, y)``, or explicit
training and validation sets); both go through the same checks. Tabular (2-D) inputs are
standardised and one-hot encoded; inputs of any other shape (images, sequences) are used as given.

No Keras, no MLflow: arrays out, ready for any trainer. scikit-learn is imported when a dataset is
loaded, not with this module, so that a bad spec is refused before it is paid for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data._load import check_columns, check_values, digits_images, handle_missing, load_frame, read_npz
from pipeline.data._prepared import PreparedData
from pipeline.errors import FitcheckError, echo
from pipeline.names import TEST_CONTEXT, TRAINING_CONTEXT, VALIDATION_CONTEXT
from pipeline.spec import MAX_CLASSES, DatasetSpec, SplitSpec


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
        X, y = read_npz(spec) if spec.npz is not None else digits_images()
        X, y = checked_arrays(X, y, where=where if spec.npz is None else f"{spec.npz}: dataset.x/y")
        return _prepare_arrays(X, y, split=split, name=spec.name, task=spec.task, where=where, impute=spec.impute)
    frame, target = load_frame(spec)
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
    return checked_arrays(features, target, where=where)


def checked_arrays(X: Any, y: Any, *, where: str) -> tuple[Any, np.ndarray]:
    """Inputs ``X`` (rows first, any shape) and one target per row, or a one-line refusal.

    Every array entry point goes through here (``data=(X, y)``, a spec's ``npz``). A column of
    targets (``(n, 1)``, ``(n, 1, 1)``) is flattened and one-hot rows (``(n, k)`` of 0/1 with one 1)
    become class indices, as Keras' ``to_categorical`` made them; anything else must be ``(n,)``.
    """
    X = X if isinstance(X, pd.DataFrame) else _array(X, "X", where=where)
    y = _array(y, "y", where=where)
    if y.ndim > 1 and all(size == 1 for size in y.shape[1:]):
        y = y.reshape(len(y))
    elif y.ndim == 2 and _one_hot(y):
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise FitcheckError(f"{where}: y must hold one target per row (shape (n,), or one-hot rows (n, classes)) "
                            f"but got shape {y.shape}")
    if len(X) != len(y):
        raise FitcheckError(f"{where}: X and y must have the same number of rows but got {len(X)} "
                            f"(X of shape {tuple(X.shape)}) and {len(y)}")
    if len(y) == 0:
        raise FitcheckError(f"{where}: X and y hold no rows")
    return X, y


def _array(value: Any, name: str, *, where: str) -> np.ndarray:
    """``value`` as an array with one row per sample, or a one-line refusal naming what it is instead: a sparse
    matrix (``.toarray()``), a generator, a ``tf.data`` dataset or a single number."""
    kind = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
    if hasattr(value, "toarray") and not isinstance(value, np.ndarray):
        raise FitcheckError(f"{where}: {name} is a sparse matrix ({kind}); pass {name}.toarray(): fitcheck trains "
                            "on dense arrays")
    array = np.asarray(value)
    if array.ndim == 0:
        scalar = isinstance(value, (int, float, np.number)) or array.dtype != object
        got = f"a scalar {name}" if scalar else f"{kind} (not an array)"
        raise FitcheckError(f"{where}: X and y must be arrays with one row per sample but got {got}")
    return array


def _one_hot(y: np.ndarray) -> bool:
    """Rows of 0 and 1 with exactly one 1 each, over at least two columns."""
    if y.shape[1] < 2 or not (np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.bool_)):
        return False
    values = y.astype(float)
    return bool(np.isin(values, (0.0, 1.0)).all() and (values.sum(axis=1) == 1).all())


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
                    positions: dict[str, np.ndarray] | None = None, impute: str | None = None) -> PreparedData:
    """Arrays: tabular ones (1 or 2 dimensions, or a DataFrame) go the table's way; others are used as given.
    ``impute``: the spec's ``dataset.impute`` (None: data given from Python)."""
    if isinstance(X, pd.DataFrame) or np.asarray(X).ndim <= 2:
        if isinstance(X, pd.DataFrame):
            frame = X.reset_index(drop=True)
            frame.columns = [str(column) for column in frame.columns]  # a frame's columns may be numbers
        else:
            table = np.asarray(X).reshape(len(X), -1)
            frame = pd.DataFrame(table, columns=[f"x{i}" for i in range(table.shape[1])])
        for column in frame.columns[frame.dtypes == object]:  # numbers held as Python objects are numbers
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
        target = "target" if "target" not in frame.columns else "__target__"
        frame[target] = y
        return _prepare_frame(frame, target, split=split, name=name, task=task, where=where, positions=positions,
                              impute=impute)
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)):
        raise FitcheckError(f"{where}: X must hold numbers but got dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise FitcheckError(f"{where}: X holds {int((~np.isfinite(X)).sum())} missing or infinite value(s); "
                            "the inputs must be finite numbers")
    labels = pd.Series(y, name="y")
    if labels.isna().any():
        raise FitcheckError(f"{where}: y has {int(labels.isna().sum())} missing value(s); every row needs a target")
    check_values(labels, column="y", is_target=True, where=where)
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
                   where: str, features: list[str] | None = None, impute: str | None = None,
                   positions: dict[str, np.ndarray] | None = None) -> PreparedData:
    """A table: checked, split (or split at ``positions``, given as is) and preprocessed."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = check_columns(frame, features, target, where)
    frame = handle_missing(frame, impute, target, where)
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
