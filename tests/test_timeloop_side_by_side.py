"""codesign side by side with Timeloop's Eyeriss-like AlexNet runs (benchmarks/timeloop/compare.py; issue 13).

Reference figures: tests/data/timeloop/ (copied from Timeloop v3.0.3's results, README there). The bands asserted
are the ones benchmarks/README.md states ("Timeloop side by side").
"""

import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("timeloop_compare", ROOT / "benchmarks/timeloop/compare.py")
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)


@pytest.fixture(scope="module")
def rows():
    return {r["layer"]: r for r in compare.compare(ROOT / "tests/data/timeloop")}


def test_reference_copy_is_consistent():
    for tl in compare.read_timeloop(ROOT / "tests/data/timeloop"):
        parts = sum(v for k, v in tl.items() if k.endswith("_pJ"))
        assert parts / 1e6 == pytest.approx(tl["energy_uJ"], rel=1e-4)  # components add up to Timeloop's total
        assert tl["macs"] == tl["C"] * tl["M"] * tl["P"] * tl["Q"] * tl["R"] * tl["S"]
        assert tl["mac_pJ"] == pytest.approx(2.2 * tl["macs"])  # ERT mac_random


def test_parse_map_reads_timeloop_spatial_loops():
    nest = compare.parse_map((ROOT / "tests/data/timeloop/AlexNet_layer2.map.txt").read_text())
    assert compare.spatial(nest, "X") == [("M", 4), ("Q", 3)]
    assert compare.spatial(nest, "Y") == [("C", 2), ("S", 5)]
    assert nest["psum_spad"] == [("M", 16, "T")]
    with pytest.raises(ValueError):
        compare.parse_map("nothing here")


def test_conv1_has_no_template_mapping_on_mirrored_spads(rows):
    # The template keeps the whole 11x11 window in a PE: 121 inputs x 2 B + one 4 B partial sum = 246 B, beyond half
    # of the 176 B PE memory (Timeloop's PE holds one 11-word filter row of inputs).
    r = rows["AlexNet_layer1"]
    assert r["con_rec"] is None and r["free_rec"] is None
    assert "246 B" in r["con_error"] and "88 B" in r["con_error"]


@pytest.mark.parametrize("layer", ["AlexNet_layer3", "AlexNet_layer4", "AlexNet_layer5"])
def test_conv3_to_5_within_stated_bands(rows, layer):
    r = rows[layer]
    assert abs(r["con_energy_diff"]) < 0.10
    assert abs(r["con_cycles_diff"]) < 0.05
    # P on 13 PE columns (one output row each), K on 12 PE rows: 13 * ceil(K / 12) * C * R * S compute cycles
    # (Timeloop: 156 PEs too, without the padding of K = 256 over 12 rows in conv5).
    tl = _tl_row(layer)
    assert r["con_rec"]["compute_cycles"] == 13 * math.ceil(tl["M"] / 12) * tl["C"] * 9
    assert r["free_illegal"]  # S is never spatial in the template: illegal on Timeloop's machine


def _tl_row(layer):
    return next(t for t in compare.read_timeloop(ROOT / "tests/data/timeloop") if t["layer"] == layer)


def test_conv2_difference_is_the_padding_of_its_pe_counts(rows):
    # Timeloop: 120 PEs on M4 x Q3 (X) and C2 x S5 (Y), no padding: 447,897,600 / 120 cycles. The template: K on
    # 12 columns (ceil(256 / 12) = 22) and P on 10 rows (ceil(27 / 10) = 3): 22 * 96 * 3 * 27 * 25 cycles.
    r = rows["AlexNet_layer2"]
    assert r["tl_cycles"] == 447_897_600 / 120
    assert r["con_rec"]["compute_cycles"] == 22 * 96 * 3 * 27 * 25
    assert 0.10 < r["con_cycles_diff"] < 0.20
    assert 0.10 < r["con_energy_diff"] < 0.20
    assert -0.05 < r["free_cycles_diff"] < 0.0 and -0.20 < r["free_energy_diff"] < -0.10


def test_components_differ_as_stated(rows):
    e_glb = (74.144 + 75.215) / 2 / 8  # pJ/B, ERT shared_glb
    for layer in ("AlexNet_layer3", "AlexNet_layer4", "AlexNet_layer5"):
        r, tl = rows[layer], _tl_row(layer)
        ours, theirs = r["con_components"], r["tl_components"]
        assert ours["MAC"] == pytest.approx(theirs["MAC"])
        assert ours["weight spad"] == pytest.approx(theirs["weight spad"], rel=0.05)
        # Input reads: 2 B per MAC at the square-root-law energy of the 176 B PE memory, > 2.5x Timeloop's 24 B spad.
        assert ours["input spad"] >= 2 * e_glb * math.sqrt(176 / 131072) > 2.5 * theirs["input spad"]
        assert ours["glb"] == 0.0 < theirs["glb"]
        # DRAM: weights only, fetched twice (Q in 2 tiles, C innermost), 64 pJ/B; Timeloop: weights once plus I/O.
        w_bytes = 2 * tl["C"] * tl["M"] * 9
        assert r["con_rec"]["dram_w_pj"] == pytest.approx(2 * w_bytes * 64)
        assert tl["dram_weights_pJ"] == pytest.approx(w_bytes / 2 * 128)
