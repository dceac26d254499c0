"""More data or more capacity? A configuration's learning curve over training-set size, judged against its noise.

Pure: sizes and validation values in, a frozen :class:`DataSizeVerdict` out. Never trains, reads or
writes anything; the sweep measures the curve and the report draws it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from pipeline import names
from pipeline.diagnostics._advice import advice, advice_items
from pipeline.diagnostics._noise import metric_se
from pipeline.diagnostics._result import Diagnosis
from pipeline.errors import FitcheckError

MIN_SIZES = 3
DEFAULT_MARGIN = 1.645
#: The smallest fall at twice the data worth collecting it for: 1 point of error rate, 2% of an RMSE.
ERROR_MIN_GAIN = 0.01
RMSE_RELATIVE_MIN_GAIN = 0.02
#: Exponents the power law may take (err(n) = a n^-b + c): learning curves of classifiers and regressors
#: fall with b between about 0.1 and 1 (1/sqrt(n) is b = 0.5); wider, three noisy points fit any shape.
_EXPONENTS = np.geomspace(0.1, 1.0, 40)
_RESAMPLES = 300
_INTERVAL = (5.0, 95.0)


@dataclass(frozen=True)
class DataSizeVerdict:
    """Whether more training data would lower a configuration's validation metric, and the evidence.

    ``more_data_helps`` is ``"yes"`` when the curve still falls (over the last doubling by more than
    its noise, or by at least ``min_gain / 2`` at twice the data in 95% of the power law's refits; or
    at all while the training metric is more than ``min_gain`` and its noise below) and the power
    law expects at least ``min_gain / 2`` at twice the data, or when the training metric is far below
    the validation metric (more than ``2 min_gain`` and twice the margin's noise: variance that more
    data shrinks) and the curve is not rising; ``"no"`` when it does not fall, the gap to the
    training metric leaves no room for ``min_gain`` and the power law expects less than ``min_gain``
    at twice the data (less than ``2 min_gain`` in 95% of its refits; ``min_gain`` without a training
    metric to bound the fall); ``"cannot_tell"`` otherwise. ``expected_at_2x`` is the power law's validation metric
    at twice the largest size, with a 90% interval for the value one would measure there: the spread of
    refits to the values resampled within their noise and that measurement's own noise, in quadrature.
    """

    more_data_helps: str
    metric: str
    n_train: tuple[int, ...]
    val_metric: tuple[float, ...]
    train_metric: tuple[float, ...]
    reference_error: float | None
    last_doubling_fall: float
    last_doubling_fall_se: float
    expected_at_2x: float
    expected_at_2x_low: float
    expected_at_2x_high: float
    power_law: tuple[float, float, float]
    min_gain: float
    evidence: str
    advice: str

    @property
    def expected_gain(self) -> float:
        """How much lower the power law expects the validation metric at twice the data than at the largest size."""
        return self.predict(self.n_train[-1]) - self.expected_at_2x

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        """The verdict's numbers as MLflow metrics."""
        return {names.LC_LAST_DOUBLING_FALL: self.last_doubling_fall,
                names.LC_LAST_DOUBLING_FALL_SE: self.last_doubling_fall_se,
                names.LC_EXPECTED_AT_2X: self.expected_at_2x, names.LC_EXPECTED_AT_2X_LOW: self.expected_at_2x_low,
                names.LC_EXPECTED_AT_2X_HIGH: self.expected_at_2x_high}

    def predict(self, n_train: float) -> float:
        """The fitted power law's validation metric at ``n_train`` rows."""
        a, b, c = self.power_law
        return a * n_train ** -b + c


