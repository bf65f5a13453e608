"""Malformed search checkpoints, controller states and trial files are answered with a ValueError naming the file
or field (issue 7); a failed load leaves the controller as it was."""
from __future__ import annotations

import copy
import json
import math

import pytest

from search_fakes import toy_space

from codesign.search.evolution import RandomSearch, RegularizedEvolution
from codesign.search.objective import Result
from codesign.search.policy import PPO, Reinforce
from codesign.search.runner import load_trials, run_search


def _resume(out):
    return run_search(out, budget=6, population=2, resume=True, progress=False, accuracy="surrogate")


@pytest.fixture()
def finished(tmp_path):
    out = tmp_path / "run"
    run_search(out, budget=4, population=2, progress=False, accuracy="surrogate")
    return out


@pytest.mark.parametrize("mutate, needle", [
    (lambda t: t[: len(t) // 2], "malformed checkpoint"),
    (lambda t: "[1, 2]", "must be a JSON object"),
    (lambda t: json.dumps({**json.loads(t), "version": 99}), "version"),
    (lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "controller"}), "'controller'"),
    (lambda t: json.dumps({**json.loads(t), "n_trials": "four"}), "'n_trials'"),
    (lambda t: json.dumps({**json.loads(t), "surprise": 1}), "unknown checkpoint keys"),
    (lambda t: json.dumps({**json.loads(t), "controller": {"bogus": 1}}), "controller state"),
    (lambda t: json.dumps({**json.loads(t), "n_trials": 2.5}), "'n_trials'"),
    (lambda t: json.dumps({**json.loads(t), "phase": 7}), r"'phase' must be an int in \[0, 0\].*got 7"),
    (lambda t: json.dumps({**json.loads(t), "phase": -1}), "phase"),
    (lambda t: json.dumps({**json.loads(t), "batch": 10**30}), r"'batch' must be an int in \[0, n_trials=4\]"),
    (lambda t: json.dumps({**json.loads(t), "batch": 5}), "'batch'"),
    (lambda t: json.dumps({**json.loads(t), "batch": 1.0}), "'batch'"),
    (lambda t: json.dumps({**json.loads(t), "phase_ends": []}), "'phase_ends' must list 1"),
    (lambda t: json.dumps({**json.loads(t), "phase_ends": ["4"]}), "'phase_ends'"),
    (lambda t: json.dumps({**json.loads(t), "phase_ends": [0]}), "'phase_ends'"),
    (lambda t: json.dumps({**json.loads(t), "phase_ends": "4"}), "'phase_ends'"),
    (lambda t: json.dumps({**json.loads(t), "phase_fixed": []}), "'phase_fixed' must list 1"),
    (lambda t: json.dumps({**json.loads(t), "phase_fixed": [[0, 1]]}), r"'phase_fixed'\[0\] must be null"),
    (lambda t: json.dumps({**json.loads(t), "controller": {**json.loads(t)["controller"], "n_asked": "x"}}),
     r"controller state.*state\['n_asked'\] must be an int >= 0, got 'x'"),
    (lambda t: json.dumps({**json.loads(t), "controller": {k: v for k, v in json.loads(t)["controller"].items()
                                                           if k != "rng"}}), r"controller.*state\['rng'\] is missing"),
])
def test_malformed_checkpoint_names_the_file(finished, mutate, needle):
    ckpt = finished / "checkpoint.json"
    ckpt.write_text(mutate(ckpt.read_text()))
    with pytest.raises(ValueError, match=needle) as info:
        _resume(finished)
    assert "checkpoint.json" in str(info.value)


@pytest.fixture()
def phased(tmp_path):
    """A finished net-then-hw run: phase_ends [2, 4], phase 1 fixes the best network of phase 0."""
    out = tmp_path / "phased"
    run_search(out, budget=4, population=2, batch_size=2, strategy="net-then-hw", progress=False, plot=False,
               accuracy="surrogate")
    return out


def _edit(path, **changes):
    ckpt = json.loads(path.read_text())
    ckpt.update(changes)
    path.write_text(json.dumps(ckpt))
    return ckpt


