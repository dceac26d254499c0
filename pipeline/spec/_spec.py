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
import re
from pathlib import Path
from typing import Annotated, Any, Optional, Union

from pydantic import (BaseModel, BeforeValidator, Field, StrictBool, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from pipeline import names
from pipeline.errors import ECHO_CHARS, FitcheckError, echo
from pipeline.spec._axes import ADDED_DEFAULTS, TRAINING_KEYS, by_key, by_name
from pipeline.spec._read_yaml import read_yaml_file
from pipeline.spec._sections import DatasetSpec, GridSpec, LearningCurveSpec, SearchSpec, SplitSpec, StoppingSpec
from pipeline.spec._values import MAX_TRIALS_LIMIT, Name, Strict, non_negative, number, shown

MODEL_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
REFERENCE_WORDS = (names.REFERENCE_SPEC_ESTIMATE, names.REFERENCE_SPEC_SWEEP)
DEFAULT_MAX_TRIALS = 500
#: The ``source`` of a spec given to ``run_sweep`` as a dict, named in its messages.
DICT_SOURCE = "spec (dict)"
#: Dataset keys added after sweeps were first logged, at their defaults (see :meth:`SweepSpec.fingerprint`).
_ADDED_DATASET_KEYS = {"parquet": None, "npz": None, "x": None, "y": None, "as_images": False}


def _reference(value: Any) -> Union[float, str]:
    if isinstance(value, str) and value in REFERENCE_WORDS:
        return value
    try:
        return non_negative(value)
    except ValueError:
        raise ValueError(f"must be a finite number >= 0 (an error rate or RMSE), 'estimate' or 'sweep' "
                         f"but got {shown(value)}") from None


def check_reference_error(value: float | None, task: str, *, where: str) -> None:
    """Refuse a given reference error the task cannot have: above 1 for a classification (an error rate).

    ``where`` names it (``"s.yaml: reference_error"``, ``"--reference-error"``) in the one-line refusal.
    """
    if value is not None and task in (names.BINARY, names.MULTICLASS) and value > 1:
        raise FitcheckError(f"{where}: {value:g} is above 1, but a {task} task's error rate lies in [0, 1]; "
                            "accepted: a number in [0, 1]")


def _builder_grid(grid: Any) -> Any:
    """A builder's grid: every key but the training axes is one of its hyperparameters."""
    if not isinstance(grid, dict):
        return grid
    hyperparameters = {key: value for key, value in grid.items() if key not in TRAINING_KEYS}
    return {**{key: grid[key] for key in grid if key in TRAINING_KEYS}, "hyperparameters": hyperparameters}


def _model_reference(value: Any) -> Any:
    if isinstance(value, str) and not MODEL_REFERENCE.match(value):
        raise ValueError(f"must be a builder reference 'package.module:function' but got {echo(value)}")
    return value


class SweepSpec(Strict):
    """A whole sweep: dataset, split, grid and how to judge the runs.

    ``dataset`` may be left out only when the data is given in Python (``run_sweep(..., data=...)``).
    With ``model`` (a builder ``package.module:function``, or ``build_model=`` in Python) the grid's
    keys other than :data:`~pipeline.spec._axes.TRAINING_KEYS` are the builder's hyperparameters.
    """

    experiment: Optional[Name] = None
    dataset: Optional[DatasetSpec] = None
    model: Annotated[Optional[str], BeforeValidator(_model_reference)] = None
    split: SplitSpec = SplitSpec()
    grid: Union[GridSpec, list[GridSpec]] = GridSpec()
    skip_invalid: StrictBool = False
    reference_error: Annotated[Union[float, str], BeforeValidator(_reference)] = names.REFERENCE_SPEC_ESTIMATE
    max_trials: Annotated[int, number(whole=True, ge=1, le=MAX_TRIALS_LIMIT)] = DEFAULT_MAX_TRIALS
    search: SearchSpec = SearchSpec()
    stopping: StoppingSpec = StoppingSpec()
    learning_curve: Optional[LearningCurveSpec] = None
    #: The sweep (parent) run this spec is the next round of (``fitcheck next`` writes it); tagged on the new parent.
    previous_sweep: Optional[Name] = None
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
        if ranged and self.search.method in ("grid", "recipe"):
            raise ValueError(f"grid.{ranged[0]}: a range must be sampled by search.method random or tpe but got "
                             f"{self.search.method}; list its values, or add search: {{method: random, n_trials: N}}")
        return self

    @property
    def grids(self) -> list[GridSpec]:
        """The grid as a list: like scikit-learn's ParameterGrid, a list of grids means their union."""
        return self.grid if isinstance(self.grid, list) else [self.grid]

    def axis_values(self) -> dict[str, list]:
        """Every value each axis takes in any of the grids, in first-seen order.

        Keyed like the trials' params: the ``seeds`` axis is reported as ``seed``; a builder's hyperparameters
        by their own names.
        """
        values: dict[str, list] = {}
        for grid in self.grids:
            dumped = grid.model_dump(mode="json")
            hyperparameters = dumped.pop("hyperparameters")
            if self.uses_builder:  # fitcheck's MLP axes are not the builder's
                dumped = {key: dumped[key] for key in TRAINING_KEYS}
            named = {by_key(key).name: axis_values for key, axis_values in dumped.items()}
            for axis, axis_values in {**named, **hyperparameters}.items():
                if isinstance(axis_values, dict):  # a range: the values come from the sampled trials
                    continue
                merged = values.setdefault(axis, [])
                merged.extend(v for v in axis_values if v not in merged)
        return values

    def fingerprint(self) -> str:
        """A short stable hash of the spec's content (not of its file name).

        Keys added since the first sweeps were logged count only away from their defaults, so a
        spec that does not use them keeps its fingerprint (and its sweep resumes). ``learning_curve``
        is left out too: it adds runs to the same sweep.
        """
        content = self.model_dump(mode="json", exclude={"learning_curve"})
        added_sweep_keys = {"model": None, "previous_sweep": None,
                            **{key: type(self).model_fields[key].default.model_dump(mode="json")
                               for key in ("search", "stopping")}}
        added_grid_keys = {"hyperparameters": {},
                           **{by_name(axis).key: [default] for axis, default in ADDED_DEFAULTS.items()}}
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
        return f"{source}: {where}must be {_EXPECTED[kind]} but got {shown(value)}"
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