def data_size_verdict(n_train: Sequence[int], val_metric: Sequence[float], *, n_val: int, metric: str,
                      reference_error: float | None = None, train_metric: Sequence[float] | None = None,
                      margin: float = DEFAULT_MARGIN, min_gain: float | None = None) -> DataSizeVerdict:
    """Judge from a learning curve over training-set size whether more data would help.

    Parameters
    ----------
    n_train : sequence of int
        Training rows of each point, at least 3 distinct sizes (any order).
    val_metric : sequence of float
        The validation metric (error rate or RMSE) at each size, at its recommended epoch.
    n_val : int
        Validation rows every size was measured on (the same split).
    metric : {"error", "rmse"}
    reference_error : float, optional
        The Bayes-like error: the power law's floor ``c`` is kept at or above it.
    train_metric : sequence of float, optional
        The training metric at each size; the floor is kept at or above the largest size's, less its
        noise (the training error rises towards where the validation error falls to).
    margin : float, default 1.645
        Standard errors the last doubling's fall must exceed to count (a one-sided 5% test).
    min_gain : float, optional
        The smallest fall at twice the data worth having: 0.01 for error rates, 2% of the last RMSE.

    Returns
    -------
    DataSizeVerdict

    Examples
    --------
    >>> verdict = data_size_verdict([250, 500, 1000, 2000], [0.30, 0.22, 0.16, 0.12], n_val=2000, metric="error")
    >>> verdict.more_data_helps, round(verdict.last_doubling_fall, 2)
    ('yes', 0.04)
    >>> flat = data_size_verdict([250, 500, 1000, 2000], [0.262, 0.251, 0.249, 0.250], n_val=2000, metric="error",
    ...                          reference_error=0.1)
    >>> flat.more_data_helps
    'no'
    """
    sizes, val, train = _checked(n_train, val_metric, train_metric, n_val=n_val, metric=metric)
    se = np.array([metric_se(value, n_val, metric=metric) for value in val])
    min_gain = (ERROR_MIN_GAIN if metric == "error" else RMSE_RELATIVE_MIN_GAIN * val[-1]) if min_gain is None \
        else float(min_gain)
    doublings = math.log2(sizes[-1] / sizes[-2])
    fall = float(val[-2] - val[-1]) / doublings
    fall_se = float(math.hypot(se[-2], se[-1])) / doublings
    floor = _floor(val, train, sizes, reference_error=reference_error, metric=metric)
    law = _fit(sizes, val, se, floor)
    at_2x = _predict(law, 2 * sizes[-1])
    rng = np.random.default_rng(0)
    resampled = [_fit(sizes, val + rng.normal(0.0, se), se, floor) for _ in range(_RESAMPLES)]
    gains = np.array([_predict(fit, sizes[-1]) - _predict(fit, 2 * sizes[-1]) for fit in resampled])
    at_2x_values = np.array([_predict(fit, 2 * sizes[-1]) for fit in resampled])
    # a prediction of the value measured at 2x: the fit's spread and that measurement's own noise, in quadrature
    measured_se = metric_se(max(at_2x, 0.0), n_val, metric=metric)
    low, high = (at_2x + math.copysign(math.hypot(float(bound) - at_2x, margin * measured_se), float(bound) - at_2x)
                 for bound in np.percentile(at_2x_values, _INTERVAL))
    gain = _predict(law, sizes[-1]) - at_2x
    gain_high = float(np.percentile(gains, _INTERVAL[1]))
    gain_low = float(np.percentile(gains, _INTERVAL[0]))
    # the validation metric falls towards an asymptote the training metric rises to: their gap bounds the fall left
    gap, gap_se = math.nan, 0.0  # no training metric: no evidence either way (comparisons are False)
    if train.size:
        gap = float(val[-1] - train[-1])
        gap_se = math.hypot(se[-1], metric_se(float(train[-1]), int(sizes[-1]), metric=metric))
    room = gap > min_gain + margin * gap_se
    falling = fall > margin * fall_se or gain_low >= min_gain / 2 or (room and fall > 0)
    # a training error far below the validation error: variance that more data shrinks, even on a plateau
    wide_gap = gap > 2 * min_gain + 2 * margin * gap_se and fall > -margin * fall_se
    if (falling and gain >= min_gain / 2) or wide_gap:
        verdict = names.MORE_DATA_YES
    elif not falling and not room and gain < min_gain and gain_high < (2 if train.size else 1) * min_gain:
        verdict = names.MORE_DATA_NO
    else:
        verdict = names.MORE_DATA_CANNOT_TELL
    evidence = (f"validation {metric} {_words_fall(fall)} over the last doubling of the training set "
                f"({sizes[-2]} to {sizes[-1]} rows; standard error {fall_se:.2g}); a power law fitted to "
                f"{len(sizes)} sizes expects {at_2x:.3g} at {2 * sizes[-1]} rows (90% interval {low:.3g} to "
                f"{high:.3g}), {gain:.2g} below its value at {sizes[-1]}")
    if train.size:
        evidence += f"; validation {metric} is {gap:.2g} above training {metric} (standard error {gap_se:.2g})"
    return DataSizeVerdict(
        more_data_helps=verdict, metric=metric, n_train=tuple(int(n) for n in sizes),
        val_metric=tuple(float(v) for v in val), train_metric=tuple(float(v) for v in train),
        reference_error=None if reference_error is None else float(reference_error),
        last_doubling_fall=fall, last_doubling_fall_se=fall_se, expected_at_2x=at_2x, expected_at_2x_low=low,
        expected_at_2x_high=high, power_law=tuple(float(v) for v in law), min_gain=min_gain, evidence=evidence,
        advice=_advice(verdict, metric=metric, fall=fall, gain=gain, gap=gap, last=float(val[-1]),
                       reference_error=reference_error, noise=max(margin * float(se[-1]), 2 * min_gain)))


def with_data_size(diagnosis: Diagnosis, verdict: DataSizeVerdict) -> Diagnosis:
    """The diagnosis of a configuration's run with its learning-curve verdict, and advice that uses it."""
    worded = dict(still_falling=diagnosis.still_falling, converged=diagnosis.converged,
                  label_at_recommended=diagnosis.label_at_recommended, recommended_epochs=diagnosis.recommended_epochs,
                  epochs_run=diagnosis.evidence_epoch if diagnosis.evidence_epoch is not None and
                  diagnosis.evidence_epoch < diagnosis.epochs_run and diagnosis.diverged_epoch is None
                  else diagnosis.epochs_run,
                  more_data=verdict.more_data_helps, config=diagnosis.config, loss_falling=diagnosis.loss_falling,
                  unstable=diagnosis.unstable, memorised_noise=diagnosis.memorised_noise)
    return replace(diagnosis, data_size=verdict, advice=advice(diagnosis.label, bias_decided=diagnosis.bias_decided,
                                                               **worded),
                   advice_items=advice_items(diagnosis.label, **worded))


