"""How to run a sweep: :class:`SweepOptions`, the CLI's flags one to one."""

from __future__ import annotations

from dataclasses import dataclass


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
