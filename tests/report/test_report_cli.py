"""``fitcheck report`` on the command line."""

from __future__ import annotations

from click.testing import CliRunner

from pipeline.cli import main


def test_report_command_writes_the_file(sweep_store, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "--experiment", sweep_store.experiment,
                                       "--tracking-uri", sweep_store.uri, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report: {out}" in result.output and out.stat().st_size > 10_000


def test_unknown_experiment_is_one_line_and_exit_2(sweep_store):
    result = CliRunner().invoke(main, ["report", "--experiment", "nope", "--tracking-uri", sweep_store.uri])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no experiment named 'nope'" in lines[0] and "'synthetic'" in lines[0]


def test_unknown_run_id_exit_2(sweep_store):
    result = CliRunner().invoke(main, ["report", "--sweep-run-id", "0123abcd", "--tracking-uri", sweep_store.uri])
    assert result.exit_code == 2 and "no run '0123abcd'" in result.output
