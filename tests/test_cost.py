"""The systolic cost model: closed forms worked by hand, properties, batch/thread equivalence, errors."""
from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codesign
from codesign import Layer, SystolicArray, evaluate, evaluate_batch


def big_srams(**kw):
    base = dict(ifmap_sram_kib=1 << 20, filter_sram_kib=1 << 20, ofmap_sram_kib=1 << 20)
    base.update(kw)
    return SystolicArray(**base)


# --- closed forms worked by hand --------------------------------------------------------------------------
def test_gemm_ws_by_hand():
    # (10 x 9) @ (9 x 6) on 4x4 ws: Sr = Kw = 9, Sc = Nf = 6, T = M = 10 -> 3 x 2 folds of 10+2*4+4-2 = 20 cycles.
    c = evaluate(Layer.gemm("g", m=10, n=6, k=9), SystolicArray(4, 4, "ws"))
    assert (c.row_folds, c.col_folds, c.folds, c.cycles_per_fold) == (3, 2, 6, 20)
    assert c.stall_free_cycles == 120
    assert c.macs == 540
    assert c.mapping_efficiency == pytest.approx(54 / 96)
    assert c.compute_utilization == pytest.approx(540 / (120 * 16))
    assert c.ifmap_sram_reads == 2 * 90  # im2col streamed once per column fold
    assert c.filter_sram_reads == 54
    assert c.ofmap_sram_writes == 3 * 60 and c.ofmap_sram_reads == 2 * 60  # partial sums per row fold


def test_gemm_os_and_is_by_hand():
    layer = Layer.gemm("g", m=10, n=6, k=9)
    os_ = evaluate(layer, SystolicArray(4, 4, "os"))  # Sr = 10, Sc = 6, T = 9: 3 x 2 folds of 9+4+4-2 = 15
    assert (os_.row_folds, os_.col_folds, os_.stall_free_cycles) == (3, 2, 90)
    assert (os_.ifmap_sram_reads, os_.filter_sram_reads, os_.ofmap_sram_writes) == (180, 162, 60)
    is_ = evaluate(layer, SystolicArray(4, 4, "is"))  # Sr = 9, Sc = 10, T = 6: 3 x 3 folds of 6+8+4-2 = 16
    assert (is_.row_folds, is_.col_folds, is_.stall_free_cycles) == (3, 3, 144)
    assert (is_.ifmap_sram_reads, is_.filter_sram_reads, is_.ofmap_sram_writes) == (90, 162, 180)


def test_depthwise_runs_group_by_group():
    # 8-channel 3x3 depthwise on 5x5, pad 1: per group M = 25, Nf = 1, Kw = 9; os 4x4: 7 x 1 folds of 15.
    layer = Layer.conv("dw", c=8, k=8, h=5, w=5, r=3, padding=1, groups=8)
    c = evaluate(layer, SystolicArray(4, 4, "os"))
    assert c.folds == 8 * 7
    assert c.stall_free_cycles == 56 * 15
    assert c.macs == 8 * 25 * 9
    assert c.mapping_efficiency == pytest.approx(25 / (7 * 16))  # one column of 16 PEs at most


def test_dram_and_stalls_one_fold_by_hand():
    # 4x4x4 GEMM, one os fold of 10 cycles; 32 words in, 16 out at 2 words/cycle: 16 + 10 + 8 = 34 cycles.
    c = evaluate(Layer.gemm("g", m=4, n=4, k=4), SystolicArray(4, 4, "os", 1, 1, 1, dram_bw_words_per_cycle=2))
    assert (c.ifmap_dram_reads, c.filter_dram_reads, c.ofmap_dram_writes) == (16, 16, 16)
    assert c.stall_free_cycles == 10 and c.cycles == 34 and c.stall_cycles == 24


