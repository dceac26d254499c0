"""How to run a sweep: :class:`SweepOptions`, the CLI's flags one to one."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pipeline.errors import FitcheckError, echo

#: MLflow's limit on an experiment's name (``experiments.name`` is ``String(256)`` in its SQL schema).
MAX_EXPERIMENT_CHARS = 256


def check_experiment_name(name: str | None, *, where: str = "--experiment") -> None:
    """Refuse, in one line, an experiment name MLflow would refuse or a terminal would garble: longer than
    :data:`MAX_EXPERIMENT_CHARS` characters, or holding control characters (newlines, ESC).

    >>> check_experiment_name("x" * 300)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.errors.FitcheckError: --experiment: 'xxx...' is 300 characters, over MLflow's limit of 256 ...
    """
    if name is None:
        return
    if len(name) > MAX_EXPERIMENT_CHARS:
        raise FitcheckError(f"{where}: {echo(name)} is {len(name)} characters, over MLflow's limit of "
                            f"{MAX_EXPERIMENT_CHARS} for an experiment name; give a shorter name")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise FitcheckError(f"{where}: {echo(name)} holds control characters (newline, tab, ESC); "
                            "give a name of printable characters")


@dataclass
class SweepOptions:
    """How to run a sweep; the CLI's flags map one to one onto these."""

    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str | None = None
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    resume: bool = True
    yes: bool = False
    reference_error: float | None = None
    report: bool = True
    progress: bool = True
    verbose: bool = False
    #: End each trial with the online recommendation rule (as the spec's ``stopping: {early: true}``).
    early_stopping: bool = False
    #: Train compatible trials as one fused model per group (:mod:`pipeline.training._fusion`); False: one model per trial.
    fuse: bool = True
    #: ``time.perf_counter()`` when the command started (the CLI sets it), so the wall time is the command's own.
    started: float | None = None
    #: After the sweep, add learning curves over training-set size for its best configurations (the spec's
    #: ``learning_curve``, else its defaults), as ``fitcheck sweep --learning-curve`` asks.
    learning_curve: bool = False

    def __post_init__(self) -> None:
        check_experiment_name(self.experiment)
