"""Successive halving (asynchronous, as ASHA and Optuna's ``SuccessiveHalvingPruner``): a pure rule.

A trial reports a value (lower is better) at rungs, epochs ``min_epochs x reduction_factor^k``;
at each rung it goes on only while it is among the best ``1 / reduction_factor`` of the values
reported there so far, itself included (the best one while fewer than ``reduction_factor`` have
reported), and, given the validation size, only when it trails the cut by more than the noise of
the difference. It judges a snapshot and changes nothing: where the values are kept is the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.diagnostics._noise import metric_se

#: Standard errors of the difference by which a value must trail the rung's cut to be pruned.
Z = 2.0


class SuccessiveHalving:
    """Which epochs are rungs, and whether a value there is pruned.

    Examples
    --------
    >>> pruner = SuccessiveHalving(min_epochs=2, reduction_factor=3)
    >>> pruner.rungs(20)
    [2, 6, 18]
    >>> pruner.prune([], 0.4), pruner.prune([0.3], 0.4), pruner.prune([0.1, 0.2, 0.5, 0.6, 0.7], 0.15)
    (False, True, False)
    """

    def __init__(self, *, min_epochs: int = 5, reduction_factor: int = 3):
        if min_epochs < 1:
            raise ValueError(f"min_epochs must be at least 1 but got {min_epochs}.")
        if reduction_factor < 2:
            raise ValueError(f"reduction_factor must be at least 2 but got {reduction_factor}.")
        self.min_epochs, self.reduction_factor = min_epochs, reduction_factor

    def rungs(self, epochs: int) -> list[int]:
        """The rungs before a run's last epoch (pruning at the last one would save nothing)."""
        rungs, rung = [], self.min_epochs
        while rung < epochs:
            rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def prune(self, rung_values: Sequence[float], value: float, *, n_val: int | None = None,
              metric: str = "error") -> bool:
        """Whether ``value`` is outside the best ``1 / reduction_factor`` of ``rung_values`` and itself.

        With ``n_val`` (the validation rows the values were measured on), only by more than the noise:
        ``value`` must exceed the cut by more than :data:`Z` standard errors of the difference of two
        ``metric`` values on ``n_val`` rows, so that no trial is pruned within its own noise.

        >>> SuccessiveHalving(min_epochs=2, reduction_factor=3).prune([0.10, 0.30, 0.31], 0.12, n_val=114)
        False
        >>> SuccessiveHalving(min_epochs=2, reduction_factor=3).prune([0.10, 0.30, 0.31], 0.30, n_val=114)
        True
        """
        competing = sorted([*rung_values, value])
        promoted = max(len(competing) // self.reduction_factor, 1)
        cut = competing[promoted - 1]
        if n_val is None:
            return value > cut
        margin = Z * math.hypot(metric_se(value, n_val, metric=metric), metric_se(cut, n_val, metric=metric))
        return value > cut + margin
