"""The optuna-backed controllers (TPE, NSGA-II): ask/tell, determinism, exact resume, learning, search loop."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import search_fakes  # noqa: E402
from search_fakes import HashAccuracy, Interrupt as _Interrupt, strip_timing as _strip, toy_space  # noqa: E402

from codesign.search.evolution import RandomSearch  # noqa: E402
from codesign.search.objective import Result  # noqa: E402
from codesign.search.optuna_sampler import OptunaSampler  # noqa: E402
from codesign.space import JointSpace, network_space  # noqa: E402


Toy = toy_space
TOY = Toy()
TARGET = 12  # the value every decision should take


def toy_result(c) -> Result:
    return Result({"reward": sum(v == TARGET for v in c) / len(c)})


def drive(ctrl, space, rounds, n=4, result=toy_result):
    return search_fakes.drive(ctrl, space, rounds, result, n=n)


def _make(sampler, space=TOY, seed=0, **kw):
    if sampler == "nsga2":
        kw.setdefault("population_size", 8)
    else:
        kw.setdefault("n_startup_trials", 8)
    return OptunaSampler(space, sampler=sampler, seed=seed, **kw)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_deterministic_for_a_seed(sampler):
    a = drive(_make(sampler, seed=5), TOY, 6)
    b = drive(_make(sampler, seed=5), TOY, 6)
    c = drive(_make(sampler, seed=6), TOY, 6)
    assert a == b
    assert a != c
    assert all(len(e) == len(TOY) and all(0 <= i < 4 for i in e) for e in a)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_state_dict_round_trip_mid_batch(sampler):
    ref = _make(sampler, seed=11)
    drive(ref, TOY, 4)
    pending = ref.ask(4)
    ref.tell(pending[:2], [toy_result(c) for c in pending[:2]])
    # a candidate that was never asked, and a failure (told as failure_value)
    ref.tell([(13,) * 8, (10,) * 8], [Result({"reward": 0.3}), Result({}, "failed", "boom")])
    state = json.loads(json.dumps(ref.state_dict(), allow_nan=False))  # JSON-serialisable
    restored = _make(sampler, seed=0)
    restored.load_state_dict(state)
    assert restored.n_asked == ref.n_asked == 20 and restored.n_told == ref.n_told == 20
    assert restored.pending == ref.pending == pending[2:]
    assert restored.best == ref.best
    assert len(restored.study.trials) == len(ref.study.trials) == 22
    for ctrl in (ref, restored):  # finish the interrupted batch, then both ask the same from here on
        ctrl.tell(pending[2:], [toy_result(c) for c in pending[2:]])
    assert drive(restored, TOY, 4) == drive(ref, TOY, 4)
    values = [t.value for t in ref.study.trials]
    assert values[20] == 0.3 and values[21] == -3.0  # the told-not-asked candidate; the failure floor


def test_told_not_asked_and_failures_reach_the_study():
    ctrl = _make("tpe", failure_value=-5.0)
    ctrl.tell([(12,) * 8, (11,) * 8], [Result({"reward": 1.0}), Result({}, "failed", "x")])
    ctrl.tell([(10,) * 8], [Result({"constraint_violation": 0.5}, "infeasible", "too big")])
    trials = ctrl.study.trials
    assert [t.params["d0"] for t in trials] == [2, 1, 0]  # choice indices, named after the decisions
    assert [t.value for t in trials] == [1.0, -5.0, -1.5]
    assert ctrl.best == ((12,) * 8, 1.0) and ctrl.n_asked == 0 and ctrl.n_told == 3
    # a duplicate ask is matched to the oldest pending trial with its encoding
    c = ctrl.ask(1)[0]
    ctrl.tell([c], [toy_result(c)])
    assert ctrl.pending == [] and ctrl.study.trials[-1].state == optuna.trial.TrialState.COMPLETE


def test_tpe_beats_random_on_a_toy_objective():
    # maximise the number of decisions equal to TARGET (8 decisions of 4 choices), 80 trials in batches of 4;
    # random search's best of 80 is about 5 of 8 (0.65), TPE's mostly 8 of 8
    def best_of(ctrl):
        drive(ctrl, TOY, 20)
        return ctrl.best[1]

    tpe = [best_of(_make("tpe", seed=s)) for s in range(3)]
    rnd = [best_of(RandomSearch(TOY, seed=s)) for s in range(3)]
    assert np.mean(tpe) > np.mean(rnd) + 0.2, (tpe, rnd)


def test_bad_input_is_a_value_error_naming_the_field():
    with pytest.raises(ValueError, match="sampler"):
        OptunaSampler(TOY, sampler="cmaes")
    for seed in (-1, 1.5, True, 2**32):
        with pytest.raises(ValueError, match="seed"):
            OptunaSampler(TOY, seed=seed)
    with pytest.raises(ValueError, match="population_size"):
        OptunaSampler(TOY, sampler="nsga2", population_size=1)
    with pytest.raises(ValueError, match="population_size"):
        OptunaSampler(TOY, sampler="tpe", population_size=8)  # an NSGA-II option
    with pytest.raises(ValueError, match="n_startup_trials"):
        OptunaSampler(TOY, sampler="nsga2", n_startup_trials=3)
    with pytest.raises(ValueError, match="crossover_prob"):
        OptunaSampler(TOY, sampler="nsga2", crossover_prob=1.5)
    with pytest.raises(ValueError, match="failure_value"):
        OptunaSampler(TOY, failure_value=-math.inf)
    with pytest.raises(ValueError, match="space"):
        OptunaSampler("space")  # type: ignore[arg-type]
    ctrl = _make("tpe")
    with pytest.raises(ValueError, match="2 candidates but 1 results"):
        ctrl.tell(ctrl.ask(2), [Result({"reward": 0.1})])
    with pytest.raises(ValueError, match="d0"):
        ctrl.tell([(99,) * 8], [Result({"reward": 0.1})])
    # state of another sampler / other hyperparameters / a tampered history
    with pytest.raises(ValueError, match="kind"):
        ctrl.load_state_dict(_make("nsga2").state_dict())
    with pytest.raises(ValueError, match="hyper"):
        ctrl.load_state_dict(_make("tpe", n_startup_trials=3).state_dict())
    ref = _make("tpe", seed=2)
    drive(ref, TOY, 2)
    state = json.loads(json.dumps(ref.state_dict()))
    first = state["optuna"]["history"][0]
    first[1] = [(i + 1) % 4 for i in first[1]]
    with pytest.raises(ValueError, match="diverged"):
        _make("tpe").load_state_dict(state)


def test_population_size_is_capped():
    with pytest.raises(ValueError, match=r"population_size must be an int in \[2, 1000000\], got population_size="):
        OptunaSampler(TOY, sampler="nsga2", population_size=2**70)
    assert OptunaSampler(TOY, sampler="nsga2", population_size=10**6).options["population_size"] == 10**6


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_a_failed_load_leaves_the_sampler_as_it_was(sampler):
    # the fresh-user report: a history diverging late left an empty study with n_asked=6 behind, whose own
    # state_dict could not be reloaded
    ctrl, ref = _make(sampler, seed=4), _make(sampler, seed=4)
    for c in (ctrl, ref):
        drive(c, TOY, 2, n=3)
    other = _make(sampler, seed=9)
    drive(other, TOY, 3, n=3)
    state = json.loads(json.dumps(other.state_dict()))
    last_ask = max(i for i, op in enumerate(state["optuna"]["history"]) if op[0] == "a")
    state["optuna"]["history"][last_ask][1] = [(i + 1) % 4 for i in state["optuna"]["history"][last_ask][1]]
    before = ctrl.state_dict()
    with pytest.raises(ValueError, match=rf"diverged .*\['history'\]\[{last_ask}\]"):
        ctrl.load_state_dict(state)
    assert ctrl.state_dict() == before and ctrl.n_asked == 6 and len(ctrl.study.trials) == 6
    assert drive(ctrl, TOY, 2) == drive(ref, TOY, 2)
    fresh = _make(sampler, seed=0)
    fresh.load_state_dict(json.loads(json.dumps(ctrl.state_dict())))
    assert drive(fresh, TOY, 1) == drive(ctrl, TOY, 1)
    assert repr(fresh).endswith("seed=4, n_asked=18, n_told=18)")


def test_importing_the_package_needs_no_optuna():
    code = ("import sys; sys.modules['optuna'] = None\n"
            "import codesign.search as s\n"
            "assert 'tpe' in s.CONTROLLERS and s.OptunaSampler\n"
            "from codesign.space import JointSpace\n"
            "try:\n    s.OptunaSampler(JointSpace())\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "codesign[search]" in out


# -- the search loop ----------------------------------------------------------------------------------------------
ETPU = network_space("edgetpu")


def _fast(**kw):  # as tests/test_search.py
    base = dict(space="edgetpu", hw="edgetpu-space", progress=False, plot=False, budget=12, batch_size=4,
                population=6, sample_size=3)
    base.update(kw)
    return base


@pytest.mark.parametrize("controller", ["tpe", "nsga2"])
def test_run_search_end_to_end_and_resume(tmp_path, controller):
    from codesign.search.runner import load_trials, make_controller, run_search

    kw = _fast(controller=controller, seed=3, controller_options={"n_startup_trials": 4} if controller == "tpe" else None)
    s = run_search(tmp_path / "a", accuracy=HashAccuracy(ETPU), **kw)
    trials = load_trials(tmp_path / "a")
    assert s.n_trials == 12 and s.best is not None and len({tuple(t["encoding"]) for t in trials}) > 6
    ckpt = json.loads((tmp_path / "a" / "checkpoint.json").read_text())
    assert ckpt["controller"]["kind"] == f"optuna_{controller}"
    assert len([h for h in ckpt["controller"]["optuna"]["history"] if h[0] == "a"]) == 12
    # interrupted in the middle of a batch (at the 7th accuracy evaluation), then resumed: the same trials
    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path / "b", accuracy=_Interrupt(ETPU, 7), **kw)
    assert 0 < json.loads((tmp_path / "b" / "checkpoint.json").read_text())["n_trials"] < 12
    run_search(tmp_path / "b", resume=True, accuracy=HashAccuracy(ETPU), **kw)
    assert _strip(load_trials(tmp_path / "b")) == _strip(trials)
    # a smaller budget continued to the full one: the same trials
    run_search(tmp_path / "c", accuracy=HashAccuracy(ETPU), **{**kw, "budget": 8})
    run_search(tmp_path / "c", resume=True, accuracy=HashAccuracy(ETPU), **kw)
    assert _strip(load_trials(tmp_path / "c")) == _strip(trials)
    if controller == "nsga2":  # the runner's population is NSGA-II's generation size
        assert make_controller("nsga2", JointSpace(), population=6).options["population_size"] == 6


def test_cli_tpe_search_and_a_clear_error_without_optuna(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from codesign.cli.search import register

    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so "search" is a subcommand as in codesign's app
        pass

    args = ["search", "--space", "edgetpu", "--hw", "edgetpu-space", "--controller", "tpe", "--budget", "4",
            "--batch-size", "4", "--accuracy", "surrogate", "--no-progress", "--no-plot"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "ok")])
    assert r.exit_code == 0, r.output
    assert "4 trials" in r.output
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if optuna were not installed
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "no")])
    assert r.exit_code == 2 and "codesign[search]" in r.output, r.output
