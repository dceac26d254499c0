"""The diagnostics package stays pure: numpy and pandas only."""

from __future__ import annotations

import subprocess
import sys


def test_importing_diagnostics_loads_no_framework():
    code = ("import sys, pipeline.diagnostics; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"
