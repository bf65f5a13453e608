"""Objective, Pareto archive / hypervolume and the controllers (numpy only), plus an end-to-end search."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import search_fakes

from codesign.search.evolution import RandomSearch, RegularizedEvolution
from codesign.search.objective import HARD, SOFT, Objective, Result, fitness, mnas_reward
from codesign.search.pareto import ParetoArchive, dominates, hypervolume, nondominated
from codesign.space import JointSpace

# -- MnasNet reward, worked by hand ---------------------------------------------------------------------------
# 2 ** -0.07 = exp(-0.07 * ln 2) = exp(-0.0485203) = 0.9526381;  2 ** 0.07 = 1.0497166


def test_soft_reward_by_hand():
    assert SOFT == (-0.07, -0.07)
    assert mnas_reward(0.8, 20.0, 10.0) == pytest.approx(0.8 * 0.9526381, rel=1e-6)  # 2x slower than target
    assert mnas_reward(0.8, 5.0, 10.0) == pytest.approx(0.8 * 1.0497166, rel=1e-6)  # 2x faster than target
    assert mnas_reward(0.8, 10.0, 10.0) == pytest.approx(0.8)


def test_hard_reward_by_hand():
    assert HARD == (0.0, -1.0)
    a, b = HARD
    assert mnas_reward(0.8, 20.0, 10.0, alpha=a, beta=b) == pytest.approx(0.4)  # 0.8 * (20/10)^-1
    assert mnas_reward(0.8, 40.0, 10.0, alpha=a, beta=b) == pytest.approx(0.2)
    assert mnas_reward(0.8, 5.0, 10.0, alpha=a, beta=b) == pytest.approx(0.8)  # no bonus below target
    obj = Objective(target_latency_ms=10.0, mode="hard")
    assert obj.reward(0.6, 15.0) == pytest.approx(0.4)


def test_mnas_paper_trade_off():
    # Tan et al.: with alpha = beta = -0.07, a 2x slower model needs ~5% (relative) more accuracy for equal reward
    assert mnas_reward(0.80, 10.0, 10.0) == pytest.approx(mnas_reward(0.80 / 0.9526381, 20.0, 10.0), rel=1e-6)


def test_reward_bad_input():
    with pytest.raises(ValueError, match="accuracy"):
        mnas_reward(1.5, 10.0, 10.0)
    with pytest.raises(ValueError, match="latency_ms"):
        mnas_reward(0.5, -1.0, 10.0)
    with pytest.raises(ValueError, match="target_ms"):
        mnas_reward(0.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="mode"):
        Objective(target_latency_ms=1.0, mode="medium")
    with pytest.raises(ValueError, match="area_limit_mm2"):
        Objective(target_latency_ms=1.0, area_limit_mm2=-3)
    with pytest.raises(ValueError, match="status"):
        Result({}, status="done")
    with pytest.raises(ValueError, match="latency_ms"):
        Objective(target_latency_ms=1.0)({"accuracy": 0.5})


def test_objective_area_constraint_is_infeasible_not_dropped():
    obj = Objective(target_latency_ms=10.0, area_limit_mm2=6.0)
    ok = obj({"accuracy": 0.8, "latency_ms": 20.0, "area_mm2": 5.0})
    assert ok.status == "complete" and ok.reason == ""
    assert ok.reward == pytest.approx(0.8 * 0.9526381, rel=1e-6)
    assert ok.metrics["reward"] == ok.reward
    bad = obj({"accuracy": 0.8, "latency_ms": 20.0, "area_mm2": 7.5})
    assert bad.status == "infeasible" and bad.reward is None
    assert "area 7.500 mm2 exceeds limit 6.000 mm2" in bad.reason
    assert bad.metrics["accuracy"] == 0.8  # kept
    assert bad.metrics["constraint_violation"] == pytest.approx(0.25)
    assert fitness(bad) == pytest.approx(-1.25)
    assert obj.area_check(6.0) is None


def test_fitness_orders_statuses():
    complete = Result({"reward": 0.01})
    mild = Result({"constraint_violation": 0.1}, "infeasible", "area")
    severe = Result({"constraint_violation": 3.0}, "infeasible", "area")
    failed = Result({}, "failed", "boom")
    values = [fitness(r) for r in (complete, mild, severe, failed)]
    assert values == sorted(values, reverse=True)
    assert values[-1] == -math.inf
    assert Result.from_dict(mild.to_dict()) == mild


# -- Pareto ------------------------------------------------------------------------------------------------------
def test_dominates_by_hand():
    s = ("max", "min", "min")
    assert dominates((0.9, 10, 5), (0.8, 10, 5), s)
    assert dominates((0.9, 9, 5), (0.9, 10, 5), s)
    assert not dominates((0.9, 10, 5), (0.9, 10, 5), s)  # equal: no
    assert not dominates((0.9, 11, 5), (0.8, 10, 5), s)  # trade-off: no
    assert not dominates((0.8, 10, 5), (0.9, 10, 5), s)
    with pytest.raises(ValueError, match="sense"):
        dominates((1, 2), (2, 3), ("max", "up"))


def test_archive_front_on_hand_made_points():
    arc = ParetoArchive()
    pts = {
        "A": (0.90, 10.0, 5.0),
        "B": (0.80, 5.0, 5.0),
        "C": (0.85, 12.0, 6.0),  # dominated by A
        "D": (0.90, 10.0, 5.0),  # equal to A: rejected
        "E": (0.95, 20.0, 4.0),
    }
    added = {k: arc.add({"accuracy": a, "latency_ms": l, "area_mm2": r}, k) for k, (a, l, r) in pts.items()}
    assert added == {"A": True, "B": True, "C": False, "D": False, "E": True}
    assert [k for k, _ in arc.front()] == ["E", "A", "B"]  # best accuracy first
    # F dominates A and E
    assert arc.add({"accuracy": 0.95, "latency_ms": 10.0, "area_mm2": 4.0}, "F")
    assert [k for k, _ in arc.front()] == ["F", "B"]
    np.testing.assert_allclose(arc.points(), [[0.95, 10.0, 4.0], [0.80, 5.0, 5.0]])
    with pytest.raises(ValueError, match="latency_ms"):
        arc.add({"accuracy": 0.5, "area_mm2": 1.0})
    with pytest.raises(ValueError, match="accuracy"):
        arc.add({"accuracy": float("nan"), "latency_ms": 1.0, "area_mm2": 1.0})


def test_nondominated_indices():
    pts = [(1, 3), (2, 2), (3, 1), (3, 3), (2, 2)]
    assert nondominated(pts, ("min", "min")).tolist() == [0, 1, 2, 4]


def test_hypervolume_2d_by_hand():
    # staircase: [1,4]x[3,4] (3) + [2,4]x[2,3] (2) + [3,4]x[1,2] (1) = 6
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # a dominated point and a point outside the reference box change nothing
    assert hypervolume([(1, 3), (2, 2), (3, 1), (3, 3), (5, 0)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # accuracy (max) vs latency (min): 0.9*1 + 0.8*2 - 0.8*1 = 1.7
    assert hypervolume([(0.9, 2.0), (0.8, 1.0)], (0.0, 3.0), ("max", "min")) == pytest.approx(1.7)
    assert hypervolume([], (4, 4), ("min", "min")) == 0.0
    assert hypervolume([(1,)], (4,), ("min",)) == pytest.approx(3.0)


def test_hypervolume_3d_by_hand():
    assert hypervolume([(0, 0, 0)], (1, 2, 3), ("min",) * 3) == pytest.approx(6.0)
    # boxes of volume 4 and 2 overlapping in a unit cube: 5
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2), ("min",) * 3) == pytest.approx(5.0)
    arc = ParetoArchive()
    arc.add({"accuracy": 0.9, "latency_ms": 1.0, "area_mm2": 1.0})
    assert arc.hypervolume((0.0, 2.0, 3.0)) == pytest.approx(0.9 * 1.0 * 2.0)


points2d = st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10)), min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(points2d, st.tuples(st.floats(0, 10), st.floats(0, 10)))
@example(pts=[(0.0, 2.0555119061729702e-137), (0.47485869452361007, 0.0)], extra=(0.0, 0.0))
def test_hypervolume_properties(pts, extra):
    ref = (11.0, 11.0)
    s = ("min", "min")
    hv = hypervolume(pts, ref, s)
    # at most the whole box; a sum of slabs may round one ulp above it (found by hypothesis: 121.00000000000001)
    assert 0.0 <= hv <= 121.0 * (1 + 1e-12)
    # only the non-dominated points matter
    front = [pts[i] for i in nondominated(pts, s)]
    assert hypervolume(front, ref, s) == pytest.approx(hv)
    # adding a point never decreases the hypervolume
    assert hypervolume(pts + [extra], ref, s) >= hv - 1e-9
    # a constant third objective scales the 2-D volume by its distance to the reference
    pts3 = [(x, y, 2.0) for x, y in pts]
    assert hypervolume(pts3, ref + (5.0,), ("min",) * 3) == pytest.approx(hv * 3.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.1, 50), st.floats(1, 30)), min_size=1, max_size=15))
def test_archive_matches_brute_force(pts):
    arc = ParetoArchive()
    for i, (a, l, r) in enumerate(pts):
        arc.add({"accuracy": a, "latency_ms": l, "area_mm2": r}, i)
    members = {i for i, _ in arc.front()}
    s = ("max", "min", "min")
    for i, p in enumerate(pts):
        dominated = any(dominates(q, p, s) for q in pts)
        if dominated:
            assert i not in members
        elif i not in members:  # an equal point was kept instead
            assert any(tuple(pts[j]) == tuple(p) for j in members)


# -- controllers ----------------------------------------------------------------------------------------------
SPACE = JointSpace()


def toy_result(cand) -> Result:
    """Deterministic fake evaluation: reward from the encoding; big arrays are 'infeasible'."""
    enc = SPACE.encode(cand)
    if cand.hw.rows * cand.hw.cols > 64 * 64:
        return Result({"constraint_violation": 0.5}, "infeasible", "too big")
    return Result({"reward": sum(enc) / 100.0})


def drive(ctrl, rounds, n=4):
    return search_fakes.drive(ctrl, SPACE, rounds, toy_result, n=n)


@pytest.mark.parametrize("cls", [RegularizedEvolution, RandomSearch])
def test_controllers_are_deterministic_for_a_seed(cls):
    kw = {"population_size": 8, "sample_size": 3} if cls is RegularizedEvolution else {}
    a = drive(cls(SPACE, seed=5, **kw), 6)
    b = drive(cls(SPACE, seed=5, **kw), 6)
    c = drive(cls(SPACE, seed=6, **kw), 6)
    assert a == b
    assert a != c


@pytest.mark.parametrize("cls", [RegularizedEvolution, RandomSearch])
def test_state_dict_round_trip(cls):
    kw = {"population_size": 8, "sample_size": 3} if cls is RegularizedEvolution else {}
    ref = cls(SPACE, seed=11, **kw)
    drive(ref, 5)
    state = json.loads(json.dumps(ref.state_dict(), allow_nan=False))  # JSON-serialisable
    restored = cls(SPACE, seed=0, **kw)
    restored.load_state_dict(state)
    assert restored.n_asked == ref.n_asked and restored.n_told == ref.n_told
    assert restored.best[1] == ref.best[1]
    # ask after load equals ask without save, and they stay in step afterwards
    assert drive(restored, 4) == drive(ref, 4)


def test_load_state_dict_mismatch():
    evo = RegularizedEvolution(SPACE, population_size=8, sample_size=3)
    with pytest.raises(ValueError, match="kind"):
        evo.load_state_dict(RandomSearch(SPACE).state_dict())
    with pytest.raises(ValueError, match="hyper"):
        evo.load_state_dict(RegularizedEvolution(SPACE, population_size=9, sample_size=3).state_dict())


def test_regularized_evolution_ages_out_the_oldest():
    evo = RegularizedEvolution(SPACE, population_size=4, sample_size=2, seed=0)
    first = evo.ask(4)
    assert len(set(first)) == 4
    evo.tell(first, [Result({"reward": r}) for r in (0.9, 0.1, 0.2, 0.3)])
    assert [c for c, _ in evo.population] == first
    later = SPACE.sample(1), SPACE.sample(2)
    evo.tell(list(later), [Result({"reward": 0.0})] * 2)
    # the best member (first, reward 0.9) is removed because it is the oldest, not the worst
    assert [c for c, _ in evo.population] == first[2:] + list(later)
    assert evo.best == (first[0], 0.9)


def test_tournament_of_whole_population_mutates_the_best():
    evo = RegularizedEvolution(SPACE, population_size=5, sample_size=5, seed=3)
    cands = evo.ask(5)
    rewards = [0.1, 0.5, 0.2, 0.4, 0.3]
    evo.tell(cands, [Result({"reward": r}) for r in rewards])
    best = SPACE.encode(cands[1])
    for child in evo.ask(10):
        enc = SPACE.encode(child)
        assert sum(x != y for x, y in zip(enc, best)) == 1


def test_first_population_is_random_then_mutations():
    evo = RegularizedEvolution(SPACE, population_size=3, sample_size=2, seed=0)
    init = evo.ask(3)
    evo.tell(init, [Result({"reward": 0.5})] * 3)
    pop = [SPACE.encode(c) for c in init]
    for child in evo.ask(6):
        enc = SPACE.encode(child)
        assert min(sum(x != y for x, y in zip(enc, p)) for p in pop) == 1


def test_controller_bad_input():
    with pytest.raises(ValueError, match="sample_size"):
        RegularizedEvolution(SPACE, population_size=2, sample_size=3)
    with pytest.raises(ValueError, match="population_size"):
        RegularizedEvolution(SPACE, population_size=0)
    evo = RegularizedEvolution(SPACE)
    with pytest.raises(ValueError, match="2 candidates but 1 results"):
        evo.tell(evo.ask(2), [Result({"reward": 0.1})])
    with pytest.raises(ValueError, match="space"):
        RandomSearch("space")  # type: ignore[arg-type]


def test_evolution_beats_random_on_a_toy_objective():
    # maximise the sum of indices: evolution should find a better optimum than random search in 200 trials
    def best_of(ctrl):
        drive(ctrl, 50)
        return ctrl.best[1]

    evo = [best_of(RegularizedEvolution(SPACE, population_size=20, sample_size=5, seed=s)) for s in range(3)]
    rnd = [best_of(RandomSearch(SPACE, seed=s)) for s in range(3)]
    assert np.mean(evo) > np.mean(rnd)


# -- end-to-end search (real workload, cost model and proxy) ----------------------------------------------------
def _dataset_or_skip():
    from codesign.evaluation.proxy import DEFAULT_DATA_DIR, _data_dir

    if not (_data_dir(None) / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST not installed ({DEFAULT_DATA_DIR}): apt-get install dataset-fashion-mnist")
    pytest.importorskip("timm")


@pytest.mark.slow
def test_tiny_search_end_to_end_with_the_real_proxy(tmp_path):
    """The first search's defaults (MobileNetV2-style space, systolic arrays, evolution) with a tiny real proxy."""
    _dataset_or_skip()
    from codesign.evaluation.proxy import ProxySettings
    from codesign.search.runner import load_trials, run_search

    out = tmp_path / "run"
    tiny = ProxySettings(steps=3, batch_size=16, eval_size=64, threads=1)
    s = run_search(out, budget=6, population=3, proxy_settings=tiny, seed=0, progress=False, batch_size=3,
                   target_latency_ms=5.0, area_limit_mm2=6.0, plot=False)
    trials = load_trials(out)
    assert len(trials) == s.n_trials == 6
    assert s.n_complete + s.n_infeasible + s.n_failed == 6
    assert s.n_failed == 0
    for i, t in enumerate(trials):
        assert t["trial"] == i
        assert set(t) >= {"decisions", "blocks", "hw", "metrics", "reward", "status", "reason"}
        assert len(t["decisions"]) == 35 and len(t["blocks"]) == 7
        assert t["hw"]["rows"] == t["decisions"]["rows"]
        if t["status"] == "complete":
            m = t["metrics"]
            assert 0.0 <= m["accuracy"] <= 1.0 and m["latency_ms"] > 0 and m["area_mm2"] <= 6.0
            assert m["proxy_params"] > 0 and m["proxy_seconds"] > 0
            assert t["reward"] == pytest.approx(mnas_reward(m["accuracy"], m["latency_ms"], 5.0))
        else:
            assert t["reward"] is None and t["reason"]
    # accuracy computed once per distinct network
    proxied = {tuple(t["blocks"]) for t in trials if t["proxy_cached"] is not None}
    assert s.trained_networks == len(proxied)
    # pareto.csv lists exactly the non-dominated complete trials
    with open(out / "pareto.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    arc = ParetoArchive()
    for t in trials:
        if t["status"] == "complete":
            arc.add(t["metrics"], t["trial"])
    assert sorted(int(r["trial"]) for r in rows) == sorted(k for k, _ in arc.front())
    assert (out / "checkpoint.json").is_file() and (out / "summary.json").is_file()
    with pytest.raises(FileExistsError):
        run_search(out, budget=6, population=3, proxy_settings=tiny, progress=False)


# =====================================================================================================
# issue 4: objectives, policy-gradient controllers, evaluator, strategies, multi-model, resume, CLI
# =====================================================================================================
from search_fakes import HashAccuracy, Interrupt as _Interrupt, strip_timing as _strip  # noqa: E402

from codesign.search.evaluator import SearchEvaluator, SurrogateAccuracy  # noqa: E402
from codesign.search.objective import MultiModelObjective, abs_reward  # noqa: E402
from codesign.search.policy import PPO, CategoricalPolicy, Reinforce  # noqa: E402
from codesign.space import EdgeTpuHardwareSpace, NetworkSpace, hardware_space, network_space  # noqa: E402
from codesign.space.joint import Candidate  # noqa: E402
from pathlib import Path  # noqa: E402

ETPU = network_space("edgetpu")
ETPU_HW = hardware_space("edgetpu-space")
EJOINT = JointSpace(ETPU, ETPU_HW)


def test_tunas_abs_and_energy_rewards_by_hand():
    assert abs_reward(0.8, 12.0, 10.0) == pytest.approx(0.78)  # 0.8 - 0.1 * 0.2
    assert abs_reward(0.8, 8.0, 10.0) == pytest.approx(0.78)  # faster than the target costs the same
    obj = Objective(target_latency_ms=10.0, mode="abs", abs_beta=-0.5)
    assert obj.reward(0.7, 15.0) == pytest.approx(0.7 - 0.25)
    # energy target only: acc * (E / E0) ** -0.07
    e = Objective(target_energy_mj=4.0)
    assert e.targets == {"energy_mj": 4.0} and e.metrics_needed == ("accuracy", "energy_mj")
    assert e({"accuracy": 0.8, "energy_mj": 8.0}).reward == pytest.approx(0.8 * 0.9526381, rel=1e-6)
    # latency and energy: the factors multiply; hard mode: no bonus below, (T / x) above
    both = Objective(target_latency_ms=2.0, target_energy_mj=4.0, mode="hard")
    r = both({"accuracy": 0.9, "latency_ms": 1.0, "energy_mj": 8.0})
    assert r.reward == pytest.approx(0.45) and r.metrics["latency_ms_ok"] and not r.metrics["energy_mj_ok"]
    edp = Objective(target_edp_mj_ms=10.0, mode="abs")
    assert edp.reward(0.5, edp_mj_ms=20.0) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="at least one of target_latency_ms"):
        Objective()
    with pytest.raises(ValueError, match="abs_beta"):
        Objective(target_latency_ms=1.0, abs_beta=0.1)
    with pytest.raises(ValueError, match="energy_mj"):
        e({"accuracy": 0.8, "latency_ms": 1.0})


