"""Diagnostics: label a run's fit and recommend where to stop, from its curves alone.

Pure: numpy and pandas only; it judges curves and changes nothing.

Never imports: tensorflow, keras, mlflow, sklearn, pipeline.tracking, pipeline.training, pipeline.runs, pipeline.sweep, pipeline.report.
"""

from pipeline.diagnostics._advice import LABEL_ADVICE, UNDECIDED_BIAS_ADVICE, advice, advice_items
from pipeline.diagnostics._concentration import concentration
from pipeline.diagnostics._confounds import confound_note, confounds
from pipeline.diagnostics._consistency import advice_contradictions
from pipeline.diagnostics._convergence import LossTrend, Stability, loss_trend, stability
from pipeline.diagnostics._curves import NON_FINITE_WORDS, diverged_at
from pipeline.diagnostics._data_size import DataSizeVerdict, data_size_verdict, with_data_size
from pipeline.diagnostics._diagnose import diagnose, reference_from_sweep
from pipeline.diagnostics._result import Diagnosis
from pipeline.diagnostics._neighbours import measured_neighbour, neighbour_sentence, order_by_measurement
from pipeline.diagnostics._labels import (
    DIVERGED,
    GOOD_FIT,
    HIGH_BIAS,
    HIGH_BIAS_HIGH_VARIANCE,
    HIGH_VARIANCE,
    LABELS,
    label_improves,
)
from pipeline.diagnostics._pruning import SuccessiveHalving
from pipeline.diagnostics._noise import error_rate_se, metric_se, rmse_se
from pipeline.diagnostics._ranking import mlp_parameter_count, rank_trials, ranking_sentence
from pipeline.diagnostics._reference import CappedReference, cap_reference
from pipeline.diagnostics._remedies import AdviceItem
from pipeline.diagnostics._summary import curve_summary
from pipeline.diagnostics._stopping import (
    OnlineStop,
    early_stopping_settings,
    online_stop,
    patience_floor,
    recommend_stop,
    replay_keras_early_stopping,
    smooth,
)
from pipeline.diagnostics._trend import TrainingTrend, training_trend

__all__ = [
    "DIVERGED", "GOOD_FIT", "HIGH_BIAS", "HIGH_BIAS_HIGH_VARIANCE", "HIGH_VARIANCE", "LABELS",
    "AdviceItem", "CappedReference", "NON_FINITE_WORDS", "DataSizeVerdict", "Diagnosis", "LABEL_ADVICE", "LossTrend", "OnlineStop",
    "Stability", "SuccessiveHalving", "TrainingTrend", "UNDECIDED_BIAS_ADVICE", "advice", "advice_items",
    "advice_contradictions", "cap_reference", "concentration", "confound_note", "confounds", "curve_summary", "data_size_verdict", "diagnose",
    "diverged_at",
    "early_stopping_settings",
    "error_rate_se", "metric_se", "label_improves", "measured_neighbour", "neighbour_sentence", "order_by_measurement", "loss_trend", "mlp_parameter_count", "online_stop", "patience_floor", "rank_trials",
    "ranking_sentence", "recommend_stop", "reference_from_sweep", "replay_keras_early_stopping", "rmse_se",
    "smooth", "stability", "training_trend", "with_data_size",
]
