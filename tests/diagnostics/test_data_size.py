"""The learning-curve verdict over training-set size: exact outcomes on curves whose answer is known."""

from __future__ import annotations

import pytest

from pipeline import names
from pipeline.diagnostics import advice_contradictions, data_size_verdict, diagnose, with_data_size
from pipeline.errors import FitcheckError
from pipeline.runs import curves_frame

SIZES = [250, 500, 1000, 2000]


def test_a_curve_still_falling_well_beyond_its_noise_says_more_data_helps():
    verdict = data_size_verdict(SIZES, [0.30, 0.22, 0.16, 0.12], n_val=2000, metric="error")
    assert verdict.more_data_helps == names.MORE_DATA_YES
    assert verdict.last_doubling_fall == pytest.approx(0.04)
    assert verdict.last_doubling_fall_se == pytest.approx(0.0109, abs=5e-4)
    assert verdict.expected_at_2x_low < verdict.expected_at_2x < 0.12 < verdict.expected_at_2x_high + 0.02
    assert verdict.advice.startswith("more data would help: validation error fell 0.04 over the last doubling; "
                                     "about 0.0")
    assert verdict.advice.endswith("more expected at twice the data")


def test_a_flat_curve_above_the_reference_says_more_data_will_not_help_and_to_add_capacity():
    verdict = data_size_verdict(SIZES, [0.262, 0.251, 0.249, 0.250], n_val=2000, metric="error",
                                reference_error=0.1, train_metric=[0.24, 0.245, 0.247, 0.248])
    assert verdict.more_data_helps == names.MORE_DATA_NO
    assert verdict.advice == ("more data will not help: validation error has flattened at 0.25, above the "
                              "reference 0.1; add capacity or better features")
    assert verdict.power_law[2] >= 0.248 - 0.0097  # the asymptote stays above the training error less its noise


def test_a_flat_curve_at_the_reference_does_not_advise_capacity():
    verdict = data_size_verdict(SIZES, [0.112, 0.104, 0.101, 0.1], n_val=2000, metric="error",
                                reference_error=0.1, train_metric=[0.09, 0.095, 0.097, 0.099])
    assert verdict.more_data_helps == names.MORE_DATA_NO
    assert verdict.advice == "more data will not help: validation error has flattened at 0.1"


def test_too_few_validation_rows_cannot_tell():
    verdict = data_size_verdict(SIZES, [0.30, 0.27, 0.25, 0.24], n_val=100, metric="error")
    assert verdict.more_data_helps == names.MORE_DATA_CANNOT_TELL
    assert verdict.advice.startswith("cannot tell whether more data would help")


def test_a_wide_train_validation_gap_on_a_plateau_is_variance_more_data_shrinks():
    verdict = data_size_verdict(SIZES, [0.30, 0.29, 0.29, 0.29], n_val=2000, metric="error",
                                train_metric=[0.0, 0.0, 0.01, 0.02])
    assert verdict.more_data_helps == names.MORE_DATA_YES
    assert verdict.advice.startswith("more data would help: validation error is 0.27 above training error")


def test_rmse_curves_and_any_order_of_sizes():
    verdict = data_size_verdict([2000, 250, 1000, 500], [0.5, 0.9, 0.6, 0.72], n_val=1000, metric="rmse")
    assert verdict.n_train == (250, 500, 1000, 2000)
    assert verdict.more_data_helps == names.MORE_DATA_YES
    assert verdict.min_gain == pytest.approx(0.01)  # 2% of the last RMSE


def test_the_verdict_is_deterministic():
    first = data_size_verdict(SIZES, [0.3, 0.25, 0.24, 0.22], n_val=500, metric="error")
    assert data_size_verdict(SIZES, [0.3, 0.25, 0.24, 0.22], n_val=500, metric="error") == first