def test_multi_model_objective_by_hand():
    m = {"accuracy.a": 0.8, "accuracy.b": 0.6, "latency_ms.a": 1.0, "latency_ms.b": 3.0, "area_mm2": 5.0,
         "energy_mj.a": 1.0, "energy_mj.b": 2.0}
    s = MultiModelObjective(networks=["a", "b"], aggregate="sum", target_latency_ms=2.0, mode="hard")
    r = s(m)
    assert r.metrics["latency_ms"] == 4.0 and r.metrics["accuracy"] == pytest.approx(0.7)
    assert r.metrics["energy_mj"] == 3.0 and r.reward == pytest.approx(0.7 * 2.0 / 4.0)
    mx = MultiModelObjective(networks=["a", "b"], aggregate="max", target_latency_ms=3.0, mode="hard")
    assert mx(m).reward == pytest.approx(0.7) and mx(m).metrics["latency_ms_ok"]
    each = MultiModelObjective(networks=["a", "b"], aggregate="each", targets={"a": 2.0, "b": 1.5}, mode="hard")
    r = each(m)
    assert r.reward == pytest.approx((0.8 + 0.6 * 0.5) / 2)
    assert r.metrics["latency_ms_ok.a"] and not r.metrics["latency_ms_ok.b"] and not r.metrics["latency_ms_ok"]
    limited = MultiModelObjective(networks=["a", "b"], target_latency_ms=2.0, area_limit_mm2=4.0)
    assert limited(m).status == "infeasible"
    with pytest.raises(ValueError, match="targets lacks"):
        MultiModelObjective(networks=["a", "b"], aggregate="each", targets={"a": 1.0})
    with pytest.raises(ValueError, match="aggregate"):
        MultiModelObjective(networks=["a"], aggregate="mean", target_latency_ms=1.0)


