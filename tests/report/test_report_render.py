"""The HTML file: one row per trial, everything inline, every user value escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline import names
from pipeline.report import build_report, default_report_path
from pipeline.report._render import duration, number, sort_key
from synthetic_sweep import log_synthetic_sweep


@pytest.fixture(scope="module")
def report_html(sweep_store, tmp_path_factory) -> str:
    path = build_report(sweep_store.uri, experiment_name=sweep_store.experiment,
                        out=tmp_path_factory.mktemp("html") / "report.html")
    return path.read_text(encoding="utf-8")


def _curve_payload(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="fitcheck-curves">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_leaderboard_has_one_row_per_trial(report_html, sweep_store):
    body = report_html.split('<table id="leaderboard-table">')[1].split("</table>")[0]
    assert body.count("<tr data-run=") == sweep_store.n_trials
    assert len(_curve_payload(report_html)["trials"]) == sweep_store.n_trials


def test_sections_and_figures(report_html):
    for anchor in ("best", "leaderboard", "curves", "bias-variance", "advice", "grid"):
        assert f'id="{anchor}"' in report_html
    # capacity (depth) + one per other varying axis but seed: width, activation, optimizer, learning_rate, l2, dropout
    assert report_html.count('src="data:image/svg+xml;base64,') == 7
    assert "Majority label: depth × optimizer" in report_html
    assert "badge-diverged" in report_html and "What to try next" in report_html


def test_self_contained(report_html):
    assert not re.search(r'<(link|iframe|object|embed)\b', report_html)
    assert not re.search(r'src="(?!data:)', report_html)
    assert "http://" not in report_html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        '"http://www.w3.org/2000/svg"', "")
    assert "@import" not in report_html and "url(" not in report_html


def test_curve_payload_is_plain_json_without_nan(report_html):
    payload = _curve_payload(report_html)
    assert payload["metric"] == "error"
    lengths = {}
    for trial in payload["trials"]:
        assert set(trial["curves"]) == {"train_error", "val_error", names.TRAIN_LOSS, names.VAL_LOSS}
        steps, values = trial["curves"]["val_error"]
        assert steps == list(range(1, len(values) + 1)) and all(value == value for value in values)
        lengths[trial["name"]] = len(steps)
    assert lengths.pop("trial-0018") == 7  # diverged: NaN at epoch 8, curves end at epoch 7
    assert set(lengths.values()) == {30}


def test_user_values_are_escaped(xss_store, tmp_path):
    html = build_report(xss_store.uri, experiment_name=xss_store.experiment, out=tmp_path / "x.html").read_text(
        encoding="utf-8")
    assert xss_store.experiment == "<script>alert(1)</script>" and "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    payload = re.search(r'id="fitcheck-curves">(.*?)</script>', html, re.S).group(1)
    assert "<" not in payload and len(json.loads(payload)["trials"]) == xss_store.n_trials


def test_default_path_and_mlflow_links_only_for_http(report_html, store_uri, tmp_path, monkeypatch):
    assert "/#/experiments/" not in report_html
    assert default_report_path("my exp/<1>") == Path("reports/my_exp_1+d4d9d8deba87.html")  # slug + name hash
    assert default_report_path("quickstart") == Path("reports", "quickstart.html")
    log_synthetic_sweep(store_uri, "no-trials-yet", n_trials=0)
    monkeypatch.chdir(tmp_path)
    path = build_report(store_uri, experiment_name="no-trials-yet")
    assert path == Path("reports", "no-trials-yet.html") and (tmp_path / path).is_file()
    html = path.read_text(encoding="utf-8")  # a sweep with no trial yet still renders
    assert "<tr data-run=" not in html and 'id="leaderboard-table"' in html


def test_filters():
    assert number(0.123456) == "0.1235" and number(12.0) == "12" and number(None) == "—"
    assert number(float("nan")) == "—" and number("relu") == "relu"
    assert sort_key(3) == "3.0" and sort_key(None) == "" and sort_key("adam") == "adam"
    assert duration(4.24) == "4.2 s" and duration(75) == "1 min 15 s" and duration(3725) == "1 h 2 min"


def test_regression_sweep_uses_rmse(store_uri, tmp_path):
    grid = {"depth": [1, 4], "width": [64], "optimizer": ["adam"], "learning_rate": [0.01], "epochs": [8]}
    log_synthetic_sweep(store_uri, "regression", grid=grid, task=names.REGRESSION)
    html = build_report(store_uri, experiment_name="regression", out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "best val rmse" in html and "reference rmse" in html and "best val error" not in html
    trials = _curve_payload(html)["trials"]
    assert len(trials) == 2
    assert all(set(trial["curves"]) == {"train_rmse", "val_rmse", names.TRAIN_LOSS, names.VAL_LOSS} for trial in trials)
