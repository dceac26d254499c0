"""The sweep spec: a YAML file in ``experiments/``, validated up front.

This module validates and never imports Keras or MLflow. Every problem becomes a
:class:`~pipeline.errors.FitcheckError` naming the file, the key and what is accepted.

Example
-------
>>> from pipeline.spec._spec import parse_spec
>>> spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [0, 1]}}, source="inline")
>>> spec.grid.depth
[0, 1]
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, StrictBool, Tag, ValidationError,
                      ValidationInfo, field_validator, model_validator)

from pipeline.spec._read_yaml import read_yaml_file
from pipeline.errors import ECHO_CHARS, FitcheckError, echo
from pipeline.names import FULL_TRAIN_SIZE, TASKS

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leaky_relu", "linear", "swish", "softplus")
LOSSES = (
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "hinge", "squared_hinge", "mse", "mae", "huber",
)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "nadam", "adamw", "adamax")
SKLEARN_DATASETS = ("breast_cancer", "digits", "wine", "iris", "diabetes")
#: The dataset keys that name where rows come from; a dataset section gives exactly one.
DATASET_SOURCES = ("csv", "parquet", "npz", "sklearn", "synthetic")
#: Grid keys that configure training, not the model: with a model builder every other grid key is a hyperparameter.
TRAINING_AXES = ("loss", "optimizer", "learning_rate", "batch_size", "epochs", "seeds", "train_size")
#: Names a builder's hyperparameter cannot take: fitcheck's own params of a trial run.
RESERVED_HYPERPARAMETERS = ("seed", "model", "task", "n_parameters", "hyperparameters")
MODEL_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
SYNTHETIC_DATASETS = ("moons", "circles", "classification", "friedman1")
REFERENCE_WORDS = ("estimate", "sweep")
SEARCH_METHODS = ("grid", "random", "tpe")
DEFAULT_MAX_TRIALS = 500
#: The ``source`` of a spec given to ``run_sweep`` as a dict, named in its messages.
DICT_SOURCE = "spec (dict)"
#: Dataset keys added after sweeps were first logged, at their defaults (see :meth:`SweepSpec.fingerprint`).
_ADDED_DATASET_KEYS = {"parquet": None, "npz": None, "x": None, "y": None, "as_images": False}

# Upper bounds: far above any sensible sweep of tabular data, far below what exhausts a machine.
SEED_MAX = 2**32 - 1  # NumPy, scikit-learn and Keras seeds
MAX_LAYERS = 100
MAX_WIDTH = 4096
MAX_BATCH_SIZE = 1_000_000
MAX_EPOCHS = 100_000
MAX_LEARNING_RATE = 10.0
MAX_L2 = 100.0
MAX_SAMPLES = 1_000_000
MAX_FEATURES = 1_000
MAX_CELLS = 50_000_000  # n_samples x n_features of a generated dataset: 400 MB of float64
MAX_CLASSES = 50
MAX_TRIALS_LIMIT = 1_000_000
MAX_NAME_CHARS = 256  # an MLflow experiment name (its database column), a column name
MAX_PATH_CHARS = 4096


def _shown(value: Any) -> str:
    """The value as echoed in a message, with a hint when YAML typing is the likely cause."""
    if isinstance(value, bool):
        return f"{value} (true/false is not a number)"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return echo(value)
        return f"{echo(value)} (a quoted string; write the number without quotes)"
    return echo(value)


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _number_rule(*, whole: bool, ge: float | None, gt: float | None, le: float | None, lt: float | None) -> str:
    kind = "a whole number" if whole else "a finite number"
    low, high = (ge if gt is None else gt), (le if lt is None else lt)
    if low is not None and high is not None:
        return f"{kind} in {'[' if gt is None else '('}{_bound(low)}, {_bound(high)}{']' if lt is None else ')'}"
    if low is not None:
        return f"{kind} {'>=' if gt is None else '>'} {_bound(low)}"
    return kind


def _number_check(*, whole: bool = False, ge: float | None = None, gt: float | None = None,
                  le: float | None = None, lt: float | None = None) -> Callable[[Any], Union[int, float]]:
    """A check that refuses what YAML typing or Keras would get wrong: booleans, quoted numbers,
    NaN and infinities, fractions where a whole number is needed, and values out of range."""
    rule = _number_rule(whole=whole, ge=ge, gt=gt, le=le, lt=lt)

    def check(value: Any) -> Union[int, float]:
        valid = not isinstance(value, bool) and isinstance(value, (int, float))
        if valid and isinstance(value, float):
            valid = math.isfinite(value) and (not whole or value.is_integer())
        if valid:
            valid = ((ge is None or value >= ge) and (gt is None or value > gt)
                     and (le is None or value <= le) and (lt is None or value < lt))
        if not valid:
            raise ValueError(f"must be {rule} but got {_shown(value)}")
        return int(value) if whole else float(value)

    return check


def _number(**bounds: Any) -> BeforeValidator:
    return BeforeValidator(_number_check(**bounds))


def _text(*, max_chars: int) -> BeforeValidator:
    """A non-blank string without control characters, at most ``max_chars`` long."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # pydantic's type check says what is expected
        if not value.strip():
            raise ValueError(f"must be a non-blank name but got {echo(value)}")
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters but got {len(value)}: {echo(value)}")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError(f"must be free of control characters (newlines, tabs) but got {echo(value)}")
        return value

    return BeforeValidator(check)