def test_hypervolume_4d_by_hand():
    s = ("max", "min", "min", "min")
    assert hypervolume([(1.0, 0.0, 0.0, 0.0)], (0.0, 2.0, 3.0, 4.0), s) == pytest.approx(24.0)
    # two boxes [0,1]x[0,2]x[0,2]x[0,2] (8) and [0,2]x[1,2]x[1,2]x[1,2] (2), overlap [0,1]x[1,2]^3 (1): 9
    pts = [(1.0, 0.0, 0.0, 0.0), (2.0, 1.0, 1.0, 1.0)]
    assert hypervolume(pts, (0.0, 2.0, 2.0, 2.0), s) == pytest.approx(9.0)


def test_policy_gradients_by_hand():
    pol = CategoricalPolicy((2, 3), lr=0.1)
    np.testing.assert_allclose(pol.grad_log_prob((1, 0)), [-0.5, 0.5, 2 / 3, -1 / 3, -1 / 3])
    assert pol.log_prob((1, 0)) == pytest.approx(math.log(0.5) + math.log(1 / 3))
    pol.ascend(np.array([1.0, -1.0, 0.0, 0.0, 0.0]))  # the first Adam step moves each logit by lr * sign
    np.testing.assert_allclose(pol.theta, [0.1, -0.1, 0.0, 0.0, 0.0], atol=1e-6)


