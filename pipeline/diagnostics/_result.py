"""The frozen result of a diagnosis and its JSON and MLflow views."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from pipeline import names
from pipeline.names import (
    BIAS_DECIDED,
    BIAS_DECIDED_TAG,
    DIAGNOSIS_AT_RECOMMENDED_TAG,
    DIAGNOSIS_TAG,
    MORE_DATA_HELPS_TAG,
    RECOMMENDED_VAL,
    summary_metric,
)


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`~pipeline.diagnostics.diagnose` concluded about one run, with its evidence.

    Metric values are in the task metric: error rate (1 - accuracy) for classification,
    RMSE for regression. ``None`` means not defined (e.g. for a run that diverged at once).
    ``recommended_val_metric`` is the smoothed validation metric at the recommended epoch (what
    trials are ranked by); ``still_falling`` / ``converged`` judge the training metric over the
    last part of the run against its noise; ``bias_decided`` is False when the reference's
    uncertainty leaves the bias verdict open (``notes`` then says how much bias goes unseen).
    ``data_size`` is the configuration's learning-curve verdict over training-set size
    (:class:`~pipeline.diagnostics.DataSizeVerdict`), where one was measured; the advice then uses it.

    ``converged`` is None when too few epochs tell, False while the training loss (``loss_falling``) or the
    training metric (``still_falling``) still fell beyond its noise: still learning, whatever the label.
    ``unstable``: a loss or the validation metric jumped by much more than its noise at ``unstable_epoch``.
    ``borderline`` names the deciding quantities (``"bias"``, ``"variance"``) within one standard error of
    their thresholds. ``memorised_noise``: a significant gap whose validation metric is within noise of a given
    the reference, not called high variance. ``evidence_epoch`` is the epoch the label and evidence
    describe (the restored one, else the last usable). ``stop_monitor`` is the curve the recommended epoch
    was read from (``val_loss`` when the metric is too coarse on the validation rows). ``advice_items``
    are :class:`~pipeline.diagnostics.AdviceItem`: the advice's concrete changes of ``config``, the run's
    configuration as given to :func:`~pipeline.diagnostics.diagnose`.
    """

    label: str
    label_at_recommended: str
    recommended_epochs: int | None
    epochs_run: int
    n_train: int
    n_val: int
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
    converged: bool | None
    still_falling: bool
    bias_decided: bool
    recommended_val_metric: float | None
    regret: float | None
    epochs_saved: int | None
    early_stopping: dict | None
    advice: str
    margin: float
    tolerance: float
    diverged_epoch: int | None = None
    at_recommended: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    data_size: object | None = None
    unstable: bool = False
    unstable_epoch: int | None = None
    loss_falling: bool = False
    borderline: tuple[str, ...] = ()
    memorised_noise: bool = False
    evidence_epoch: int | None = None
    stop_monitor: str | None = None
    reference_se: float = 0.0
    advice_items: tuple = ()
    config: dict = field(default_factory=dict)

    @property
    def converged_word(self) -> str:
        """``"yes"``, ``"no"`` (still learning) or ``"cannot_tell"`` (too few epochs): the label's detail."""
        if self.converged is None:
            return names.CONVERGED_CANNOT_TELL
        return names.CONVERGED_YES if self.converged else names.CONVERGED_NO

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every field; non-finite numbers become ``None``; advice items as
        ``{"change", "axis", "from", "to", "reason"}``; the configuration's values that are not JSON as text."""
        fields = asdict(self)
        fields["advice_items"] = [item.to_dict() for item in self.advice_items]
        fields["config"] = {str(key): value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
                            for key, value in self.config.items()}
        return _finite(fields)

    def metrics(self) -> dict[str, float]:
        """The summary values fitcheck logs as MLflow metrics (undefined ones left out)."""
        values = {
            names.RECOMMENDED_EPOCHS: self.recommended_epochs,
            names.AVOIDABLE_BIAS: self.avoidable_bias,
            names.VARIANCE_GAP: self.variance_gap,
            names.VARIANCE_GAP_SE: self.variance_gap_se,
            names.REFERENCE_ERROR: self.reference_error,
            names.REGRET: self.regret,
            names.EPOCHS_SAVED: self.epochs_saved,
            names.CONVERGED: None if self.converged is None else float(self.converged),
            **({names.UNSTABLE: float(self.unstable), names.BORDERLINE: float(bool(self.borderline)),
                names.MEMORISED_NOISE: float(self.memorised_noise), names.EVIDENCE_EPOCH: self.evidence_epoch}
               if self.evidence_epoch is not None else {}),
            BIAS_DECIDED: float(self.bias_decided),
            summary_metric(RECOMMENDED_VAL, self.task): self.recommended_val_metric,
            **(self.data_size.metrics() if self.data_size is not None else {}),
        }
        return {name: float(value) for name, value in values.items()
                if value is not None and math.isfinite(float(value))}

    def tags(self) -> dict[str, str]:
        """The tags fitcheck sets on a diagnosed run: the labels and whether the bias is decided."""
        tags = {DIAGNOSIS_TAG: self.label, DIAGNOSIS_AT_RECOMMENDED_TAG: self.label_at_recommended,
                BIAS_DECIDED_TAG: str(self.bias_decided).lower(), names.CONVERGED_TAG: self.converged_word,
                names.UNSTABLE_TAG: str(self.unstable).lower(),
                names.BORDERLINE_TAG: ",".join(self.borderline) or "false"}
        if self.data_size is not None:
            tags[MORE_DATA_HELPS_TAG] = self.data_size.more_data_helps
        return tags


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