def _train_size(value: Any) -> Union[int, float]:
    """A fraction in (0, 1] of the training split (``1`` is all of it), or a whole row count >= 2."""
    rule = "a fraction in (0, 1] of the training split or a whole number of rows >= 2"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be {rule} but got {_shown(value)}")
    if value <= 1:
        return float(value)
    if float(value).is_integer() and value <= MAX_SAMPLES:
        return int(value)
    raise ValueError(f"must be {rule} (at most {MAX_SAMPLES}) but got {_shown(value)}")


Seed = Annotated[int, _number(whole=True, ge=0, le=SEED_MAX)]
TrainSize = Annotated[Union[int, float], BeforeValidator(_train_size)]
Name = Annotated[str, _text(max_chars=MAX_NAME_CHARS)]
_non_negative = _number_check(ge=0)


def _reference(value: Any) -> Union[float, str]:
    if isinstance(value, str) and value in REFERENCE_WORDS:
        return value
    try:
        return _non_negative(value)
    except ValueError:
        raise ValueError(f"must be a finite number >= 0 (an error rate or RMSE), 'estimate' or 'sweep' "
                         f"but got {_shown(value)}") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """Where the data comes from: exactly one of ``csv``, ``parquet``, ``npz``, ``sklearn`` or ``synthetic``.

    A CSV or Parquet file names its ``target`` column; a NumPy ``.npz`` file names the arrays of its
    inputs ``x`` (any shape: rows first) and targets ``y``. ``as_images: true`` reads scikit-learn's
    ``digits`` as 8x8x1 images scaled to [0, 1] instead of 64 columns.
    """

    csv: Optional[Annotated[str, _text(max_chars=MAX_PATH_CHARS)]] = None
    parquet: Optional[Annotated[str, _text(max_chars=MAX_PATH_CHARS)]] = None
    npz: Optional[Annotated[str, _text(max_chars=MAX_PATH_CHARS)]] = None
    x: Optional[Name] = None
    y: Optional[Name] = None
    as_images: StrictBool = False
    target: Optional[Name] = None
    features: Optional[list[Name]] = None
    impute: Literal["none", "mean", "drop"] = "none"
    sklearn: Optional[Literal[SKLEARN_DATASETS]] = None  # type: ignore[valid-type]
    synthetic: Optional[Literal[SYNTHETIC_DATASETS]] = None  # type: ignore[valid-type]
    n_samples: Annotated[int, _number(whole=True, ge=10, le=MAX_SAMPLES)] = 1000
    n_features: Annotated[int, _number(whole=True, ge=1, le=MAX_FEATURES)] = 20
    n_informative: Annotated[int, _number(whole=True, ge=1, le=MAX_FEATURES)] = 5
    n_classes: Annotated[int, _number(whole=True, ge=2, le=MAX_CLASSES)] = 2
    noise: Annotated[float, _number(ge=0)] = 0.0
    flip_y: Annotated[float, _number(ge=0, le=1)] = 0.0
    class_sep: Annotated[float, _number(gt=0)] = 1.0
    factor: Annotated[float, _number(gt=0, lt=1)] = 0.5
    seed: Seed = 0
    task: Optional[Literal[TASKS]] = None  # type: ignore[valid-type]

    @field_validator("features")
    @classmethod
    def _distinct_features(cls, features: Optional[list[str]]) -> Optional[list[str]]:
        if features is not None and not features:
            raise ValueError("must name at least one column (leave it out to use every column) but got []")
        repeated = sorted({name for name in features or [] if features.count(name) > 1})  # type: ignore[union-attr]
        if repeated:
            raise ValueError(f"must name each column once but got {', '.join(map(echo, repeated))} more than once")
        return features

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetSpec":
        sources = [name for name in DATASET_SOURCES if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(map(repr, DATASET_SOURCES[:-1]))} or 'synthetic'"
                + (f", got {', '.join(sources)}" if sources else "")
            )
        for table in ("csv", "parquet"):
            if getattr(self, table) is not None and not self.target:
                raise ValueError(f"a {table} dataset needs 'target', the name of the column to predict")
        if self.npz is not None and not (self.x and self.y):
            raise ValueError("an npz dataset needs 'x' and 'y', the names of its input and target arrays")
        if self.as_images and self.sklearn != "digits":
            raise ValueError(f"as_images reads only sklearn: digits as images but got {sources[0]}: "
                             f"{echo(getattr(self, sources[0]))}")
        if self.synthetic and self.n_samples * self.n_features > MAX_CELLS:
            raise ValueError(f"n_samples x n_features must be at most {MAX_CELLS} but got "
                             f"{self.n_samples} x {self.n_features}")
        informative = min(self.n_informative, self.n_features)
        if self.synthetic == "classification" and 2 * self.n_classes > 2 ** informative:
            needed = math.ceil(math.log2(2 * self.n_classes))
            raise ValueError(f"n_informative (and n_features) must be at least {needed} for n_classes="
                             f"{self.n_classes} (scikit-learn draws 2 clusters per class) but got {informative}")
        return self

    @property
    def name(self) -> str:
        """A short human name: the file's name, the scikit-learn or generator name."""
        path = self.file
        if path is not None:
            return Path(path).name
        return self.sklearn or self.synthetic  # type: ignore[return-value]

    @property
    def file(self) -> Optional[str]:
        """The data file's path (``csv``, ``parquet`` or ``npz``), or None for generated data."""
        return self.csv or self.parquet or self.npz


