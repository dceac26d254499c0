"""What the sweep's writer asks of whoever words its descriptions: trial runs in, markdown out.

Tracking reads runs and knows where the MLflow UI shows them; it never words a description. A
:class:`SweepTexts` (``pipeline.runs.SweepDescriptions``) is handed to :class:`SweepTracker` when it is
made, and turns plain :class:`TrialRun` values and links into the text the tracker writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TrialRun:
    """A sweep's trial run as plain values, with the address of its page in the MLflow UI."""

    run_id: str
    name: str
    link: str
    status: str
    tags: Mapping[str, str]
    metrics: Mapping[str, float]
    params: Mapping[str, str]


class SweepTexts(Protocol):
    """Words a sweep's descriptions (links are relative to the MLflow UI, ``#/experiments/...``)."""

    def sweep_description(self, trials: Sequence[TrialRun], *, task: str, reference_error: float | None,
                          reference_source: str, view_link: str,
                          learning_curves: Sequence[tuple[str, str | None, str]]) -> str:
        """The parent run's description; ``learning_curves`` are (configuration, link to its run or
        None, verdict in words)."""

    def launcher_description(self, *, sweep_name: str, sweep_link: str, experiment_name: str,
                             view_link: str) -> str:
        """The description of the run ``mlflow run`` made, which launched the sweep."""
