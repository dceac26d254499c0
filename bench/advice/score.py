"""Score fitcheck's advice on the scenario suite against what the remedies measured.

Reads the cache ``results/*.json.gz`` (``generate.py``) and, for each scenario's base run (one seed's
``mlflow.keras.autolog()`` run in ``store/mlflow.db``), calls

    fitcheck diagnose --run-id RUN --tracking-uri sqlite:///bench/advice/store/mlflow.db --format json

in a subprocess (no other flags), maps its first advice item to a remedy and scores it. Trains nothing:
it takes well under two minutes. Prints the tables (markdown), writes ``results.md``, the README's results
section, ``results/summary.json`` and ``results/diagnoses.json`` (the raw diagnoses).

    .venv/bin/python bench/advice/score.py [--fitcheck .venv/bin/fitcheck] [--jobs 4] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import scenarios as S  # noqa: E402
from generate import cache_path, load_cache, units  # noqa: E402

RESULTS = HERE / "results"
STORE = HERE / "store" / "mlflow.db"
Z = 2.0  # helpful / hurts: beyond two standard errors
#: The fixed-threshold rule's thresholds on the autolog run's last epoch (classification: error rate;
#: regression: RMSE in units of the target's standard deviation).
RULE_BIAS = {"classification": 0.05, "regression": 0.5}
RULE_GAP = {"classification": 0.05, "regression": 0.1}


# ----------------------------------------------------------------------------------------------- truth
#: Regression residuals (in target SDs) are clipped here: a diverged run's predictions (1e17) would
#: otherwise swamp the mean and its SE; clipped, it still scores ten times worse than predicting the mean.
MAX_RESIDUAL = 10.0


def _residuals(outcome) -> np.ndarray:
    return np.clip(np.asarray(outcome, dtype=float), -MAX_RESIDUAL, MAX_RESIDUAL)


def _metric(outcome) -> float:
    if isinstance(outcome, str):
        return 1.0 - outcome.count("1") / len(outcome)
    return float(np.sqrt(np.mean(np.square(_residuals(outcome)))))


def _rows(outcome) -> np.ndarray:
    """Per validation row: the loss whose mean is the metric (0/1 error, or squared residual)."""
    if isinstance(outcome, str):
        return np.array([0.0 if c == "1" else 1.0 for c in outcome])
    return np.square(_residuals(outcome))


def outcomes(cache: dict, remedy: str) -> list:
    """Per seed, the validation outcome of ``remedy`` (``stop_early``: the base runs at their lowest val_loss)."""
    if remedy == "stop_early":
        return [r["best"] if r.get("best") is not None else r["final"]
                for k, r in sorted(cache["fits"].items()) if k.startswith("base/")]
    return [r["final"] for k, r in sorted(cache["fits"].items()) if k.startswith(remedy + "/")]


def compare(base: list, other: list, regression: bool) -> dict:
    """Mean metric of ``other`` minus ``base`` over seeds, with its standard error: the seeds' SE of the
    difference of means, plus (in quadrature) the paired sampling noise of the validation rows."""
    a = np.array([_metric(o) for o in base])
    b = np.array([_metric(o) for o in other])
    delta = float(b.mean() - a.mean())
    se_seed = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    rows = np.mean([_rows(o) for o in other], 0) - np.mean([_rows(o) for o in base], 0)
    se_rows = float(rows.std(ddof=1) / math.sqrt(len(rows)))
    if regression:  # an MSE difference's SE as an RMSE difference's (delta method)
        se_rows /= max(2 * (a.mean() + b.mean()) / 2, 1e-9)
    se = math.sqrt(se_seed ** 2 + se_rows ** 2)
    verdict = "helpful" if delta < -Z * se else "hurts" if delta > Z * se else "neutral"
    return {"base": float(a.mean()), "mean": float(b.mean()), "delta": delta, "se": se, "se_seed": se_seed,
            "se_rows": se_rows, "verdict": verdict, "seeds": len(b)}


def truth(cache: dict) -> dict:
    regression = cache["task"] == "regression"
    base = outcomes(cache, "base")
    table = {}
    for remedy in S.REMEDIES:
        other = outcomes(cache, remedy)
        if len(other) >= 3 and len(base) >= 3:
            table[remedy] = compare(base, other, regression)
    return table


def family_verdict(family: str | None, table: dict) -> str:
    """helpful / hurts / neutral for an advice family (a generic one helps when one of its remedies does,
    and hurts when one hurts and none helps); unmeasured for what the suite does not train."""
    if family in ("good_fit", "cannot_tell"):
        return "none"
    if family in (None, "other"):
        return "unmeasured"
    members = [table[r]["verdict"] for r in S.FAMILIES.get(family, ()) if r in table]
    if not members:
        return "unmeasured"
    if "helpful" in members:
        return "helpful"
    return "hurts" if "hurts" in members else "neutral"


# ----------------------------------------------------------------------------------------------- advice
def _num(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_ARROW = re.compile(r"([a-z_ 0-9]+?)\s*:?\s*(-?[\d.e+-]+|none|null)?\s*(?:→|->|=>|to)\s*(-?[\d.e+-]+)", re.I)


def map_advice(change: str, axis: str | None = None, from_=None, to=None) -> str | None:
    """The remedy family an advice item names: from its structured fields where they say it (``axis``,
    ``from`` → ``to``), else from its words (the current wording and the concrete forms). None when it
    names nothing the suite measures (a smaller network, another optimiser, check the features)."""
    text = (change or "").lower().replace("‑", "-")
    axis = (axis or "").lower()
    lo, hi = _num(from_), _num(to)
    if lo is None or hi is None:  # "epochs 20 → 60" in the text when the fields are missing
        for match in _ARROW.finditer(text):
            name = match.group(1).strip().split()[-1] if match.group(1).strip() else ""
            if name in ("epochs", "learning_rate", "lr", "depth", "width", "l2", "dropout", "n_train") and not axis:
                axis = name
            if match.group(2) and _num(match.group(2)) is not None and lo is None:
                lo = _num(match.group(2))
            if hi is None:
                hi = _num(match.group(3))
    up = lo is not None and hi is not None and hi > lo
    down = lo is not None and hi is not None and hi < lo
    if "stop early" in text or "early stop" in text or "stop at epoch" in text or "stop after" in text:
        return "stop_early"
    if "smaller network" in text or "fewer units" in text or "fewer layers" in text or "shrink" in text:
        return None
    if "loosen" in text or "less regular" in text or "smaller l2" in text or "less dropout" in text:
        return None
    if axis in ("learning_rate", "lr") or "learning rate" in text or "learning_rate" in text:
        if down or re.search(r"\b(lower|reduce|decrease|smaller)\b|÷|/ ?10\b", text):
            return "lower_lr"
        if up or re.search(r"\b(raise|increase|higher|larger)\b|×|\bx ?10\b", text):
            return "raise_lr"
        return None
    if axis == "epochs" or "train longer" in text or "more epochs" in text or "longer" in text:
        if down:
            return "stop_early"
        return "train_longer"
    if axis in ("depth", "width", "capacity") or any(w in text for w in (
            "capacity", "more units", "more layers", "wider", "deeper", "bigger network", "larger network")):
        return None if down else "capacity"
    if ("more data" in text or "more training data" in text or axis == "n_train" or "n_train" in text
            or "augment" in text or "more rows" in text):
        return "more_data"
    has_l2 = axis == "l2" or re.search(r"\bl2\b", text) is not None
    has_dropout = axis == "dropout" or "dropout" in text
    generic = "regularis" in text or "regulariz" in text or "weight decay" in text
    if has_l2 and has_dropout and (lo is None or hi is None):
        return "regularise"  # "add regularisation (L2, dropout)": either
    if has_l2 and not down:
        return "l2"
    if has_dropout and not down:
        return "dropout"
    if generic:
        return "regularise"
    return None


def first_advice(diagnosis: dict) -> tuple[str | None, str]:
    """The first advice item's family and text; ``good_fit`` / ``cannot_tell`` when there is none."""
    items = diagnosis.get("advice_items") or []
    if items:
        item = items[0]
        family = map_advice(item.get("change", ""), item.get("axis"), item.get("from"), item.get("to"))
        return family or "other", item.get("change", "")
    text = diagnosis.get("advice") or ""
    body = text.split(":", 1)[1] if ":" in text else text
    parts = [p.strip() for p in re.split(r";|\.\s", body) if p.strip()]
    label = diagnosis.get("label")
    if parts:  # "train longer / raise the learning rate", "train longer or raise ...": the first named
        for sub in re.split(r" / | or ", parts[0]):
            family = map_advice(sub)
            if family is not None:
                return family, parts[0]
    if label == "good_fit":
        return "good_fit", text
    if "cannot tell" in text.lower() or "run several epochs" in text.lower() or label in ("undiagnosed",):
        return "cannot_tell", text
    return ("other" if parts else "cannot_tell"), (parts[0] if parts else text)


