"""The MLflow UI as a practitioner opens it: a real sweep against a real ``mlflow server``, the URL it
prints opened in headless Chromium, and the trials, labels, charts and run descriptions on screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline import names

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "specs" / "tiny.yaml"
FITCHECK = str(Path(sys.executable).with_name("fitcheck"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def sweep(mlflow_server, tmp_path_factory):
    """The tiny sweep against the server; its output, the trial runs and the parent run."""
    folder = tmp_path_factory.mktemp("ui-sweep")
    experiment = f"ui-{uuid.uuid4().hex[:6]}"
    result = subprocess.run([FITCHECK, "sweep", str(TINY), "--workers", "2", "--tracking-uri", mlflow_server.uri,
                             "--experiment", experiment, "--no-progress", "--no-report"],
                            cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(mlflow_server.uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    parent = client.search_runs([experiment_id], f"tags.`{names.ROLE_TAG}` = '{names.ROLE_SWEEP}'")[0]
    trials = client.search_runs([experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{parent.info.run_id}'")
    return result.stdout, parent, trials, experiment_id


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go, to look at: ``$FITCHECK_SCREENSHOTS`` or a temporary folder."""
    folder = Path(os.environ.get("FITCHECK_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(mlflow_server):
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1800, "height": 1000})
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        browser.close()


def _printed_url(stdout: str, what: str) -> str:
    match = re.search(rf"^\s*{what}:\s+(\S+)$", stdout, re.MULTILINE)
    assert match, stdout
    return match.group(1)


def _close_assistant(page) -> None:
    """MLflow 3.17 opens its assistant panel on a first visit; close it as a user would."""
    close = page.get_by_role("button", name=re.compile("close", re.IGNORECASE))
    if close.count():
        close.first.click()


def test_the_sweep_prints_one_url_and_none_of_mlflows_view_run_lines(sweep, mlflow_server):
    stdout, parent, _, experiment_id = sweep
    assert "View run" not in stdout and "View experiment" not in stdout
    url = _printed_url(stdout, "trials by label")
    assert url == (f"{mlflow_server.uri}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
                   f"&viewStateShareKey=fitcheck-{parent.info.run_id}")


def test_the_url_opens_the_trials_grouped_by_label(sweep, page, shots):
    stdout, _, trials, _ = sweep
    page.goto(_printed_url(stdout, "trials by label"))
    page.wait_for_selector(f"text={trials[0].info.run_name}", timeout=60_000)
    _close_assistant(page)
    page.wait_for_selector('.ag-header-cell[col-id="params.`loss`"]')  # drawn once the table has the room
    page.screenshot(path=str(shots / "mlflow-view-table.png"))
    text = page.inner_text("body")
    for trial in trials:
        assert trial.info.run_name in text
        assert f"Group: {trial.data.tags[names.DIAGNOSIS_TAG]}" in text
    headers = page.eval_on_selector_all(".ag-header-cell", "cells => cells.map(c => c.getAttribute('col-id'))")
    for column in ("tags.`diagnosis`", "metrics.`recommended_val_error`", "metrics.`recommended_epochs`",
                   "params.`depth`", "params.`activation`", "params.`loss`"):
        assert column in headers
    assert "params.`optimizer`" not in headers  # one value across the sweep: no column
    assert f"{len(trials)} matching runs" in text  # the trials only, not their parent
    assert not page.errors


def test_the_charts_url_opens_on_the_charts_that_compare_trials(sweep, page, shots):
    stdout, *_ = sweep
    page.goto(_printed_url(stdout, "charts"))
    card = '[data-testid="experiment-view-compare-runs-card"]'
    page.wait_for_selector(card, timeout=60_000)
    _close_assistant(page)
    page.screenshot(path=str(shots / "mlflow-view-charts.png"))
    titles = page.eval_on_selector_all(card, "cards => cards.map(card => card.innerText.split('\\n')[0])")
    assert titles[:4] == ["val_error", "train_error", "recommended_val_error", "recommended_epochs"]
    assert "train_loss_running" in titles[5:]  # every other metric follows
    assert not page.errors


