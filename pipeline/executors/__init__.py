"""Where trials run: local worker processes, or a Ray cluster (optional extra)."""

from __future__ import annotations

from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted
from pipeline.executors._inprocess import InProcessExecutor
from pipeline.executors._local import LocalExecutor
from pipeline.errors import FitcheckError

__all__ = ["Event", "Executor", "InProcessExecutor", "LocalExecutor", "TrialDone", "TrialStarted", "make_executor"]


def make_executor(name: str, *, workers: int | None, ray_address: str | None = None, verbose: bool = False) -> Executor:
    """The executor called ``name`` (``local``, ``ray`` or ``inprocess``); Ray is imported only when asked for."""
    if name == "inprocess":
        return InProcessExecutor()
    if name == "local":
        return LocalExecutor(workers, verbose=verbose)
    if name == "ray":
        from pipeline.executors._ray import RayExecutor

        return RayExecutor(address=ray_address, workers=workers, verbose=verbose)
    raise FitcheckError(f"--executor: unknown executor '{name}'; accepted: local, ray, inprocess")
