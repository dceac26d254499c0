"""Run trials on a Ray cluster: one actor per worker, each starting TensorFlow once.

Ray is an optional extra (``pip install fitcheck[ray]``) and is imported only here. Like the
local executor, the actors train and measure and never talk to MLflow: every outcome comes
back to the sweep process, the single tracking writer.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Sequence

from pipeline.data import PreparedData
from pipeline.errors import FitcheckError
from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted, job_groups
from pipeline.training import Job
from pipeline.training import TrialOutcome


class _TrialWorker:
    """A Ray actor holding the data once; trains one trial, or one fused group of trials, at a time."""

    def __init__(self, data: PreparedData, threads: int, verbose: bool):
        from pipeline.training import configure_tensorflow

        configure_tensorflow(threads, verbose=verbose)
        self.data = data

    def train(self, group: list[Job]) -> list[TrialOutcome]:
        from pipeline.training import train_group

        return train_group(group, self.data)


class RayExecutor(Executor):
    """Trials as calls on ``workers`` Ray actors, on the cluster at ``address`` or a local Ray.

    Parameters
    ----------
    address : str, optional
        A running cluster (``HOST:PORT`` or ``ray://HOST:PORT``); ``None`` starts a local Ray
        instance with as many CPUs as this machine has, shut down when the sweep ends.
    workers : int, optional
        Actors (concurrent trials); default: the cluster's CPUs. Each reserves
        ``cluster CPUs / workers`` CPUs and sizes TensorFlow's thread pools to match, so
        workers x threads = cores.
    verbose : bool
        Show Ray's and TensorFlow's logs.
    fuse : bool
        Train compatible trials as fused groups (:mod:`pipeline.training._fusion`), one group per call.

    A trial whose actor dies comes back ``FAILED`` and a fresh actor takes its place; in a fused
    group, the first trial fails and the others run again, each alone (as on the local executor).
    """

    def __init__(self, address: str | None = None, workers: int | None = None, *, verbose: bool = False,
                 fuse: bool = True):
        self.address, self.requested_workers, self.verbose, self.fuse = address, workers, verbose, fuse

    def _connect(self):
        try:
            import ray
        except ImportError:
            raise FitcheckError("--executor ray: Ray is not installed; pip install 'fitcheck[ray]'") from None
        started_here = not ray.is_initialized()
        if started_here:
            quiet = {} if self.verbose else {"log_to_driver": False, "logging_level": "ERROR"}
            try:
                if self.address:
                    ray.init(address=self.address, **quiet)
                else:
                    ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as error:
                where = self.address or "a local Ray instance"
                raise FitcheckError(f"--ray-address {where}: could not connect: {str(error).splitlines()[0]}") from None
        return ray, started_here

    def run(self, jobs: Sequence[Job], data: PreparedData) -> Iterator[Event]:
        if not jobs:
            return
        ray, started_here = self._connect()
        cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)))
        workers = self.requested_workers or int(cpus)
        per_worker = cpus / workers
        threads = max(1, math.floor(per_worker))
        actor_class = ray.remote(max_restarts=0, num_cpus=threads if per_worker >= 1 else per_worker)(_TrialWorker)
        data_ref = ray.put(dataclasses.replace(data, frame=None))
        pending = job_groups(jobs, fuse=self.fuse, workers=workers)
        running: dict = {}  # object ref -> (actor, group)
        actors: list = []
        started: set[int] = set()  # a trial rerun after its group's actor died is not started twice

        def submit(actor) -> Iterator[Event]:
            group = pending.pop(0)
            running[actor.train.remote(group)] = (actor, group)
            for index, _ in group:
                if index not in started:
                    started.add(index)
                    yield TrialStarted(index)

        try:
            for _ in range(min(workers, len(pending))):
                actors.append(actor_class.remote(data_ref, threads, self.verbose))
                yield from submit(actors[-1])
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                actor, group = running.pop(ready[0])
                try:
                    outcomes = ray.get(ready[0])
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                    outcomes = [TrialOutcome(group[0][0], "FAILED",
                                             error=f"Ray worker died: {str(error).splitlines()[0][:300]}")]
                    pending[:0] = [[job] for job in group[1:]]
                    ray.kill(actor)
                    actors.remove(actor)
                    actor = actor_class.remote(data_ref, threads, self.verbose)
                    actors.append(actor)
                except ray.exceptions.RayError as error:
                    message = f"Ray task failed: {str(error).splitlines()[0][:300]}"
                    outcomes = [TrialOutcome(index, "FAILED", error=message) for index, _ in group]
                yield from (TrialDone(outcome) for outcome in outcomes)
                if pending:
                    yield from submit(actor)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()