def test_run_pages_describe_the_diagnosis_and_the_sweep(sweep, mlflow_server, page, shots):
    _, parent, trials, experiment_id = sweep
    trial = trials[0]
    page.goto(f"{mlflow_server.uri}/#/experiments/{experiment_id}/runs/{trial.info.run_id}")
    page.wait_for_selector("text=Evidence", timeout=60_000)
    text = page.inner_text("body")
    label = names.LABEL_TITLES[trial.data.tags[names.DIAGNOSIS_TAG]]
    assert label.capitalize() in text and "Advice:" in text and "Recommended epoch:" in text

    page.goto(f"{mlflow_server.uri}/#/experiments/{experiment_id}/runs/{parent.info.run_id}")
    page.wait_for_selector(f"text=Sweep of {len(trials)} trials", timeout=60_000)
    page.get_by_text("Show more").first.click()
    page.screenshot(path=str(shots / "mlflow-sweep-run.png"))
    with page.context.expect_page() as opened:  # MLflow opens a description's links in a new tab
        page.get_by_role("link", name="Open the trials grouped by label").click()
    view = opened.value
    view.wait_for_selector(f"text={len(trials)} matching runs", timeout=60_000)
    assert f"viewStateShareKey=fitcheck-{parent.info.run_id}" in view.url
    view.close()
    assert not page.errors


def test_an_exceptions_html_markdown_and_ansi_show_as_literal_text_on_the_run_page(mlflow_server, page, shots):
    """A failed trial's description as fitcheck writes it, rendered by the MLflow UI: the message's image, link,
    heading and tags are shown as the characters they are, and nothing is fetched or opened."""
    from pipeline.runs import trial_payload
    from pipeline.tracking import RunWriter

    hostile = ('boom <img src=x onerror="window.hacked=1"> ![pixel](http://evil.example/p.png) '
               '[click](http://evil.example/x) www.evil.example/w me@evil.example\n# Heading\x1b[2J <b>bold</b> **strong** `code`\r\nlast')
    client = MlflowClient(mlflow_server.uri)
    experiment_id = client.create_experiment(f"hostile-{uuid.uuid4().hex[:6]}")
    run_id = client.create_run(experiment_id, run_name="failed-trial").info.run_id
    payload = trial_payload({}, task=names.BINARY, title="failed-trial", failure=f"ValueError: {hostile}")
    RunWriter(mlflow_server.uri, client).write(run_id, metrics=payload.metrics, tags=payload.tags, artifacts={})
    client.set_terminated(run_id, "FAILED")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{mlflow_server.uri}/#/experiments/{experiment_id}/runs/{run_id}")
    page.wait_for_selector("text=Evidence", timeout=60_000)
    page.screenshot(path=str(shots / "mlflow-hostile-failure.png"))
    text = page.inner_text("body")
    evidence = text[text.index("Evidence:"):text.index("Advice:")]  # the description, not the tags beside it
    assert evidence.split(": ", 1)[1].strip() == (
        'the run failed with an error: ValueError: boom <img src=x onerror="window.hacked=1"> '
        "![pixel](http://evil.example/p.png) [click](http://evil.example/x) www.evil.example/w me@evil.example # Heading <b>bold</b> **strong** "
        "`code` last")
    assert "### Failed" not in text and "Failed" in text
    assert page.locator('img[src="x"]').count() == 0 and page.locator('a[href*="evil.example"]').count() == 0
    assert page.locator("h1:has-text('Heading'), h2:has-text('Heading'), b:has-text('bold')").count() == 0
    assert page.evaluate("window.hacked === undefined")
    assert not [url for url in requests if "evil.example" in url]
    assert not page.errors