class SplitSpec(_Strict):
    """How rows are split; classification splits are stratified unless told otherwise."""

    validation: Annotated[float, _number(gt=0, lt=1)] = 0.2
    test: Annotated[float, _number(ge=0, lt=1)] = 0.0
    seed: Seed = 0
    stratify: StrictBool = True

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> "SplitSpec":
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave at least 10% for training but got "
                             f"{self.validation + self.test:g}")
        return self


def _as_list(value: Any) -> Any:
    return value if isinstance(value, (list, dict)) else [value]


def _axis(element: Any, bound: Any = None) -> Any:
    """A grid axis: a list of ``element`` values, or (for a sampled search) a range ``{low, high, log}`` of
    ``bound`` values (default: ``element``)."""
    kind = element if bound is None else bound

    class Range(_Strict):
        """Values from ``low`` to ``high`` (both included), uniform or, with ``log: true``, log-uniform."""

        low: kind
        high: kind
        log: StrictBool = False

        @model_validator(mode="after")
        def _ordered(self) -> "Range":
            if self.low > self.high:
                raise ValueError(f"low must be at most high but got low={self.low:g}, high={self.high:g}")
            if self.log and self.low <= 0:
                raise ValueError(f"low must be > 0 for a log range but got low={self.low:g}")
            return self

    return Annotated[Union[Annotated[list[element], Tag("values")], Annotated[Range, Tag("range")]],
                     Discriminator(lambda value: "range" if isinstance(value, (dict, BaseModel)) else "values")]


def is_range(values: Any) -> bool:
    """Whether a grid axis is a range to sample (not a list of values)."""
    return isinstance(values, BaseModel)


def _scalar(value: Any) -> Union[bool, int, float, str]:
    """A builder's hyperparameter value: a string, true/false, or a finite number."""
    if isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ValueError(f"must be a string, a finite number or true/false but got {echo(value)}")


