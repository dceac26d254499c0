"""Score the learning-curve verdict against the truth of the corpus, next to the rules practitioners use.

For each case the verdict (:func:`pipeline.diagnostics.data_size_verdict`) sees what a sweep would:
the validation and training error at N/4, N/2 and N on 1,000 validation rows, and the reference
(the known Bayes error). The truth is what training at 2N and 4N actually did to the expected error
(the mean over three independent training samples) on 20,000 fresh rows:

* clearly helps: the true error fell by at least 1 point at 2N and 2 points at 4N;
* clearly does not: it fell by less than half a point at 4N (or rose);
* anything between is not clearly one way and is not scored for the verdict.

Rules compared: **any gap** (more data helps when validation error exceeds training error by more than
2 points, fitcheck's gap tolerance), **last slope** (it helps when the error fell between the last two
sizes). The extrapolated error at 2N is compared with the validation error measured at 2N, next to
the last measured point (N) and a straight line through the last two points on a log-size axis.

    .venv/bin/python bench/learning_curves/score.py [--corpus bench/learning_curves/corpus.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.diagnostics import data_size_verdict  # noqa: E402
from pipeline.names import MORE_DATA_CANNOT_TELL, MORE_DATA_NO, MORE_DATA_YES  # noqa: E402

HELPS_AT_2X, HELPS_AT_4X, FLAT_AT_4X = 0.01, 0.02, 0.005
GAP_TOLERANCE = 0.02


def truth(case: pd.DataFrame) -> str:
    """``yes``, ``no`` or ``unclear``: what training at 2N and 4N did to the true error of the model at N."""
    by_size = case.groupby("n_train")["true_error"].mean()  # over the independent training samples
    n = int(case.loc[case["role"] == "measured", "n_train"].max())
    gain_2x, gain_4x = by_size[n] - by_size[2 * n], by_size[n] - by_size[4 * n]
    if gain_2x >= HELPS_AT_2X and gain_4x >= HELPS_AT_4X:
        return MORE_DATA_YES
    if gain_4x < FLAT_AT_4X:
        return MORE_DATA_NO
    return "unclear"


def score_case(case: pd.DataFrame) -> dict:
    measured = case[case["role"] == "measured"].sort_values("n_train")
    n, val, train = measured["n_train"].to_numpy(), measured["val_error"].to_numpy(), measured["train_error"].to_numpy()
    verdict = data_size_verdict(n, val, n_val=int(case["n_val"].iloc[0]), metric="error",
                                reference_error=float(case["eta"].iloc[0]), train_metric=train)
    val_2x = float(case.loc[(case["n_train"] == 2 * n[-1]) & (case["draw"] == 0), "val_error"].iloc[0])
    return {
        "case": int(case["case"].iloc[0]), "rule": case["rule"].iloc[0], "model": case["model"].iloc[0],
        "N": int(n[-1]), "truth": truth(case), "verdict": verdict.more_data_helps,
        "any_gap": MORE_DATA_YES if val[-1] - train[-1] > GAP_TOLERANCE else MORE_DATA_NO,
        "last_slope": MORE_DATA_YES if val[-2] - val[-1] > 0 else MORE_DATA_NO,
        "err_power_law": abs(verdict.expected_at_2x - val_2x), "err_last_point": abs(val[-1] - val_2x),
        "err_straight_line": abs(val[-1] - (val[-2] - val[-1]) - val_2x),
        "covered": verdict.expected_at_2x_low <= val_2x <= verdict.expected_at_2x_high,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent / "corpus.csv")
    args = parser.parse_args()
    corpus = pd.read_csv(args.corpus)
    scores = pd.DataFrame([score_case(case) for _, case in corpus.groupby("case")])
    clear = scores[scores["truth"] != "unclear"]
    print(f"{len(scores)} cases: {int((scores['truth'] == MORE_DATA_YES).sum())} clearly helped by more data, "
          f"{int((scores['truth'] == MORE_DATA_NO).sum())} clearly not, {int((scores['truth'] == 'unclear').sum())} "
          "unclear\n")
    print("| rule | right on clear cases | right when more data helps | right when it does not | "
          "said cannot tell |\n|---|---|---|---|---|")
    for rule in ("verdict", "any_gap", "last_slope"):
        right = clear[rule] == clear["truth"]
        helps, flat = clear["truth"] == MORE_DATA_YES, clear["truth"] == MORE_DATA_NO
        print(f"| {rule} | {right.mean():.0%} ({int(right.sum())}/{len(clear)}) | {right[helps].mean():.0%} "
              f"({int(right[helps].sum())}/{int(helps.sum())}) | {right[flat].mean():.0%} "
              f"({int(right[flat].sum())}/{int(flat.sum())}) | {int((clear[rule] == MORE_DATA_CANNOT_TELL).sum())} |")
    decided = clear[clear["verdict"] != MORE_DATA_CANNOT_TELL]
    print(f"\nverdict right when it decides: {(decided['verdict'] == decided['truth']).mean():.0%} "
          f"({int((decided['verdict'] == decided['truth']).sum())}/{len(decided)}); on unclear cases it said: "
          f"{scores.loc[scores['truth'] == 'unclear', 'verdict'].value_counts().to_dict()}")
    print("\n| predictor of the validation error at 2N | median absolute error | mean absolute error | "
          "closer than the last point |\n|---|---|---|---|")
    for column, title in (("err_power_law", "power law (fitcheck)"), ("err_last_point", "last measured point"),
                          ("err_straight_line", "straight line through the last two points")):
        closer = (scores[column] < scores["err_last_point"]).mean() if column != "err_last_point" else np.nan
        print(f"| {title} | {scores[column].median():.4f} | {scores[column].mean():.4f} | "
              f"{'—' if np.isnan(closer) else f'{closer:.0%}'} |")
    print(f"\n90% interval of the power law covers the measured value at 2N in {scores['covered'].mean():.0%} of cases")
    wrong = clear[(clear["verdict"] != clear["truth"]) & (clear["verdict"] != MORE_DATA_CANNOT_TELL)]
    if len(wrong):
        print("\nwrong verdicts:\n" + wrong.to_string(index=False))


if __name__ == "__main__":
    main()