def _toy(space):
    def result(c):
        enc = space.encode(c)
        return Result({"reward": sum(e / (n - 1) for e, n in zip(enc, space.cardinalities)) / len(enc)})
    return result


@pytest.mark.parametrize("cls", [Reinforce, PPO])
def test_policy_controllers_learn_a_toy_objective(cls):
    space = NetworkSpace()
    toy = _toy(space)
    ctrl = cls(space, seed=0)
    p0 = toy(ctrl.mode()).reward
    for _ in range(40):
        cands = ctrl.ask(8)
        ctrl.tell(cands, [toy(c) for c in cands])
    assert toy(ctrl.mode()).reward > 0.85 > p0 + 0.2  # the policy's mode moves to the high-index corner
    probs = ctrl.probabilities()
    assert set(probs) == set(space.names) and probs["stage3.kernel"][7] > 0.5


@pytest.mark.parametrize("cls", [Reinforce, PPO])
def test_policy_controllers_state_dict_round_trip(cls):
    toy = _toy(SPACE)
    ref = cls(SPACE, seed=4)
    for _ in range(3):
        c = ref.ask(4)
        ref.tell(c, [toy(x) for x in c])
    pending = ref.ask(2)  # asked, not yet told: their log-probs are part of the state
    state = json.loads(json.dumps(ref.state_dict(), allow_nan=False))
    restored = cls(SPACE, seed=0)
    restored.load_state_dict(state)
    for ctrl in (ref, restored):
        ctrl.tell(pending, [toy(x) for x in pending])
    a, b = ref.ask(6), restored.ask(6)
    assert a == b and ref.baseline == restored.baseline
    np.testing.assert_array_equal(ref.policy.theta, restored.policy.theta)
    with pytest.raises(ValueError, match="hyper"):
        cls(SPACE, lr=0.2).load_state_dict(state)