def all_families(diagnosis: dict) -> list:
    items = diagnosis.get("advice_items") or []
    if items:
        return [map_advice(i.get("change", ""), i.get("axis"), i.get("from"), i.get("to")) for i in items]
    text = diagnosis.get("advice") or ""
    body = text.split(":", 1)[1] if ":" in text else text
    return [map_advice(p.strip()) for p in re.split(r";|\.\s", body) if p.strip()]


def diagnose(run_id: str, fitcheck: str) -> dict:
    base = [fitcheck, "diagnose", "--run-id", run_id, "--tracking-uri", f"sqlite:///{STORE}"]
    for flags in (["--format", "json"], ["--json"]):
        proc = subprocess.run(base + flags, capture_output=True, text=True, cwd=ROOT, timeout=300)
        if proc.returncode == 0:
            out = proc.stdout
            return json.loads(out[out.index("{"):])
        if "no such option" not in (proc.stderr + proc.stdout).lower():
            break
    return {"error": (proc.stderr or proc.stdout).strip()[-500:]}


# ----------------------------------------------------------------------------------------------- rules
def autolog_curves(cache: dict) -> tuple[float, float]:
    """Training and validation metric at the autolog run's last epoch (the same curves fitcheck reads)."""
    h = cache["autolog"]["history"]
    if cache["task"] == "regression":
        t, v = h.get("root_mean_squared_error", [None])[-1], h.get("val_root_mean_squared_error", [None])[-1]
    else:
        t, v = h["accuracy"][-1], h["val_accuracy"][-1]
        t, v = (None if t is None else 1 - t), (None if v is None else 1 - v)
    return (math.inf if t is None else t), (math.inf if v is None else v)


