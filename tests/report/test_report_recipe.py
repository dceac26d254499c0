"""The report of a recipe search tells the path of its rounds: one row per round (trials, why, best so far, why it
stopped) and a chart of the best validation error so far against trials spent; a plain sweep's report has none."""

from __future__ import annotations

import html
import json
import re
import uuid

import pytest
from mlflow import MlflowClient
from synthetic_sweep import log_synthetic_sweep

from pipeline import SweepOptions, names, run_sweep
from pipeline.report import build_report

XSS = "<script>alert(1)</script>"


def _spec(experiment: str, search: dict | None = None) -> dict:
    spec = {"experiment": experiment, "dataset": {"synthetic": "moons", "n_samples": 200, "noise": 0.25, "seed": 0},
            "split": {"validation": 0.3, "seed": 0}, "reference_error": 0.0,
            "grid": {"depth": [0, 1, 2], "width": [4, 8], "learning_rate": [0.01], "epochs": [3]}}
    return {**spec, "search": search} if search else spec


def _section(page: str) -> str | None:
    found = re.search(r'<section id="recipe-path".*?</section>', page, re.DOTALL)
    return found.group(0) if found else None


def _rows(section: str) -> list[tuple[int, str, str]]:
    """Each row of the path table: its round number, its trials cell and its text (tags dropped, unescaped)."""
    rows = re.findall(r'<tr data-round="(\d+)">(.*?)</tr>', section, re.DOTALL)
    return [(int(number), re.search(r'class="num n-trials">(\d+)<', cells).group(1),
             " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cells)).split())) for number, cells in rows]


@pytest.mark.slow
def test_a_recipe_reports_its_path_and_a_grid_sweep_does_not(store_uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the report is written to reports/<experiment>.html
    options = SweepOptions(tracking_uri=store_uri, executor="inprocess", progress=False, report=True)
    result = run_sweep(_spec(f"recipe-{uuid.uuid4().hex[:8]}", {"method": "recipe", "rounds": 2, "budget": 6}),
                       options)
    assert result.rounds and result.report_path is not None, result.ending_errors
    section = _section(result.report_path.read_text(encoding="utf-8"))
    assert section is not None and "The recipe's path" in section

    rows = _rows(section)
    assert [number for number, _, _ in rows] == [done.number for done in result.rounds]
    for (_, n_trials, text), done in zip(rows, result.rounds):
        assert n_trials == str(done.n_trials)
        assert all(" ".join(why.split()) in text for why in done.why)
        if done.best_name:
            assert done.best_name in text
    assert " ".join(result.stopped.split()) in rows[-1][2]
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="best validation error so far', section)

    grid = run_sweep(_spec(f"grid-{uuid.uuid4().hex[:8]}"), options)
    page = grid.report_path.read_text(encoding="utf-8")
    assert _section(page) is None and 'href="#recipe-path"' not in page


def _log_round(client: MlflowClient, run_id: str, number: int, previous: str | None, record: dict | None) -> None:
    client.set_tag(run_id, names.RECIPE_ROUND_TAG, str(number))
    if previous:
        client.set_tag(run_id, names.PREVIOUS_SWEEP_TAG, previous)
    if record is not None:
        client.log_text(run_id, json.dumps(record), names.RECIPE_ROUND_FILE)


def test_the_path_walks_the_rounds_escapes_their_words_and_survives_a_missing_record(store_uri, tmp_path):
    """Rounds logged without training: round 1 without a readable record, round 2 with words that are markup."""
    experiment = f"rounds-{uuid.uuid4().hex[:8]}"
    first = log_synthetic_sweep(store_uri, experiment, n_trials=4, seed=1)
    last = log_synthetic_sweep(store_uri, experiment, n_trials=3, seed=2)
    client = MlflowClient(store_uri)
    _log_round(client, first, 1, None, None)
    _log_round(client, last, 2, first, {
        "number": 2, "parent_run_id": last, "n_trials": 3, "spent": 7, "why": [f"widen {XSS}"],
        "best_name": XSS, "best_value": 0.1, "best_label": names.GOOD_FIT, "stopped": f"rounds spent {XSS}",
        "left": [], "a_field_a_later_fitcheck_adds": 1})

    page = build_report(store_uri, sweep_run_id=last, out=tmp_path / "r.html").read_text(encoding="utf-8")
    section = _section(page)
    assert XSS not in page and html.escape(XSS) in section
    rows = _rows(section)
    assert [(number, n_trials) for number, n_trials, _ in rows] == [(1, "4"), (2, "3")]
    assert "not recorded" in rows[0][2] and f"widen {XSS}" in rows[1][2] and f"rounds spent {XSS}" in rows[1][2]
    assert section.count("data:image/svg+xml;base64,") == 1

    plain = build_report(store_uri, sweep_run_id=first, out=tmp_path / "p.html").read_text(encoding="utf-8")
    assert _rows(_section(plain)) == [(1, "4", rows[0][2])]  # a round's report tells the path up to it