def _checked(n_train, val_metric, train_metric, *, n_val: int, metric: str):
    if metric not in ("error", "rmse"):
        raise FitcheckError(f"metric must be 'error' or 'rmse' but got {metric!r}.")
    if not (isinstance(n_val, (int, np.integer)) and n_val >= 1):
        raise FitcheckError(f"n_val must be a whole number >= 1 but got {n_val!r}.")
    sizes = np.asarray(list(n_train), dtype=float)
    val = np.asarray(list(val_metric), dtype=float)
    train = np.asarray(list(train_metric), dtype=float) if train_metric is not None else np.array([])
    if len(sizes) != len(val) or (train.size and len(train) != len(val)):
        raise FitcheckError(f"n_train, val_metric and train_metric must have one value per size but got "
                            f"{len(sizes)}, {len(val)} and {len(train) if train.size else 'none'}.")
    if not (np.all(np.isfinite(sizes)) and np.all(sizes >= 1) and np.all(np.isfinite(val))):
        raise FitcheckError("n_train must be row counts >= 1 and val_metric finite values but got "
                            f"{sizes.tolist()} and {val.tolist()}.")
    if len(set(sizes.tolist())) != len(sizes) or len(sizes) < MIN_SIZES:
        raise FitcheckError(f"n_train must hold at least {MIN_SIZES} distinct sizes, each once, but got "
                            f"{sizes.astype(int).tolist()}.")
    order = np.argsort(sizes)
    return sizes[order].astype(int), val[order], train[order] if train.size else train


def _floor(val: np.ndarray, train: np.ndarray, sizes: np.ndarray, *, reference_error: float | None,
           metric: str) -> float:
    """The lowest the power law's asymptote may be: the reference, or the last training value less its noise."""
    floor = max(0.0, reference_error or 0.0)
    if train.size and math.isfinite(train[-1]):
        floor = max(floor, float(train[-1]) - metric_se(float(train[-1]), int(sizes[-1]), metric=metric))
    return min(floor, float(val.min()))


def _fit(sizes: np.ndarray, values: np.ndarray, se: np.ndarray, floor: float) -> tuple[float, float, float]:
    """Weighted least squares of ``a n^-b + c`` with ``a >= 0`` and ``c >= floor``, ``b`` on a grid."""
    weights = 1.0 / np.maximum(se, 1e-12) ** 2
    x = sizes[None, :] ** -_EXPONENTS[:, None]  # one row per exponent
    mean_x = (x * weights).sum(axis=1) / weights.sum()
    mean_y = float(np.average(values, weights=weights))
    spread = (weights * (x - mean_x[:, None]) ** 2).sum(axis=1)
    slope = (weights * (x - mean_x[:, None]) * (values - mean_y)).sum(axis=1) / np.maximum(spread, 1e-300)
    a, c = slope, mean_y - slope * mean_x
    flat = a < 0
    a, c = np.where(flat, 0.0, a), np.where(flat, mean_y, c)
    low = c < floor
    pinned = np.maximum(0.0, (weights * x * (values - floor)).sum(axis=1) / (weights * x * x).sum(axis=1))
    a, c = np.where(low, pinned, a), np.where(low, floor, c)
    loss = (weights * (values - a[:, None] * x - c[:, None]) ** 2).sum(axis=1)
    best = int(np.argmin(loss))
    return float(a[best]), float(_EXPONENTS[best]), float(c[best])


def _predict(law: tuple[float, float, float], n: float) -> float:
    a, b, c = law
    return a * n ** -b + c


def _words_fall(fall: float) -> str:
    return f"fell {fall:.2g}" if fall >= 0 else f"rose {-fall:.2g}"


def _advice(verdict: str, *, metric: str, fall: float, gain: float, gap: float, last: float,
            reference_error: float | None, noise: float) -> str:
    if verdict == names.MORE_DATA_YES and fall > 0 and gain > 0:
        return (f"more data would help: validation {metric} {_words_fall(fall)} over the last doubling; "
                f"about {gain:.2g} more expected at twice the data")
    if verdict == names.MORE_DATA_YES:
        return (f"more data would help: validation {metric} is {gap:.2g} above training {metric}, a variance gap "
                "that more data shrinks, though the curve has not fallen over the last doubling")
    if verdict == names.MORE_DATA_NO:
        if reference_error is not None and last - reference_error > noise:
            return (f"more data will not help: validation {metric} has flattened at {last:.3g}, above the "
                    f"reference {reference_error:.3g}; add capacity or better features")
        return f"more data will not help: validation {metric} has flattened at {last:.3g}"
    return (f"cannot tell whether more data would help: validation {metric} {_words_fall(fall)} over the last "
            "doubling, within what its noise allows; train at a larger size or measure on more validation rows")
