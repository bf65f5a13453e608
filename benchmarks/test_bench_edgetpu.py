"""Speed of the Edge-TPU-like mapper and model (figures in benchmarks/README.md).

Targets (issues 3, 13, 15): MobileNetV2 mapped and evaluated on one configuration in under 2 ms on one core (compact
map space, layer memo on; measured beside the memo off and the complete map space, as ratios in one run); the whole
published hardware space (5x5x4x4x5x5x5 = 50,000 configurations) for one network, measured on a tenth of it with the
memo on and off.
"""
import itertools

import numpy as np
import pytest

import codesign
from codesign import _core
from codesign.cost import evaluate_batch
from codesign.hardware import EdgeTpuConfig


@pytest.fixture(scope="module")
def mobilenetv2():
    pytest.importorskip("timm")
    return codesign.from_timm("mobilenetv2_100")


def published_space():
    """The Edge-TPU-like template's published hardware space (FACTS.md), other fields from the edgetpu preset."""
    base = codesign.preset("edgetpu")
    grid = itertools.product((1, 2, 4, 6, 8), (1, 2, 4, 6, 8), (16, 32, 64, 128), (1, 2, 4, 8),
                             (512, 1024, 2048, 3072, 4096), (8, 16, 32, 64, 128), (5, 10, 15, 20, 25))
    return [base.replace(pe_x=px, pe_y=py, simd=sd, lanes=ln, pe_mem_kib=pe, core_mem_kib=core, io_bw_gbps=io,
                         inference_overhead_us=0.0)
            for px, py, sd, ln, pe, core, io in grid]


@pytest.mark.parametrize("space, memo", [("compact", True), ("compact", False), ("complete", True)])
@pytest.mark.parametrize("metric", [0, 1])
def test_mobilenetv2_one_config(benchmark, mobilenetv2, metric, space, memo):
    hw = codesign.preset("edgetpu")
    layers, arch, energy = mobilenetv2.to_array(), np.array([hw.to_row()]), np.array([hw.energy_row()])
    status, values, totals = benchmark(_core.edgetpu_batch, layers, arch, energy, metric, 0, 0, 0, 1, None,
                                       space == "complete", memo)
    assert not status.any()
    benchmark.extra_info["mappings_evaluated"] = float(values[0, :, _core.EDGETPU_OUT_FIELDS.index("mappings_evaluated")].sum())
    benchmark.extra_info["latency_ms"] = float(totals[0, 1])
    benchmark.extra_info["energy_pj"] = float(totals[0, 2])


@pytest.mark.parametrize("memo", [True, False])
def test_sweep_tenth_memo(benchmark, mobilenetv2, memo):
    hws = published_space()[20_000:25_000]  # contiguous: the space's last axis, io_bw_gbps, varies fastest
    layers = mobilenetv2.to_array()
    archs = np.asarray([h.to_row() for h in hws])
    energy = np.asarray([hws[0].energy_row()])
    benchmark.pedantic(_core.edgetpu_batch, args=(layers, archs, energy, 0, 0, 0, 0, 1, None, False, memo),
                       rounds=1, iterations=1)
    benchmark.extra_info["configs_per_s"] = len(hws) / benchmark.stats.stats.mean


@pytest.mark.parametrize("threads, totals_only", [(1, False), (2, False), (2, True)])
def test_sweep_published_space(benchmark, mobilenetv2, threads, totals_only):
    # totals_only=True is what sweeps and searches run (no per-layer records: 1.25 GB for this space otherwise)
    hws = published_space()
    assert len(hws) == 50_000
    if threads == 1:
        hws = hws[::10]  # 5,000 configurations: the 1-thread rate without a 2-minute run
    res = benchmark.pedantic(evaluate_batch, args=(mobilenetv2, hws), kwargs={"threads": threads,
                             "totals_only": totals_only}, rounds=1, iterations=1)
    benchmark.extra_info["configurations"] = len(hws)
    benchmark.extra_info["configs_per_s"] = len(hws) / benchmark.stats.stats.mean
    assert res.ok.sum() > 0