def test_ppo_clips_the_ratio():
    space = NetworkSpace()
    enc = space.encode(space.sample(0))

    def theta_after(adv, ratio):
        ppo = PPO(space, seed=0, epochs=1, clip=0.2, normalize_advantages=False)
        lp = ppo.policy.log_prob(enc)
        ppo._update([enc], np.array([adv]), np.array([lp - math.log(ratio)]))
        return ppo.policy.theta

    # inside [1 - eps, 1 + eps], or moving back towards it: the surrogate's gradient moves the policy
    assert np.abs(theta_after(1.0, 1.1)).max() > 0 and np.abs(theta_after(1.0, 0.5)).max() > 0
    assert np.abs(theta_after(-1.0, 1.5)).max() > 0
    # beyond the clip in the advantage's direction: no gradient, the policy stays put
    assert np.abs(theta_after(1.0, 1.3)).max() == 0 and np.abs(theta_after(-1.0, 0.7)).max() == 0
    with pytest.raises(ValueError, match="clip"):
        PPO(space, clip=0)
    with pytest.raises(ValueError, match="baseline_momentum"):
        Reinforce(space, baseline_momentum=1.0)


def test_rl_reward_of_infeasible_and_failed():
    ctrl = Reinforce(NetworkSpace(), seed=0)
    assert ctrl.rl_reward(Result({"reward": 0.5})) == 0.5
    assert ctrl.rl_reward(Result({"constraint_violation": 0.25}, "infeasible", "area")) == pytest.approx(-1.25)
    assert ctrl.rl_reward(Result({"constraint_violation": 9.0}, "infeasible", "area")) == -2.0
    assert ctrl.rl_reward(Result({}, "failed", "boom")) == -2.0


