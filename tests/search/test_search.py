"""Sampled search, the online stopping rule, successive halving and its rung record: pure parts, in seconds."""

from __future__ import annotations

import multiprocessing as mp
import sys

import numpy as np
import pytest

from pipeline.diagnostics import OnlineStop, SuccessiveHalving, recommend_stop
from pipeline.errors import FitcheckError
from pipeline.search import expand_grid
from pipeline.training import RungRecord
from pipeline.search import GridSampler, RandomSampler, TpeSampler, sample_trials, search_trials
from pipeline.spec import parse_spec

MOONS = {"dataset": {"synthetic": "moons"}}
RANGES = {"learning_rate": {"low": 1e-4, "high": 0.1, "log": True}, "width": {"low": 4, "high": 64},
          "dropout": {"low": 0.0, "high": 0.5}, "depth": [1, 2], "optimizer": ["adam", "sgd"], "seeds": [0, 1]}


def spec(grid=None, **search):
    return parse_spec({**MOONS, "grid": grid or RANGES, "search": {"method": "random", **search}}, source="s.yaml")


def trials(grid=None, **search):
    parsed = spec(grid, **search)
    return sample_trials(parsed.grids, parsed.search, task="binary", skip_invalid=False).trials


def test_random_search_is_deterministic_and_seeded():
    first, again, other = trials(n_trials=8, seed=3), trials(n_trials=8, seed=3), trials(n_trials=8, seed=4)
    assert first == again
    assert first != other
    assert [t.key("data") for t in first] == [t.key("data") for t in again]


def test_sampled_values_stay_in_their_ranges_and_each_configuration_runs_per_seed():
    sampled = trials(n_trials=30, seed=0)
    assert len(sampled) == 60
    assert [t.seed for t in sampled] == [0, 1] * 30
    configurations = {(t.depth, t.width, t.learning_rate, t.dropout, t.optimizer) for t in sampled}
    assert len(configurations) == 30
    for trial in sampled:
        assert 1e-4 <= trial.learning_rate <= 0.1 and trial.learning_rate == float(f"{trial.learning_rate:.4g}")
        assert isinstance(trial.width, int) and 4 <= trial.width <= 64
        assert 0.0 <= trial.dropout <= 0.5
        assert trial.depth in (1, 2) and trial.optimizer in ("adam", "sgd")
    rates = np.log10([t.learning_rate for t in sampled])
    assert rates.min() < -3 and rates.max() > -2  # log-uniform: every decade is reached


def test_a_list_grid_is_sampled_without_replacement():
    grid = {"depth": [1, 2, 3], "width": [8, 16, 32, 64], "learning_rate": [0.1, 0.01, 0.001]}
    parsed = parse_spec({**MOONS, "grid": grid}, source="s.yaml")
    every = set(expand_grid(parsed.grids, task="binary", skip_invalid=False).trials)
    sampled = trials(grid, n_trials=10, seed=1)
    assert len(sampled) == len(set(sampled)) == 10
    assert set(sampled) <= every
    assert set(trials(grid, n_trials=36)) == every  # as many as the grid holds: all of it, once
    with pytest.raises(FitcheckError, match=r"search.n_trials: 100 is more than the 36 distinct configurations"):
        trials(grid, n_trials=100)  # more than it holds: refused before any draw