@pytest.mark.parametrize("changes, needle", [
    ({"phase": 2}, r"'phase' must be an int in \[0, 1\] for strategy='net-then-hw' \(2 phases\), got 2"),
    ({"phase_ends": [2]}, "'phase_ends' must list 2"),
    ({"phase_ends": [3, 2]}, "'phase_ends' must list 2 increasing"),
    ({"phase_ends": [2, 2]}, "'phase_ends'"),
    ({"phase_ends": [5, 6]}, "'phase' is 1, but n_trials=4 has not reached the end of phase 0"),
    ({"phase": 0, "phase_fixed": [None, None]}, "'phase' is 0, but n_trials=4 is past its end"),
    ({"phase_fixed": [None]}, "'phase_fixed' must list 2"),
    ({"phase_fixed": [None, "x"]}, r"'phase_fixed'\[1\] must be null or an encoding of the network space"),
    ({"phase_fixed": [None, [99] * 40]}, r"'phase_fixed'\[1\]"),
    ({"phase_fixed": [[0], None]}, r"'phase_fixed'\[0\] must be null or an encoding of the hardware space"),
])
def test_malformed_phase_state_names_file_and_key(phased, changes, needle):
    _edit(phased / "checkpoint.json", **changes)
    with pytest.raises(ValueError, match=needle) as info:
        run_search(phased, budget=6, population=2, batch_size=2, strategy="net-then-hw", resume=True, progress=False,
                   plot=False, accuracy="surrogate")
    assert "checkpoint.json" in str(info.value)


def test_phase_wise_resume_needs_a_budget_past_the_first_phase(phased):
    # the first phase ended at trial 2: a budget of 2 cannot continue a run stopped in phase 0 at trial 1
    ckpt = json.loads((phased / "checkpoint.json").read_text())
    _edit(phased / "checkpoint.json", n_trials=1, batch=1, phase=0, phase_fixed=[None, None])
    kw = dict(batch_size=2, strategy="net-then-hw", progress=False, plot=False, accuracy="surrogate", resume=True)
    with pytest.raises(ValueError, match="budget=2 is too small"):
        run_search(phased, budget=2, population=2, **kw)
    # the intact checkpoint of the finished run resumes with a larger budget: phase 1 continues to trial 6
    (phased / "checkpoint.json").write_text(json.dumps(ckpt))
    summary = run_search(phased, budget=6, population=2, **kw)
    assert summary.n_trials == 6
    assert [t["phase"] for t in load_trials(phased)] == [0, 0, 1, 1, 1, 1]


class _ConstAccuracy:
    def evaluate(self, arch):
        return 0.7

    def to_dict(self):
        return {"kind": "const", "value": 0.7}


def test_config_difference_names_both_values(finished):
    with pytest.raises(ValueError) as info:
        run_search(finished, budget=6, population=2, resume=True, progress=False, accuracy="surrogate",
                   controller="random")
    msg = str(info.value)
    assert "controller: checkpoint 'evolution', now 'random'" in msg
    assert "resume with the options of the run that made it" in msg and "checkpoint.json" in msg
    # the accuracy description is stored as 'proxy' or 'accuracy': both are "accuracy settings" to the user
    with pytest.raises(ValueError, match=r"accuracy settings: checkpoint \{'kind': 'surrogate'.*now \{'kind': "
                                         r"'const', 'value': 0.7\}"):
        run_search(finished, budget=6, population=2, resume=True, progress=False, accuracy=_ConstAccuracy())
    # at most three differences are spelled out
    with pytest.raises(ValueError, match=r"and 1 more - resume") as info:
        run_search(finished, budget=6, population=3, sample_size=2, batch_size=3, resume=True, progress=False,
                   accuracy="surrogate", controller="random")
    assert "batch_size: checkpoint 4, now 3" in str(info.value)


