"""The next round of a sweep: from its best configurations and their diagnoses, the spec of the next sweep and why.

:mod:`._next` plans a round as a pure function (the previous spec and finished trials in, the next spec and its
reasons out), with :mod:`._configs` for configurations; :mod:`._first` a recipe search's first round and
:mod:`._rounds` its rounds as data and when it stops; :mod:`._previous` reads a finished sweep back through
:class:`pipeline.tracking.TrackingReader`; :mod:`._write` writes the spec file (``fitcheck next``,
:func:`write_next_round`). It never trains and never writes to MLflow.

Never imports: mlflow, tensorflow, keras, pipeline.training, pipeline.executors, pipeline.sweep, pipeline.report, pipeline.cli.
"""

from __future__ import annotations

from pipeline.recipe._first import FIRST_ROUND_SIZE, first_round, grid_axes
from pipeline.recipe._next import (
                                   ITEMS_PER_TRIAL,
                                   MAX_NEW,
                                   TOP,
                                   FinishedTrial,
                                   NextRound,
                                   Reason,
                                   best_configurations,
                                   next_round,
)
from pipeline.recipe._previous import PreviousSweep, read_previous_sweep
from pipeline.recipe._rounds import NOTHING_LEFT, Round, nothing_left, stop_reason
from pipeline.recipe._write import write_next_round

__all__ = ["FIRST_ROUND_SIZE", "ITEMS_PER_TRIAL", "MAX_NEW", "NOTHING_LEFT", "TOP", "FinishedTrial", "NextRound",
           "PreviousSweep", "Reason", "Round", "best_configurations", "first_round", "grid_axes", "next_round",
           "nothing_left", "read_previous_sweep", "stop_reason", "write_next_round"]