def test_dram_pipeline_by_hand():
    # 8x4 @ 4x4 on 4x4 os: 2 row folds of 10 cycles. Reads 32+16 = 48 words, writes 32, at 4 words/cycle:
    # per fold load 6, store 4 cycles: 6 + max(10, 6) + max(10, 4) + 4 = 30 cycles.
    c = evaluate(Layer.gemm("g", m=8, n=4, k=4), SystolicArray(4, 4, "os", 1, 1, 1, dram_bw_words_per_cycle=4))
    assert c.stall_free_cycles == 20
    assert c.cycles == 30


def test_operand_refetch_when_it_does_not_fit():
    # ws: the ifmap is revisited by every column fold; 64x64 GEMM on 8x8: col_folds = 8.
    layer = Layer.gemm("g", m=64, n=64, k=64)
    fits = evaluate(layer, SystolicArray(8, 8, "ws", 16, 16, 16))
    tight = evaluate(layer, SystolicArray(8, 8, "ws", 1, 16, 16))  # 512-word half < 4096-word ifmap
    assert fits.ifmap_dram_reads == 64 * 64
    assert tight.ifmap_dram_reads == 8 * 64 * 64
    # partial sums: an output column tile is 64 x 8 = 512 words; a 1 KiB ofmap SRAM has a 512-word half.
    assert evaluate(layer, SystolicArray(8, 8, "ws", 16, 16, 1)).ofmap_dram_writes == 64 * 64
    spill = evaluate(layer, SystolicArray(8, 8, "ws", 16, 16, 0.5))
    assert spill.ofmap_dram_writes == 8 * 64 * 64 and spill.ofmap_dram_reads == 7 * 64 * 64


def test_strided_pointwise_reads_only_touched_pixels():
    # 1x1 conv, stride 2 on 8x8: only 4x4 of the 64 pixels are read from DRAM.
    layer = Layer.conv("pw", c=3, k=4, h=8, w=8, r=1, stride=2)
    assert evaluate(layer, big_srams()).ifmap_words == 3 * 16


def test_network_totals_add_up():
    wl = codesign.Workload("net", [Layer.gemm("a", m=10, n=6, k=9), Layer.conv("b", c=4, k=8, h=6, w=6, r=3)])
    hw = SystolicArray(4, 4, "ws", clock_mhz=500)
    cost = evaluate(wl, hw)
    parts = [evaluate(layer, hw) for layer in wl]
    assert cost.totals["cycles"] == sum(p.cycles for p in parts)
    assert cost.totals["macs"] == wl.macs
    assert cost.totals["latency_ms"] == pytest.approx(cost.totals["cycles"] / 500e3)
    assert cost.totals["compute_utilization"] == pytest.approx(wl.macs / (cost.totals["stall_free_cycles"] * 16))
    assert list(cost["cycles"]) == [p.cycles for p in parts]


def test_more_than_2_pow_32_macs_is_exact():
    layer = Layer.gemm("huge", m=1 << 16, n=1 << 16, k=1 << 12)  # 2^44 MACs
    c = evaluate(layer, SystolicArray(128, 128, "os"))
    assert c.macs == 1 << 44
    assert c.stall_free_cycles == (1 << 9) * (1 << 9) * ((1 << 12) + 254)


def test_int64_overflow_is_an_error_not_a_wrap():
    layer = Layer.gemm("enormous", m=2**31 - 1, n=2**31 - 1, k=2**31 - 1)
    with pytest.raises(ValueError, match="overflow"):
        evaluate(layer, SystolicArray(8, 8, "os"))
    res = evaluate_batch(layer, [SystolicArray(8, 8, "os")])
    assert not res.ok[0] and "overflow" in res.reasons()[0]
    assert math.isnan(res.total("latency_ms")[0])


# --- properties -----------------------------------------------------------------------------------------------
dims = st.integers(1, 40)
layers = st.builds(
    lambda c, k, h, r, s, stride, pad, g: Layer.conv("l", c=c * g, k=k * g, h=h + r, w=h + s, r=r, s=s, stride=stride, padding=pad, groups=g),
    dims, dims, st.integers(1, 30), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 4),
)
arrays = st.builds(
    lambda r, c, d, si, sf, so, bw: SystolicArray(r, c, d, si, sf, so, bw),
    st.integers(1, 64), st.integers(1, 64), st.sampled_from(["os", "ws", "is"]),
    st.sampled_from([1, 4, 64, 1024]), st.sampled_from([1, 4, 64, 1024]), st.sampled_from([1, 4, 64, 1024]),
    st.floats(0.5, 64),
)


