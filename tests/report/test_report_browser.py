"""The report in a real headless Chromium: one row per trial, sorting, label filter, curves, no errors."""

from __future__ import annotations

import shutil

import pytest

from pipeline.report import build_report

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_report(browser):
    """Open a report file; collect console errors, page errors, dialogs and any network request."""
    pages = []

    def open_(path):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.problems, page.requests = [], []
        page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("#curve-grid .trial-card svg polyline")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def _column(page, key):
    index = page.eval_on_selector_all("#leaderboard-table thead th", "ths => ths.map(th => th.dataset.key)").index(key)
    return page.eval_on_selector_all(
        "#leaderboard-table tbody tr:not([hidden])",
        f"rows => rows.map(row => row.cells[{index}].getAttribute('data-sort'))")


def test_leaderboard_sort_filter_and_curves(sweep_store, open_report, tmp_path):
    path = build_report(sweep_store.uri, experiment_name=sweep_store.experiment, out=tmp_path / "report.html")
    page = open_report(path)
    assert page.locator("#leaderboard-table tbody tr").count() == sweep_store.n_trials

    page.click('#leaderboard-table th[data-key="depth"]')
    depths = [float(value) for value in _column(page, "depth")]
    assert depths == sorted(depths) and depths[0] < depths[-1]
    assert page.get_attribute('#leaderboard-table th[data-key="depth"]', "aria-sort") == "ascending"
    page.click('#leaderboard-table th[data-key="depth"]')
    assert [float(value) for value in _column(page, "depth")] == sorted(depths, reverse=True)
    page.click('#leaderboard-table th[data-key="optimizer"]')
    optimizers = _column(page, "optimizer")
    assert optimizers == sorted(optimizers)

    page.select_option("#label-filter", "diverged")
    assert _column(page, "label") == ["diverged"]  # the synthetic sweep's one diverged trial
    assert page.locator("#leaderboard-table tbody tr:visible").count() == 1
    assert page.inner_text("#row-count") == f"1 of {sweep_store.n_trials} trials"
    assert page.locator("#curve-grid .trial-card").count() == 1
    page.select_option("#label-filter", "")
    assert page.locator("#leaderboard-table tbody tr:visible").count() == sweep_store.n_trials

    assert page.locator("#curve-grid .trial-card").count() == 12
    page.click("#page-next")
    assert page.locator("#curve-grid .trial-card").count() == sweep_store.n_trials - 12
    last_row = page.locator("#leaderboard-table tbody tr").nth(sweep_store.n_trials - 1)
    last_row.locator("td").nth(1).click()
    run_id = last_row.get_attribute("data-run")
    assert page.locator(f"#curves-{run_id} polyline").count() == 4

    page.select_option("#label-filter", "")
    page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert page.problems == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests), page.requests


def test_script_in_names_stays_text(xss_store, open_report, tmp_path):
    path = build_report(xss_store.uri, experiment_name=xss_store.experiment, out=tmp_path / "xss.html")
    page = open_report(path)
    assert page.inner_text("#experiment-name") == xss_store.experiment
    assert page.inner_text("#dataset-name") == xss_store.experiment
    assert page.locator("#leaderboard-table tbody tr").count() == xss_store.n_trials
    assert xss_store.experiment in page.inner_text("#leaderboard-table")
    page.screenshot(path=tmp_path / "xss.png", full_page=True)
    assert page.problems == []