@pytest.mark.parametrize("arguments, message", [
    (dict(n_train=[250, 500], val_metric=[0.3, 0.2]), "at least 3 distinct sizes"),
    (dict(n_train=[250, 500, 500], val_metric=[0.3, 0.2, 0.2]), "at least 3 distinct sizes"),
    (dict(n_train=[250, 500, 1000], val_metric=[0.3, 0.2]), "one value per size"),
    (dict(n_train=[250, 500, 1000], val_metric=[0.3, float("nan"), 0.1]), "finite values"),
    (dict(n_train=[250, 500, 1000], val_metric=[0.3, 0.2, 0.1], metric="accuracy"), "'error' or 'rmse'"),
    (dict(n_train=[250, 500, 1000], val_metric=[0.3, 0.2, 0.1], n_val=0), "n_val must be"),
])
def test_bad_curves_are_refused_in_one_line(arguments, message):
    arguments = {"n_val": 100, "metric": "error", **arguments}
    with pytest.raises(FitcheckError, match=message):
        data_size_verdict(arguments.pop("n_train"), arguments.pop("val_metric"), **arguments)


def _high_variance_diagnosis():
    curves = curves_frame({"train_loss": [0.5, 0.3, 0.2, 0.1, 0.05], "val_loss": [0.6, 0.5, 0.5, 0.55, 0.6],
                           "train_error": [0.2, 0.1, 0.05, 0.02, 0.01], "val_error": [0.25, 0.2, 0.19, 0.2, 0.21]})
    return diagnose(curves, task="binary", n_train=2000, n_val=2000, reference_error=0.0), curves


def test_the_label_advice_uses_the_verdict_and_its_tags_and_metrics_carry_it():
    diagnosis, curves = _high_variance_diagnosis()
    assert diagnosis.label == names.HIGH_VARIANCE and "get more training data" in diagnosis.advice
    helps = with_data_size(diagnosis, data_size_verdict(SIZES, [0.4, 0.32, 0.26, 0.21], n_val=2000, metric="error"))
    assert helps.advice == ("High variance: get more training data (the learning curve over training-set size is "
                            "still falling); add regularisation (L2, dropout); use a smaller network.")
    flat = with_data_size(diagnosis, data_size_verdict(SIZES, [0.215, 0.21, 0.21, 0.21], n_val=2000, metric="error"))
    assert "get more training data" not in flat.advice and "more data will not help" in flat.advice
    assert flat.tags()[names.MORE_DATA_HELPS_TAG] == names.MORE_DATA_NO
    assert flat.metrics()[names.LC_LAST_DOUBLING_FALL] == pytest.approx(0.0)
    assert flat.to_dict()["data_size"]["more_data_helps"] == names.MORE_DATA_NO
    assert advice_contradictions(flat, curves) == [] and advice_contradictions(helps, curves) == []


@pytest.mark.parametrize("more_data, expected", [
    (names.MORE_DATA_YES, "High bias and high variance: add capacity (more units or layers); switch the optimizer (to "
                          "an adaptive one such as adam, if plain sgd); get more training data (the learning curve "
                          "over training-set size is still falling); add regularisation (L2, dropout); use a smaller "
                          "network."),
    (names.MORE_DATA_NO, "High bias and high variance: add capacity (more units or layers); switch the optimizer (to an "
                         "adaptive one such as adam, if plain sgd); add regularisation (L2, dropout); use a smaller "
                         "network. The learning curve over training-set size has flattened: more data will not help."),
    (names.MORE_DATA_CANNOT_TELL, "High bias and high variance: add capacity (more units or layers); switch the "
                                  "optimizer (to an adaptive one such as adam, if plain sgd); get more training data; "
                                  "add regularisation (L2, dropout); use a smaller network."),
])
def test_each_verdict_words_the_advice_once(more_data, expected):
    from pipeline.diagnostics import advice

    assert advice(names.HIGH_BIAS_HIGH_VARIANCE, still_falling=False, converged=True,
                  label_at_recommended=names.HIGH_BIAS_HIGH_VARIANCE, recommended_epochs=10, epochs_run=10,
                  more_data=more_data) == expected
