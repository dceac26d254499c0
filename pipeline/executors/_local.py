"""Run trials in local worker processes, each importing TensorFlow once and training many trials (or fused groups)."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait

from pipeline.data import PreparedData
from pipeline.executors._base import Event, Executor, TrialDone, TrialStarted, job_groups
from pipeline.training import Job
from pipeline.training import TrialOutcome

_POLL_SECONDS = 0.5


def _worker(conn: Connection, data: PreparedData, threads: int, verbose: bool) -> None:
    from pipeline.training import train_group
    from pipeline.training import configure_tensorflow

    if not verbose:  # TensorFlow's C++ start-up chatter; a trial's errors come back in its outcome
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    configure_tensorflow(threads, verbose=verbose)
    parent = os.getppid()
    while True:
        if not conn.poll(_POLL_SECONDS):
            if os.getppid() != parent:  # the sweep process died (e.g. SIGKILL): do not linger
                return
            continue
        group = conn.recv()
        if group is None:
            return
        for index, _ in group:
            conn.send(("started", index))
        for outcome in train_group(group, data):
            conn.send(("done", outcome))


@dataclasses.dataclass
class _Slot:
    """A worker process, the pipe to it, and the jobs of its group not yet done."""

    process: mp.process.BaseProcess
    conn: Connection
    group: list[Job] = dataclasses.field(default_factory=list)


class LocalExecutor(Executor):
    """``workers`` processes (spawned, so TensorFlow starts clean in each).

    TensorFlow's thread pools are sized so that ``workers x threads`` fills the cores without
    oversubscribing them. Each worker has a pipe of its own, so a worker killed mid-write corrupts
    nothing the others use: it loses only one trial, which comes back ``FAILED``, and a fresh
    worker takes its place. A worker that dies in a fused group fails the group's first trial not
    yet done (which one killed it cannot be told) and the rest run again, each alone.
    """

    def __init__(self, workers: int | None = None, *, verbose: bool = False, fuse: bool = True):
        cores = os.cpu_count() or 1
        self.workers = max(1, workers or cores)
        self.threads = max(1, cores // self.workers)
        self.verbose, self.fuse = verbose, fuse
        self._context = mp.get_context("spawn")
        self._data: PreparedData | None = None
        self._slots: list[_Slot] = []

    def warm_up(self, data: PreparedData) -> None:
        """Start the workers now, so TensorFlow loads while the sweep sets itself up."""
        self._open(data, self.workers)

    def _open(self, data: PreparedData, count: int) -> None:
        if self._slots:
            return
        self._data = dataclasses.replace(data, frame=None)
        self._slots = [self._spawn() for _ in range(count)]

    def _spawn(self) -> _Slot:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(theirs, self._data, self.threads, self.verbose),
                                        daemon=True)
        process.start()
        theirs.close()  # the worker holds the other end: its death reads as end-of-file here
        return _Slot(process, ours)

    def close(self) -> None:
        """Stop the workers."""
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        for slot in self._slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []

    def run(self, jobs: Sequence[Job], data: PreparedData) -> Iterator[Event]:
        if not jobs:
            self.close()
            return
        pending = job_groups(jobs, fuse=self.fuse, workers=self.workers)
        self._open(data, min(self.workers, len(pending)))
        slots = self._slots
        started: set[int] = set()  # a trial rerun after its group's worker died is not started twice

        def feed(slot: _Slot) -> None:
            slot.group = pending.pop(0) if pending else []
            if slot.group:
                try:
                    slot.conn.send(slot.group)
                except OSError:  # the worker died since its last result: wait() reads its end-of-file below
                    pass

        try:
            for slot in slots:
                feed(slot)
            remaining = len(jobs)
            while remaining:
                busy = [slot for slot in slots if slot.group]
                for ready in wait([slot.conn for slot in busy], timeout=_POLL_SECONDS):
                    owner = next(slot for slot in busy if slot.conn is ready)
                    try:
                        kind, payload = owner.conn.recv()
                    except (EOFError, OSError):  # the worker died
                        owner.process.join()
                        remaining -= 1
                        (lost, _), *others = owner.group
                        yield TrialDone(TrialOutcome(
                            lost, "FAILED", error=f"worker process died (exit code {owner.process.exitcode})"))
                        pending[:0] = [[job] for job in others]
                        owner.group = []
                        if pending:
                            owner.conn.close()
                            slots[slots.index(owner)] = self._spawn()
                            for idle in [slot for slot in slots if not slot.group]:  # the fresh one, and any idle
                                feed(idle)
                        continue
                    if kind == "started":
                        if payload not in started:
                            started.add(payload)
                            yield TrialStarted(payload)
                        continue
                    remaining -= 1
                    owner.group = [job for job in owner.group if job[0] != payload.index]
                    if not owner.group:
                        feed(owner)
                    yield TrialDone(payload)
        finally:
            self.close()