def fixed_rule(cache: dict) -> str:
    kind = "regression" if cache["task"] == "regression" else "classification"
    t, v = autolog_curves(cache)
    if not math.isfinite(t) or t > RULE_BIAS[kind]:
        return "capacity"
    if v - t > RULE_GAP[kind]:
        return "regularise"
    return "good_fit"


def gap_rule(cache: dict) -> str:
    """More data: yes when the last epoch's gap exceeds two standard errors."""
    t, v = autolog_curves(cache)
    n_tr, n_val = cache["base"]["n_train"], cache["n_val"]
    if not (math.isfinite(t) and math.isfinite(v)):
        return "no"
    if cache["task"] == "regression":
        se = math.sqrt(v ** 2 / (2 * n_val) + t ** 2 / (2 * n_tr))
    else:
        se = math.sqrt(max(v * (1 - v), 1e-12) / n_val + max(t * (1 - t), 1e-12) / n_tr)
    return "yes" if v - t > Z * se else "no"


def data_truth(table: dict) -> str | None:
    """yes when 2× or 4× the rows helps beyond noise; no when neither lowers the error by one SE; else unclear."""
    cases = [table[r] for r in ("data_2x", "data_4x") if r in table]
    if not cases:
        return None
    if any(c["verdict"] == "helpful" for c in cases):
        return "yes"
    if all(c["delta"] > -c["se"] for c in cases):
        return "no"
    return "unclear"


def fitcheck_data_verdict(diagnosis: dict) -> str:
    size = diagnosis.get("data_size")
    if isinstance(size, dict):
        for key in ("more_data_helps", "verdict"):
            if size.get(key) in ("yes", "no"):
                return size[key]
    if diagnosis.get("memorised_noise"):
        return "no"
    return "yes" if "more_data" in all_families(diagnosis) else "no"


# ----------------------------------------------------------------------------------------------- report
SHORT = {"helpful": "✓", "hurts": "✗", "neutral": "·"}


