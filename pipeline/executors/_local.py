"""Run trials in local worker processes, each importing TensorFlow once and training many trials."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue
from collections.abc import Iterator, Sequence

from pipeline.data import PreparedData
from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted
from pipeline.grid import TrialConfig
from pipeline.training import TrialOutcome

_POLL_SECONDS = 0.5


def _worker(tasks: mp.Queue, results: mp.Queue, data: PreparedData, threads: int, verbose: bool) -> None:
    from pipeline.training import configure_tensorflow, train_trial

    if not verbose:  # TensorFlow's C++ start-up chatter; a trial's errors come back in its outcome
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    configure_tensorflow(threads, verbose=verbose)
    parent = os.getppid()
    while True:
        try:
            job = tasks.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:  # the sweep process died (e.g. SIGKILL): do not linger
                return
            continue
        if job is None:
            return
        index, config = job
        results.put(("started", index))
        results.put(("done", train_trial(index, config, data)))


class LocalExecutor(Executor):
    """``workers`` processes (spawned, so TensorFlow starts clean in each).

    TensorFlow's thread pools are sized so that ``workers x threads`` fills the cores without
    oversubscribing them. A worker that dies loses only its current trial: that trial comes
    back ``FAILED`` and a fresh worker takes its place.
    """

    def __init__(self, workers: int | None = None, *, verbose: bool = False):
        cores = os.cpu_count() or 1
        self.workers = max(1, workers or cores)
        self.threads = max(1, cores // self.workers)
        self.verbose = verbose
        self._context = mp.get_context("spawn")
        self._results: mp.Queue | None = None
        self._data: PreparedData | None = None
        # one task queue per worker, one job at a time: a dead worker's job is known exactly
        self._slots: list[dict] = []

    def warm_up(self, data: PreparedData) -> None:
        """Start the workers now, so TensorFlow loads while the sweep sets itself up."""
        self._open(data, self.workers)

    def _open(self, data: PreparedData, count: int) -> None:
        if self._slots:
            return
        self._data = dataclasses.replace(data, frame=None)
        self._results = self._context.Queue()
        self._slots = [self._spawn() for _ in range(count)]

    def _spawn(self) -> dict:
        tasks = self._context.Queue()
        process = self._context.Process(
            target=_worker, args=(tasks, self._results, self._data, self.threads, self.verbose), daemon=True)
        process.start()
        return {"process": process, "tasks": tasks, "job": None}

    def close(self) -> None:
        """Stop the workers."""
        for slot in self._slots:
            if slot["process"].is_alive():
                slot["tasks"].put(None)
        for slot in self._slots:
            slot["process"].join(timeout=5)
            if slot["process"].is_alive():
                slot["process"].kill()
        self._slots = []

    def run(self, jobs: Sequence[tuple[int, TrialConfig]], data: PreparedData) -> Iterator[Event]:
        if not jobs:
            self.close()
            return
        self._open(data, min(self.workers, len(jobs)))
        pending, slots, results = list(jobs), self._slots, self._results

        def feed(slot: dict) -> None:
            if pending:
                slot["job"] = pending.pop(0)
                slot["tasks"].put(slot["job"])

        try:
            for slot in slots:
                feed(slot)
            remaining = len(jobs)
            while remaining:
                for position, slot in enumerate(slots):
                    if slot["job"] is not None and not slot["process"].is_alive():
                        index, _config = slot["job"]
                        remaining -= 1
                        yield TrialDone(TrialOutcome(
                            index, "FAILED", error=f"worker process died (exit code {slot['process'].exitcode})"))
                        slot["job"] = None
                        if pending:
                            slots[position] = self._spawn()
                            feed(slots[position])
                try:
                    kind, payload = results.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if kind == "started":
                    yield TrialStarted(payload)
                    continue
                slot = next((s for s in slots if s["job"] is not None and s["job"][0] == payload.index), None)
                if slot is None:  # its worker was already reaped as dead
                    continue
                remaining -= 1
                slot["job"] = None
                feed(slot)
                yield TrialDone(payload)
        finally:
            self.close()
