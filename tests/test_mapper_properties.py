"""Properties of the Edge-TPU-like mapper's complete map space (issue 13), over random layers and memories.

* more memory (core, PE or global) never turns a mappable layer into an unmappable one, nor makes the best mapping
  worse: by latency directly (memory sizes enter no time term); by energy and EDP against the small memory's best
  mapping costed on the large memory (the SRAM energy per byte grows with capacity, so the same mapping may cost
  more there: the property is that the mapper never does worse than what it could keep);
* a layer maps whenever its smallest tile (one output element's working set) fits, and only then; the message of an
  unmappable layer names the smallest tile's bytes and the memory it does not fit;
* the three tile orders cover every loop order: the reload factors of any of the 720 orders of the six tile loops are
  no better, data space by data space, than those of one of the three (mapper/mapping.hpp);
* the traffic counted is the schedule's: weights and partial sums moved per the order's closed forms.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign import EdgeTpuConfig, Layer, _core
from codesign.cost import MapperOptions, map_layer, map_space

COMPLETE = {m: MapperOptions(metric=m, space="complete") for m in ("latency", "energy", "edp")}
MAPPING_FIELDS = ("map_pe_x", "map_pe_y", "map_lanes", "map_simd", "tiles_g", "tiles_n", "tiles_k", "tiles_c",
                  "tiles_p", "tiles_q", "order", "inner")


def _metric(rec, metric):
    return {"latency": rec["cycles"], "energy": rec["energy_pj"], "edp": rec["cycles"] * rec["energy_pj"]}[metric]


def _maps(layer, hw, **kw):
    try:
        return map_layer(layer, hw, **kw)
    except ValueError as err:
        assert "no legal mapping" in str(err)
        return None


layers = st.builds(
    lambda c, k, hw_, r, dil, stride, depthwise: Layer.conv(
        "l", c=c, k=c if depthwise else k, h=hw_ + (r - 1) * dil, w=hw_ + (r - 1) * dil, r=r, stride=stride,
        dilation=dil, groups=c if depthwise else 1),
    c=st.integers(1, 40), k=st.integers(1, 40), hw_=st.integers(1, 10), r=st.sampled_from([1, 3]),
    dil=st.sampled_from([1, 2, 4]), stride=st.sampled_from([1, 2]), depthwise=st.booleans())
memories = st.tuples(st.sampled_from([0.0625, 0.25, 1, 4]), st.sampled_from([0.0625, 0.25, 1, 8]),
                     st.sampled_from([0, 64]))


def _hw(core, pe, glob, **kw):
    return EdgeTpuConfig(pe_x=2, pe_y=2, lanes=2, simd=4, core_mem_kib=core, pe_mem_kib=pe, global_mem_kib=glob,
                         io_bw_gbps=2.0, clock_mhz=200, name="prop", **kw)


@settings(max_examples=40, deadline=None)
@given(layer=layers, small=memories, grow=st.sampled_from(["core", "pe", "global"]),
       factor=st.sampled_from([2, 4, 16]), metric=st.sampled_from(["latency", "energy", "edp"]),
       ctx=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_more_memory_never_loses_a_mapping_nor_makes_the_best_worse(layer, small, grow, factor, metric, ctx):
    core, pe, glob = small
    big = {"core": (core * factor, pe, glob), "pe": (core, pe * factor, glob), "global": (core, pe, glob + 64 * factor)}
    hw_s, hw_b = _hw(*small), _hw(*big[grow])
    kw = dict(weights_cached=ctx[0], input_spilled=ctx[1], output_spilled=ctx[2])
    best_s = _maps(layer, hw_s, mapper=COMPLETE[metric], **kw)
    best_b = _maps(layer, hw_b, mapper=COMPLETE[metric], **kw)
    if best_s is None:
        return
    assert best_b is not None, "a larger memory lost the layer's every mapping"
    if metric == "latency":
        assert best_b["cycles"] <= best_s["cycles"]
        return
    # the small memory's best mapping is legal on the large one: the mapper there is at least as good
    space = map_space(layer, hw_b, **kw)
    same = np.ones(len(space["cycles"]), bool)
    for f in MAPPING_FIELDS:
        same &= space[f] == best_s[f]
    assert same.sum() == 1
    kept = {"cycles": space["cycles"][same][0], "energy_pj": space["energy_pj"][same][0]}
    assert _metric(best_b, metric) <= _metric(kept, metric) * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(layer=layers, mem=memories, space=st.sampled_from(["compact", "complete"]))
def test_a_layer_maps_iff_its_smallest_tile_fits(layer, mem, space):
    hw = _hw(*mem)
    _, core_b, pe_b, fits = _core.edgetpu_smallest_tile(np.asarray(layer.to_row(), np.int64), np.asarray(hw.to_row()))
    if fits:
        rec = map_layer(layer, hw, mapper=MapperOptions(space=space))
        assert rec["cycles"] > 0
    else:
        with pytest.raises(ValueError) as err:
            map_layer(layer, hw, mapper=MapperOptions(space=space))
        msg = str(err.value)
        assert "smallest tile" in msg
        # the bytes named are those of the tile, against half the memory they do not fit
        assert (f"{core_b:g} B in core memory" in msg) == (core_b > hw.core_mem_kib * 512)
        assert (f"{pe_b:g} B in PE memory" in msg) == (pe_b > hw.pe_mem_kib * 512)


def test_smallest_tile_by_hand():
    # 3x3 conv, C=16, int8, partial sums of 4 bytes. One output element with C split to one channel: weights
    # 3*3*1 = 9 B in core memory, inputs 3*3*1 = 9 B plus one partial sum 4 B = 13 B in PE memory. A 16 B PE
    # memory offers half, 8 B: too small (and with C whole the input tile alone is 144 B).
    layer = Layer.conv("l", c=16, k=8, h=6, w=6, r=3, padding=1)
    hw = EdgeTpuConfig(pe_x=1, pe_y=1, lanes=1, simd=1, core_mem_kib=1, pe_mem_kib=16 / 1024, name="tiny")
    status, core_b, pe_b, fits = _core.edgetpu_smallest_tile(np.asarray(layer.to_row(), np.int64),
                                                             np.asarray(hw.to_row()))
    assert (status, core_b, pe_b, fits) == (0, 9.0, 13.0, False)
    with pytest.raises(ValueError, match=r"smallest tile .* needs 13 B in PE memory \(half of 0.015625 KiB = 8 B\)"):
        map_layer(layer, hw)
    # 26 B of PE memory (half: 13 B) is exactly enough
    ok = map_layer(layer, hw.replace(pe_mem_kib=26 / 1024), mapper=COMPLETE["latency"])
    assert (ok["tiles_c"], ok["tiles_p"], ok["tiles_q"]) == (16.0, 6.0, 6.0)


# --- tile orders ----------------------------------------------------------------------------------------------
LOOPS = "GNKCPQ"
RELEVANT = {"W": set("GKC"), "I": set("GNCPQ"), "O": set("GNKPQ")}


def _reload(order: str, t: dict[str, int]) -> tuple[float, float, float]:
    """Visits / distinct tiles of W, I, O for a loop nest (outer to inner) of tile counts t: a tile is fetched
    again whenever a loop outside the innermost relevant loop (count > 1) advances."""
    out = []
    for space in "WIO":
        loops = [d for d in order if t[d] > 1]
        rel = [i for i, d in enumerate(loops) if d in RELEVANT[space]]
        visits = float(np.prod([t[d] for d in loops[: rel[-1] + 1]])) if rel else 1.0
        distinct = float(np.prod([t[d] for d in loops if d in RELEVANT[space]]))
        out.append(visits / distinct)
    return tuple(out)


CANONICAL = {0: "GKCNPQ", 1: "GKNPQC", 2: "GCNPQK"}  # weight, output, input (mapper/mapping.hpp)


@settings(max_examples=200, deadline=None)
@given(t=st.fixed_dictionaries({d: st.sampled_from([1, 1, 2, 3, 8]) for d in LOOPS}))
def test_three_tile_orders_dominate_every_loop_order(t):
    canon = [_reload(o, t) for o in CANONICAL.values()]
    for perm in itertools.permutations(LOOPS):
        r = _reload("".join(perm), t)
        assert any(all(c[i] <= r[i] for i in range(3)) for c in canon), ("".join(perm), r, canon)


def test_traffic_follows_the_order_closed_forms():
    # Pointwise conv, weights cached: on-chip weight bytes = layer weights x W reloads; partial sums spilled
    # 2 x (O reloads - 1) x outputs x psum bytes; both against the reload factors of the loop nest above.
    layer = Layer.conv("l", c=32, k=32, h=8, w=8, r=1)
    hw = _hw(0.5, 1, 0)
    space = map_space(layer, hw)
    w_layer, out = 32 * 32, 32 * 8 * 8
    checked = 0
    for i in range(len(space["cycles"])):
        t = {d: int(space[f"tiles_{d.lower()}"][i]) for d in LOOPS}
        rw, _, ro = _reload(CANONICAL[int(space["order"][i])], t)
        assert space["onchip_w_bytes"][i] == w_layer * rw
        assert space["psum_spill_bytes"][i] == 2 * (ro - 1) * out * 4
        checked += ro > 1
    assert checked > 0  # some mappings spill partial sums


@settings(max_examples=40, deadline=None)
@given(p=st.integers(1, 24), tiles=st.integers(1, 24), r=st.sampled_from([1, 3]), stride=st.sampled_from([1, 2]))
def test_any_tile_count_reads_each_input_at_least_once(p, tiles, r, stride):
    # A fixed count that does not divide the extent well (10 rows in 6 tiles of 2: one tile empty) still reads every
    # input row, the halos again: DRAM input bytes >= the layer's distinct input bytes, never negative.
    from codesign.map_constraints import MapConstraints
    tiles = min(tiles, p)
    h = (p - 1) * stride + r
    layer = Layer.conv("l", c=2, k=2, h=h, w=3, r=r, stride=stride)
    hw = EdgeTpuConfig(pe_x=1, pe_y=1, lanes=1, simd=1, core_mem_kib=4, pe_mem_kib=64, name="one")
    cons = MapConstraints(tiles={"P": tiles}, spatial={"pe_x": "K", "pe_y": "K", "lanes": "K"})
    rec = map_layer(layer, hw, mapper=MapperOptions(constraints=cons, space="complete"), input_spilled=True)
    assert rec["tiles_p"] == tiles
    # rows (columns) some window touches: all of them when the stride is at most the window, else r per output
    distinct = 2 * min(h, layer.p * r) * min(3, layer.q * r)
    assert rec["dram_i_bytes"] >= distinct - 1e-9