def test_config_differences_by_hand():
    from codesign.search.records import config_differences as _config_differences

    saved = {"controller": "ppo", "proxy": {"kind": "proxy", "steps": 80, "lr": 0.1}, "space": "S" * 100,
             "objective": {"kind": "soft", "target_latency_ms": 3.0, "mode": "soft"}}
    now = {**saved, "proxy": {"kind": "proxy", "steps": 40, "lr": 0.1},
           "objective": {"kind": "soft", "target_latency_ms": 5.0, "mode": "soft"}, "space": "T" * 100}
    d = _config_differences(saved, now)
    assert d[0] == "accuracy settings (steps): checkpoint 80, now 40"
    assert d[1] == "objective.target_latency_ms: checkpoint 3.0, now 5.0"
    assert d[2].startswith("space: checkpoint 'SSS") and "..., now 'TTT" in d[2]
    old_v, new_v = d[2][len("space: checkpoint "):].split(", now ")
    assert len(old_v) == len(new_v) == 60  # values truncated to 60 characters
    assert not any("proxy" in x for x in d)
    assert _config_differences({"seed": 1}, {}) == ["seed: checkpoint 1, now unset"]


def test_half_written_trial_line_after_the_checkpoint_is_ignored(finished):
    trials = finished / "trials.jsonl"
    with open(trials, "a") as fh:
        fh.write('{"trial": 4, "metr')  # a kill in the middle of writing the next batch
    summary = _resume(finished)
    assert summary.n_trials == 6
    assert [t["trial"] for t in load_trials(trials)] == list(range(6))


def test_garbled_trial_line_names_file_and_line(tmp_path):
    p = tmp_path / "trials.jsonl"
    p.write_text('{"trial": 0}\n{oops\n')
    with pytest.raises(ValueError, match=r"trials.jsonl:2"):
        load_trials(p)


# -- controller states: every corrupted field is a ValueError naming it, and a failed load changes nothing -------

_TOY = toy_space(5, 3)  # 5 decisions of 3 choices (10, 11, 12)


def _toy_result(c) -> Result:
    return Result({"reward": sum(v == 12 for v in c) / len(c)})


def _optuna(sampler, **kw):
    pytest.importorskip("optuna")
    from codesign.search.optuna_sampler import OptunaSampler

    return OptunaSampler(_TOY, sampler=sampler, seed=3, **kw)


_FAMILIES = {
    "evolution": lambda: RegularizedEvolution(_TOY, population_size=4, sample_size=2, seed=3),
    "random": lambda: RandomSearch(_TOY, seed=3),
    "reinforce": lambda: Reinforce(_TOY, seed=3, lr=0.2),
    "ppo": lambda: PPO(_TOY, seed=3, lr=0.2),
    "tpe": lambda: _optuna("tpe", n_startup_trials=3),
    "nsga2": lambda: _optuna("nsga2", population_size=4),
}


def _driven(family):
    """A controller after a few batches and with two candidates asked but not told."""
    ctrl = _FAMILIES[family]()
    for _ in range(3):
        c = ctrl.ask(3)
        ctrl.tell(c, [_toy_result(x) for x in c])
    ctrl.tell([(12,) * 5], [Result({}, "failed", "boom")])  # a told-not-asked failure (fitness -inf)
    ctrl.ask(2)
    return ctrl


def _set(path, value):
    """A corruption that sets state[path[0]][path[1]]... to value."""
    def mutate(state):
        d = state
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
        return state
    return mutate


def _hist(tag, entry, which=0):
    """A corruption that replaces the ``which``-th history entry tagged ``tag`` by ``entry(old)``."""
    def mutate(state):
        h = state["optuna"]["history"]
        k = [i for i, op in enumerate(h) if op[0] == tag][which]
        h[k] = entry(h[k])
        return state
    return mutate


