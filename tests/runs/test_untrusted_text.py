"""Untrusted text (an exception's message) reaches every description, tag and terminal line as literal text."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pipeline import names
from pipeline.runs import markdown_text, one_line, trial_payload
from pipeline.runs._descriptions import FAILED_ADVICE

HOSTILE = ('boom <img src=x onerror=alert(1)> ![pixel](http://evil.example/p.png) [click](http://evil.example)\n'
           '# Heading\x1b[2J\x1b]0;title\x07 | table | `code` **bold**\r\nlast')


def _fitcheck_part(description: str) -> str:
    return description.split("**Evidence:**", 1)[1]


def test_a_builder_exception_is_literal_text_in_the_description_and_the_error_tag():
    payload = trial_payload({}, task=names.BINARY, title="t", failure=f"ValueError: {HOSTILE}")
    description = payload.tags[names.NOTE_TAG]
    evidence = _fitcheck_part(description).split("\n\n")[0]
    for raw in ("<", "![", "](", "\x1b", "\r"):
        assert raw not in evidence
    assert "\n" not in evidence
    tag = payload.tags[names.ERROR_TAG]
    assert "\x1b" not in tag and "\n" not in tag and "\r" not in tag and tag.startswith("ValueError: boom")


def test_an_exception_is_advised_as_an_error_not_as_a_nan_loss():
    description = trial_payload({}, task=names.BINARY, title="t", failure="RuntimeError: no")
    text = description.tags[names.NOTE_TAG]
    assert "failed with an error" in text and FAILED_ADVICE in text and "NaN or infinite" not in text.replace(
        FAILED_ADVICE, "")
    diverged = trial_payload({}, task=names.BINARY, title="t", failure="loss diverged (non-finite) at epoch 2",
                             diverged_epoch=2).tags[names.NOTE_TAG]
    assert "NaN or infinite" in diverged and "at epoch 2" in diverged


@given(st.text(max_size=2000))
def test_any_text_becomes_one_bounded_line_without_markup(text):
    line = markdown_text(text)
    assert len(one_line(text)) <= 500
    assert not any(char in line for char in "\n\r\x1b<>")
    for pair in ("![", "]("):
        assert pair not in line.replace("\\[", "").replace("\\]", "").replace("\\(", "").replace("\\!", "")


@pytest.mark.parametrize("text, shown", [("a\x1b[31mred\x1b[0m", "ared"), ("tab\there", "tab here"),
                                         ("\u202eevil", "evil")])
def test_control_and_ansi_codes_are_removed(text, shown):
    assert one_line(text) == shown


def test_the_cli_prints_a_failed_trial_on_one_line(capsys):
    from pipeline.cli._sweep import _print_summary
    from pipeline.sweep import SweepResult
    from pipeline.sweep._result import TrialRecord
    from pipeline.training import TrialOutcome

    class Unranked(SweepResult):
        all_records = []  # the ranking of a config-less record is not this test's

    record = TrialRecord(0, None, "k", "trial", 1, outcome=TrialOutcome(0, "FAILED", error=HOSTILE))
    _print_summary(Unranked("e", "p", names.BINARY, 1, 0, 0, records=[record]))
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "\x1b" not in err and "last" in failed[0]
