"""Where trials run: in-process, local worker processes, or a Ray cluster (optional extra).

An executor hands jobs to :mod:`pipeline.training` and events back to the sweep; it never logs.

Never imports: mlflow, pipeline.tracking, pipeline.report, pipeline.sweep.
"""

from __future__ import annotations

from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted
from pipeline.executors._inprocess import InProcessExecutor
from pipeline.executors._local import LocalExecutor
from pipeline.errors import FitcheckError

__all__ = ["Event", "Executor", "InProcessExecutor", "LocalExecutor", "TrialDone", "TrialStarted", "make_executor"]


def make_executor(name: str, *, workers: int | None, ray_address: str | None = None, verbose: bool = False,
                  fuse: bool = True) -> Executor:
    """The executor called ``name`` (``local``, ``ray`` or ``inprocess``); Ray is imported only when asked for.

    ``fuse``: train compatible trials as fused groups (:mod:`pipeline.training._fusion`); off, one model per trial.
    """
    if name == "inprocess":
        return InProcessExecutor(fuse=fuse)
    if name == "local":
        return LocalExecutor(workers, verbose=verbose, fuse=fuse)
    if name == "ray":
        from pipeline.executors._ray import RayExecutor

        return RayExecutor(address=ray_address, workers=workers, verbose=verbose, fuse=fuse)
    raise FitcheckError(f"--executor: unknown executor '{name}'; accepted: local, ray, inprocess")
