"""Run descriptions (pure markdown), short run names and the MLflow UI view of a sweep (pure state and URLs)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import names
from pipeline.runs import (MARKER, MAX_CHARS, SweepDescriptions, TrialLine, merge_description, sweep_description,
                           trial_description)
from pipeline.tracking import TrialRun, run_link
from pipeline.diagnostics import diagnose
from pipeline.search import TrialConfig, expand_grid, varying_axes
from pipeline.spec import GridSpec
from pipeline.tracking._view import sweep_links, view_state, view_tag_value
from pipeline.runs import trial_payload

EPOCHS = np.arange(1, 31)
TRAIN = 0.10 + 0.40 * np.exp(-0.5 * (EPOCHS - 1))
VAL = 0.11 + 0.35 * np.exp(-0.4 * (EPOCHS - 1)) + 0.004 * np.maximum(0, EPOCHS - 10)
CURVES = {names.TRAIN_LOSS: list(TRAIN * 2), names.VAL_LOSS: list(VAL * 2), "train_error": list(TRAIN), "val_error": list(VAL)}


@pytest.fixture(scope="module")
def diagnosis():
    return diagnose(pd.DataFrame({"epoch": EPOCHS, **CURVES}), task=names.BINARY, n_train=500, n_val=2000,
                    reference_error=0.1)


def test_trial_description_says_label_evidence_advice_and_stop(diagnosis):
    text = trial_description(diagnosis)
    assert text.startswith(MARKER)
    assert "### High variance" in text
    assert ("**Evidence** (last epoch, 30): training error 10.0%, validation error 19.0%, reference 10.0% "
            "(given by the user); gap 9.0 pp ± 0.9 pp (counts above 2.0 pp)") in text
    assert "**Advice:** High variance: stop early at epoch 11." in text
    assert ("**Recommended epoch:** 11 of 30: there the smoothed validation error is "
            f"{100 * diagnosis.recommended_val_metric:.1f}% and the fit is good fit.") in text


def test_a_failed_trial_is_described_as_diverged_with_its_error():
    text = trial_description(None, failure="loss became NaN", diverged_epoch=4)
    assert "### Diverged" in text and "the run failed at epoch 4: loss became NaN" in text
    assert "**Advice:** The loss became NaN or infinite. Lower the learning rate" in text


def test_a_trial_that_raised_is_failed_not_diverged():
    text = trial_description(None, failure="ValueError: no such layer")
    assert "### Failed\n" in text and "Diverged" not in text and "NaN" not in text.split("**Advice:**")[0]
    payload = trial_payload({}, task=names.BINARY, title="t", failure="ValueError: no such layer")
    assert payload.tags[names.DIAGNOSIS_TAG] == names.FAILED
    nan = trial_payload({}, task=names.BINARY, title="t", failure="loss diverged (non-finite) at epoch 3",
                        diverged_epoch=3)
    assert nan.tags[names.DIAGNOSIS_TAG] == names.DIVERGED


def test_payload_holds_the_description_and_the_metrics_at_the_recommended_epoch(diagnosis):
    payload = trial_payload(CURVES, task=names.BINARY, title="t", diagnosis=diagnosis)
    assert payload.tags[names.NOTE_TAG] == trial_description(diagnosis)
    assert payload.metrics["recommended_val_error"] == pytest.approx(diagnosis.recommended_val_metric)
    assert payload.metrics["recommended_train_error"] == pytest.approx(TRAIN[10])
    assert payload.tags[names.DIAGNOSIS_TAG] == "high_variance"
    assert payload.tags[names.DIAGNOSIS_AT_RECOMMENDED_TAG] == "good_fit"
    assert payload.tags[names.BIAS_DECIDED_TAG] == "true"
    assert payload.metrics[names.RECOMMENDED_EPOCHS] == 11
    assert payload.metrics["final_val_error"] == pytest.approx(VAL[-1])


def test_sweep_description_counts_links_and_orders_by_label():
    def trial(run_id, name, status, label=None, best=None, at_stop=None, epochs=None):
        tags = {names.DIAGNOSIS_TAG: label} if label else {}
        metrics = {key: value for key, value in (("best_val_error", best), ("recommended_val_error", at_stop),
                                                 (names.RECOMMENDED_EPOCHS, epochs)) if value is not None}
        return TrialRun(run_id, name, run_link("4", run_id), status, tags, metrics, {})

    # what the tracker hands over: plain runs with their links; a failed run without a label is failed
    trials = [trial("r1", "d1-relu", "FINISHED", names.HIGH_VARIANCE, 0.10, 0.12, 7),
              trial("r2", "d2-relu", "FINISHED", names.GOOD_FIT, 0.11, 0.11, 9),
              trial("r3", "d0|x", "FAILED")]
    text = SweepDescriptions().sweep_description(
        trials, task=names.BINARY, reference_error=0.08, reference_source=names.REFERENCE_ESTIMATED,
        view_link="#/experiments/4/runs?v=1", learning_curves=())
    assert "### Sweep of 3 trials: 1 good fit, 1 high variance, 1 failed" in text
    assert "**Best configuration:** [d1-relu](#/experiments/4/runs/r1?workflowType=machine_learning), high variance, best validation error 10.0%" in text
    assert "**Reference error:** 8.0% (estimated:" in text
    assert "[Open the trials grouped by label](#/experiments/4/runs?v=1)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](" in line]
    assert rows == ["| good fit | [d2-relu](#/experiments/4/runs/r2?workflowType=machine_learning) | 11.0% | 9 |",
                    "| high variance | [d1-relu](#/experiments/4/runs/r1?workflowType=machine_learning) | 12.0% | 7 |",
                    "| failed | [d0\\|x](#/experiments/4/runs/r3?workflowType=machine_learning) | n/a |  |"]


def test_a_large_sweep_description_is_cut_to_fit_a_tag():
    trials = [TrialLine(f"run{i:04d}", f"d{i}w256-relu-lr0.001", names.GOOD_FIT, 0.1, 0.1, 5) for i in range(400)]
    text = sweep_description(trials, task=names.BINARY, reference_error=None,
                             reference_source=names.REFERENCE_ASSUMED_ZERO)
    assert len(text) <= MAX_CHARS
    assert text.endswith("more trials: open the view above to see them all.")


def test_a_users_own_description_is_kept_and_ours_replaced():
    ours = MARKER + "new"
    assert merge_description(None, ours) == ours
    assert merge_description("my note", ours) == f"my note\n\n{ours}"
    assert merge_description(merge_description("my note", MARKER + "old"), ours) == f"my note\n\n{ours}"


def test_run_names_name_only_the_axes_that_vary():
    grid = expand_grid(GridSpec(depth=[0, 2], width=[32], activation=["relu", "tanh"], learning_rate=[0.01, 0.1]),
                       task=names.BINARY, skip_invalid=False)
    axes = varying_axes(grid.trials)
    assert axes == ("depth", "activation", "learning_rate")
    assert sorted(trial.name(axes) for trial in grid.trials) == [
        "d0-lr0.01", "d0-lr0.1", "d2-relu-lr0.01", "d2-relu-lr0.1", "d2-tanh-lr0.01", "d2-tanh-lr0.1"]
    one = TrialConfig(2, 32, "relu", "mse", "adam", 0.001, 32, 10, 0)
    assert one.name(varying_axes([one])) == one.name() == "d2w32-relu-adam-mse-lr0.001-bs32-e10-s0"


def test_view_state_is_a_named_envelope_of_compressed_json():
    state = view_state(parent_run_id="abc", task=names.REGRESSION, axes=["depth", "l2"])
    assert state["searchFilter"] == "tags.`mlflow.parentRunId` = 'abc'"
    assert state["orderByKey"] == "metrics.`recommended_val_rmse`" and state["orderByAsc"] is True
    assert state["selectedColumns"] == ["tags.`diagnosis`", "tags.`diagnosis_at_recommended`",
                                        "metrics.`recommended_val_rmse`", "metrics.`recommended_epochs`",
                                        "params.`depth`", "params.`l2`"]
    assert state["groupBy"]["groupByKeys"] == [{"mode": "tag", "groupByData": names.DIAGNOSIS_TAG}]
    assert [chart.get("metricKey") for chart in state["compareRunCharts"]][:4] == [
        "val_rmse", "train_rmse", "recommended_val_rmse", "recommended_epochs"]
    envelope = json.loads(view_tag_value(state, name="fitcheck x", now_ms=5))
    assert (envelope["name"], envelope["createdAt"], envelope["updatedAt"]) == ("fitcheck x", 5, 5)
    prefix, payload = envelope["state"].split(";", 1)
    assert prefix == "deflate"
    assert json.loads(zlib.decompress(base64.b64decode(payload))) == state


def test_links_for_a_server_and_for_a_local_store(tmp_path, monkeypatch):
    server = sweep_links("http://mlflow.example:8080/", "7", "fitcheck-abc")
    assert server.url == ("http://mlflow.example:8080/#/experiments/7/runs?workflowType=machine_learning"
                          "&viewStateShareKey=fitcheck-abc")
    assert server.charts_url == server.url + "&compareRunsMode=CHART" and server.ui_command is None
    monkeypatch.chdir(tmp_path)
    local = sweep_links("sqlite:///mlflow.db", "1", "k")
    assert local.url.startswith("http://127.0.0.1:5000/#/experiments/1/runs?")
    assert local.ui_command == f"mlflow ui --backend-store-uri sqlite:///{Path(tmp_path).resolve() / 'mlflow.db'}"
    assert local.lines()[0] == f"MLflow UI (start it first: {local.ui_command})"


def test_a_learning_curve_smaller_size_is_never_the_best_configuration():
    from pipeline.runs import best_trial

    trials = [TrialLine("r1", "d1-n0.5", names.HIGH_VARIANCE, best_val=0.10, n_train=500),
              TrialLine("r2", "d1", names.HIGH_VARIANCE, best_val=0.12, n_train=1000),
              TrialLine("r3", "old", names.GOOD_FIT, best_val=0.13)]
    assert best_trial(trials).name == "d1"
