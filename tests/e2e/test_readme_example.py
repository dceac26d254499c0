"""The README's ``FitDiagnostics`` example, run exactly as written, so it cannot drift from the code."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

README = Path(__file__).resolve().parents[2] / "README.md"
PARAGRAPH = "**Your own training code.**"


def _example() -> str:
    """The first Python block after the paragraph that introduces ``FitDiagnostics``."""
    text = README.read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(PARAGRAPH):], flags=re.DOTALL).group(1)


@pytest.mark.slow
def test_the_fit_diagnostics_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything it writes lands here
    namespace: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(_example(), f"{README}:{PARAGRAPH}", "exec"), namespace)
    callback, diagnosis, model = namespace["callback"], namespace["diagnosis"], namespace["model"]
    # stopped online, kept the recommended epoch, and described the model it kept
    assert callback.stopped_epoch is not None and callback.restored_epoch == diagnosis.recommended_epochs
    kept_val_error = 1 - model.evaluate(namespace["X_val"], namespace["y_val"], verbose=0)[1]
    assert diagnosis.val_metric == pytest.approx(kept_val_error, abs=1e-6)
    assert "stop early" not in diagnosis.advice.lower()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{diagnosis.label}: stopped after epoch {callback.stopped_epoch}, kept epoch "
                                 f"{callback.restored_epoch}") and printed[1] == diagnosis.advice
    # the suggested EarlyStopping watched a metric the plain Keras run logged
    monitor = namespace["early_stopping"].monitor
    assert monitor == diagnosis.early_stopping["monitor"] and monitor in namespace["history"].history
    assert not [w for w in caught if "which is not available" in str(w.message)]


NOTEBOOK = "## Your data and your model, from a notebook"


@pytest.mark.slow
def test_the_notebook_example_runs_as_written(tmp_path):
    """The README's notebook example, as a notebook runs it (code with no file, ``python -c``): a builder
    defined there reaches the worker processes, and every trial gets a label and a recommended epoch."""
    import json
    import shutil
    import subprocess
    import sys

    text = README.read_text()
    block = re.search(r"```python\n(.*?)```", text[text.index(NOTEBOOK):], flags=re.DOTALL).group(1)
    (tmp_path / "experiments" / "data").mkdir(parents=True)
    shutil.copy(README.parent / "experiments" / "data" / "churn.csv", tmp_path / "experiments" / "data")
    code = block + "\nprint(json.dumps(result.trials[['label', 'recommended_epochs']].astype(str).values.tolist()))\n"
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) == 8
    assert all(label in ("good_fit", "high_bias", "high_variance", "high_bias_high_variance") for label, _ in rows)
    assert all(int(epochs) >= 1 for _, epochs in rows)
    assert (tmp_path / "mlflow.db").is_file() and list((tmp_path / "reports").glob("*.html"))
