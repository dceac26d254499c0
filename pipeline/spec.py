"""The sweep spec: a YAML file in ``experiments/``, validated up front.

This module validates and never imports Keras or MLflow. Every problem becomes a
:class:`~pipeline.errors.FitcheckError` naming the file, the key and what is accepted.

Example
-------
>>> from pipeline.spec import parse_spec
>>> spec = parse_spec({"dataset": {"synthetic": "moons"}, "grid": {"depth": [0, 1]}}, source="inline")
>>> spec.grid.depth
[0, 1]
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import FitcheckError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leaky_relu", "linear", "swish", "softplus")
LOSSES = (
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "hinge", "squared_hinge", "mse", "mae", "huber",
)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "nadam", "adamw", "adamax")
SKLEARN_DATASETS = ("breast_cancer", "digits", "wine", "iris", "diabetes")
SYNTHETIC_DATASETS = ("moons", "circles", "classification", "friedman1")
TASKS = ("binary", "multiclass", "regression")
DEFAULT_MAX_TRIALS = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """Where the data comes from: exactly one of ``csv``, ``sklearn`` or ``synthetic``."""

    csv: Optional[str] = None
    target: Optional[str] = None
    features: Optional[list[str]] = None
    impute: Literal["none", "mean", "drop"] = "none"
    sklearn: Optional[Literal[SKLEARN_DATASETS]] = None  # type: ignore[valid-type]
    synthetic: Optional[Literal[SYNTHETIC_DATASETS]] = None  # type: ignore[valid-type]
    n_samples: int = Field(1000, ge=10)
    n_features: int = Field(20, ge=1)
    n_informative: int = Field(5, ge=1)
    n_classes: int = Field(2, ge=2)
    noise: float = Field(0.0, ge=0)
    flip_y: float = Field(0.0, ge=0, le=1)
    class_sep: float = Field(1.0, gt=0)
    factor: float = Field(0.5, gt=0, lt=1)
    seed: int = 0
    task: Optional[Literal[TASKS]] = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetSpec":
        sources = [name for name in ("csv", "sklearn", "synthetic") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError(
                "give exactly one of 'csv', 'sklearn' or 'synthetic'"
                + (f", got {', '.join(sources)}" if sources else "")
            )
        if self.csv is not None and not self.target:
            raise ValueError("a csv dataset needs 'target', the name of the column to predict")
        return self

    @property
    def name(self) -> str:
        """A short human name: the CSV file's name, the scikit-learn or generator name."""
        if self.csv is not None:
            return Path(self.csv).name
        return self.sklearn or self.synthetic  # type: ignore[return-value]


class SplitSpec(_Strict):
    """How rows are split; classification splits are stratified unless told otherwise."""

    validation: float = Field(0.2, gt=0, lt=1)
    test: float = Field(0.0, ge=0, lt=1)
    seed: int = 0
    stratify: bool = True

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> "SplitSpec":
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave at least 10% for training, got {self.validation + self.test:g}")
        return self


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


class GridSpec(_Strict):
    """The axes of the grid; every combination is one configuration, repeated per seed."""

    depth: list[int] = [1]
    width: list[int] = [32]
    activation: list[Literal[ACTIVATIONS]] = ["relu"]  # type: ignore[valid-type]
    loss: list[Literal[LOSSES]] = ["binary_crossentropy"]  # type: ignore[valid-type]
    optimizer: list[Literal[OPTIMIZERS]] = ["adam"]  # type: ignore[valid-type]
    learning_rate: list[float] = [0.001]
    batch_size: list[int] = [32]
    epochs: list[int] = [20]
    seeds: list[int] = [0]
    l2: list[float] = [0.0]
    dropout: list[float] = [0.0]

    _lists = field_validator("*", mode="before")(_as_list)

    @field_validator("depth", "l2")
    @classmethod
    def _non_negative(cls, values: list) -> list:
        for value in values:
            if value < 0:
                raise ValueError(f"must be >= 0, got {value}")
        return values

    @field_validator("width", "batch_size", "epochs", "learning_rate")
    @classmethod
    def _positive(cls, values: list) -> list:
        for value in values:
            if value <= 0:
                raise ValueError(f"must be > 0, got {value}")
        return values

    @field_validator("dropout")
    @classmethod
    def _fraction(cls, values: list[float]) -> list[float]:
        for value in values:
            if not 0 <= value < 1:
                raise ValueError(f"must be in [0, 1), got {value}")
        return values

    @model_validator(mode="after")
    def _not_empty(self) -> "GridSpec":
        for name, values in self:
            if not values:
                raise ValueError(f"grid axis '{name}' is empty: give at least one value")
        return self


