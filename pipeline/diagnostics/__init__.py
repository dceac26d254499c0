"""Diagnostics: label a run's fit and recommend where to stop, from its curves alone.

Pure: numpy and pandas only. Never imports TensorFlow, Keras, MLflow or scikit-learn.
"""

from pipeline.diagnostics._advice import LABEL_ADVICE, advice
from pipeline.diagnostics._diagnose import diagnose, reference_from_sweep
from pipeline.diagnostics._diagnosis import Diagnosis
from pipeline.diagnostics._labels import (
    DIVERGED,
    GOOD_FIT,
    HIGH_BIAS,
    HIGH_BIAS_HIGH_VARIANCE,
    HIGH_VARIANCE,
    LABELS,
)
from pipeline.diagnostics._noise import error_rate_se, rmse_se
from pipeline.diagnostics._summary import curve_summary
from pipeline.diagnostics._stopping import (
    early_stopping_settings,
    online_stop,
    recommend_stop,
    replay_keras_early_stopping,
    smooth,
)

__all__ = [
    "DIVERGED", "GOOD_FIT", "HIGH_BIAS", "HIGH_BIAS_HIGH_VARIANCE", "HIGH_VARIANCE", "LABELS",
    "Diagnosis", "LABEL_ADVICE", "advice", "curve_summary", "diagnose", "early_stopping_settings", "error_rate_se", "online_stop",
    "recommend_stop", "reference_from_sweep", "replay_keras_early_stopping", "rmse_se", "smooth",
]