def _stall_by_formula(c, bw):
    """codesign/model/systolic_cost.hpp's double-buffered pipeline, in Python floats (IEEE doubles, same order)."""
    load = (c.ifmap_dram_reads + c.filter_dram_reads + c.ofmap_dram_reads) / c.folds / bw
    store = c.ofmap_dram_writes / c.folds / bw
    cyc = float(c.cycles_per_fold)
    total = load + store
    if c.folds == 1:
        total += cyc
    else:
        total += max(cyc, load) + max(cyc, store) + (c.folds - 2.0) * max(cyc, load + store)
    return max(0, math.ceil(total - float(c.stall_free_cycles) - 1e-9))


# Powers of two take the core's multiply-by-reciprocal path, the others its division path; both must give the
# bits of the plain formula.
bandwidths = st.one_of(st.sampled_from([2.0 ** e for e in range(-8, 12)]), st.floats(0.01, 1e4))


@settings(max_examples=300, deadline=None)
@given(layers, arrays, bandwidths)
def test_stalls_equal_the_pipeline_formula(layer, hw, bw):
    hw = dataclasses.replace(hw, dram_bw_words_per_cycle=bw)
    c = evaluate(layer, hw)
    assert c.stall_cycles == _stall_by_formula(c, bw)
    tot = evaluate_batch([layer, layer], [hw], totals_only=True)
    assert tot.total("stall_cycles")[0] == 2 * c.stall_cycles


@settings(max_examples=300, deadline=None)
@given(layers, arrays)
def test_invariants(layer, hw):
    c = evaluate(layer, hw)
    assert c.macs == layer.macs
    assert c.stall_free_cycles == c.folds * c.cycles_per_fold
    assert c.cycles == c.stall_free_cycles + c.stall_cycles and c.stall_cycles >= 0
    assert 0 < c.compute_utilization <= c.mapping_efficiency <= 1
    # every MAC needs a PE-cycle: no model may beat the array's peak
    assert c.stall_free_cycles * hw.pes >= c.macs
    assert c.ifmap_words <= c.ifmap_dram_reads <= max(c.ifmap_sram_reads, c.ifmap_words)
    assert c.filter_words <= c.filter_dram_reads <= c.filter_sram_reads
    assert c.ofmap_dram_writes >= c.ofmap_words
    # the DRAM interface moves every word at most bw per cycle
    moved = c.ifmap_dram_reads + c.filter_dram_reads + c.ofmap_dram_writes + c.ofmap_dram_reads
    assert c.cycles >= moved / hw.dram_bw_words_per_cycle - 1e-6


@settings(max_examples=150, deadline=None)
@given(layers, arrays, st.floats(1.01, 8))
def test_more_bandwidth_or_sram_never_hurts(layer, hw, factor):
    c = evaluate(layer, hw)
    faster = evaluate(layer, hw.replace(dram_bw_words_per_cycle=hw.dram_bw_words_per_cycle * factor))
    assert faster.cycles <= c.cycles
    bigger = evaluate(layer, hw.replace(ifmap_sram_kib=hw.ifmap_sram_kib * 4, filter_sram_kib=hw.filter_sram_kib * 4, ofmap_sram_kib=hw.ofmap_sram_kib * 4))
    assert bigger.ifmap_dram_reads + bigger.filter_dram_reads + bigger.ofmap_dram_writes <= c.ifmap_dram_reads + c.filter_dram_reads + c.ofmap_dram_writes


