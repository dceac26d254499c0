"""The rung record successive halving reads and writes: one small file the sweep owns, shared by its trials.

Trials run in worker processes, in the sweep's own process or in Ray actors; each reports its value
at a rung and reads the others' under an exclusive ``fcntl`` lock, so reports never interleave.
The file lives in a temporary folder of the sweep process: every trial must see the same file, so
pruning holds for the local and in-process executors and for Ray actors on the sweep's own host
(not across a multi-host cluster). Never imports Keras or MLflow.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path


class RungRecord:
    """Values reported at each rung, one JSON line per report: ``{"rung": 5, "trial": "...", "value": 0.12}``.

    Examples
    --------
    >>> import tempfile, os
    >>> record = RungRecord(os.path.join(tempfile.mkdtemp(), "rungs.jsonl"))
    >>> record.report(rung=5, trial="a", value=0.3), record.report(rung=5, trial="b", value=0.2)
    ([], [0.3])
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def report(self, *, rung: int, trial: str, value: float) -> list[float]:
        """Record ``trial``'s ``value`` at ``rung``; return the values other trials reported there before it.

        A trial that reports again at a rung (a rerun) replaces its earlier value.
        """
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                others = [entry["value"] for entry in map(json.loads, handle.read().splitlines())
                          if entry["rung"] == rung and entry["trial"] != trial]
                handle.write(json.dumps({"rung": rung, "trial": trial, "value": value}) + "\n")
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return others
