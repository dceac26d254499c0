"""The lesson example teaches its lesson: experiments/book.yaml, swept for real on three splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.spec import load_spec
from pipeline.sweep import SweepOptions, run_sweep

BOOK = Path(__file__).resolve().parents[2] / "experiments" / "book.yaml"

pytestmark = pytest.mark.slow

#: Per trial: the label at the end and the label at the recommended epoch.
LESSON = {
    "d0-adam-binary_crossentropy-lr0.01-bs32-e60-s0": ("high_bias", "high_bias"),  # no hidden layer
    "d1w8-relu-adam-binary_crossentropy-lr0.01-bs32-e60-s0": ("good_fit", "good_fit"),  # right-sized
    "d4w128-relu-adam-binary_crossentropy-lr0.0003-bs32-e60-s0": ("high_variance", "good_fit"),  # deep, wide
    "d4w256-relu-adam-binary_crossentropy-lr0.0003-bs32-e60-s0": ("high_variance", "good_fit"),
}


@pytest.mark.parametrize("split_seed", [0, 1, 2])
def test_the_book_example_shows_bias_a_good_fit_and_variance_that_early_stopping_removes(split_seed, tmp_path):
    spec = load_spec(BOOK)
    spec = spec.model_copy(update={"split": spec.split.model_copy(update={"seed": split_seed})})
    result = run_sweep(spec, SweepOptions(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                                          experiment=f"book-s{split_seed}", workers=2, report=False,
                                          progress=False))
    assert (result.reference_error, result.reference_source) == (0.05, "given")
    labels = {record.config.name(): (record.diagnosis.label, record.diagnosis.label_at_recommended)
              for record in result.records}
    assert labels == LESSON