def fmt_delta(c: dict, regression: bool) -> str:
    scale = 1 if regression else 100
    unit = "" if regression else " pp"
    return f"{SHORT[c['verdict']]} {c['delta'] * scale:+.{2 if regression else 1}f}±{2 * c['se'] * scale:.{2 if regression else 1}f}{unit}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fitcheck", default=str(ROOT / ".venv" / "bin" / "fitcheck"))
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    caches, incomplete = [], []
    for scenario in S.SCENARIOS:
        if cache_path(scenario).exists():
            cache = load_cache(scenario)
            missing = [f"{r}/s{seed}" for r, seed, _ in units(scenario) if f"{r}/s{seed}" not in cache["fits"]]
            if cache.get("base_run_id") and not missing:
                caches.append(cache)
            else:
                incomplete.append(scenario.name)
    if incomplete:
        print(f"left out, not fully generated: {', '.join(incomplete)}", file=sys.stderr)
    if not caches:
        print("no cached scenarios: run generate.py first", file=sys.stderr)
        return 1
    if not STORE.exists():
        print(f"no MLflow store at {STORE}: run generate.py (it re-logs the base runs)", file=sys.stderr)
        return 1
    with ThreadPoolExecutor(args.jobs) as pool:
        diagnoses = list(pool.map(lambda c: diagnose(c["base_run_id"], args.fitcheck), caches))

    rows, summary_rows = [], []
    for cache, diagnosis in zip(caches, diagnoses):
        table = truth(cache)
        helpful = [r for r, c in table.items() if c["verdict"] == "helpful"]
        hurting = [r for r, c in table.items() if c["verdict"] == "hurts"]
        if "error" in diagnosis:
            family, text, label = None, "ERROR: " + diagnosis["error"].splitlines()[-1][:80], "error"
        else:
            family, text = first_advice(diagnosis)
            label = diagnosis.get("label", "?")
        rule = fixed_rule(cache)
        row = {
            "scenario": cache["scenario"], "kind": cache["kind"], "task": cache["task"], "n_train": cache["base"]["n_train"],
            "n_val": cache["n_val"], "note": cache["note"], "label": label,
            "converged": diagnosis.get("converged"), "unstable": diagnosis.get("unstable"),
            "borderline": diagnosis.get("borderline"), "advice": diagnosis.get("advice", text),
            "first_item": text, "family": family, "outcome": family_verdict(family, table),
            "families": [] if "error" in diagnosis else all_families(diagnosis),
            "rule": rule, "rule_outcome": family_verdict(rule, table),
            "helpful": helpful, "hurts": hurting, "remedies": table,
            "data_truth": data_truth(table), "data_fitcheck": None if "error" in diagnosis else fitcheck_data_verdict(diagnosis),
            "data_gap_rule": gap_rule(cache), "run_id": cache["base_run_id"],
        }
        row["any_item_hurts"] = [f for f in row["families"] if family_verdict(f, table) == "hurts"]
        rows.append(row)

    def score(key_outcome: str, key_family: str) -> dict:
        with_help = [r for r in rows if r["helpful"]]
        without = [r for r in rows if not r["helpful"]]
        hits = [r for r in with_help if r[key_outcome] == "helpful"]
        hurts = [r for r in rows if r[key_outcome] == "hurts"]
        quiet = [r for r in without if r[key_outcome] == "none"]
        return {"helpful_share": (len(hits), len(with_help)), "hurts": len(hurts), "hurts_in": [r["scenario"] for r in hurts],
                "quiet_when_nothing_helps": (len(quiet), len(without)),
                "misses": [r["scenario"] for r in with_help if r[key_outcome] != "helpful"]}

    fit_score, rule_score = score("outcome", "family"), score("rule_outcome", "rule")
    clear = [r for r in rows if r["data_truth"] in ("yes", "no") and r["data_fitcheck"] is not None]

    def acc(key=None, const=None):
        right = sum(1 for r in clear if (const or r[key]) == r["data_truth"])
        return right, len(clear)

    data_score = {"fitcheck": acc("data_fitcheck"), "always_yes": acc(const="yes"), "gap_2se": acc("data_gap_rule")}
    # more rows are also more gradient steps an epoch: the cases where training longer did not help
    clear_all, clear = clear, [r for r in clear if r["remedies"].get("longer", {}).get("verdict") != "helpful"]
    data_score_converged = {"fitcheck": acc("data_fitcheck"), "always_yes": acc(const="yes"),
                            "gap_2se": acc("data_gap_rule")}
    clear = clear_all

    md = f"Scored on fitcheck at {_fitcheck_version()}.\n\n" + render(rows, fit_score, rule_score, data_score, clear,
                                                                   data_score_converged)
    print(md)
    if not args.no_write:
        (HERE / "results.md").write_text(md)
        (RESULTS / "diagnoses.json").write_text(json.dumps(
            {c["scenario"]: d for c, d in zip(caches, diagnoses)}, indent=1, sort_keys=True, default=str))
        (RESULTS / "summary.json").write_text(json.dumps(
            {"fitcheck": fit_score, "fixed_rule": rule_score, "data_size": data_score,
             "data_size_longer_not_helpful": data_score_converged,
             "rows": [{k: v for k, v in r.items() if k != "remedies"} | {"remedies": {
                 k: {kk: round(vv, 5) if isinstance(vv, float) else vv for kk, vv in c.items()}
                 for k, c in r["remedies"].items()}} for r in rows]}, indent=1, sort_keys=True, default=str))
        readme = HERE / "README.md"
        if readme.exists():
            text = readme.read_text()
            start, end = "<!-- results:start -->", "<!-- results:end -->"
            if start in text and end in text:
                text = text[:text.index(start) + len(start)] + "\n" + md + "\n" + text[text.index(end):]
                readme.write_text(text)
    return 0


