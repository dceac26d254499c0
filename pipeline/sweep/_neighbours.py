"""Quote, beside each trial's advice, what the sweep measured of the change it advises, and lead with the
changes it measured to help (those it measured to hurt beyond noise are not advised)."""

from __future__ import annotations

import dataclasses
import math

from pipeline import names
from pipeline.diagnostics import measured_neighbour, neighbour_sentence, order_by_measurement
from pipeline.spec import HIDDEN_LAYER_AXES
from pipeline.sweep._result import SweepResult
from pipeline.sweep._session import Session


def quote_measured_neighbours(session: Session, result: SweepResult) -> int:
    """Add to each diagnosed trial's advice the neighbouring trials of this sweep that made its changes (the same
    configuration but that axis), reorder the changes by what they measured, and log it again; the number of
    trials quoted."""
    metric, n_val = names.task_metric(session.data.task), len(session.data.y_val)
    trials = [(_config(record), record.diagnosis.recommended_val_metric) for record in result.records
              if record.diagnosis is not None and record.diagnosis.recommended_val_metric is not None]
    quoted = 0
    for record in result.records:
        diagnosis = record.diagnosis
        if diagnosis is None or not record.run_id or diagnosis.recommended_val_metric is None:
            continue
        config = _config(record)
        others = [(trial, value) for trial, value in trials if trial is not config and trial != config]
        own, sentences, measured = diagnosis.recommended_val_metric, [], []
        for item in diagnosis.advice_items:
            # from depth 0 the hidden-layer axes take their first values: they are not held equal
            ignore = HIDDEN_LAYER_AXES if item.axis == "depth" and config.get("depth") == 0 else ()
            neighbour = measured_neighbour(item, config, others, ignore=ignore)
            found = neighbour is not None and math.isfinite(neighbour[1])
            measured.append(neighbour[1] if found else None)
            if found:
                sentences.append(neighbour_sentence(item, neighbour, own=own, metric=metric))
        if not sentences:
            continue
        advised, worse = order_by_measurement(diagnosis.advice_items, measured, own=own, n_val=n_val, metric=metric)
        text = diagnosis.advice.replace("; ".join(item.change for item in diagnosis.advice_items),
                                        "; ".join(item.change for item in advised), 1)
        dropped = f" Not advised, measured worse: {'; '.join(item.change for item in worse)}." if worse else ""
        record.diagnosis = dataclasses.replace(diagnosis, advice_items=advised,
                                               advice=f"{text} ({'; '.join(sentences)}.){dropped}")
        session.update_record(record, result.reference_error, plot=False)  # the words change, not the plot
        quoted += 1
    return quoted


def _config(record) -> dict[str, object]:
    """The trial's axes as compared: its training rows stand for its ``train_size``."""
    params = {axis: value for axis, value in record.config.params().items() if axis != "train_size"}
    return {**params, names.N_TRAIN_PARAM: record.n_train}
