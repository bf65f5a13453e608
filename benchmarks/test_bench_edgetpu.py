"""Speed of the Edge-TPU-like mapper and model (figures in benchmarks/README.md).

Targets (issue 3): MobileNetV2 mapped and evaluated on one configuration in under 2 ms on one core; the whole
published hardware space (5x5x4x4x5x5x5 = 50,000 configurations) for one network in under 2 minutes on 2 cores.
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


@pytest.mark.parametrize("metric", [0, 1])
def test_mobilenetv2_one_config(benchmark, mobilenetv2, metric):
    hw = codesign.preset("edgetpu")
    layers, arch, energy = mobilenetv2.to_array(), np.array([hw.to_row()]), np.array([hw.energy_row()])
    status, values, totals = benchmark(_core.edgetpu_batch, layers, arch, energy, metric, 0, 0, 0, 1)
    assert not status.any()
    benchmark.extra_info["mappings_evaluated"] = float(values[0, :, -2].sum())


@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_published_space(benchmark, mobilenetv2, threads):
    hws = published_space()
    assert len(hws) == 50_000
    if threads == 1:
        hws = hws[::10]  # 5,000 configurations: the 1-thread rate without a 2-minute run
    res = benchmark.pedantic(evaluate_batch, args=(mobilenetv2, hws), kwargs={"threads": threads}, rounds=1, iterations=1)
    benchmark.extra_info["configurations"] = len(hws)
    benchmark.extra_info["configs_per_s"] = len(hws) / benchmark.stats.stats.mean
    assert res.ok.sum() > 0
