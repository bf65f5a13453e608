"""codesign's Edge-TPU-like template side by side with Timeloop on its Eyeriss-like exercise (AlexNet conv1-5).

No Timeloop run is needed: its results (timeloop-mapper v3.0.3, Accelergy ERT, row-stationary constraints;
shared/reference/timeloop/results/) were copied into tests/data/timeloop/ by extract_reference.py. For each layer
(shape from Timeloop's workload file) this maps the layer on :func:`eyeriss_timeloop_config`, a configuration built
from Timeloop's architecture and energy table, twice:

* constrained: the spatial dimensions and PE counts of Timeloop's best mapping (its map.txt), translated to the
  template's dimensions as far as the template can unroll them (:func:`timeloop_constraints`);
* unconstrained: codesign's own best mapping, then checked against Timeloop's machine (:func:`timeloop_legality`).

Both over the complete map space, least energy first (:func:`map_one` says why). Prints per layer Timeloop's energy and cycles, ours, the differences, and a per-component
breakdown in pJ/MAC. Usage: ``python benchmarks/timeloop/compare.py [DATA_DIR]``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import sys
from pathlib import Path
from typing import Any

from codesign import Layer, MapperOptions, map_layer
from codesign.hardware import TECH_EYERISS, EdgeTpuConfig, Technology
from codesign.map_constraints import MapConstraints

DATA_DIR = Path(__file__).resolve().parents[2] / "tests/data/timeloop"
WORD_BYTES = 2   # Timeloop's word-bits: 16 everywhere
PSUM_BYTES = 4   # the template's partial sums (codesign.hardware.DATA_TYPES["bf16"]): 32-bit
#: Timeloop's PE grid (PE[0..167], meshX 14) and per-PE scratchpads in 16-bit words (eyeriss_like.yaml).
MESH_X, MESH_Y = 14, 12
WEIGHTS_SPAD_WORDS, IFMAP_SPAD_WORDS, PSUM_SPAD_WORDS = 192, 12, 16
GLB_KIB = 16384 * 64 / 8 / 1024  # shared_glb: depth 16384 x 64 bits = 128 KiB
#: Timeloop's dimension -> ours. Its Inputs projection pairs (Q, S) on the H axis and (P, R) on the W axis; ours pairs
#: (P, R) with the rows h and (Q, S) with the columns w (all five layers are square, so either reading gives the
#: same numbers).
TL_TO_OURS = {"M": "K", "C": "C", "N": "N", "Q": "P", "S": "R", "P": "Q", "R": "S"}
#: Dimensions the template's PE grid can unroll (codesign.map_constraints.LEVEL_DIMS: no C, R or S).
GRID_DIMS = "KPQ"


def timeloop_technology() -> Technology:
    """Energies of Timeloop's exercise ERT (ERT.yaml; Accelergy, 45 nm), as Timeloop charges them (stats.txt).

    MAC: ``mac_random`` 2.2 pJ (Timeloop's "Compute energy"). SRAM: the shared_glb's per-scalar access energy,
    its costliest read (74.144 pJ) and write (75.215 pJ) entries averaged, per 4-word block of 8 bytes = 9.335
    pJ/byte at 128 KiB (Timeloop charges 18.67 pJ per 16-bit word); the template scales it by the square root of
    capacity, which gives 0.25 pJ per word at the ifmap_spad's 24 B (ERT: 0.237) but 1.01 at the weights_spad's
    384 B (ERT: 1.586). DRAM: LPDDR4 512 pJ per 64-bit access = 64 pJ/byte. No leakage: Timeloop's totals count
    none. No vector operations (the layers have no activation).
    """
    return dataclasses.replace(
        TECH_EYERISS, name="timeloop-eyeriss-ert", mac_pj={"int8": 1.1, "bf16": 2.2, "fp32": 4.4}, vector_op_pj=0.0,
        sram_pj_per_byte_ref=(74.144 + 75.215) / 2 / 8, sram_ref_kib=GLB_KIB, dram_pj_per_byte=512 / 8,
        leak_mw_per_kib=0.0, leak_mw_per_mac=0.0,
        sources="Timeloop eyeriss_like exercise ERT (timeloop-accelergy-exercises 778460f): mac_random, "
                "shared_glb largest read/write, LPDDR4 DRAM",
    )


def eyeriss_timeloop_config() -> EdgeTpuConfig:
    """The template configured as Timeloop's Eyeriss-like machine (eyeriss_like.yaml).

    14 x 12 PEs of one 16-bit MAC (lanes = simd = 1). Core memory = the weights_spad (weights), PE memory = the
    ifmap_spad and psum_spad together (inputs and partial sums); shared_glb = the 128 KiB global memory. The
    template's tiles use half a memory (double buffering) and Timeloop's scratchpads are single-buffered (its
    "Multiple buffering: 1"), so each memory gets twice the bytes of the words it mirrors: core 2 x 192 x 2 B =
    768 B; PE 2 x (12 x 2 B + 16 partial sums x 4 B, the template's 32-bit partial sums) = 176 B. DRAM: 64 bits
    per cycle (LPDDR4 ``width: 64``; Timeloop itself puts no bandwidth limit on it). Clock 1 GHz (cycles are what
    is compared; Timeloop reports GFLOPs at 1 GHz).
    """
    return EdgeTpuConfig(
        MESH_X, MESH_Y, 1, 1, core_mem_kib=2 * WEIGHTS_SPAD_WORDS * WORD_BYTES / 1024,
        pe_mem_kib=2 * (IFMAP_SPAD_WORDS * WORD_BYTES + PSUM_SPAD_WORDS * PSUM_BYTES) / 1024,
        global_mem_kib=GLB_KIB, io_bw_gbps=8.0, clock_mhz=1000.0, data_type="bf16", activation_buffers=1.0,
        w_mem="core", i_mem="pe", o_mem="pe", technology=timeloop_technology(), name="eyeriss-timeloop")


# ------------------------------------------------------------------------------------------------ Timeloop inputs

def read_timeloop(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """Rows of timeloop_alexnet.csv (shape, cycles, energy_uJ, per-component pJ), each with its parsed loop nest
    under ``nest`` (:func:`parse_map`)."""
    rows = []
    for r in csv.DictReader((data_dir / "timeloop_alexnet.csv").open()):
        row: dict[str, Any] = {k: (v if k == "layer" else float(v)) for k, v in r.items()}
        row["nest"] = parse_map((data_dir / f"{r['layer']}.map.txt").read_text())
        rows.append(row)
    return rows


def parse_map(text: str) -> dict[str, list[tuple[str, int, str]]]:
    """Loops of a timeloop-mapper.map.txt per storage level, outer to inner: (dimension, factor, kind), kind
    ``T`` (temporal), ``X`` or ``Y`` (spatial). ValueError when no level is found."""
    nest: dict[str, list[tuple[str, int, str]]] = {}
    level = None
    for line in text.splitlines():
        if m := re.match(r"^(\w+) \[", line):
            level = m.group(1)
            nest[level] = []
        elif (m := re.search(r"for (\w) in \[0:(\d+)\)(?: \(Spatial-([XY])\))?", line)) and level is not None:
            nest[level].append((m.group(1), int(m.group(2)), m.group(3) or "T"))
    if not nest:
        raise ValueError("not a timeloop-mapper.map.txt: no storage level found")
    return nest


def spatial(nest: dict[str, list[tuple[str, int, str]]], axis: str) -> list[tuple[str, int]]:
    """Spatial loops (Timeloop's dimension, factor) of one mesh axis, factors above one."""
    return [(d, f) for loops in nest.values() for d, f, k in loops if k == axis and f > 1]


def layer_of(row: dict[str, Any]) -> Layer:
    """The Timeloop workload as a codesign conv layer: no padding, input = (P - 1) * stride + R (Timeloop's
    Inputs projection), Timeloop's M as K."""
    assert row["Hstride"] == row["Wstride"] and row["R"] == row["S"] and row["P"] == row["Q"], "square layers only"
    stride, r = int(row["Hstride"]), int(row["R"])
    h = (int(row["P"]) - 1) * stride + r
    return Layer.conv(str(row["layer"]), c=int(row["C"]), k=int(row["M"]), h=h, w=h, r=r, stride=stride)


# ------------------------------------------------------------------------------------------------ constraints

def timeloop_constraints(nest: dict[str, list[tuple[str, int, str]]], layer: Layer) -> MapConstraints:
    """The closest template constraints to a Timeloop mapping: one rule for every layer.

    pe_x: Timeloop's Spatial-X dimensions, translated (:data:`TL_TO_OURS`), with the product of their factors as
    the PE columns used. pe_y: its Spatial-Y dimensions that the template's grid can unroll (only M -> K: Timeloop's
    row stationary puts the filter rows S and input channels C on Y, reduced across the PE column, and the
    template unrolls no reduction dimension on its grid); when none, the output dimensions not on pe_x; the product
    of Timeloop's Y factors as the PE rows used. Where a level has several candidate dimensions (one level of the
    template unrolls one), the one the factor pads least (ceil(extent / factor) * factor / extent; the first on a
    tie), so the spatial unrolling, hence the compute cycles, is fixed. Tiles, tile order and lane stationarity stay free: the template
    keeps a whole R x S filter window in one PE where Timeloop keeps one filter row, so its per-PE tile counts do
    not carry over, and its innermost loop (M at the psum_spad: the input stationary at the MAC) is neither of the
    template's lane dataflows (ws, os).
    """
    extent = {"K": layer.k, "P": layer.p, "Q": layer.q}
    x, y = spatial(nest, "X"), spatial(nest, "Y")
    fx, fy = math.prod(f for _, f in x), math.prod(f for _, f in y)
    x_dim = _least_padded([TL_TO_OURS[d] for d, _ in x] or list(GRID_DIMS), fx, extent)
    y_dims = [TL_TO_OURS[d] for d, _ in y if TL_TO_OURS[d] in GRID_DIMS] or [d for d in GRID_DIMS if d != x_dim]
    y_dim = _least_padded(y_dims, fy, extent)
    cons = [f"pe_x={x_dim}", f"pe_x.factor={fx}", f"pe_y={y_dim}", f"pe_y.factor={fy}"]
    return MapConstraints.parse(cons)


def _least_padded(dims: list[str], factor: int, extent: dict[str, int]) -> str:
    """The dimension of ``dims`` that ``factor`` units pad least (first on a tie)."""
    return min(dict.fromkeys(dims), key=lambda d: math.ceil(extent[d] / factor) * factor / extent[d])


def per_pe_tile(rec: dict[str, Any], layer: Layer, hw: EdgeTpuConfig) -> dict[str, int]:
    """Extents of one PE's tile of a codesign mapping (per dimension), from its spatial dims and tile counts."""
    extent = {"N": layer.n, "K": layer.k, "C": layer.c, "P": layer.p, "Q": layer.q, "R": layer.r, "S": layer.s}
    dims = "GNKCPQRS"
    units = {"map_pe_x": hw.pe_x, "map_pe_y": hw.pe_y}
    share = dict(extent)
    for key, n in units.items():
        d = dims[int(rec[key])]
        if d in share:
            share[d] = math.ceil(share[d] / n)
    return {d: math.ceil(share[d] / int(rec.get(f"tiles_{d.lower()}", 1))) if d in "NKCPQ" else share[d]
            for d in share}


def timeloop_legality(rec: dict[str, Any], layer: Layer, hw: EdgeTpuConfig) -> list[str]:
    """Why a codesign mapping (unconstrained: whole PE rows and columns) would be illegal on Timeloop's machine
    (eyeriss_like.yaml and its architecture constraints); empty when legal. Checks the fan-out (glb -> PE columns:
    only M and Q, Timeloop's names; DummyBuffer -> PE rows: all of S, and C, M) and the per-PE tiles against the
    scratchpads (weights 192, inputs 12, partial sums 16 words)."""
    ours_to_tl = {v: k for k, v in TL_TO_OURS.items()}
    dims = "GNKCPQRS"
    x, y = ours_to_tl.get(dims[int(rec["map_pe_x"])]), ours_to_tl.get(dims[int(rec["map_pe_y"])])
    why = []
    if x not in ("M", "Q"):
        why.append(f"PE columns unroll Timeloop's {x} (glb fan-out: M or Q only)")
    if layer.r > 1:
        why.append(f"PE rows unroll Timeloop's {y}, not all of S={layer.r} (DummyBuffer fan-out: S=0)")
    t = per_pe_tile(rec, layer, hw)
    w_words = t["K"] * t["C"] * t["R"] * t["S"]
    rows = (t["P"] - 1) * layer.stride_h + layer.r
    cols = (t["Q"] - 1) * layer.stride_w + layer.s
    i_words = t["N"] * t["C"] * rows * cols
    o_words = t["N"] * t["K"] * t["P"] * t["Q"]
    for name, words, cap in (("weight", w_words, WEIGHTS_SPAD_WORDS), ("input", i_words, IFMAP_SPAD_WORDS),
                             ("partial-sum", o_words, PSUM_SPAD_WORDS)):
        if words > cap:
            why.append(f"{name} tile {words} words > {cap}")
    return why


# ------------------------------------------------------------------------------------------------ comparison

#: Per-component comparison: (label, Timeloop columns, codesign fields).
COMPONENTS = (
    ("MAC", ("mac_pJ",), ("mac_pj",)),
    ("weight spad", ("weights_spad_pJ",), ("core_w_pj",)),
    ("input spad", ("ifmap_spad_pJ",), ("pe_i_pj",)),
    ("psum spad", ("psum_spad_pJ",), ("pe_o_pj",)),
    ("glb", ("glb_inputs_pJ", "glb_outputs_pJ"), ("onchip_w_pj",)),
    ("DRAM", ("dram_weights_pJ", "dram_inputs_pJ", "dram_outputs_pJ"), ("dram_w_pj", "dram_i_pj", "dram_o_pj")),
)


def map_one(layer: Layer, hw: EdgeTpuConfig, cons: MapConstraints | None) -> dict[str, Any] | str:
    """codesign's least-energy mapping of a layer, with the data where Timeloop's exercise keeps it: weights
    streamed from DRAM (the shared_glb bypasses weights), inputs and outputs in the global memory (it keeps them).
    Metric energy: Timeloop's objective is [delay, energy] with a delay of compute cycles only, fixed here by the
    constrained spatial unrolling, so its energy tie-break is what chooses; our latency metric would let the
    template's few tens of fill cycles outrank a 2x energy difference. A layer with no legal mapping gives the
    mapper's message."""
    opts = MapperOptions(metric="energy", space="complete", constraints=cons)
    try:
        return map_layer(layer, hw, mapper=opts, weights_cached=False, input_spilled=False, output_spilled=False)
    except ValueError as exc:
        return str(exc)


def compare(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """One row per layer: Timeloop's figures, codesign's constrained and unconstrained results (None when no legal
    mapping, with the reason), percentage differences, per-component pJ/MAC and the legality check."""
    hw = eyeriss_timeloop_config()
    out = []
    for tl in read_timeloop(data_dir):
        layer = layer_of(tl)
        cons = timeloop_constraints(tl["nest"], layer)
        row: dict[str, Any] = {"layer": tl["layer"], "macs": tl["macs"], "tl_cycles": tl["cycles"],
                               "tl_energy_uj": tl["energy_uJ"], "constraints": cons.describe(),
                               "tl_components": {lab: sum(tl[c] for c in tcols) / tl["macs"]
                                                 for lab, tcols, _ in COMPONENTS}}
        for kind, c in (("con", cons), ("free", None)):
            rec = map_one(layer, hw, c)
            if isinstance(rec, str):
                row.update({f"{kind}_rec": None, f"{kind}_error": rec})
                continue
            row[f"{kind}_rec"] = rec
            row[f"{kind}_energy_uj"] = rec["energy_pj"] / 1e6
            row[f"{kind}_cycles"] = rec["cycles"]
            row[f"{kind}_energy_diff"] = rec["energy_pj"] / 1e6 / tl["energy_uJ"] - 1.0
            row[f"{kind}_cycles_diff"] = rec["cycles"] / tl["cycles"] - 1.0
            row[f"{kind}_components"] = {lab: sum(rec[f] for f in fields) / rec["macs"]
                                         for lab, _, fields in COMPONENTS}
        if row["free_rec"] is not None:
            row["free_illegal"] = timeloop_legality(row["free_rec"], layer, hw)
        out.append(row)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def table(rows: list[dict[str, Any]]) -> str:
    """The comparison as Markdown: totals, then per-component pJ/MAC (Timeloop / constrained codesign)."""
    lines = ["| layer | Timeloop uJ | Timeloop cycles | constrained uJ (diff) | constrained cycles (diff) "
             "| unconstrained uJ (diff) | unconstrained cycles (diff) | unconstrained mapping |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["layer"], f"{r['tl_energy_uj']:.1f}", f"{r['tl_cycles']:,.0f}"]
        for kind in ("con", "free"):
            if r[f"{kind}_rec"] is None:
                cells += ["no legal mapping", "-"]
            else:
                cells += [f"{r[f'{kind}_energy_uj']:.1f} ({_pct(r[f'{kind}_energy_diff'])})",
                          f"{r[f'{kind}_cycles']:,.0f} ({_pct(r[f'{kind}_cycles_diff'])})"]
        cells.append("-" if r["free_rec"] is None else r["free_rec"]["mapping"])
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "pJ/MAC, Timeloop / codesign constrained (unconstrained):", "",
              "| layer | " + " | ".join(lab for lab, _, _ in COMPONENTS) + " |",
              "|---|" + "---|" * len(COMPONENTS)]
    for r in rows:
        cells = [r["layer"]]
        for lab, _, _ in COMPONENTS:
            tl = r["tl_components"][lab]
            con = r["con_components"][lab] if r["con_rec"] is not None else None
            free = r["free_components"][lab] if r["free_rec"] is not None else None
            cells.append(f"{tl:.2f} / {'-' if con is None else f'{con:.2f}'} "
                         f"({'-' if free is None else f'{free:.2f}'})")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Constraints (from each map.txt) and legality of the unconstrained mapping on Timeloop's machine:", ""]
    for r in rows:
        con = r["con_rec"]["mapping"] if r["con_rec"] is not None else r["con_error"]
        lines.append(f"* {r['layer']}: `{r['constraints']}` -> {con}; unconstrained: "
                     + ("; ".join(r.get("free_illegal") or ["legal"]) if r["free_rec"] is not None
                        else r["free_error"]))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(compare(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR)))
