"""The MLflow UI's view of a sweep: the trials grouped by label, and the URL that opens it.

MLflow 3's experiment page restores a view from the experiment tag ``mlflow.sharedViewState.<key>``
when opened with ``?viewStateShareKey=<key>`` (``useSharedExperimentViewState`` in its UI; the
"share" button writes the same tag). MLflow 3.17 reads the tag as a saved-view envelope
``{"name", "createdAt", "updatedAt", "state"}`` whose ``state`` is JSON, plain or ``deflate;`` +
base64 of zlib, and lists the view by its name. It restores the search facets and the table and chart
settings, but not which parent rows are expanded, so the view searches for the sweep's child runs
(which shows them without their parent) and groups them by the ``diagnosis`` tag.

Pure: builds the state and the URLs (of the view and of a run's page); :meth:`SweepTracker.publish_sweep` writes the tag.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import names

#: The MLflow UI's query for its machine-learning layout (runs, models), rather than its GenAI one.
ML_LAYOUT = "workflowType=machine_learning"
#: Where ``mlflow ui`` serves by default.
LOCAL_UI = "http://127.0.0.1:5000"
_RUN_NAME_COLUMN = "attributes.`Run Name`"
_SECTION = "fitcheck-metrics"
#: How many trials a chart draws (MLflow's default is 10).
_MAX_TRIALS_DRAWN = 1000


def view_key(parent_run_id: str) -> str:
    """The share key of a sweep's view (one per sweep, so a resumed sweep updates its own)."""
    return f"fitcheck-{parent_run_id}"


def _column(kind: str, name: str) -> str:
    """A column as MLflow's runs table names it: ``metrics.`val_error```."""
    return f"{kind}.`{name}`"


def view_state(*, parent_run_id: str, task: str, axes: Sequence[str]) -> dict:
    """The experiment page's state that shows one sweep's trials, grouped by label.

    Sorted by the validation metric at the recommended epoch; columns for the label, the label
    had training stopped at the recommended epoch, the validation metric there, the recommended
    epochs and ``axes`` (the grid axes that vary); the chart view draws every trial on its own.
    """
    sort_metric = _column("metrics", names.summary_metric(names.RECOMMENDED_VAL, task))
    labels = [_column("tags", names.DIAGNOSIS_TAG), _column("tags", names.DIAGNOSIS_AT_RECOMMENDED_TAG)]
    epochs = _column("metrics", names.RECOMMENDED_EPOCHS)
    params = [_column("params", axis) for axis in axes]
    columns = [*labels, sort_metric, epochs, *params]
    widths = {_RUN_NAME_COLUMN: 240, labels[0]: 180, labels[1]: 200, sort_metric: 180, epochs: 160,
              **{param: 110 for param in params}}
    return {
        "searchFilter": f"tags.`{names.PARENT_RUN_TAG}` = '{parent_run_id}'",
        "orderByKey": sort_metric,
        "orderByAsc": True,
        "selectedColumns": columns,
        "columnOrder": [_RUN_NAME_COLUMN, *columns],
        "columnWidths": widths,
        "groupBy": {"aggregateFunction": "min", "groupByKeys": [{"mode": "tag", "groupByData": names.DIAGNOSIS_TAG}]},
        "runsHiddenMode": "SHOW_ALL",
        "useGroupedValuesInCharts": False,
        "compareRunSections": [{"uuid": _SECTION, "name": "Model metrics", "display": True, "isReordered": True,
                                "deleted": False, "isGenerated": False}],
        "compareRunCharts": _charts(task),
    }


def _charts(task: str) -> list[dict]:
    """The chart view's first charts, the ones that compare trials; MLflow adds one per other metric after them.

    Validation and training curves per epoch, the validation metric and the epoch at which to stop,
    and training against validation metric at that epoch: a trial's distance above the diagonal
    is its variance gap, its distance from the left its bias.
    """
    metric = names.task_metric(task)
    at_stop_val = names.summary_metric(names.RECOMMENDED_VAL, task)
    at_stop_train = names.summary_metric(names.RECOMMENDED_TRAIN, task)

    def card(kind: str, uuid: str, **fields) -> dict:
        return {"uuid": f"fitcheck-{uuid}", "type": kind, "metricSectionId": _SECTION, "deleted": False,
                "isGenerated": False, "runsCountToCompare": _MAX_TRIALS_DRAWN, **fields}

    def line(name: str) -> dict:
        return card("LINE", name, metricKey=name, selectedMetricKeys=[name], displayName=name, lineSmoothness=0,
                    xAxisKey="step", xAxisScaleType="linear", scaleType="linear", selectedXAxisMetricKey="",
                    yAxisKey="metric", yAxisExpressions=[], ignoreOutliers=False, useGlobalXaxisKey=False,
                    useGlobalLineSmoothing=False, range={})

    def bar(name: str) -> dict:
        return card("BAR", name, metricKey=name, displayName=name)

    return [
        line(names.val_curve(metric)), line(names.train_curve(metric)), bar(at_stop_val), bar(names.RECOMMENDED_EPOCHS),
        card("SCATTER", "bias-variance", xaxis={"key": at_stop_train, "type": "METRIC"},
             yaxis={"key": at_stop_val, "type": "METRIC"}),
    ]


def view_tag_value(state: dict, *, name: str, now_ms: int) -> str:
    """The tag value MLflow 3.17's UI reads: a named envelope around the compressed state."""
    compressed = "deflate;" + base64.b64encode(zlib.compress(json.dumps(state).encode())).decode()
    return json.dumps({"name": name, "createdAt": now_ms, "updatedAt": now_ms, "state": compressed})


@dataclass(frozen=True)
class SweepLinks:
    """Where to see a sweep in the MLflow UI, and the command that starts the UI when none is serving."""

    url: str
    ui_command: str | None = None

    @property
    def charts_url(self) -> str:
        """The same view in the chart mode: each trial's curves and summary metrics side by side."""
        return f"{self.url}&compareRunsMode=CHART"

    def lines(self) -> list[str]:
        """What to print at the end of a sweep."""
        start = [f"MLflow UI (start it first: {self.ui_command})"] if self.ui_command else ["MLflow UI"]
        return [*start, f"  trials by label: {self.url}", f"  charts:          {self.charts_url}"]


def ui_base(tracking_uri: str) -> tuple[str, str | None]:
    """The UI's address for a tracking URI and, for a store no server serves, the ``mlflow ui`` command.

    A relative SQLite path is made absolute so the command works from any folder.
    """
    if tracking_uri.lower().startswith(("http://", "https://")):
        return tracking_uri.rstrip("/"), None
    store = tracking_uri
    if tracking_uri.startswith("sqlite:///"):
        store = f"sqlite:///{Path(tracking_uri.removeprefix('sqlite:///')).resolve()}"
    return LOCAL_UI, f"mlflow ui --backend-store-uri {store}"


def sweep_links(tracking_uri: str, experiment_id: str, key: str) -> SweepLinks:
    """The URL that opens the shared view ``key`` of an experiment's runs in the machine-learning layout."""
    base, command = ui_base(tracking_uri)
    return SweepLinks(f"{base}/{relative_view_link(experiment_id, key)}", command)


def relative_view_link(experiment_id: str, key: str) -> str:
    """The view's address inside the UI (``#/experiments/...``), for links in run descriptions."""
    return f"#/experiments/{experiment_id}/runs?{ML_LAYOUT}&viewStateShareKey={key}"


def run_link(experiment_id: str, run_id: str) -> str:
    """A run's page inside the MLflow UI, for a description's links."""
    return f"#/experiments/{experiment_id}/runs/{run_id}?{ML_LAYOUT}"