# --- batch, threads --------------------------------------------------------------------------------------------
def _workload():
    return codesign.Workload("w", [
        Layer.conv("c1", c=3, k=32, h=56, w=56, r=3, stride=2, padding=1),
        Layer.conv("dw", c=32, k=32, h=28, w=28, r=3, padding=1, groups=32),
        Layer.conv("pw", c=32, k=64, h=28, w=28, r=1),
        Layer.fc("fc", in_features=64, out_features=10),
    ])


def _hws():
    return [SystolicArray(r, c, d, s, s, s, bw) for r in (4, 16, 64) for c in (8, 32) for d in ("os", "ws", "is")
            for s in (1, 64) for bw in (1.0, 16.0)]


def test_batch_equals_one_at_a_time():
    wl, hws = _workload(), _hws()
    res = evaluate_batch(wl, hws, threads=1)
    assert res.ok.all()
    for a, hw in enumerate(hws):
        single = evaluate(wl, hw)
        np.testing.assert_array_equal(res.ints[a], single.ints)
        np.testing.assert_array_equal(res.floats[a], single.floats)
        assert res.total("latency_ms")[a] == pytest.approx(single.totals["latency_ms"])


def test_threads_give_identical_results():
    wl = _workload()
    hws = _hws() * 200  # > 4096 evaluations so that threads are really used
    ref = evaluate_batch(wl, hws, threads=1)
    for threads in (2, 3, 0):
        res = evaluate_batch(wl, hws, threads=threads)
        np.testing.assert_array_equal(res.ints, ref.ints)
        np.testing.assert_array_equal(res.floats, ref.floats)


@settings(max_examples=120, deadline=None)
@given(st.lists(layers, min_size=1, max_size=6), st.lists(arrays, min_size=1, max_size=6), st.integers(-1, 6),
       st.sampled_from([1, 2]))