def _fitcheck_version() -> str:
    """The commit the diagnoses came from, and whether pipeline/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "pipeline"], capture_output=True, text=True,
                               cwd=ROOT, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return f"commit {head or '?'}" + (" with uncommitted changes in pipeline/" if dirty else "")


def render(rows, fit_score, rule_score, data_score, clear, data_score_converged) -> str:
    out = []
    pct = lambda a, b: f"{a}/{b} ({100 * a / b:.0f}%)" if b else "0/0"
    out.append("### Score\n")
    out.append("| | fitcheck diagnose | fixed-threshold rule | target |")
    out.append("|---|---|---|---|")
    out.append(f"| first advice is a helpful remedy, where one exists | {pct(*fit_score['helpful_share'])} | "
               f"{pct(*rule_score['helpful_share'])} | ≥ 90% |")
    out.append(f"| first advice hurts beyond noise | {fit_score['hurts']} | {rule_score['hurts']} | 0 |")
    out.append(f"| says good fit / cannot tell where nothing helps | {pct(*fit_score['quiet_when_nothing_helps'])} | "
               f"{pct(*rule_score['quiet_when_nothing_helps'])} | all |")
    out.append("")
    out.append(f"fitcheck misses: {', '.join(fit_score['misses']) or 'none'}; hurts: "
               f"{', '.join(fit_score['hurts_in']) or 'none'}. "
               f"Rule misses: {', '.join(rule_score['misses']) or 'none'}; hurts: {', '.join(rule_score['hurts_in']) or 'none'}.\n")
    out.append("### Per scenario (fitcheck's first advice item and the fixed rule, against the measured remedies)\n")
    out.append("| scenario | n_train / n_val | fitcheck label | first advice item | → remedy | outcome | rule | outcome | helpful remedies | hurting remedies |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tags = []
        if r.get("converged") is False:
            tags.append("still learning")
        if r.get("unstable"):
            tags.append("unstable")
        if r.get("borderline"):
            tags.append("borderline " + "/".join(r["borderline"]))
        label = r["label"] + (f" ({', '.join(tags)})" if tags else "")
        first = (r["first_item"] or "").replace("|", "/")
        if len(first) > 70:
            first = first[:67] + "..."
        out.append(f"| {r['scenario']} | {r['n_train']} / {r['n_val']} | {label} | {first} | {r['family']} | "
                   f"{r['outcome']} | {r['rule']} | {r['rule_outcome']} | {', '.join(r['helpful']) or '—'} | "
                   f"{', '.join(r['hurts']) or '—'} |")
    out.append("")
    out.append("### Measured remedies (mean validation error change over the seeds, ± 2 SE; ✓ helpful, ✗ hurts, · within noise)\n")
    out.append("Classification: 0/1 error in percentage points; regression: RMSE in units of the target's standard deviation. "
               "Base = mean validation metric of the base configuration. Seeds: 6. "
               "n/a: the remedy does not apply (no dropout without a hidden layer; the pool lacks the rows).\n")
    out.append("| scenario | base | " + " | ".join(S.REMEDIES) + " |")
    out.append("|---|---|" + "---|" * len(S.REMEDIES))
    for r in rows:
        regression = r["task"] == "regression"
        any_c = next(iter(r["remedies"].values()))
        base = f"{any_c['base']:.3f}" if regression else f"{100 * any_c['base']:.1f}%"
        cells = [fmt_delta(r["remedies"][m], regression) if m in r["remedies"] else "n/a" for m in S.REMEDIES]
        out.append(f"| {r['scenario']} | {base} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("### Data-size verdict (more data = 2× or 4× the rows helps beyond 2 SE; no = neither lowers the error by 1 SE)\n")
    out.append("| rule | right on clear cases | … where training longer did not help |")
    out.append("|---|---|---|")
    for name, key in (("fitcheck (advises more data, or its `data_size` verdict)", "fitcheck"),
                      ("always yes", "always_yes"), ("yes when the last epoch's gap exceeds 2 SE", "gap_2se")):
        out.append(f"| {name} | {pct(*data_score[key])} | {pct(*data_score_converged[key])} |")
    out.append("")
    out.append("| scenario | truth | fitcheck | gap > 2 SE |")
    out.append("|---|---|---|---|")
    for r in clear:
        out.append(f"| {r['scenario']} | {r['data_truth']} | {r['data_fitcheck']} | {r['data_gap_rule']} |")
    unclear = [r["scenario"] for r in rows if r["data_truth"] not in ("yes", "no")]
    out.append(f"\nNot clear (left out): {', '.join(unclear) or 'none'}.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
