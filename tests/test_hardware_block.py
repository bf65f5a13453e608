"""codesign.hardware_block: a block of Edge-TPU-like configurations built column-wise has, bit for bit, the rows,
energy rows, areas and peak throughputs of the configurations built one by one, and an invalid one carries the
class's own error message; evaluating a block equals evaluating the objects."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codesign
from codesign.edgetpu_cost import evaluate_block
from codesign.hardware import preset
from codesign.hardware_block import edgetpu_block

# values per field, valid and not: a huge I/O rate or overhead is only refused together with the clock
VALUES = {
    "pe_x": [1, 2, 3, 8, 0, -1, 4096, 5000],
    "pe_y": [1, 4, 6, 2.5],
    "lanes": [1, 2, 8],
    "simd": [16, 64, 128],
    "core_mem_kib": [8.0, 32.0, 0.5, -1.0, float("nan")],
    "pe_mem_kib": [512.0, 4096.0, 2e12],
    "io_bw_gbps": [0.5, 20.0, 1e12, 1e20],
    "clock_mhz": [500.0, 1e-3, 1000.0],
    "layer_overhead_us": [0.0, 5.0, 1e16],
    "conv_op_us": [0.0, 3.92, 1e17],
    "data_type": ["int8", "bf16", "fp32", "int4"],
    "w_mem": ["core", "pe", "bypass", "dram"],
    "host": ["x86-desktop", "cortex-a53", None, "gpu"],
    "global_mem_kib": [0.0, 256.0],
    "reserved_onchip_kib": [0.0, 64.0],
}


def as_column(values):
    """A numeric array where the values allow (the sweep's columns), else an object array."""
    if all(type(v) is int for v in values) or all(type(v) is float for v in values):
        return np.array(values)
    return np.array(values, dtype=object)


def one_by_one(base, cols, names):
    out = []
    for j, name in enumerate(names):
        try:
            out.append(base.replace(name=name, **{k: v[j] for k, v in cols.items()}))
        except (TypeError, ValueError) as exc:
            out.append(str(exc).splitlines()[0])
    return out


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["edgetpu", "edgetpu-baseline", "edgetpu-devboard"]),
       st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=4, unique=True), st.integers(1, 40),
       st.randoms(use_true_random=False))
def test_block_equals_the_configurations_one_by_one(base_name, fields, n, rnd):
    base = preset(base_name)
    cols = {k: [rnd.choice(VALUES[k]) for _ in range(n)] for k in fields}
    names = [f"c{j}" for j in range(n)]
    block = edgetpu_block(base, {k: as_column(v) for k, v in cols.items()}, names)
    want = one_by_one(base, cols, names)
    for j, w in enumerate(want):
        if isinstance(w, str):
            assert block.errors[j] == w and not block.ok[j]
            assert np.isnan(block.area_mm2[j]) and np.isnan(block.peak_tops[j])
            continue
        assert block.errors[j] == "" and block.ok[j]
        assert block.rows[j].tobytes() == np.array(w.to_row()).tobytes()
        assert block.area_mm2[j] == w.area_mm2 and block.peak_tops[j] == w.peak_tops
        assert block.energy[0 if block.energy.shape[0] == 1 else j].tolist() == list(w.energy_row())
        assert block.config(j) == w


def test_block_evaluates_as_its_configurations():
    wl = codesign.Workload("n", [codesign.Layer.conv("c", c=16, k=32, h=14, w=14, r=3, padding=1),
                                 codesign.Layer.fc("f", in_features=64, out_features=10)])
    base = preset("edgetpu")
    cols = {"pe_x": np.array([1, 2, 4, 0, 8]), "simd": np.array([16, 64, 64, 64, 128]),
            "data_type": np.array(["int8", "bf16", "int8", "int8", "fp32"], dtype=object)}
    block = edgetpu_block(base, cols, [f"c{j}" for j in range(5)])
    assert block.ok.tolist() == [True, True, True, False, True]
    assert "pe_x" in block.errors[3]
    res = evaluate_block(wl, block, totals_only=False)
    hws = [block.config(j) for j in (0, 1, 2, 4)]
    ref = codesign.evaluate_batch(wl, hws)
    assert np.array_equal(res.totals_array, ref.totals_array) and np.array_equal(res.values, ref.values)
    assert [h.name for h in res.hws] == ["c0", "c1", "c2", "c4"]
    assert res.network(1).totals == ref.network(1).totals


def test_block_refuses_bad_arguments():
    base = preset("edgetpu")
    with pytest.raises(TypeError, match="base must be a codesign.EdgeTpuConfig, got SystolicArray"):
        edgetpu_block(preset("systolic"), {"pe_x": np.array([1])}, ["a"])
    with pytest.raises(ValueError, match="columns: 'rows' is not a field an EdgeTpuConfig block can vary"):
        edgetpu_block(base, {"rows": np.array([1])}, ["a"])
    with pytest.raises(ValueError, match=r"columns\['pe_x'\] must have shape \(2,\), got \(1,\)"):
        edgetpu_block(base, {"pe_x": np.array([1])}, ["a", "b"])


def test_block_edge_cases():
    base = preset("edgetpu")
    assert len(edgetpu_block(base, {"pe_x": []}, [])) == 0
    with pytest.raises(TypeError, match="columns must be a dict of field"):
        edgetpu_block(base, [("pe_x", [1, 2])], ["a", "b"])
    with pytest.raises(TypeError, match="names must be a list of str"):
        edgetpu_block(base, {"pe_x": [1, 2]}, "ab")
    mixed = edgetpu_block(base, {"pe_x": ["4", 2]}, ["a", "b"])  # each value judged with its own type
    assert mixed.errors == ["pe_x must be an integer, got '4'", ""]