def test_a_grid_over_max_trials_suggests_sampling(tmp_path):
    from pipeline.sweep import SweepOptions, run_sweep

    big = parse_spec({**MOONS, "max_trials": 2, "grid": {"depth": [1, 2, 3], "epochs": [1]}}, source="s.yaml")
    with pytest.raises(FitcheckError, match=r"^s.yaml: grid has 3 trials, over max_trials=2; pass --yes to run it "
                                            r"anyway, raise max_trials, or sample it with search: \{method: random, "
                                            r"n_trials: N\}$"):
        run_sweep(big, SweepOptions(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", report=False))
    assert not (tmp_path / "mlflow.db").exists()
    sampled = parse_spec({**MOONS, "max_trials": 2, "grid": {"depth": [1, 2, 3]},
                          "search": {"method": "random", "n_trials": 2}}, source="s.yaml")
    assert len(search_trials(sampled, task="binary").trials) == 2


@pytest.mark.parametrize(("changes", "message"), [
    ({"grid": {"learning_rate": {"low": 0.1, "high": 0.01}}, "search": {"method": "random", "n_trials": 4}},
     "s.yaml: grid.learning_rate: low must be at most high but got low=0.1, high=0.01"),
    ({"grid": {"l2": {"low": 0, "high": 0.01, "log": True}}, "search": {"method": "random", "n_trials": 4}},
     "s.yaml: grid.l2: low must be > 0 for a log range but got low=0"),
    ({"grid": {"depth": {"low": 1, "high": 2.5}}, "search": {"method": "random", "n_trials": 4}},
     "s.yaml: grid.depth.high: must be a whole number in [0, 100] but got 2.5"),
    ({"search": {"method": "bayes", "n_trials": 4}},
     "s.yaml: search.method: 'bayes' is not accepted; accepted: grid, random, tpe, recipe"),
    ({"search": {"method": "random"}},
     "s.yaml: search: n_trials must be given for a random search (the number of configurations to sample) "
     "but got none"),
    ({"search": {"n_trials": 4}},
     "s.yaml: search: n_trials must be left out of a grid search (it runs every configuration) but got 4; "
     "set method: random to sample 4 of them"),
    ({"grid": {"learning_rate": {"low": 1e-4, "high": 0.1}}},
     "s.yaml: grid.learning_rate: a range must be sampled by search.method random or tpe but got grid; "
     "list its values, or add search: {method: random, n_trials: N}"),
    ({"search": {"method": "recipe"}, "grid": {"learning_rate": {"low": 1e-4, "high": 0.1}}},
     "s.yaml: grid.learning_rate: a range must be sampled by search.method random or tpe but got recipe; "
     "list its values, or add search: {method: random, n_trials: N}"),
    ({"search": {"method": "recipe", "n_trials": 8}},
     "s.yaml: search: n_trials must be left out of a recipe search but got 8; its size is budget (trials in all, "
     "default 40) and rounds (default 4)"),
    ({"search": {"method": "random", "n_trials": 8, "budget": 8}},
     "s.yaml: search: budget belongs to a recipe search but got method random; set method: recipe, or leave it out"),
    ({"search": {"method": "recipe", "rounds": 0}}, "s.yaml: search.rounds: must be a whole number in [1, 50] but "
                                                     "got 0"),
    ({"stopping": {"early": "yes"}}, "s.yaml: stopping.early: must be true or false but got 'yes'"),
    ({"stopping": {"reduction_factor": 1}}, "s.yaml: stopping.reduction_factor: must be a whole number in "
                                            "[2, 100] but got 1"),
])
def test_bad_search_input_is_one_line(changes, message):
    with pytest.raises(FitcheckError) as raised:
        parse_spec({**MOONS, **changes}, source="s.yaml")
    assert str(raised.value) == message


def test_the_new_keys_at_their_defaults_keep_earlier_hashes_and_keys():
    plain = parse_spec(MOONS, source="a.yaml")
    explicit = parse_spec({**MOONS, "search": {"method": "grid"}, "stopping": {"early": False}}, source="a.yaml")
    assert plain.fingerprint() == explicit.fingerprint() == "2eca42485aa7"  # as before search and stopping
    trial = expand_grid(plain.grids, task="binary", skip_invalid=False).trials[0]
    assert trial.key("data") == "d4a66661bb3c6e26"  # as main computes it
    assert "early_stopping" not in trial.params() and "pruning" not in trial.params()


def curves(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.integers(15, 150))
        epochs = np.arange(n)
        out.append(np.exp(-epochs / rng.uniform(2, 40)) + rng.uniform(0, 0.3) * epochs / n
                   + np.cumsum(rng.normal(0, 0.01, n)))
    return out


def test_the_online_rule_keeps_the_epoch_the_whole_curve_recommends():
    stopped = 0
    for curve in curves(200, seed=0):
        rule, kept, candidates = OnlineStop(), None, []
        for value in curve:
            rule.update(value)
            candidates.append(rule.earliest_candidate)
            if rule.kept_epoch is not None:
                kept = rule.kept_epoch
                break
        if kept is None:  # never settled: the run trains to its last epoch
            continue
        stopped += 1
        assert kept == recommend_stop(curve) == recommend_stop(curve[:rule.n_epochs])
        assert rule.n_epochs == kept + 10 + 2  # patience, then the smoothing's half window
        assert max(candidates) <= kept  # the callback never dropped the weights it keeps
    assert stopped > 100


def test_the_online_rule_resets_for_a_new_run():
    rule = OnlineStop(window=1, patience=2)
    for value in [5, 4, 3, 4, 5]:
        rule.update(value)
    assert rule.kept_epoch == 3
    rule.reset()
    assert (rule.n_epochs, rule.kept_epoch) == (0, None)


def test_successive_halving_keeps_the_best_third():
    pruner = SuccessiveHalving(min_epochs=5, reduction_factor=3)
    assert pruner.rungs(40) == [5, 15] and pruner.rungs(45) == [5, 15] and pruner.rungs(46) == [5, 15, 45]
    assert not pruner.prune([], 0.9)  # the first to report goes on
    assert pruner.prune([0.2, 0.3], 0.25) and not pruner.prune([0.2, 0.3], 0.1)
    five = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert not pruner.prune(five, 0.15) and pruner.prune(five, 0.25)  # 6 values: the best 2 go on
    with pytest.raises(ValueError, match="reduction_factor must be at least 2 but got 1."):
        SuccessiveHalving(reduction_factor=1)


def _report_many(path: str, trial: int) -> None:
    record = RungRecord(path)
    for rung in range(50):
        record.report(rung=rung, trial=f"t{trial}", value=float(trial))


def test_the_rung_record_loses_no_report_between_processes(tmp_path):
    path = str(tmp_path / "rungs.jsonl")
    context = mp.get_context("spawn")
    workers = [context.Process(target=_report_many, args=(path, trial)) for trial in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    record = RungRecord(path)
    for rung in range(50):
        assert sorted(record.report(rung=rung, trial="last", value=0.5)) == [0.0, 1.0, 2.0, 3.0]
    assert sorted(record.report(rung=0, trial="t0", value=9.0)) == [0.5, 1.0, 2.0, 3.0]  # t0's own value is replaced


def test_tpe_asks_within_the_space_and_refuses_what_it_cannot_search(monkeypatch):
    sampler = TpeSampler(parse_spec({**MOONS, "grid": RANGES, "search": {"method": "tpe", "n_trials": 3}},
                                    source="s.yaml"), task="binary")
    asked = sampler.ask(5)
    assert [config.seed for config in asked] == [0, 1] * 3 and sampler.exhausted and sampler.ask(5) == []
    assert sampler.n_trials == 6
    assert all(1e-4 <= config.learning_rate <= 0.1 and 4 <= config.width <= 64 for config in asked)
    assert sampler.varying == ("depth", "width", "optimizer", "learning_rate", "dropout", "seed")
    two = parse_spec({**MOONS, "grid": [{"depth": [1]}, {"depth": [2]}], "search": {"method": "tpe", "n_trials": 2}},
                     source="s.yaml")
    with pytest.raises(FitcheckError) as raised:
        TpeSampler(two, task="binary")
    assert str(raised.value) == ("s.yaml: grid: a tpe search must search one grid (a mapping) but got a list of 2 "
                                 "grids; merge them or use method: random")
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if the extra were not installed
    with pytest.raises(FitcheckError) as raised:
        TpeSampler(parse_spec({**MOONS, "search": {"method": "tpe", "n_trials": 2}}, source="s.yaml"), task="binary")
    assert str(raised.value) == "s.yaml: search.method: tpe needs Optuna; pip install 'fitcheck[optuna]'"


def test_the_early_stopping_flag_is_the_specs_stopping_early_and_its_own_sweep():
    """``--early-stopping`` on a spec without it sweeps what ``stopping: {early: true}`` sweeps: the same
    spec hash (so its trials do not join the plain sweep's parent run under the same names)."""
    from pipeline.sweep import Sweep, SweepOptions

    plain = parse_spec(MOONS, source="s.yaml")
    flagged = Sweep(plain, SweepOptions(early_stopping=True)).spec
    written = parse_spec({**MOONS, "stopping": {"early": True}}, source="s.yaml")
    assert flagged.fingerprint() == written.fingerprint() != plain.fingerprint()
    assert Sweep(plain, SweepOptions()).spec is plain


def test_the_sweep_logs_the_values_a_builders_sampled_ranges_took():
    """The sweep run's ``grid`` param lists, for an axis given as a range, the values its trials drew,
    a model builder's hyperparameters included."""
    from pipeline.search import search_trials
    from pipeline.sweep._parent import axis_values

    spec = parse_spec({**MOONS, "model": "models.mlp:build", "search": {"method": "random", "n_trials": 3},
                       "grid": {"units": {"low": 4, "high": 32}, "learning_rate": {"low": 1e-3, "high": 0.1}}},
                      source="s.yaml")
    grid = search_trials(spec, task="binary", model="models.mlp:build", builder=b"function")
    trials = grid.trials
    values = axis_values(spec, trials)
    assert values["units"] == sorted({trial.axis("units") for trial in trials}) and len(values["units"]) == 3
    assert values["learning_rate"] == sorted({trial.learning_rate for trial in trials})


def test_a_planned_sampler_gives_every_trial_at_the_first_ask_and_learns_nothing():
    """Grid and random search are samplers too: one ask, whatever its size, gives their whole plan."""
    grid = parse_spec({**MOONS, "grid": {"depth": [1, 2], "seeds": [0, 1]}}, source="s.yaml")
    sampler = GridSampler(grid, task="binary")
    assert (sampler.n_trials, sampler.varying, sampler.exhausted) == (4, ("depth", "seed"), False)
    asked = sampler.ask(1)
    assert asked == list(expand_grid(grid.grids, task="binary", skip_invalid=False).trials) == list(sampler.planned)
    sampler.tell(asked[0], 0.1)
    assert sampler.exhausted and sampler.ask(1) == []
    sampled = RandomSampler(spec(n_trials=3, seed=3), task="binary")
    assert sampled.ask(1) == list(trials(n_trials=3, seed=3)) and sampled.ask(1) == []


def test_tpe_is_told_a_configurations_mean_over_its_seeds_once_every_seed_is_told():
    sampler = TpeSampler(parse_spec({**MOONS, "grid": RANGES, "search": {"method": "tpe", "n_trials": 2}},
                                    source="s.yaml"), task="binary")
    first, second = sampler.ask(1), sampler.ask(1)
    assert sampler.exhausted
    sampler.tell(first[0], 0.2)
    assert [trial.state.name for trial in sampler.study.trials] == ["RUNNING", "RUNNING"]
    sampler.tell(first[1], 0.4)
    sampler.tell(second[0], None)  # a failed seed fails its configuration
    sampler.tell(second[1], 0.1)
    assert [trial.state.name for trial in sampler.study.trials] == ["COMPLETE", "FAIL"]
    assert sampler.study.trials[0].value == pytest.approx(0.3)
    with pytest.raises(FitcheckError, match="must be asked before it is told"):
        sampler.tell(first[0], 0.2)


def test_importing_search_loads_no_framework():
    """The samplers never train and never log: importing them loads no Keras, MLflow or Optuna."""
    import subprocess

    code = ("import sys, pipeline.search; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'optuna') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"