class SweepSpec(_Strict):
    """A whole sweep: dataset, split, grid and how to judge the runs."""

    experiment: Optional[str] = None
    dataset: DatasetSpec
    split: SplitSpec = SplitSpec()
    grid: Union[GridSpec, list[GridSpec]] = GridSpec()
    skip_invalid: bool = False
    reference_error: Union[float, Literal["estimate", "sweep"]] = "estimate"
    max_trials: int = Field(DEFAULT_MAX_TRIALS, ge=1)
    source: str = Field("", exclude=True)

    @field_validator("reference_error")
    @classmethod
    def _reference_range(cls, value: Union[float, str]) -> Union[float, str]:
        if isinstance(value, float) and value < 0:
            raise ValueError(f"must be >= 0 (an error rate or RMSE), got {value}")
        return value

    @field_validator("grid")
    @classmethod
    def _grids_not_empty(cls, value: Union[GridSpec, list[GridSpec]]) -> Union[GridSpec, list[GridSpec]]:
        if isinstance(value, list) and not value:
            raise ValueError("the list of grids is empty: give at least one grid")
        return value

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
            for axis, axis_values in grid.model_dump(mode="json").items():
                merged = values.setdefault("seed" if axis == "seeds" else axis, [])
                merged.extend(v for v in axis_values if v not in merged)
        return values

    def fingerprint(self) -> str:
        """A short stable hash of the spec's content (not of its file name)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def experiment_name(self) -> str:
        """The MLflow experiment: ``experiment`` in the spec, else the spec file's stem."""
        return self.experiment or (Path(self.source).stem if self.source else "fitcheck")


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _model_at(loc: tuple) -> type[BaseModel]:
    sections = {"dataset": DatasetSpec, "split": SplitSpec, "grid": GridSpec}
    return sections.get(str(loc[0]), SweepSpec) if len(loc) > 1 else SweepSpec


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and ("GridSpec" in part or part.startswith("function-"))


def _format_error(error: dict, source: str) -> str:
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    key = ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in loc).replace(".[", "[")
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(_model_at(loc))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{source}: unknown key '{key}'{hint}; accepted keys: {', '.join(allowed)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        accepted = [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip(" '")]
        close = difflib.get_close_matches(str(value), accepted, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{source}: {key}: {value!r} is not accepted{hint}; accepted: {', '.join(accepted)}"
    if kind == "missing":
        return f"{source}: missing required key '{key}'"
    message = error["msg"].removeprefix("Value error, ")
    where = f"{key}: " if key else ""
    return f"{source}: {where}{message} (got {value!r})" if kind != "value_error" else f"{source}: {where}{message}"


def parse_spec(raw: Any, *, source: str) -> SweepSpec:
    """Validate a spec already read from YAML; ``source`` names it in error messages."""
    if not isinstance(raw, dict):
        raise FitcheckError(f"{source}: a sweep spec must be a mapping with keys dataset, grid, ...; got {type(raw).__name__}")
    try:
        return SweepSpec.model_validate({**raw, "source": source})
    except ValidationError as error:
        errors = error.errors()
        grid_is_list = isinstance(raw.get("grid"), list)
        relevant = [e for e in errors
                    if any(str(part).startswith("list[") for part in e["loc"]) == grid_is_list] or errors
        raise FitcheckError(_format_error(relevant[0], source)) from None


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file.

    Relative CSV paths are resolved against the spec file's folder, then the working folder.
    """
    path = Path(path)
    if path.is_dir():
        raise FitcheckError(f"{path}: is a directory; give a sweep spec file such as experiments/quickstart.yaml")
    if not path.exists():
        raise FitcheckError(f"{path}: no such spec file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise FitcheckError(f"{path}: malformed YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise FitcheckError(f"{path}: not a text file; a sweep spec is YAML") from None
    spec = parse_spec(raw, source=str(path))
    if spec.dataset.csv is not None:
        csv = Path(spec.dataset.csv)
        for candidate in (csv, path.parent / csv) if not csv.is_absolute() else (csv,):
            if candidate.is_file():
                csv = candidate
                break
        else:
            raise FitcheckError(f"{path}: dataset.csv: file '{spec.dataset.csv}' not found (looked in {path.parent} and the working folder)")
        spec = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"csv": str(csv)})})
    return spec