def _hyperparameter_lists(values: Any) -> Any:
    """Each hyperparameter's values as a list; names checked, lists not empty."""
    if not isinstance(values, dict):
        return values
    for name, axis in values.items():
        if name in RESERVED_HYPERPARAMETERS:
            raise ValueError(f"hyperparameter names must not be fitcheck's own ({', '.join(RESERVED_HYPERPARAMETERS)}) "
                             f"but got {echo(name)}")
        if axis == []:
            raise ValueError(f"grid axis '{name}' is empty: give at least one value")
    return {name: _as_list(axis) for name, axis in values.items()}


def _finite(value: Any) -> Union[int, float]:
    """A range bound of a builder's hyperparameter: a finite number, whole numbers kept whole."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a finite number but got {_shown(value)}")
    return value


Scalar = Annotated[Union[bool, int, float, str], BeforeValidator(_scalar)]
Bound = Annotated[Union[int, float], BeforeValidator(_finite)]


class GridSpec(_Strict):
    """The axes of the grid; every combination is one configuration, repeated per seed.

    With a sampled search (``search: {method: random, ...}``) a numeric axis may also be a range
    ``{low: 1e-4, high: 0.1, log: true}`` (whole numbers for the integer axes).
    """

    depth: _axis(Annotated[int, _number(whole=True, ge=0, le=MAX_LAYERS)]) = [1]
    width: _axis(Annotated[int, _number(whole=True, ge=1, le=MAX_WIDTH)]) = [32]
    activation: list[Literal[ACTIVATIONS]] = ["relu"]  # type: ignore[valid-type]
    loss: list[Literal[LOSSES]] = ["binary_crossentropy"]  # type: ignore[valid-type]
    optimizer: list[Literal[OPTIMIZERS]] = ["adam"]  # type: ignore[valid-type]
    learning_rate: _axis(Annotated[float, _number(gt=0, le=MAX_LEARNING_RATE)]) = [0.001]
    batch_size: _axis(Annotated[int, _number(whole=True, ge=1, le=MAX_BATCH_SIZE)]) = [32]
    epochs: _axis(Annotated[int, _number(whole=True, ge=1, le=MAX_EPOCHS)]) = [20]
    seeds: list[Seed] = [0]
    l2: _axis(Annotated[float, _number(ge=0, le=MAX_L2)]) = [0.0]
    dropout: _axis(Annotated[float, _number(ge=0, lt=1)]) = [0.0]
    #: Nested subsets of the training split, each against the same validation split: a learning curve.
    train_size: list[TrainSize] = [FULL_TRAIN_SIZE]
    #: A model builder's own axes (spec key ``model``): any name, each a list of scalars (or a range of numbers).
    hyperparameters: Annotated[dict[Name, _axis(Scalar, Bound)],
                               BeforeValidator(_hyperparameter_lists)] = {}

    _lists = field_validator(*TRAINING_AXES, "depth", "width", "activation", "l2", "dropout", mode="before")(_as_list)

    @model_validator(mode="after")
    def _not_empty(self) -> "GridSpec":
        for name, values in self:
            if name != "hyperparameters" and not is_range(values) and not values:
                raise ValueError(f"grid axis '{name}' is empty: give at least one value")
        return self

    def ranges(self) -> list[str]:
        """The axes given as ranges, a builder's hyperparameters included."""
        return ([name for name, values in self if is_range(values)]
                + [name for name, values in self.hyperparameters.items() if is_range(values)])


class SearchSpec(_Strict):
    """How configurations are picked: every one of the grid (``grid``), or ``n_trials`` of them sampled
    with ``seed``, at random (``random``) or by Optuna's TPE sampler (``tpe``, the ``fitcheck[optuna]`` extra),
    which picks each batch of trials from the results of the trials before it."""

    method: Literal[SEARCH_METHODS] = "grid"  # type: ignore[valid-type]
    n_trials: Optional[Annotated[int, _number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)]] = None
    seed: Seed = 0

    @model_validator(mode="after")
    def _sized(self) -> "SearchSpec":
        if self.method != "grid" and self.n_trials is None:
            raise ValueError(f"n_trials must be given for a {self.method} search (the number of configurations "
                             "to sample) but got none")
        if self.method == "grid" and self.n_trials is not None:
            raise ValueError(f"n_trials must be left out of a grid search (it runs every configuration) "
                             f"but got {self.n_trials}; set method: random to sample {self.n_trials} of them")
        return self


