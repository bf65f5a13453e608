"""Objective, Pareto archive / hypervolume and the controllers (numpy only), plus an end-to-end search."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
def test_hypervolume_properties(pts, extra):
    ref = (11.0, 11.0)
    s = ("min", "min")
    hv = hypervolume(pts, ref, s)
    assert 0.0 <= hv <= 121.0
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
    asked = []
    for _ in range(rounds):
        cands = ctrl.ask(n)
        asked.extend(SPACE.encode(c) for c in cands)
        ctrl.tell(cands, [toy_result(c) for c in cands])
    return asked


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
def test_tiny_search_end_to_end(tmp_path):
    _dataset_or_skip()
    from codesign.search.runner import load_trials, run_search

    out = tmp_path / "run"
    s = run_search(out, budget=6, population=3, proxy_steps=20, seed=0, progress=False, batch_size=3,
                   target_latency_ms=5.0, area_limit_mm2=6.0)
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
        run_search(out, budget=6, population=3, proxy_steps=20, progress=False)


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    _dataset_or_skip()
    from codesign.evaluation.proxy import ProxySettings
    from codesign.search.runner import load_trials, run_search

    cheap = ProxySettings(steps=2, eval_size=64, batch_size=16)
    kw = dict(population=3, seed=1, progress=False, batch_size=2, proxy_settings=cheap, hw_mutation_prob=0.8)
    straight = run_search(tmp_path / "a", budget=8, **kw)
    run_search(tmp_path / "b", budget=4, **kw)
    resumed = run_search(tmp_path / "b", budget=8, resume=True, **kw)
    a, b = load_trials(tmp_path / "a"), load_trials(tmp_path / "b")
    assert [t["encoding"] for t in a] == [t["encoding"] for t in b]
    assert [t["reward"] for t in a] == [t["reward"] for t in b]
    assert resumed.n_trials == straight.n_trials == 8
    # networks trained before the checkpoint came back from its cache
    first_half = {tuple(t["blocks"]) for t in b[:4] if t["proxy_cached"] is not None}
    second_half = {tuple(t["blocks"]) for t in b[4:] if t["proxy_cached"] is not None}
    assert resumed.trained_networks == len(second_half - first_half)
    with pytest.raises(ValueError, match="seed"):
        run_search(tmp_path / "b", budget=9, resume=True, **{**kw, "seed": 2})
