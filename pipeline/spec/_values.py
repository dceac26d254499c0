"""The values a spec accepts: bounds, and the checks that refuse what YAML typing or Keras would get wrong.

Every check raises ``ValueError`` with the one message template "must be <rule> but got <value>",
which :func:`pipeline.spec.parse_spec` turns into a :class:`~pipeline.errors.FitcheckError` naming the key.
Imports pydantic only: never Keras or MLflow, nothing of fitcheck but :mod:`pipeline.errors`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, StrictBool, Tag, model_validator

from pipeline.errors import echo
from pipeline.spec._sinks import MAX_PARAM_VALUE_CHARS, control_character

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


def shown(value: Any) -> str:
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


def number_check(*, whole: bool = False, ge: float | None = None, gt: float | None = None,
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
            raise ValueError(f"must be {rule} but got {shown(value)}")
        return int(value) if whole else float(value)

    return check


def number(**bounds: Any) -> BeforeValidator:
    """The :func:`number_check` of ``bounds`` as a pydantic validator."""
    return BeforeValidator(number_check(**bounds))


def whole(*, ge: int, le: int) -> Any:
    """The type of a whole number in ``[ge, le]``."""
    return Annotated[int, number(whole=True, ge=ge, le=le)]


def real(**bounds: float) -> Any:
    """The type of a finite number within ``bounds`` (``ge``, ``gt``, ``le``, ``lt``)."""
    return Annotated[float, number(**bounds)]


def choice(accepted: tuple[str, ...]) -> Any:
    """The type of one of the ``accepted`` names."""
    return Literal[accepted]  # type: ignore[valid-type]


def text(*, max_chars: int) -> BeforeValidator:
    """A non-blank string without control characters, at most ``max_chars`` long."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # pydantic's type check says what is expected
        if not value.strip():
            raise ValueError(f"must be a non-blank name but got {echo(value)}")
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters but got {len(value)}: {echo(value)}")
        if control_character(value):
            raise ValueError(f"must be free of control characters (newlines, tabs, escapes) but got "
                             f"{control_character(value)} in {echo(value)}")
        return value

    return BeforeValidator(check)


def _train_size(value: Any) -> Union[int, float]:
    """A fraction in (0, 1] of the training split (``1`` is all of it), or a whole row count >= 2."""
    rule = "a fraction in (0, 1] of the training split or a whole number of rows >= 2"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be {rule} but got {shown(value)}")
    if value <= 1:
        return float(value)
    if float(value).is_integer() and value <= MAX_SAMPLES:
        return int(value)
    raise ValueError(f"must be {rule} (at most {MAX_SAMPLES}) but got {shown(value)}")


Seed = Annotated[int, number(whole=True, ge=0, le=SEED_MAX)]
TrainSize = Annotated[Union[int, float], BeforeValidator(_train_size)]
Name = Annotated[str, text(max_chars=MAX_NAME_CHARS)]
non_negative = number_check(ge=0)


class Strict(BaseModel):
    """A spec section: unknown keys are refused and a validated section cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def as_list(value: Any) -> Any:
    """A scalar where a list is expected, as a one-element list (``depth: 2`` means ``depth: [2]``)."""
    return value if isinstance(value, (list, dict)) else [value]


def axis_type(element: Any, bound: Any = None) -> Any:
    """A grid axis: a list of ``element`` values, or (for a sampled search) a range ``{low, high, log}`` of
    ``bound`` values (default: ``element``)."""
    kind = element if bound is None else bound

    class Range(Strict):
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


def whole_range(values: Any) -> bool:
    """Whether a range draws whole numbers: both its bounds are (``{low: 1, high: 8}``; ``{low: 1, high: 2.5}``
    and ``{low: 1.0, high: 8.0}`` are real ranges). The whole-number axes' bounds are checked whole by their type."""
    return is_range(values) and all(isinstance(bound, int) and not isinstance(bound, bool)
                                    for bound in (values.low, values.high))


def _scalar(value: Any) -> Union[bool, int, float, str]:
    """A builder's hyperparameter value: a string (a param value, without control characters), true/false, or a
    finite number."""
    if isinstance(value, str):
        if control_character(value):
            raise ValueError(f"must be free of control characters (newlines, tabs, escapes) but got "
                             f"{control_character(value)} in {echo(value)}")
        if len(value) > MAX_PARAM_VALUE_CHARS:
            raise ValueError(f"must be at most {MAX_PARAM_VALUE_CHARS} characters (an MLflow param value) "
                             f"but got {len(value)}")
        return value
    if isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ValueError(f"must be a string, a finite number or true/false but got {echo(value)}")


def _finite(value: Any) -> Union[int, float]:
    """A range bound of a builder's hyperparameter: a finite number, whole numbers kept whole."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a finite number but got {shown(value)}")
    return value


Scalar = Annotated[Union[bool, int, float, str], BeforeValidator(_scalar)]
Bound = Annotated[Union[int, float], BeforeValidator(_finite)]