class StoppingSpec(_Strict):
    """Trials stopped before their last epoch.

    ``early``: each trial stops once the recommendation rule has settled on an epoch and keeps that
    epoch's weights. ``prune``: successive halving against the other trials of the sweep; at epochs
    ``min_epochs x reduction_factor^k`` a trial not among the best ``1 / reduction_factor`` so far stops.
    """

    early: StrictBool = False
    prune: StrictBool = False
    min_epochs: Annotated[int, _number(whole=True, ge=1, le=MAX_EPOCHS)] = 5
    reduction_factor: Annotated[int, _number(whole=True, ge=2, le=100)] = 3


def _builder_grid(grid: Any) -> Any:
    """A builder's grid: every key but the training axes is one of its hyperparameters."""
    if not isinstance(grid, dict):
        return grid
    hyperparameters = {key: value for key, value in grid.items() if key not in TRAINING_AXES}
    return {**{key: grid[key] for key in grid if key in TRAINING_AXES}, "hyperparameters": hyperparameters}


def _model_reference(value: Any) -> Any:
    if isinstance(value, str) and not MODEL_REFERENCE.match(value):
        raise ValueError(f"must be a builder reference 'package.module:function' but got {echo(value)}")
    return value


#: Sizes ``learning_curve`` (and ``fitcheck sweep --learning-curve``) adds when the spec names none.
DEFAULT_CURVE_SIZES = (0.125, 0.25, 0.5, FULL_TRAIN_SIZE)
DEFAULT_CURVE_TOP = 3


class LearningCurveSpec(_Strict):
    """After the sweep, train the ``top`` configurations (ranked as the leaderboard ranks them) at the
    ``sizes`` of the training split they lack, as further nested runs: a learning curve for each."""

    sizes: list[TrainSize] = list(DEFAULT_CURVE_SIZES)
    top: Annotated[int, _number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)] = DEFAULT_CURVE_TOP

    _lists = field_validator("sizes", mode="before")(_as_list)

    @field_validator("sizes")
    @classmethod
    def _three_sizes(cls, sizes: list[Union[int, float]]) -> list[Union[int, float]]:
        if len(set(sizes)) < 3:
            raise ValueError(f"must list at least 3 distinct sizes (a curve needs 3 points) but got {sizes}")
        return sorted(set(sizes), key=lambda size: (size > 1, size))