def test_totals_only_equals_the_summed_rows(ls, hws, huge_at, threads):
    """The totals-only batch gives the per-layer batch's totals, ok flags and first failure, with vector layers
    (no cost here) and an overflowing layer mixed in."""
    from codesign.cost import SUMMED_FIELDS

    named = [Layer(**{**{f: getattr(x, f) for f in x.__dataclass_fields__}, "name": f"l{i}"}) for i, x in enumerate(ls)]
    named.insert(len(named) // 2, Layer.add("res", c=8, h=4, w=4))
    if 0 <= huge_at <= len(named):
        named.insert(huge_at, Layer.gemm("enormous", m=2**31 - 1, n=2**31 - 1, k=2**31 - 1))
    wl = codesign.Workload("w", named)
    full = evaluate_batch(wl, hws, threads=threads)
    tot = evaluate_batch(wl, hws, threads=threads, totals_only=True)
    np.testing.assert_array_equal(tot.ok, full.ok)
    assert tot.reasons() == full.reasons()
    for name in SUMMED_FIELDS + ("latency_ms",):
        np.testing.assert_array_equal(tot.total(name), full.total(name))


def test_totals_only_flags_a_sum_past_int64():
    """Three layers of 2^62 cycles each: every layer fits int64, their sum does not; the totals-only call says
    so instead of wrapping."""
    wl = codesign.Workload("w", [Layer.gemm(n, m=2**31 - 1, n=2**31 - 1, k=1) for n in "abc"])
    tot = evaluate_batch(wl, [SystolicArray(1, 1, "os", 1024, 1024, 1024, 64.0)], totals_only=True)
    assert not tot.ok[0] and "exceeds int64" in tot.reasons()[0] and math.isnan(tot.total("cycles")[0])
    with pytest.raises(TypeError, match="totals_only"):
        evaluate_batch(wl, [SystolicArray(8, 8, "os")], totals_only="yes")


def test_totals_only_threads_give_identical_results():
    wl = _workload()
    hws = _hws() * 200
    ref = evaluate_batch(wl, hws, threads=1, totals_only=True)
    for threads in (2, 3, 0):
        res = evaluate_batch(wl, hws, threads=threads, totals_only=True)
        np.testing.assert_array_equal(res.sums, ref.sums)
        np.testing.assert_array_equal(res.status, ref.status)


def test_concurrent_python_threads():
    wl, hws = _workload(), _hws() * 50
    ref = evaluate_batch(wl, hws, threads=1).ints
    out: list = [None] * 6

    def work(i):
        out[i] = evaluate_batch(wl, hws, threads=2).ints

    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for o in out:
        np.testing.assert_array_equal(o, ref)


# --- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(rows=0), "rows"),
    (dict(cols=-4), "cols"),
    (dict(dataflow="rs"), "dataflow"),
    (dict(ifmap_sram_kib=0.01), "ifmap_sram_kib"),
    (dict(filter_sram_kib=float("nan")), "filter_sram_kib"),
    (dict(dram_bw_words_per_cycle=0), "dram_bw_words_per_cycle"),
    (dict(dram_bw_words_per_cycle=float("inf")), "dram_bw_words_per_cycle"),
    (dict(clock_mhz=-1), "clock_mhz"),
])
def test_bad_hardware(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SystolicArray(**kwargs)


def test_bad_arguments():
    with pytest.raises(TypeError, match="SystolicArray"):
        evaluate(Layer.gemm("g", m=1, n=1, k=1), "systolic")
    with pytest.raises(TypeError, match="Layer"):
        evaluate(42, SystolicArray())
    with pytest.raises(ValueError, match="threads"):
        evaluate_batch(Layer.gemm("g", m=1, n=1, k=1), [SystolicArray()], threads=-1)
    with pytest.raises(ValueError, match="empty"):
        evaluate_batch(Layer.gemm("g", m=1, n=1, k=1), [])
    with pytest.raises(ValueError, match="unknown hardware preset"):
        codesign.preset("tpu9000")


def test_core_rejects_bad_arrays():
    from codesign import _core

    with pytest.raises(ValueError, match=r"layers must have shape \(n, 18\)"):
        _core.systolic_batch(np.zeros((2, 5), np.int64), np.zeros((1, 7)), 1)
    with pytest.raises(TypeError):
        _core.systolic_batch(np.zeros((2, 16), np.float64), np.zeros((1, 7)), 1)
    # zeros are invalid layers and architectures: flagged, never a crash
    status, _, _ = _core.systolic_batch(np.zeros((2, 16), np.int64), np.array([[0, 0, 9, 0, 0, 0, np.nan]]), 1)
    assert (status == 2).all()
    good_arch = np.array([SystolicArray().to_row()])
    status, _, _ = _core.systolic_batch(np.zeros((2, 16), np.int64), good_arch, 1)
    assert (status == 1).all()
    # a non-contiguous view is accepted (copied) and gives the same result
    rows = np.array([Layer.gemm("g", m=5, n=6, k=7).to_row()] * 4, dtype=np.int64)
    s1, i1, _ = _core.systolic_batch(rows[::2], good_arch, 1)
    s2, i2, _ = _core.systolic_batch(np.ascontiguousarray(rows[::2]), good_arch, 1)
    np.testing.assert_array_equal(i1, i2)


def test_presets_and_scalesim_cfg(tmp_path):
    from pathlib import Path

    cfg = Path(__file__).parent / "data" / "scalesim" / "configs" / "google.cfg"
    hw = codesign.from_scalesim_cfg(cfg)
    assert (hw.rows, hw.cols, hw.dataflow, hw.ifmap_sram_kib, hw.ofmap_sram_kib) == (256, 256, "os", 6144, 2048)
    bad = tmp_path / "bad.cfg"
    bad.write_text("[architecture_presets]\nArrayHeight: 0\n")
    with pytest.raises(ValueError, match="bad.cfg"):
        codesign.from_scalesim_cfg(bad)
    # area proxy: TPU v1's 64K MACs and 24 MiB buffer take 53% of its 331 mm^2 die (Jouppi et al. 2017)
    tpu = SystolicArray(256, 256, "ws", 8 * 1024, 8 * 1024, 8 * 1024)
    assert tpu.area_mm2 == pytest.approx(0.53 * 331 + 1.0, rel=1e-9)
