"""fitcheck's own warnings reach the terminal as its errors do: ``fitcheck: warning: ...``, one line each."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, sys
from pipeline.cli import main
sys.argv = ["fitcheck", "report", "--help"]
try:
    main()
except SystemExit:
    pass
logging.getLogger("pipeline.sweep._session").warning("MLflow unavailable: %s", "the store is locked")
logging.getLogger("pipeline.sweep._session").info("not shown without --verbose")
logging.getLogger("somelibrary").warning("a library's own line")
"""


def test_fitchecks_warnings_are_prefixed_and_other_libraries_lines_are_not():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["fitcheck: warning: MLflow unavailable: the store is locked",
                                          "a library's own line"]