def test_evaluator_batches_caches_and_reports_infeasible():
    obj = Objective(target_latency_ms=3.0, area_limit_mm2=40.0)
    acc = HashAccuracy(ETPU)
    ev = SearchEvaluator(EJOINT, obj, acc)
    es = ETPU.reference
    hws = [ETPU_HW.default, ETPU_HW.decode((1, 1, 1, 1, 0, 0, 0)), ETPU_HW.decode((0, 0, 0, 0, 0, 0, 4))]
    other = ETPU.sample(5)
    cands = [Candidate(es, h) for h in hws] + [Candidate(other, hws[1])]
    res = ev.evaluate(cands)
    statuses = [r.status for r, _ in res]
    assert statuses[0] == "infeasible" and "area 61.201 mm2 exceeds limit 40.000" in res[0][0].reason
    assert statuses[1:] == ["complete", "complete", "complete"]
    assert ev.cost_calls == 2  # one batched cost call per distinct network
    assert acc.calls == 2 and ev.accuracy_misses == 2  # accuracy once per network, only when feasible
    import codesign

    direct = codesign.evaluate(ETPU.workload(es), hws[1]).totals
    m = res[1][0].metrics
    assert m["latency_ms"] == pytest.approx(direct["latency_ms"]) and m["energy_mj"] == pytest.approx(direct["energy_mj"])
    assert m["edp_mj_ms"] == pytest.approx(m["latency_ms"] * m["energy_mj"])
    assert m["reward"] == pytest.approx(obj.reward(m["accuracy"], m["latency_ms"]))
    # the same candidates again: served by the candidate cache, no new cost call or training
    again = ev.evaluate(cands[1:])
    assert all(info["cached"] for _, info in again) and ev.cost_calls == 2 and acc.calls == 2
    # a layer without a legal mapping is infeasible, with the cost model's reason
    tiny = EdgeTpuHardwareSpace(pe_mem_kib=(0.01,), core_mem_kib=(0.01,))
    bad = SearchEvaluator(JointSpace(ETPU, tiny), obj, acc).evaluate([Candidate(es, tiny.sample(0))])[0][0]
    assert bad.status == "infeasible" and fitness(bad) < -1
    assert bad.reason == "hardware cannot run the network: layer 'conv_stem': no legal mapping"


def test_surrogate_accuracy_is_documented_fit():
    s = SurrogateAccuracy(ETPU)
    # MobileNetV2: 300.8 M MACs, 3.50 M params -> 0.6038 + 0.0211 ln 300.8 + 0.0032 ln 3.50
    assert SurrogateAccuracy.predict(300_774_272, 3_504_872) == pytest.approx(
        0.6038 + 0.0211 * math.log(300.774272) + 0.0032 * math.log(3.504872))
    assert 0.7 < s.evaluate(ETPU.reference)["accuracy"] < 0.8


def _fast(**kw):
    base = dict(space="edgetpu", hw="edgetpu-space", accuracy="surrogate", progress=False, plot=False, budget=16,
                batch_size=4, population=6, sample_size=3)
    base.update(kw)
    return base


@pytest.mark.parametrize("strategy", ["network-only", "hardware-only", "net-then-hw", "hw-then-net"])
def test_strategies_search_the_right_part(tmp_path, strategy):
    from codesign.search.runner import load_trials, run_search

    s = run_search(tmp_path / strategy, strategy=strategy, controller="evolution", **_fast())
    trials = load_trials(tmp_path / strategy)
    assert s.n_trials == 16 and s.strategy == strategy
    es, base = ETPU.reference, ETPU_HW.default
    phases = [t["phase_name"] for t in trials]
    if strategy == "network-only":
        assert set(phases) == {"network"} and all(t["hw"]["name"] == base.name for t in trials)
        assert len({t["network"] for t in trials}) > 8
    elif strategy == "hardware-only":
        assert set(phases) == {"hardware"} and all(t["net_encoding"] == list(ETPU.encode(es)) for t in trials)
        assert len({t["hw"]["name"] for t in trials}) > 8
    else:
        first, second = ("network", "hardware") if strategy == "net-then-hw" else ("hardware", "network")
        assert phases == [first] * 8 + [second] * 8
        p0 = [t for t in trials if t["phase"] == 0]
        best = max(p0, key=lambda t: (t["fitness"], -t["trial"]))
        key = "net_encoding" if second == "hardware" else "hw_encoding"
        assert all(t[key] == best[key] for t in trials[8:])  # phase 2 keeps phase 1's best design


