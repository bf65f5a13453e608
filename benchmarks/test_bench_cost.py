"""Speed of the systolic cost model. Run: pytest benchmarks/ --benchmark-only (figures in README.md)."""
import itertools

import numpy as np
import pytest

import codesign
from codesign import _core
from codesign.cost import evaluate, evaluate_batch


def _sweep(n):
    grid = itertools.product((8, 16, 32, 64, 128), (8, 16, 32, 64, 128), ("os", "ws", "is"), (32, 64, 256), (4.0, 16.0))
    hws = [codesign.SystolicArray(r, c, d, s, s, s, bw) for r, c, d, s, bw in grid]
    return (hws * (n // len(hws) + 1))[:n]


def test_single_layer(benchmark):
    layer = codesign.Layer.conv("conv", c=64, k=128, h=56, w=56, r=3, stride=1, padding=1)
    hw = codesign.preset("systolic")
    cost = benchmark(evaluate, layer, hw)
    assert cost.macs == layer.macs


def test_whole_resnet50(benchmark, resnet50):
    hw = codesign.preset("systolic")
    cost = benchmark(lambda: evaluate(resnet50, hw).totals)
    assert cost["macs"] == resnet50.macs


@pytest.mark.parametrize("threads", [1, 2])
def test_batch_core(benchmark, resnet50, threads):
    """Raw batch entry point: 2000 arrays x all ResNet-50 layers, arrays prepared outside the timing."""
    hws = _sweep(2000)
    layers = resnet50.to_array()
    archs = np.asarray([h.to_row() for h in hws])
    benchmark.extra_info["evaluations"] = len(hws) * len(resnet50)
    status, ints, _ = benchmark(_core.systolic_batch, layers, archs, threads)
    assert not status.any()
    rate = len(hws) * len(resnet50) / benchmark.stats.stats.mean
    benchmark.extra_info["layer_evals_per_s"] = rate


def test_batch_api(benchmark, resnet50):
    """Public evaluate_batch (includes building the arch rows)."""
    hws = _sweep(2000)
    res = benchmark(evaluate_batch, resnet50, hws, threads=0)
    assert res.ok.all()


def _cpu_seconds(fn, *args, rounds=5):
    """Best CPU time of ``rounds`` calls (this process's CPU seconds: fair on a machine shared with other jobs)."""
    import time

    best = float("inf")
    for _ in range(rounds):
        c0 = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - c0)
    return best


def test_batch_totals_core(benchmark, resnet50):
    """Totals-only entry point (sweeps, searches): 20,000 arrays x ResNet-50 layers on 1 thread, beside the
    per-layer entry point measured in the same run (ratio in extra_info); goal >= 50 M layer evaluations/s/core."""
    hws = _sweep(20_000)
    layers = resnet50.to_array()
    archs = np.asarray([h.to_row() for h in hws])
    evals = len(hws) * len(resnet50)
    status, bad, sums = benchmark.pedantic(_core.systolic_totals, args=(layers, archs, 1), rounds=5, iterations=1)
    assert not status.any() and (bad == -1).all()
    ref_status, ints, _ = _core.systolic_batch(layers, archs, 1)
    i_cycles = list(_core.SYSTOLIC_INT_FIELDS).index("cycles")
    assert (sums[:, list(_core.SYSTOLIC_TOTAL_FIELDS).index("cycles")] == ints[:, :, i_cycles].sum(axis=1)).all()
    del ints
    totals_cpu = _cpu_seconds(_core.systolic_totals, layers, archs, 1)
    rows_cpu = _cpu_seconds(_core.systolic_batch, layers, archs, 1)
    benchmark.extra_info.update({
        "evaluations": evals,
        "totals_M_evals_per_cpu_s": evals / totals_cpu / 1e6,
        "per_layer_M_evals_per_cpu_s": evals / rows_cpu / 1e6,
        "speedup_vs_per_layer_rows": rows_cpu / totals_cpu,
    })