_OPTUNA = ("tpe", "nsga2")
_POLICY = ("reinforce", "ppo")
NAN, INF = math.nan, math.inf
# (families, corruption, needle in the message); families None: every family
_CORRUPTIONS = [
    (None, lambda s: "x", "state must be a dict"),
    (None, lambda s: None, "state must be a dict"),
    (None, _set(["kind"], 5), "kind"),
    (None, _set(["names"], 5), "names"),
    (None, _set(["names"], ["a", "b"]), "names"),
    (None, _set(["hyper"], "x"), "hyper"),
    (None, _set(["seed"], "garbage"), r"state\['seed'\]"),
    (None, _set(["seed"], -1), r"state\['seed'\]"),
    (None, _set(["seed"], 1.5), r"state\['seed'\]"),
    (_OPTUNA, _set(["seed"], 2**40), r"state\['seed'\]"),
    (None, _set(["rng"], "x"), r"state\['rng'\]"),
    (None, _set(["rng"], {"bit_generator": "Nope"}), r"state\['rng'\]"),
    (None, _set(["rng"], {"bit_generator": "PCG64"}), r"state\['rng'\]"),
    (None, _set(["rng", "state"], {"state": "a", "inc": 1}), r"state\['rng'\]"),
    (None, _set(["rng", "state", "state"], -5), r"state\['rng'\]"),
    (None, _set(["n_asked"], "x"), r"state\['n_asked'\] must be an int >= 0, got 'x'"),
    (None, _set(["n_asked"], -1), r"state\['n_asked'\]"),
    (None, _set(["n_asked"], 2.0), r"state\['n_asked'\]"),
    (None, _set(["n_asked"], True), r"state\['n_asked'\]"),
    (None, _set(["n_told"], "x"), r"state\['n_told'\]"),
    (None, _set(["n_told"], -3), r"state\['n_told'\]"),
    (None, _set(["n_told"], 0), r"state\['best'\]"),  # a best without anything told
    (None, _set(["best"], "x"), r"state\['best'\]"),
    (None, _set(["best"], None), r"state\['best'\]"),
    (None, _set(["best"], [[0] * 5]), r"state\['best'\]"),
    (None, _set(["best", 1], NAN), r"state\['best'\]\[1\]"),
    (None, _set(["best", 1], INF), r"state\['best'\]\[1\]"),
    (None, _set(["best", 1], "a"), r"state\['best'\]\[1\]"),
    (None, _set(["best", 0], [9] * 5), r"state\['best'\]\[0\]"),
    (None, _set(["best", 0], [0] * 4), r"state\['best'\]\[0\]"),
    (None, _set(["best", 0], "abcde"), r"state\['best'\]\[0\]"),
    (("evolution",), _set(["population"], "x"), r"state\['population'\]"),
    (("evolution",), _set(["population", 0], ["a"]), r"state\['population'\]\[0\]"),
    (("evolution",), _set(["population", 1, 1], NAN), r"state\['population'\]\[1\]\[1\]"),
    (("evolution",), _set(["population", 2, 0], [0, 0, 0, 0, 7]), r"state\['population'\]\[2\]\[0\]"),
    (("evolution",), lambda s: {**s, "population": s["population"] * 2}, r"state\['population'\] has 8"),
    (_POLICY, _set(["policy"], "x"), r"state\['policy'\]"),
    (_POLICY, _set(["policy", "theta"], [0.0] * 3), r"state\['policy'\]\['theta'\]"),
    (_POLICY, _set(["policy", "theta"], ["a"] * 15), r"state\['policy'\]\['theta'\]\[0\]"),
    (_POLICY, _set(["policy", "m", 4], NAN), r"state\['policy'\]\['m'\]\[4\]"),
    (_POLICY, _set(["policy", "v", 0], -1.0), r"state\['policy'\]\['v'\]"),
    (_POLICY, _set(["policy", "t"], "x"), r"state\['policy'\]\['t'\]"),
    (_POLICY, _set(["policy", "t"], -1), r"state\['policy'\]\['t'\]"),
    (_POLICY, _set(["baseline"], "x"), r"state\['baseline'\]"),
    (_POLICY, _set(["baseline"], NAN), r"state\['baseline'\]"),
    (_POLICY, _set(["pending"], "x"), r"state\['pending'\]"),
    (_POLICY, _set(["pending", 0], [[0] * 5]), r"state\['pending'\]\[0\]"),
    (_POLICY, _set(["pending", 0, 1], []), r"state\['pending'\]\[0\]\[1\]"),
    (_POLICY, _set(["pending", 0, 1], ["a"]), r"state\['pending'\]\[0\]\[1\]\[0\]"),
    (_POLICY, _set(["pending", 0, 0], [5] * 5), r"state\['pending'\]\[0\]\[0\]"),
    (_OPTUNA, _set(["optuna"], "x"), r"state\['optuna'\]"),
    (_OPTUNA, _set(["optuna", "sampler_seed"], "x"), r"\['sampler_seed'\]"),
    (_OPTUNA, _set(["optuna", "sampler_seed"], 2**40), r"\['sampler_seed'\]"),
    (_OPTUNA, _set(["optuna", "history"], "x"), r"\['history'\]"),
    (_OPTUNA, _hist("a", lambda op: ["a"]), r"\['history'\]\[0\]"),
    (_OPTUNA, _hist("t", lambda op: ["t", 0]), r"\['history'\]\[\d+\]"),
    (_OPTUNA, _hist("x", lambda op: ["x", op[1]]), r"\['history'\]\[\d+\]"),
    (_OPTUNA, _hist("a", lambda op: ["q", op[1]]), r"\['history'\]\[0\]"),
    (_OPTUNA, _hist("a", lambda op: "a"), r"\['history'\]\[0\]"),
    (_OPTUNA, _hist("t", lambda op: ["t", 0.9, op[2]]), r"\['history'\]\[\d+\]\[1\]"),
    (_OPTUNA, _hist("t", lambda op: ["t", op[1], NAN]), r"\['history'\]\[\d+\]\[2\]"),
    (_OPTUNA, _hist("t", lambda op: ["t", op[1], INF], 5), r"\['history'\]\[\d+\]\[2\]"),
    (_OPTUNA, _hist("t", lambda op: ["t", 999, op[2]], 5), "not pending"),
    (_OPTUNA, _hist("x", lambda op: ["x", op[1], "a"]), r"\['history'\]\[\d+\]\[2\]"),
    (_OPTUNA, _hist("x", lambda op: ["x", [0, 0], op[2]]), r"\['history'\]\[\d+\]\[1\]"),
    # a late divergence and a count mismatch: both fail after most of the history was replayed
    (_OPTUNA, _hist("a", lambda op: ["a", [(i + 1) % 3 for i in op[1]]], -1), "diverged"),
    (_OPTUNA, lambda s: {**s, "n_asked": s["n_asked"] + 1}, "holds 11 asks"),
]