def test_network_only_on_the_coral_edgetpu(tmp_path):
    from codesign.search.runner import load_trials, run_search

    run_search(tmp_path / "r", strategy="network-only", **_fast(hw="edgetpu", budget=8))
    trials = load_trials(tmp_path / "r")
    assert all(t["hw"]["name"] == "edgetpu" and t["hw_encoding"] is None for t in trials)
    assert all(t["metrics"]["latency_ms"] > 0.8 for t in trials if t["status"] == "complete")  # 800 us USB overhead
    with pytest.raises(ValueError, match="fixed accelerator"):
        run_search(tmp_path / "x", **_fast(hw="edgetpu"))


def test_multi_model_use_case(tmp_path):
    from codesign.search.runner import load_trials, run_search

    nets = {"es": ETPU.workload(ETPU.reference), "small": ETPU.workload(ETPU.sample(2))}
    s = run_search(tmp_path / "m", networks=nets, aggregate="max", target_latency_ms=2.0, hw="edgetpu-space",
                   **{k: v for k, v in _fast(budget=12).items() if k not in ("space", "hw")})
    trials = load_trials(tmp_path / "m")
    assert s.n_trials == 12 and all(t["blocks"] == ["es", "small"] for t in trials)
    for t in trials:
        if t["status"] == "complete":
            m = t["metrics"]
            assert m["latency_ms"] == max(m["latency_ms.es"], m["latency_ms.small"])
            assert m["energy_mj"] == pytest.approx(m["energy_mj.es"] + m["energy_mj.small"])
            assert m["accuracy"] == 1.0
    with pytest.raises(ValueError, match="searches the hardware only"):
        run_search(tmp_path / "y", networks=nets, strategy="network-only", overwrite=True,
                   **{k: v for k, v in _fast().items() if k != "space"})


def test_energy_target_needs_edgetpu_hardware(tmp_path):
    from codesign.search.runner import run_search

    with pytest.raises(ValueError, match="energy and EDP targets need the Edge-TPU"):
        run_search(tmp_path / "e", **_fast(hw=None, space=None, target_energy_mj=2.0))
    s = run_search(tmp_path / "f", **_fast(target_energy_mj=3.0, budget=8))
    assert s.config["objective"]["target_latency_ms"] is None and s.config["objective"]["target_energy_mj"] == 3.0
    assert "metric='energy'" in s.config["mapper"]


@pytest.mark.parametrize("controller, strategy", [("evolution", "net-then-hw"), ("ppo", "hw-then-net"),
                                                  ("reinforce", "joint")])
def test_resume_continues_exactly(tmp_path, controller, strategy):
    from codesign.search.runner import load_trials, run_search

    kw = _fast(controller=controller, strategy=strategy, seed=1, budget=20)
    del kw["accuracy"]
    run_search(tmp_path / "a", accuracy=HashAccuracy(ETPU), **kw)
    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path / "b", accuracy=_Interrupt(ETPU, 9), **kw)
    assert 0 < json.loads((tmp_path / "b" / "checkpoint.json").read_text())["n_trials"] < 20
    resumed = run_search(tmp_path / "b", resume=True, accuracy=HashAccuracy(ETPU), **kw)
    assert _strip(load_trials(tmp_path / "a")) == _strip(load_trials(tmp_path / "b"))
    assert resumed.n_trials == 20
    with pytest.raises(ValueError, match="seed"):
        run_search(tmp_path / "b", resume=True, accuracy=HashAccuracy(ETPU), **{**kw, "budget": 24, "seed": 2})


def test_resume_with_a_larger_budget(tmp_path):
    from codesign.search.runner import load_trials, run_search

    kw = _fast(controller="evolution", seed=2, accuracy=HashAccuracy(ETPU))
    run_search(tmp_path / "a", **{**kw, "budget": 16})
    run_search(tmp_path / "b", **{**kw, "budget": 8})
    run_search(tmp_path / "b", resume=True, **{**kw, "budget": 16})
    assert _strip(load_trials(tmp_path / "a")) == _strip(load_trials(tmp_path / "b"))


