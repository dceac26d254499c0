"""The frozen result of a diagnosis and its JSON and MLflow views."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`~pipeline.diagnostics.diagnose` concluded about one run, with its evidence.

    Metric values are in the task metric: error rate (1 - accuracy) for classification,
    RMSE for regression. ``None`` means not defined (e.g. for a run that diverged at once).
    """

    label: str
    label_at_recommended: str
    recommended_epochs: int | None
    epochs_run: int
    task: str
    metric: str
    train_metric: float | None
    val_metric: float | None
    reference_error: float
    reference_source: str
    avoidable_bias: float | None
    variance_gap: float | None
    variance_gap_se: float | None
    bias_threshold: float | None
    variance_threshold: float | None
    converged: bool
    regret: float | None
    epochs_saved: int | None
    early_stopping: dict | None
    advice: str
    margin: float
    tolerance: float
    diverged_epoch: int | None = None
    at_recommended: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every field; non-finite numbers become ``None``."""
        return _finite(asdict(self))

    def metrics(self) -> dict[str, float]:
        """The summary values fitcheck logs as MLflow metrics (undefined ones left out)."""
        values = {
            "recommended_epochs": self.recommended_epochs,
            "avoidable_bias": self.avoidable_bias,
            "variance_gap": self.variance_gap,
            "variance_gap_se": self.variance_gap_se,
            "reference_error": self.reference_error,
            "regret": self.regret,
            "epochs_saved": self.epochs_saved,
            "converged": float(self.converged),
        }
        return {name: float(value) for name, value in values.items()
                if value is not None and math.isfinite(float(value))}


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
