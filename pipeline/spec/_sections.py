"""The sections of a sweep spec: dataset, split, grid, search, stopping and learning curve.

Validation only: never imports Keras or MLflow. The grid's axes come from :data:`pipeline.spec._axes.AXIS_TABLE`.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, StrictBool, create_model, field_validator, model_validator

from pipeline.errors import echo
from pipeline.names import FULL_TRAIN_SIZE, TASKS
from pipeline.spec._axes import AXIS_TABLE, GRID_KEYS, TRAINING_KEYS
from pipeline.spec._sinks import key_problem
from pipeline.spec._values import (MAX_CELLS, MAX_CLASSES, MAX_EPOCHS, MAX_FEATURES, MAX_PATH_CHARS, MAX_SAMPLES,
                                   MAX_TRIALS_LIMIT, Bound, Name, Scalar, Seed, Strict, TrainSize, as_list, axis_type,
                                   is_range, number, text)

SKLEARN_DATASETS = ("breast_cancer", "digits", "wine", "iris", "diabetes")
#: The dataset keys that name where rows come from; a dataset section gives exactly one.
DATASET_SOURCES = ("csv", "parquet", "npz", "sklearn", "synthetic")
SYNTHETIC_DATASETS = ("moons", "circles", "classification", "friedman1")
SEARCH_METHODS = ("grid", "random", "tpe", "recipe")
#: The recipe search's defaults: rounds at most, trials in all at most (each seed of a configuration counts).
DEFAULT_RECIPE_ROUNDS, DEFAULT_RECIPE_BUDGET = 4, 40
#: Names a builder's hyperparameter cannot take: fitcheck's own params of a trial run.
RESERVED_HYPERPARAMETERS = ("seed", "model", "task", "n_parameters", "hyperparameters", "n_train", "n_val",
                            "input_shape", "grid")


class DatasetSpec(Strict):
    """Where the data comes from: exactly one of ``csv``, ``parquet``, ``npz``, ``sklearn`` or ``synthetic``.

    A CSV or Parquet file names its ``target`` column; a NumPy ``.npz`` file names the arrays of its
    inputs ``x`` (any shape: rows first) and targets ``y``. ``as_images: true`` reads scikit-learn's
    ``digits`` as 8x8x1 images scaled to [0, 1] instead of 64 columns.
    """

    csv: Optional[Annotated[str, text(max_chars=MAX_PATH_CHARS)]] = None
    parquet: Optional[Annotated[str, text(max_chars=MAX_PATH_CHARS)]] = None
    npz: Optional[Annotated[str, text(max_chars=MAX_PATH_CHARS)]] = None
    x: Optional[Name] = None
    y: Optional[Name] = None
    as_images: StrictBool = False
    target: Optional[Name] = None
    features: Optional[list[Name]] = None
    impute: Literal["none", "mean", "drop"] = "none"
    sklearn: Optional[Literal[SKLEARN_DATASETS]] = None  # type: ignore[valid-type]
    synthetic: Optional[Literal[SYNTHETIC_DATASETS]] = None  # type: ignore[valid-type]
    n_samples: Annotated[int, number(whole=True, ge=10, le=MAX_SAMPLES)] = 1000
    n_features: Annotated[int, number(whole=True, ge=1, le=MAX_FEATURES)] = 20
    n_informative: Annotated[int, number(whole=True, ge=1, le=MAX_FEATURES)] = 5
    n_classes: Annotated[int, number(whole=True, ge=2, le=MAX_CLASSES)] = 2
    noise: Annotated[float, number(ge=0)] = 0.0
    flip_y: Annotated[float, number(ge=0, le=1)] = 0.0
    class_sep: Annotated[float, number(gt=0)] = 1.0
    factor: Annotated[float, number(gt=0, lt=1)] = 0.5
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


class SplitSpec(Strict):
    """How rows are split; classification splits are stratified unless told otherwise."""

    validation: Annotated[float, number(gt=0, lt=1)] = 0.2
    test: Annotated[float, number(ge=0, lt=1)] = 0.0
    seed: Seed = 0
    stratify: StrictBool = True

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> "SplitSpec":
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave at least 10% for training but got "
                             f"{self.validation + self.test:g}")
        return self


def _hyperparameter_lists(values: Any) -> Any:
    """Each hyperparameter's values as a list; names checked, lists not empty."""
    if not isinstance(values, dict):
        return values
    for name, axis in values.items():
        if name in RESERVED_HYPERPARAMETERS:
            raise ValueError(f"hyperparameter names must not be fitcheck's own ({', '.join(RESERVED_HYPERPARAMETERS)}) "
                             f"but got {echo(name)}")
        near = difflib.get_close_matches(name, TRAINING_KEYS, n=1, cutoff=0.8) if isinstance(name, str) else []
        if near:
            raise ValueError(f"grid key {echo(name)} is not a training axis: did you mean {echo(near[0])}? (a "
                             "builder's hyperparameter may not be named so close to one; training axes: "
                             f"{', '.join(TRAINING_KEYS)})")
        problem = key_problem(name) if isinstance(name, str) else None
        if problem:
            raise ValueError(f"hyperparameter name {echo(name)} {problem} (it is an MLflow param name)")
        if axis == []:
            raise ValueError(f"grid axis '{name}' is empty: give at least one value")
    return {name: as_list(axis) for name, axis in values.items()}