_KILL_SCRIPT = """
import sys
from search_fakes import HashAccuracy
from codesign.search.runner import run_search
from codesign.space import network_space
run_search(sys.argv[1], space="edgetpu", hw="edgetpu-space", controller="ppo", budget=40, batch_size=4, seed=3,
           accuracy=HashAccuracy(network_space("edgetpu"), delay=0.15), progress=False, plot=False, resume=len(sys.argv) > 2)
"""


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    """A real kill: a subprocess search is SIGKILLed mid-run, resumed, and ends as an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from codesign.search.runner import load_trials, run_search

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(out)], env=env)
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            p = out / "trials.jsonl"
            if (out / "checkpoint.json").is_file() and p.is_file() and len(p.read_text().splitlines()) >= 10:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the search ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    n_before = json.loads((out / "checkpoint.json").read_text())["n_trials"]
    assert 8 <= n_before < 40
    subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(out), "resume"], env=env, check=True, timeout=120)
    straight = tmp_path / "straight"
    run_search(straight, space="edgetpu", hw="edgetpu-space", controller="ppo", budget=40, batch_size=4, seed=3,
               accuracy=HashAccuracy(ETPU), progress=False, plot=False)
    a, b = load_trials(straight), load_trials(out)
    assert len(a) == len(b) == 40
    assert _strip(a) == _strip(b)


def test_outputs_pareto_csv_plot_and_summary(tmp_path):
    pytest.importorskip("matplotlib")
    from codesign.search.runner import load_trials, run_search

    s = run_search(tmp_path / "o", **_fast(plot=True, controller="reinforce", budget=12))
    trials = load_trials(tmp_path / "o")
    with open(tmp_path / "o" / "pareto.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:6] == ["trial", "accuracy", "latency_ms", "energy_mj", "area_mm2", "reward"]
    arc = ParetoArchive((("accuracy", "max"), ("latency_ms", "min"), ("energy_mj", "min"), ("area_mm2", "min")))
    for t in trials:
        if t["status"] == "complete":
            arc.add(t["metrics"], t["trial"])
    assert sorted(int(r["trial"]) for r in rows) == sorted(k for k, _ in arc.front())
    png = (tmp_path / "o" / "search.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and s.plot_path.endswith("search.png")
    summ = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summ["n_trials"] == 12 and summ["hypervolume"] > 0 and summ["hv_reference_ms"] == 6.0
    assert summ["config"]["strategy"] == "joint" and summ["config"]["accuracy"]["kind"] == "surrogate"


def test_cli_search_command(tmp_path):
    import typer
    from typer.testing import CliRunner

    from codesign.cli.search import register

    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so "search" is a subcommand as in codesign's app
        pass

    runner = CliRunner()
    out = tmp_path / "name"
    r = runner.invoke(app, ["search", "--space", "edgetpu", "--hw", "edgetpu-space", "--strategy", "joint",
                            "--controller", "ppo", "--target-latency-ms", "3", "--budget", "8", "--out", str(out),
                            "--accuracy", "surrogate", "--no-progress", "--no-plot"])
    assert r.exit_code == 0, r.output
    assert "8 trials" in r.output and (out / "trials.jsonl").is_file() and (out / "pareto.csv").is_file()
    r = runner.invoke(app, ["search", "--resume", str(out), "--budget", "12", "--controller", "ppo",
                            "--target-latency-ms", "3", "--accuracy", "surrogate", "--no-progress", "--no-plot"])
    assert r.exit_code == 0, r.output
    assert len((out / "trials.jsonl").read_text().splitlines()) == 12
    for args, needle in ((["--controller", "sgd"], "--controller"), (["--strategy", "alternating"], "--strategy"),
                         (["--budget", "0"], "--budget"), (["--target-latency-ms", "fast"], "--target-latency-ms"),
                         (["--space", "mnasnet"], "unknown network space 'mnasnet'"),
                         (["--hw", "edgetpu"], "strategy='network-only'"), (["--mode", "medium"], "--mode")):
        r = runner.invoke(app, ["search", "--out", str(tmp_path / "bad"), "--accuracy", "surrogate", *args])
        assert r.exit_code == 2 and needle in r.output, (args, r.output)
    r = runner.invoke(app, ["search", "--out", str(out), "--accuracy", "surrogate", "--no-progress"])
    assert r.exit_code == 2 and "holds a search already" in r.output and "--overwrite" in r.output


def test_space_files_for_hardware_and_the_files_mutation_probability(tmp_path):
    from codesign.search.runner import resolve_spaces, run_search

    hw_only = tmp_path / "hw.toml"
    hw_only.write_text('[hardware]\ntype = "edgetpu-space"\npe_x = [2, 4]\n')
    with pytest.raises(ValueError, match="only \\[hardware\\].*--hw"):
        resolve_spaces(str(hw_only), None)
    joint, fixed = resolve_spaces("edgetpu", str(hw_only))
    assert fixed is None and joint.hardware.choices[joint.hardware.names.index("pe_x")] == (2, 4)
    with pytest.raises(ValueError, match="must define only \\[hardware\\]"):
        net_only = tmp_path / "net.toml"
        net_only.write_text('[network]\ntype = "edgetpu"\n')
        resolve_spaces("edgetpu", str(net_only))
    both = tmp_path / "joint.toml"
    both.write_text('hw_mutation_prob = 0.2\n[network]\ntype = "edgetpu"\n[hardware]\ntype = "edgetpu-space"\n')
    assert resolve_spaces(str(both), None)[0].hw_mutation_prob == 0.2
    assert resolve_spaces(str(both), None, hw_mutation_prob=0.7)[0].hw_mutation_prob == 0.7
    s = run_search(tmp_path / "o", **_fast(space=str(both), hw=None, budget=4))
    assert s.config["hw_mutation_prob"] == 0.2