@pytest.mark.parametrize("family", list(_FAMILIES))
def test_corrupted_controller_state_is_a_value_error_and_changes_nothing(family):
    ctrl, ref = _driven(family), _driven(family)
    good = json.loads(json.dumps(ctrl.state_dict(), allow_nan=False))
    cases = [(lambda s, k=k: {kk: v for kk, v in s.items() if kk != k}, f"state\\['{k}'\\] is missing")
             for k in good]  # every key missing in turn
    cases += [(c, needle) for fams, c, needle in _CORRUPTIONS if fams is None or family in fams]
    if family in _POLICY:
        cases += [(lambda s, k=k: {**s, "policy": {kk: v for kk, v in s["policy"].items() if kk != k}},
                   f"state\\['policy'\\]\\['{k}'\\] is missing") for k in good["policy"]]
    if family in _OPTUNA:
        cases += [(lambda s, k=k: {**s, "optuna": {kk: v for kk, v in s["optuna"].items() if kk != k}},
                   f"state\\['optuna'\\]\\['{k}'\\] is missing") for k in good["optuna"]]
    for mutate, needle in cases:
        with pytest.raises(ValueError, match=needle):
            ctrl.load_state_dict(mutate(copy.deepcopy(good)))
        assert ctrl.state_dict() == good, needle  # nothing changed by the failed load
    # still the controller it was: it asks what the untouched one asks, and its state reloads
    if hasattr(ref, "pending"):
        assert ctrl.pending == ref.pending
    for c in (ctrl, ref):
        cands = c.ask(3)
        c.tell(cands, [_toy_result(x) for x in cands])
    assert ctrl.ask(4) == ref.ask(4)
    fresh = _FAMILIES[family]()
    fresh.load_state_dict(ctrl.state_dict())
    assert fresh.ask(3) == ctrl.ask(3)
