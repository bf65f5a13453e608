"""The Edge-TPU-like template: mapper optimality, hand-worked costs, properties, calibration on Coral."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codesign
from codesign import EdgeTpuConfig, Layer, MapperOptions, Workload, evaluate, evaluate_batch, map_layer, map_space

SMALL = EdgeTpuConfig(pe_x=2, pe_y=2, lanes=2, simd=8, core_mem_kib=4, pe_mem_kib=64, io_bw_gbps=1.0, clock_mhz=100,
                      name="small")


def conv(**kw):
    base = dict(c=16, k=32, h=8, w=8, r=3, padding=1)
    base.update(kw)
    return Layer.conv("l", **base)


# --- the mapper finds the model's true optimum -------------------------------------------------------------
@pytest.mark.parametrize("metric", ["latency", "energy", "edp"])
@pytest.mark.parametrize("layer", [
    conv(), conv(groups=16, k=16), conv(c=3, k=24, h=17, w=13, stride=2), Layer.fc("fc", in_features=100, out_features=37),
    conv(c=64, k=64, r=1, padding=0, h=6, w=6),
])
def test_mapper_choice_is_the_exhaustive_optimum(layer, metric):
    space = map_space(layer, SMALL)
    assert len(space["cycles"]) > 10
    key = {"latency": space["cycles"], "energy": space["energy_pj"], "edp": space["cycles"] * space["energy_pj"]}[metric]
    best = map_layer(layer, SMALL, mapper=MapperOptions(metric=metric, space="complete"))
    chosen = {"latency": best["cycles"], "energy": best["energy_pj"], "edp": best["cycles"] * best["energy_pj"]}[metric]
    assert chosen == pytest.approx(key.min(), rel=1e-12)
    # map_space_size counts the candidates before the capacity check (and repeated orders); the list is the legal ones
    assert best["map_space_size"] >= len(space["cycles"])
    # the compact space is a subset: its best is legal and no better than the optimum
    fast = map_layer(layer, SMALL, mapper=MapperOptions(metric=metric))
    fast_v = {"latency": fast["cycles"], "energy": fast["energy_pj"], "edp": fast["cycles"] * fast["energy_pj"]}[metric]
    assert fast_v >= chosen * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 48), k=st.integers(1, 48), hw_=st.integers(1, 12), r=st.sampled_from([1, 3, 5]),
       stride=st.sampled_from([1, 2]), depthwise=st.booleans(), pe_x=st.sampled_from([1, 2, 3]),
       pe_y=st.sampled_from([1, 2]), lanes=st.sampled_from([1, 2, 4]), simd=st.sampled_from([4, 8, 16]),
       core_kib=st.sampled_from([1, 4, 16]), pe_kib=st.sampled_from([8, 64]), global_kib=st.sampled_from([0, 256]),
       ctx=st.tuples(st.booleans(), st.booleans(), st.booleans()), metric=st.sampled_from(["latency", "energy", "edp"]),
       act=st.sampled_from(["none", "relu", "swish"]))
def test_branch_and_bound_equals_the_exhaustive_optimum(c, k, hw_, r, stride, depthwise, pe_x, pe_y, lanes, simd,
                                                        core_kib, pe_kib, global_kib, ctx, metric, act):
    # The mapper prunes spatial unrollings whose lower bound exceeds the best mapping so far; if a bound were not
    # a true lower bound (in any memory context: weights streamed, input / output spilled) it could prune the
    # optimum. The exhaustive map space is the reference.
    groups = c if depthwise else 1
    layer = Layer.conv("l", c=c, k=c if depthwise else k, h=hw_ + r - 1, w=hw_ + r, r=r, stride=stride,
                       groups=groups, act=act)
    hw = EdgeTpuConfig(pe_x=pe_x, pe_y=pe_y, lanes=lanes, simd=simd, core_mem_kib=core_kib, pe_mem_kib=pe_kib,
                       global_mem_kib=global_kib, io_bw_gbps=2.0, clock_mhz=200, name="prop")
    kw = dict(weights_cached=ctx[0], input_spilled=ctx[1], output_spilled=ctx[2])
    space = map_space(layer, hw, **kw)
    if not len(space["cycles"]):
        return
    key = {"latency": space["cycles"], "energy": space["energy_pj"], "edp": space["cycles"] * space["energy_pj"]}[metric]
    best = map_layer(layer, hw, mapper=MapperOptions(metric=metric, space="complete"), **kw)
    chosen = {"latency": best["cycles"], "energy": best["energy_pj"], "edp": best["cycles"] * best["energy_pj"]}[metric]
    assert chosen == pytest.approx(key.min(), rel=1e-12)
    assert best["map_space_size"] >= len(space["cycles"])
    assert best["mappings_evaluated"] <= best["map_space_size"]


def test_sampling_is_deterministic_and_bounded():
    layer = conv(c=48, k=96, h=14, w=14)
    runs = [map_layer(layer, SMALL, mapper=MapperOptions(metric="energy", budget=20, seed=s)) for s in (1, 1, 2)]
    assert runs[0] == runs[1]
    assert runs[0]["mappings_evaluated"] == 20
    full = map_layer(layer, SMALL, mapper=MapperOptions(metric="energy"))
    assert full["energy_pj"] <= min(r["energy_pj"] for r in runs)
    patient = map_layer(layer, SMALL, mapper=MapperOptions(metric="energy", budget=1000, patience=3, seed=4))
    assert patient["mappings_evaluated"] < 1000


# --- costs worked by hand ----------------------------------------------------------------------------------
def test_pointwise_conv_by_hand():
    # 1x1 conv C=16 -> K=32 on 8x8: 32768 MACs. Mapping PE x: K (2), PE y: P (2), lanes: Q (2), SIMD: C (8):
    # U = K 2, P 2, Q 2, C 8 -> ceil(32/2) * ceil(8/2) * ceil(8/2) * ceil(16/8) = 16*4*4*2 = 512 compute cycles.
    layer = conv(r=1, padding=0)
    space = map_space(layer, SMALL)
    dims = {d: i for i, d in enumerate("GNKCPQRS")}
    sel = ((space["map_pe_x"] == dims["K"]) & (space["map_pe_y"] == dims["P"]) & (space["map_lanes"] == dims["Q"])
           & (space["map_simd"] == dims["C"]))
    assert sel.any()
    assert set(space["compute_cycles"][sel]) == {512.0}
    assert set(space["macs"][sel]) == {32768.0}
    # energy of the MACs alone: 32768 x 0.3 pJ (int8, Horowitz 45 nm)
    np.testing.assert_allclose(space["mac_pj"][sel], 32768 * 0.3)
    # weights cached on chip: no DRAM weight traffic; 16 x 32 bytes read from the on-chip store once
    assert set(space["dram_w_bytes"][sel]) == {0.0}
    # with one weight tile (K and C whole) the weights are read once in every order
    one = sel & (space["tiles_k"] == 1) & (space["tiles_c"] == 1)
    assert set(space["onchip_w_bytes"][one]) == {512.0}
    # order "input" (C, PQ, K loops): with K tiled the weights are read again for every P x Q tile
    reload = sel & (space["tiles_k"] > 1) & (space["order"] == 2)
    assert reload.any()
    np.testing.assert_array_equal(space["onchip_w_bytes"][reload],
                                  512.0 * space["tiles_p"][reload] * space["tiles_q"][reload])
    # order "weight" (K, C, PQ): each weight tile is loaded once, the inputs once per K tile
    ws = sel & (space["order"] == 0)
    assert set(space["onchip_w_bytes"][ws]) == {512.0}


def test_streamed_weights_cost_link_time_by_hand():
    # FC 1000 x 1000, int8 = 1e6 bytes streamed at 1 GB/s (10 bytes/cycle at 100 MHz): 100000 I/O cycles.
    layer = Layer.fc("fc", in_features=1000, out_features=1000)
    rec = map_layer(layer, SMALL, weights_cached=False)
    assert rec["dram_w_bytes"] == 1e6
    assert rec["io_cycles"] == pytest.approx(1e5)
    assert rec["memory_bound"] == 1.0
    assert rec["cycles"] >= 1e5
    assert rec["dram_w_pj"] == pytest.approx(1e6 * 244.0)


def test_depthwise_maps_as_badly_as_it_really_does():
    # No reduction across channels: the SIMD units can only take K or C, both 1 per group -> one of 8 busy.
    dw = conv(c=32, k=32, groups=32, h=16, w=16)
    dense = conv(c=32, k=32, h=16, w=16)
    r_dw, r_dense = map_layer(dw, SMALL), map_layer(dense, SMALL)
    peak = SMALL.macs_per_cycle
    assert r_dw["compute_cycles"] >= r_dw["macs"] / (peak / SMALL.simd)
    assert r_dw["macs"] / (r_dw["compute_cycles"] * peak) <= 1 / SMALL.simd + 1e-12
    assert r_dense["macs"] / (r_dense["compute_cycles"] * peak) > 0.5


def test_activation_functions_cost_vector_cycles():
    relu = map_layer(conv(act="relu"), SMALL)
    swish = map_layer(conv(act="swish"), SMALL)
    assert relu["vector_cycles"] == 0
    # 9 vector operations per output element on one 8-wide vector unit per PE: 2048 outputs * 9 / 32
    assert swish["vector_cycles"] == np.ceil(32 * 64 * 9 / 32)


def test_no_legal_mapping_is_an_error_not_a_crash():
    tiny = SMALL.replace(core_mem_kib=0.001)  # half of 1 byte cannot hold one 3x3 filter
    with pytest.raises(ValueError, match="no legal mapping"):
        evaluate(Workload("w", [conv()]), tiny)
    res = evaluate_batch(Workload("w", [conv()]), [tiny, SMALL])
    assert list(res.ok) == [False, True]
    assert "no legal mapping" in res.reasons()[0]
    assert np.isnan(res.total("latency_ms")[0]) and np.isfinite(res.total("latency_ms")[1])


# --- network-level behaviour ---------------------------------------------------------------------------------
def _net():
    return Workload("net", [
        Layer.conv("stem", c=3, k=16, h=32, w=32, r=3, stride=2, padding=1, act="relu"),
        Layer.conv("dw", c=16, k=16, h=16, w=16, r=3, padding=1, groups=16, act="relu6"),
        Layer.conv("pw", c=16, k=64, h=16, w=16, r=1, act="swish"),
        Layer.add("add", c=64, h=16, w=16),
        Layer.global_pool("pool", c=64, h=16, w=16),
        Layer.fc("fc", in_features=64, out_features=1000),
    ])


def test_parameters_stream_when_they_do_not_fit():
    wl = _net()
    big = evaluate(wl, SMALL).totals
    assert big["streamed_params_bytes"] == 0 and big["params_bytes"] == wl.weights
    small = evaluate(wl, SMALL.replace(pe_mem_kib=8)).totals  # 32 KiB on chip minus activations: the FC streams
    assert small["streamed_params_bytes"] >= 64000
    assert small["latency_ms"] > big["latency_ms"]


def test_totals_add_up():
    wl = _net()
    cost = evaluate(wl, SMALL)
    t = cost.totals
    assert t["cycles"] == pytest.approx(cost["cycles"].sum() + SMALL.inference_overhead_us * SMALL.clock_mhz)
    assert t["energy_pj"] == pytest.approx(sum(t[p] for p in codesign.cost.ENERGY_PARTS))
    assert t["macs"] == wl.macs


# --- properties ------------------------------------------------------------------------------------------------
configs = st.builds(
    lambda px, py, ln, sd, core, pe, io: EdgeTpuConfig(px, py, ln, sd, core_mem_kib=core, pe_mem_kib=pe, io_bw_gbps=io),
    st.sampled_from([1, 2, 4, 6, 8]), st.sampled_from([1, 2, 4, 6, 8]), st.sampled_from([1, 2, 4, 8]),
    st.sampled_from([16, 32, 64, 128]), st.sampled_from([8, 16, 32, 64, 128]), st.sampled_from([64, 128, 512, 1024]),
    st.sampled_from([5, 10, 15, 20, 25]),
)


@settings(max_examples=40, deadline=None)
@given(configs, st.floats(1.1, 4.0))
def test_more_bandwidth_or_memory_never_hurts(hw, factor):
    wl = _net()
    base = evaluate(wl, hw).totals
    faster = evaluate(wl, hw.replace(io_bw_gbps=hw.io_bw_gbps * factor)).totals
    assert faster["latency_ms"] <= base["latency_ms"] * (1 + 1e-12)
    bigger = evaluate(wl, hw.replace(pe_mem_kib=hw.pe_mem_kib * 2)).totals
    assert bigger["dram_bytes"] <= base["dram_bytes"]
    assert base["energy_pj"] >= base["mac_pj"] > 0
    for rec in evaluate(wl, hw).layers:
        assert all(np.isfinite(v) for v in rec.values() if isinstance(v, float))
        assert 0 <= rec["utilization"] <= 1


def test_batch_equals_single_and_threads_equal_serial():
    wl = _net()
    hws = [EdgeTpuConfig(px, py, ln, sd, pe_mem_kib=pe) for px in (1, 4) for py in (2, 8) for ln in (1, 4)
           for sd in (16, 128) for pe in (16, 512)]
    serial = evaluate_batch(wl, hws, threads=1)
    for threads in (2, 0):
        par = evaluate_batch(wl, hws, threads=threads)
        np.testing.assert_array_equal(par.values, serial.values)
        np.testing.assert_array_equal(par.totals_array, serial.totals_array)
    for a in (0, 7, len(hws) - 1):
        single = evaluate(wl, hws[a])
        np.testing.assert_array_equal(single.values, serial.values[a])


@pytest.mark.parametrize("kwargs, field", [
    (dict(pe_x=0), "pe_x"), (dict(simd=-1), "simd"), (dict(core_mem_kib=0), "core_mem_kib"),
    (dict(io_bw_gbps=float("nan")), "io_bw_gbps"), (dict(data_type="int4"), "data_type"),
    (dict(global_mem_kib=-1), "global_mem_kib"), (dict(layer_overhead_us=float("inf")), "layer_overhead_us"),
    (dict(reserved_onchip_kib=1e30), "reserved_onchip_kib=1e"), (dict(io_bw_gbps=1e-300), "io_bw_gbps=1e-300"),
])
def test_bad_config(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        EdgeTpuConfig(**kwargs)


def test_too_large_names_the_clock_only_where_it_converts():
    with pytest.raises(ValueError) as tile:
        EdgeTpuConfig(tile_overhead_cycles=1e30)
    assert "clock_mhz" not in str(tile.value) and "tile_overhead_cycles=1e+30" in str(tile.value)
    with pytest.raises(ValueError, match="at clock_mhz=500 it is 5e"):
        EdgeTpuConfig(inference_overhead_us=1e30, clock_mhz=500)


def test_a_global_memory_smaller_than_a_pe_memory_is_read_at_the_pe_memory_energy():
    # the on-chip source (cached parameters, bypassed data spaces) is the global memory, or the PE memories
    # without one; a global memory too small to hold what a PE memory holds never makes reads cheaper
    wl = Workload("w", [Layer.conv("a", c=32, k=64, h=30, w=30, r=3), Layer.conv("b", c=64, k=64, h=28, w=28, r=3)])
    base = codesign.preset("edgetpu")
    none, tiny = evaluate(wl, base), evaluate(wl, base.replace(global_mem_kib=1e-9))
    assert tiny.totals["onchip_w_pj"] == none.totals["onchip_w_pj"] > 0  # before: 1.4e-6 of it (sqrt(1e-9 / 512))
    assert tiny.totals["energy_pj"] == pytest.approx(none.totals["energy_pj"], rel=1e-12)  # leakage of 1e-9 KiB
    big = evaluate(wl, base.replace(global_mem_kib=4 * base.pe_mem_kib))  # read at its own (higher) energy per byte
    ratio = big.totals["onchip_w_pj"] / none.totals["onchip_w_pj"]
    assert ratio == pytest.approx(2.0, rel=1e-12)  # sqrt(4): energy per byte grows with the square root of capacity


def test_evaluate_checks_threads_on_edgetpu_too():
    wl = Workload("w", [Layer.conv("a", c=8, k=8, h=8, w=8, r=3)])
    for bad in (-1, "2", 1.5, True, 2**64):
        with pytest.raises(ValueError, match="threads"):
            evaluate(wl, codesign.preset("edgetpu"), threads=bad)
        with pytest.raises(ValueError, match="threads must be an int between 0 and 2..63 - 1"):
            evaluate_batch(wl, [codesign.preset("edgetpu")] * 2, threads=bad)  # 2**64: pybind11's TypeError dump


def test_mapper_options_validation():
    with pytest.raises(ValueError, match="metric"):
        MapperOptions(metric="throughput")
    with pytest.raises(ValueError, match="budget"):
        MapperOptions(budget=-1)


def test_area_model():
    # edgetpu preset: 4096 int8 MACs x 0.00121 + (16 x (32 + 512) KiB) x 0.00166 + 1 mm^2
    hw = codesign.preset("edgetpu")
    assert hw.area_mm2 == pytest.approx(4096 * 0.00121 + 16 * 544 * 0.00166 + 1.0)
    assert hw.peak_tops == pytest.approx(4.096)


# --- calibration against the measured Coral Edge TPU ------------------------------------------------------------
CORAL = list(csv.DictReader(open(Path(__file__).parent / "data" / "coral" / "edgetpu_latency_calibration.csv")))


def _coral_workload(row):
    pytest.importorskip("timm")
    if row["model"] == "inception_v1":
        import torchvision

        net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
        return codesign.from_torch(net, (1, 3, 224, 224), name="googlenet")
    name = row["pytorch_equivalent"].split()[1]
    return codesign.from_timm(name, resolution=int(row["input"]))


@pytest.fixture(scope="module")
def coral_predictions():
    hw = codesign.preset("edgetpu")
    return {r["model"]: (evaluate(_coral_workload(r), hw).totals["latency_ms"], float(r["usb_accelerator_ms"])) for r in CORAL}


def test_edgetpu_preset_within_35_percent(coral_predictions):
    for model, (pred, meas) in coral_predictions.items():
        assert abs(pred / meas - 1) <= 0.35, (model, pred, meas)


def test_edgetpu_preset_ranks_like_the_device(coral_predictions):
    for a, (pa, ma) in coral_predictions.items():
        for b, (pb, mb) in coral_predictions.items():
            if ma > 1.2 * mb:
                assert pa > pb, (a, b)


def test_a_sample_without_a_legal_mapping_says_so():
    # one sampled mapping of a layer whose smallest tile fits, but not that mapping: the message blamed the
    # memories and named no bytes
    layer = Layer.conv("pwl", c=576, k=160, h=7, w=7, r=1)
    hw = codesign.preset("edgetpu")
    assert map_layer(layer, hw)["cycles"] > 0
    with pytest.raises(ValueError, match=r"'pwl': the sample of 1 mappings \(budget=1\) holds none that fits"):
        evaluate(Workload("w", [layer]), hw, mapper=MapperOptions(budget=1))


def test_batch_totals_derive_what_a_network_cost_derives():
    wl = Workload("w", [Layer.conv("a", c=16, k=32, h=12, w=12, r=3), Layer.conv("b", c=32, k=32, h=10, w=10, r=3)])
    hws = [codesign.preset("edgetpu"), codesign.preset("edgetpu").replace(pe_x=2, simd=16)]
    batch = evaluate_batch(wl, hws)
    for a, hw in enumerate(hws):
        one = evaluate(wl, hw).totals
        for name in ("latency_ms", "energy_mj", "edp_mj_ms", "area_mm2", "cycles"):
            assert batch.total(name)[a] == one[name], name
