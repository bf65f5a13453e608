"""Mapping constraints (issue 13): they narrow the map space, never widen it, never drop a dimension; impossible
ones give an infeasible result naming them; the CLI reads them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typer.testing import CliRunner

from codesign import EdgeTpuConfig, Layer
from codesign.cli import app
from codesign.cost import MapperOptions, map_layer, map_space
from codesign.map_constraints import MapConstraints

DIMS = "GNKCPQRS"
HW = EdgeTpuConfig(pe_x=2, pe_y=3, lanes=2, simd=4, core_mem_kib=1, pe_mem_kib=4, io_bw_gbps=2.0, clock_mhz=200,
                   name="small")
LAYER = Layer.conv("l", c=24, k=20, h=10, w=10, r=3, padding=1)


def test_parse_and_row():
    c = MapConstraints.parse(["pe_x=K", "pe_y=P,Q", "simd=C", "lanes.factor=1", "tiles.C=3", "order=output",
                              "inner=os"])
    assert c.spatial == {"pe_x": "K", "pe_y": "PQ", "simd": "C"} and c.factor == {"lanes": 1}
    row = c.to_row()
    assert row[0] == 1 << DIMS.index("K") and row[1] == (1 << DIMS.index("P")) | (1 << DIMS.index("Q"))
    assert row[2] == 0xFF and row[3] == 1 << DIMS.index("C")
    assert list(row[4:8]) == [0, 0, 1, 0] and row[8 + "GNKCPQ".index("C")] == 3 and row[14] == 1 and row[15] == 1
    assert c.describe() == "pe_x=K, pe_y=PQ, simd=C, lanes.factor=1, tiles.C=3, order=output, inner=os"


@pytest.mark.parametrize("bad, match", [
    (["pe_x"], "expected KEY=VALUE"), (["pe_z=K"], "unknown key 'pe_z'"), (["simd=P"], "simd unrolls one of K, C"),
    (["tiles.R=2"], "dimension must be one of G, N, K, C, P, Q"), (["tiles.K=0"], "between 1 and 1,099,511,627,776"),
    (["tiles.K=x"], "'x' is not an integer"), (["order=sideways"], "order must be one of weight, output, input"),
    (["inner=is"], "inner must be one of ws, os"), (["pe_x.factor=-2"], "'-2' is not an integer"),
    (["pe_x.factor=4294967296"], "between 1 and 65,536"), (["tiles.C=2", "tiles.c=4"], "tiles.c is given twice"),
    (["pe_x=K", "pe_x=P"], "pe_x is given twice"), (["tiles.C=\u0662"], "is not an integer \\(digits 0-9\\)"),
    (["tiles.C=1_0"], "'1_0' is not an integer"), (["pe_x=\u00df"], "'pe_x=\u00df': pe_x takes dimension letters"),
])
def test_bad_constraints_name_the_item(bad, match):
    with pytest.raises(ValueError, match=match):
        MapConstraints.parse(bad)


def test_constraint_types_and_lowercase_tiles():
    with pytest.raises(TypeError, match="items must be a list of strings"):
        MapConstraints.parse("pe_x=K")
    with pytest.raises(TypeError, match="items must be a list of strings"):
        MapConstraints.parse(None)
    # a lower-case tile dimension is the same dimension (it once passed the checks and was then dropped)
    low = map_layer(LAYER, HW, mapper=MapperOptions(constraints=MapConstraints(tiles={"c": 2})))
    assert low["tiles_c"] == 2


def _spatial(rec):
    return tuple(DIMS[int(rec[f])] for f in ("map_pe_x", "map_pe_y", "map_lanes", "map_simd"))


@pytest.mark.parametrize("space", ["compact", "complete"])
def test_fixed_choices_are_kept(space):
    cons = MapConstraints.parse(["pe_x=K", "pe_y=Q", "simd=C", "tiles.K=2", "order=output", "inner=ws"])
    rec = map_layer(LAYER, HW, mapper=MapperOptions(metric="energy", constraints=cons, space=space))
    assert _spatial(rec)[0] == "K" and _spatial(rec)[1] == "Q" and _spatial(rec)[3] == "C"
    assert rec["tiles_k"] == 2 and rec["order"] == 1 and rec["inner"] == 0


@settings(max_examples=25, deadline=None)
@given(level=st.sampled_from(["pe_x", "pe_y", "lanes"]), dims=st.sampled_from(["K", "P", "Q", "KP", "G", "N"]),
       metric=st.sampled_from(["latency", "energy", "edp"]), order=st.sampled_from([None, "weight", "output", "input"]))
def test_constraints_narrow_the_space(level, dims, metric, order):
    cons = MapConstraints(spatial={level: dims}, order=order)
    free = map_layer(LAYER, HW, mapper=MapperOptions(metric=metric, space="complete"))
    kept = map_layer(LAYER, HW, mapper=MapperOptions(metric=metric, space="complete", constraints=cons))
    key = {"latency": "cycles", "energy": "energy_pj", "edp": None}[metric]
    val = (lambda r: r["cycles"] * r["energy_pj"]) if key is None else (lambda r: r[key])
    assert val(kept) >= val(free) * (1 - 1e-12)
    got = _spatial(kept)[["pe_x", "pe_y", "lanes"].index(level)]
    # a level limited to dimensions of extent one (G, N here) stays idle on the first of them: nothing is dropped
    assert got in dims
    space = map_space(LAYER, HW, constraints=cons)
    lvl = {"pe_x": "map_pe_x", "pe_y": "map_pe_y", "lanes": "map_lanes"}[level]
    assert set(DIMS[int(d)] for d in space[lvl]) <= set(dims)
    if order is not None:
        assert set(space["order"]) <= {("weight", "output", "input").index(order)}
    # every constrained mapping is in the free space, with the same cost
    assert len(space["cycles"]) <= len(map_space(LAYER, HW)["cycles"])
    # the constrained optimum is the least of the constrained space
    k = space["cycles"] if metric == "latency" else space["energy_pj"] if metric == "energy" else \
        space["cycles"] * space["energy_pj"]
    assert val(kept) == pytest.approx(k.min(), rel=1e-12)


def test_factor_uses_part_of_a_level():
    # pe_x unrolls K on 1 of its 2 columns: compute cycles double against the whole level
    whole = map_layer(LAYER, HW, mapper=MapperOptions(constraints=MapConstraints.parse(["pe_x=K", "pe_y=P", "lanes=Q",
                                                                                        "simd=C"])))
    half = map_layer(LAYER, HW, mapper=MapperOptions(constraints=MapConstraints.parse(["pe_x=K", "pe_y=P", "lanes=Q",
                                                                                       "simd=C", "pe_x.factor=1"])))
    # K=20 on 2 columns: 10 per column; on 1: 20. P=10 on 3 rows: 4; Q on 2 lanes: 5; C=24 on 4 SIMD: 6; R*S = 9
    assert whole["compute_cycles"] == 10 * 4 * 5 * 6 * 9
    assert half["compute_cycles"] == 20 * 4 * 5 * 6 * 9


@pytest.mark.parametrize("items", [["pe_x.factor=3"], ["tiles.K=999"], ["pe_x=G", "pe_y=G", "lanes=G", "simd=K",
                                                                         "tiles.P=1", "tiles.Q=1", "tiles.C=1"]])
def test_impossible_constraints_are_an_infeasible_result(items):
    # 3 of pe_x's 2 columns; 999 K tiles of a K share of 10; the whole 10x10 output with all 24 channels in 2 KiB
    hw = HW.replace(pe_mem_kib=0.5)
    with pytest.raises(ValueError, match="no mapping on small that meets the mapping constraints \\(.*\\)"):
        map_layer(LAYER, hw, mapper=MapperOptions(constraints=MapConstraints.parse(items)))


def test_cli_constraint():
    runner = CliRunner()
    cmd = ["map", "--layer", "conv K=32 C=16 P=14 Q=14 R=3 S=3", "--hw", "edgetpu", "-c", "pe_x=K", "-c", "simd=C",
           "--format", "json"]
    run = runner.invoke(app, cmd)
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert doc["mapper_best"]["mapping"].startswith("K/") and doc["mapper_best"]["mapping"].split()[0].endswith("/C")
    assert all(r["mapping"].startswith("K/") for r in doc["top"])
    bad = runner.invoke(app, cmd[:-2] + ["-c", "order=diagonal"])
    assert bad.exit_code == 2 and "order must be one of weight, output, input" in bad.output
    assert "Traceback" not in bad.output
