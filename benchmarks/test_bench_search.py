"""Speed of the co-design search machinery (figures in benchmarks/README.md, section "Co-design search").

Run: pytest benchmarks/test_bench_search.py --benchmark-only
"""
import pytest

from codesign.search.evaluator import SearchEvaluator, SurrogateAccuracy
from codesign.search.objective import Objective, Result
from codesign.search.policy import PPO
from codesign.space import JointSpace, hardware_space, network_space

ETPU = network_space("edgetpu")
HW = hardware_space("edgetpu-space")
JOINT = JointSpace(ETPU, HW)


def test_analytic_workload(benchmark):
    """EfficientNet-EdgeTPU-S's workload from its block strings, without torch."""
    wl = benchmark(ETPU.workload, ETPU.reference)
    assert len(wl) == 63


def test_traced_workload(benchmark):
    """The same through torch: timm model + codesign.workload.from_torch (what the first search did)."""
    pytest.importorskip("timm")
    from codesign.workload import from_torch

    def traced():
        m = ETPU.build_model(ETPU.reference)
        m.eval()
        return from_torch(m, (1, 3, 224, 224))

    wl = benchmark.pedantic(traced, rounds=3, iterations=1)
    assert len(wl) == 63


@pytest.mark.parametrize("distinct_networks", [1, 32])
def test_evaluate_generation(benchmark, distinct_networks):
    """One generation of 32 joint candidates on the Edge-TPU-like template: area check, one batched cost call
    per distinct network, surrogate accuracy, reward (caches emptied every round)."""
    cands = [JOINT.sample(i) for i in range(32)]
    if distinct_networks == 1:
        cands = [c.__class__(cands[0].arch, c.hw) for c in cands]

    def run():
        ev = SearchEvaluator(JOINT, Objective(target_latency_ms=3.0, area_limit_mm2=62.0), SurrogateAccuracy(ETPU))
        return ev.evaluate(cands)

    res = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(res) == 32


def test_ppo_ask_tell(benchmark):
    """PPO (4 epochs) over the 37 joint decisions: one ask(8) + tell(8)."""
    ppo = PPO(JOINT, seed=0)
    results = [Result({"reward": 0.1 * i}) for i in range(8)]

    def step():
        c = ppo.ask(8)
        ppo.tell(c, results)

    benchmark(step)