class SweepSpec(_Strict):
    """A whole sweep: dataset, split, grid and how to judge the runs.

    ``dataset`` may be left out only when the data is given in Python (``run_sweep(..., data=...)``).
    With ``model`` (a builder ``package.module:function``, or ``build_model=`` in Python) the grid's
    keys other than :data:`TRAINING_AXES` are the builder's hyperparameters.
    """

    experiment: Optional[Name] = None
    dataset: Optional[DatasetSpec] = None
    model: Annotated[Optional[str], BeforeValidator(_model_reference)] = None
    split: SplitSpec = SplitSpec()
    grid: Union[GridSpec, list[GridSpec]] = GridSpec()
    skip_invalid: StrictBool = False
    reference_error: Annotated[Union[float, str], BeforeValidator(_reference)] = "estimate"
    max_trials: Annotated[int, _number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)] = DEFAULT_MAX_TRIALS
    search: SearchSpec = SearchSpec()
    stopping: StoppingSpec = StoppingSpec()
    learning_curve: Optional[LearningCurveSpec] = None
    source: str = Field("", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _route(cls, raw: Any, info: ValidationInfo) -> Any:
        """Check ``dataset`` against data given in Python, and move a builder's grid keys to its hyperparameters."""
        if not isinstance(raw, dict):
            return raw
        given = info.context or {}
        if given.get("data") and "dataset" in raw:
            raise ValueError("the data is given twice, in the spec's dataset section and as data=; remove one")
        if not given.get("data") and "dataset" not in raw:
            raise ValueError("missing required key 'dataset'")
        if not given.get("data") and raw["dataset"] is None:
            raise ValueError("dataset: must be a mapping but got None")
        grids = raw.get("grid") if isinstance(raw.get("grid"), list) else [raw.get("grid")]
        if not given.get("model") and raw.get("model") is None and any(
                isinstance(grid, dict) and "hyperparameters" in grid for grid in grids):
            raise ValueError("grid.hyperparameters: a model builder's hyperparameters need 'model: package.module:function'")
        if given.get("model") and raw.get("model") is not None:
            raise ValueError(f"the model is given twice, as model: {echo(raw['model'])} and as build_model=; remove one")
        if (given.get("model") or raw.get("model") is not None) and "grid" in raw:
            grid = raw["grid"]
            raw = {**raw, "grid": [_builder_grid(g) for g in grid] if isinstance(grid, list) else _builder_grid(grid)}
        return raw

    @property
    def uses_builder(self) -> bool:
        """Whether trials build a user's model: the grid has builder hyperparameters or ``model`` is set."""
        return self.model is not None or any(grid.hyperparameters for grid in self.grids)

    @field_validator("grid")
    @classmethod
    def _grids_not_empty(cls, value: Union[GridSpec, list[GridSpec]]) -> Union[GridSpec, list[GridSpec]]:
        if isinstance(value, list) and not value:
            raise ValueError("the list of grids is empty: give at least one grid")
        return value

    @model_validator(mode="after")
    def _ranges_are_sampled(self) -> "SweepSpec":
        ranged = [axis for grid in self.grids for axis in grid.ranges()]
        if ranged and self.search.method == "grid":
            raise ValueError(f"grid.{ranged[0]}: a range must be sampled by search.method random or tpe but got "
                             "grid; add search: {method: random, n_trials: N}")
        return self

    @property
    def grids(self) -> list[GridSpec]:
        """The grid as a list: like scikit-learn's ParameterGrid, a list of grids means their union."""
        return self.grid if isinstance(self.grid, list) else [self.grid]

    def axis_values(self) -> dict[str, list]:
        """Every value each axis takes in any of the grids, in first-seen order.

        Keyed like the trials' params: the ``seeds`` axis is reported as ``seed``.
        """
        values: dict[str, list] = {}
        for grid in self.grids:
            dumped = grid.model_dump(mode="json")
            hyperparameters = dumped.pop("hyperparameters")
            if self.uses_builder:  # fitcheck's MLP axes are not the builder's
                dumped = {axis: dumped[axis] for axis in TRAINING_AXES}
            for axis, axis_values in {**dumped, **hyperparameters}.items():
                if isinstance(axis_values, dict):  # a range: the values come from the sampled trials
                    continue
                merged = values.setdefault("seed" if axis == "seeds" else axis, [])
                merged.extend(v for v in axis_values if v not in merged)
        return values

    def fingerprint(self) -> str:
        """A short stable hash of the spec's content (not of its file name).

        Keys added since the first sweeps were logged count only away from their defaults, so a
        spec that does not use them keeps its fingerprint (and its sweep resumes). ``learning_curve``
        is left out too: it adds runs to the same sweep.
        """
        content = self.model_dump(mode="json", exclude={"learning_curve"})
        added_sweep_keys = {"model": None, **{key: type(self).model_fields[key].default.model_dump(mode="json")
                                              for key in ("search", "stopping")}}
        added_grid_keys = {"hyperparameters": {}, "train_size": [FULL_TRAIN_SIZE]}
        for section, added in ((content, added_sweep_keys), (content.get("dataset") or {}, _ADDED_DATASET_KEYS),
                               *((grid, added_grid_keys) for grid in (
                                   content["grid"] if isinstance(content["grid"], list) else [content["grid"]]))):
            for key, default in added.items():
                if section.get(key, default) == default:
                    section.pop(key, None)
        payload = json.dumps(content, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def stem(self) -> str:
        """The spec file's stem; empty for a spec given as a dict (source :data:`DICT_SOURCE`) or without source."""
        return Path(self.source).stem if self.source and self.source != DICT_SOURCE else ""

    def experiment_name(self) -> str:
        """The MLflow experiment: ``experiment`` in the spec, else the spec file's stem, else ``fitcheck``."""
        return self.experiment or self.stem or "fitcheck"


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if not field.exclude and name != "hyperparameters"]


def _model_at(loc: tuple) -> type[BaseModel]:
    sections = {"dataset": DatasetSpec, "split": SplitSpec, "grid": GridSpec, "search": SearchSpec,
                "stopping": StoppingSpec, "learning_curve": LearningCurveSpec}
    return sections.get(str(loc[0]), SweepSpec) if len(loc) > 1 else SweepSpec


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and ("GridSpec" in part or part.startswith("function-") or part in ("values", "range"))


#: What pydantic's type errors expect, in the words of the one message template.
_EXPECTED = {"string_type": "a string", "bool_type": "true or false", "list_type": "a list",
             "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping"}


def _key(loc: tuple, raw: Any) -> str:
    """``grid.depth[1]``: the dotted key of an error; a list index only where the spec wrote a list."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if part == "hyperparameters":  # the spec wrote a builder's axes at the grid's top level
            continue
        if isinstance(part, int):
            if isinstance(node, list) and parts:  # else a scalar axis value, made a list by _as_list
                parts[-1] += f"[{part}]"
                node = node[part] if part < len(node) else None
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)[:ECHO_CHARS]


def _format_error(error: dict, source: str, raw: Any) -> str:
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    key = _key(loc, raw)
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(_model_at(loc))
        close = difflib.get_close_matches(str(loc[-1])[:ECHO_CHARS], allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if _model_at(loc) is GridSpec and not close:
            hint = " (a model builder's own hyperparameter needs 'model: package.module:function')"
        return f"{source}: unknown key '{key}'{hint}; accepted keys: {', '.join(allowed)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        accepted = [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip(" '")]
        close = difflib.get_close_matches(str(value)[:ECHO_CHARS], accepted, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{source}: {key}: {echo(value)} is not accepted{hint}; accepted: {', '.join(accepted)}"
    if kind == "missing":
        return f"{source}: missing required key '{key}'"
    if kind == "invalid_key":
        return f"{source}: {key + ': ' if key else ''}keys must be names (strings) but got {echo(value)}"
    where = f"{key}: " if key else ""
    if kind in _EXPECTED:
        return f"{source}: {where}must be {_EXPECTED[kind]} but got {_shown(value)}"
    message = error["msg"].removeprefix("Value error, ")[:4 * ECHO_CHARS]
    return f"{source}: {where}{message}" if kind == "value_error" else f"{source}: {where}{message} (got {echo(value)})"


def parse_spec(raw: Any, *, source: str, data_given: bool = False, model_given: bool = False) -> SweepSpec:
    """Validate a spec already read from YAML; ``source`` names it in error messages.

    ``data_given`` and ``model_given``: the sweep's data (``data=``) or model builder
    (``build_model=``) come from Python, so the spec must not name them too.
    """
    if raw is None:
        raise FitcheckError(f"{source}: the spec is empty; a sweep spec is a mapping with keys dataset, grid, ...")
    if not isinstance(raw, dict):
        raise FitcheckError(f"{source}: a sweep spec must be a mapping with keys dataset, grid, ... "
                            f"but got {type(raw).__name__}")
    try:
        return SweepSpec.model_validate({**raw, "source": source},
                                        context={"data": data_given, "model": model_given})
    except ValidationError as error:
        errors = error.errors()
        grid_is_list = isinstance(raw.get("grid"), list)
        relevant = [e for e in errors
                    if any(str(part).startswith("list[") for part in e["loc"]) == grid_is_list] or errors
        raise FitcheckError(_format_error(relevant[0], source, raw)) from None


def load_spec(path: str | Path, *, data_given: bool = False, model_given: bool = False) -> SweepSpec:
    """Read and validate a sweep spec file (``data_given``, ``model_given``: see :func:`parse_spec`).

    The file is read by :func:`pipeline.spec._read_yaml.read_yaml_file`: bounded size, depth and alias
    expansion, YAML 1.2 numbers. Relative data file paths are resolved against the spec file's
    folder, then the working folder.
    """
    path = Path(path)
    if path.is_dir():
        raise FitcheckError(f"{path}: is a directory; give a sweep spec file such as experiments/quickstart.yaml")
    if not path.exists():
        raise FitcheckError(f"{path}: no such spec file")
    spec = parse_spec(read_yaml_file(path), source=str(path), data_given=data_given, model_given=model_given)
    dataset = spec.dataset
    if dataset is not None and dataset.file is not None:
        key = next(name for name in ("csv", "parquet", "npz") if getattr(dataset, name) is not None)
        file = Path(dataset.file)
        for candidate in (file, path.parent / file) if not file.is_absolute() else (file,):
            if candidate.is_file():
                file = candidate
                break
        else:
            raise FitcheckError(f"{path}: dataset.{key}: file {echo(dataset.file)} not found "
                                f"(looked in {path.parent} and the working folder)")
        spec = spec.model_copy(update={"dataset": dataset.model_copy(update={key: str(file)})})
    return spec