class _GridAxes(Strict):
    """The axes of the grid; every combination is one configuration, repeated per seed.

    With a sampled search (``search: {method: random, ...}``) a numeric axis may also be a range
    ``{low: 1e-4, high: 0.1, log: true}`` (whole numbers for the integer axes).
    """

    _lists = field_validator(*GRID_KEYS, mode="before", check_fields=False)(as_list)

    @model_validator(mode="after")
    def _not_empty(self) -> "_GridAxes":
        for name, values in self:
            if name != "hyperparameters" and not is_range(values) and not values:
                raise ValueError(f"grid axis '{name}' is empty: give at least one value")
        return self

    def ranges(self) -> list[str]:
        """The axes given as ranges, a builder's hyperparameters included."""
        return ([name for name, values in self if is_range(values)]
                + [name for name, values in self.hyperparameters.items() if is_range(values)])


#: One field per axis of :data:`~pipeline.spec._axes.AXIS_TABLE` (a list of values, or a range where the axis
#: allows one), then ``hyperparameters``: a model builder's own axes (spec key ``model``), any name, each a list
#: of scalars (or a range of numbers).
GridSpec = create_model(
    "GridSpec", __base__=_GridAxes, __module__=__name__, __doc__=_GridAxes.__doc__,
    **{axis.key: (axis_type(axis.values) if axis.rangeable else list[axis.values],
                  Field([axis.default], description=axis.doc or None)) for axis in AXIS_TABLE},
    hyperparameters=(Annotated[dict[Name, axis_type(Scalar, Bound)], BeforeValidator(_hyperparameter_lists)], {}),
)


class SearchSpec(Strict):
    """How configurations are picked: every one of the grid (``grid``), or ``n_trials`` of them sampled
    with ``seed``, at random (``random``) or by Optuna's TPE sampler (``tpe``, the ``fitcheck[optuna]`` extra),
    which picks each batch of trials from the results of the trials before it; or round after round by the
    diagnosis (``recipe``: a few configurations spanning the grid's capacity, then the changes the best ones'
    advice names, for at most ``rounds`` rounds and ``budget`` trials)."""

    method: Literal[SEARCH_METHODS] = "grid"  # type: ignore[valid-type]
    n_trials: Optional[Annotated[int, number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)]] = None
    seed: Seed = 0
    #: ``recipe`` only: rounds at most, and trials in all at most (see :mod:`pipeline.recipe`).
    rounds: Optional[Annotated[int, number(whole=True, ge=1, le=50)]] = None
    budget: Optional[Annotated[int, number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)]] = None

    @model_validator(mode="after")
    def _sized(self) -> "SearchSpec":
        recipe_keys = [key for key in ("rounds", "budget") if getattr(self, key) is not None]
        if self.method != "recipe" and recipe_keys:
            raise ValueError(f"{recipe_keys[0]} belongs to a recipe search but got method {self.method}; set "
                             "method: recipe, or leave it out")
        if self.method == "recipe":
            if self.n_trials is not None:
                raise ValueError(f"n_trials must be left out of a recipe search but got {self.n_trials}; its size is "
                                 f"budget (trials in all, default {DEFAULT_RECIPE_BUDGET}) and rounds (default "
                                 f"{DEFAULT_RECIPE_ROUNDS})")
            return self
        if self.method != "grid" and self.n_trials is None:
            raise ValueError(f"n_trials must be given for a {self.method} search (the number of configurations "
                             "to sample) but got none")
        if self.method == "grid" and self.n_trials is not None:
            raise ValueError(f"n_trials must be left out of a grid search (it runs every configuration) "
                             f"but got {self.n_trials}; set method: random to sample {self.n_trials} of them")
        return self


class StoppingSpec(Strict):
    """Trials stopped before their last epoch.

    ``early``: each trial stops once the recommendation rule has settled on an epoch and keeps that
    epoch's weights. ``prune``: successive halving against the other trials of the sweep; at epochs
    ``min_epochs x reduction_factor^k`` a trial not among the best ``1 / reduction_factor`` so far stops.
    """

    early: StrictBool = False
    prune: StrictBool = False
    min_epochs: Annotated[int, number(whole=True, ge=1, le=MAX_EPOCHS)] = 5
    reduction_factor: Annotated[int, number(whole=True, ge=2, le=100)] = 3


#: Sizes ``learning_curve`` (and ``fitcheck sweep --learning-curve``) adds when the spec names none.
DEFAULT_CURVE_SIZES = (0.125, 0.25, 0.5, FULL_TRAIN_SIZE)
DEFAULT_CURVE_TOP = 3


class LearningCurveSpec(Strict):
    """After the sweep, train the ``top`` configurations (ranked as the leaderboard ranks them) at the
    ``sizes`` of the training split they lack, as further nested runs: a learning curve for each."""

    sizes: list[TrainSize] = list(DEFAULT_CURVE_SIZES)
    top: Annotated[int, number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)] = DEFAULT_CURVE_TOP

    _lists = field_validator("sizes", mode="before")(as_list)

    @field_validator("sizes")
    @classmethod
    def _three_sizes(cls, sizes: list[Union[int, float]]) -> list[Union[int, float]]:
        if len(set(sizes)) < 3:
            raise ValueError(f"must list at least 3 distinct sizes (a curve needs 3 points) but got {sizes}")
        return sorted(set(sizes), key=lambda size: (size > 1, size))
