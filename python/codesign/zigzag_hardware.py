"""ZigZag's hardware description (``inputs/hardware/*.yaml`` and the matching ``inputs/mapping/*.yaml``) in codesign
terms: :func:`read_zigzag_hardware`, and :func:`codesign.hardware.from_zigzag_yaml` for the configuration alone.

Facts of the format from ZigZag's own examples (``shared/reference/zigzag/inputs``); nothing of ZigZag's code.
Needs PyYAML (the ``sweep`` or ``test`` extra).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

__all__ = ["read_zigzag_hardware", "MAX_YAML_BYTES"]

#: Largest YAML file read (ZigZag's examples are a few KiB).
MAX_YAML_BYTES: int = 4 << 20


def _load_yaml(path: str, what: str) -> Any:
    """A YAML document, read with a size limit; one clear line for any failure."""
    from .workload._checks import read_text_bounded

    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"reading a {what} needs PyYAML: pip install pyyaml") from exc
    text = read_text_bounded(path, max_bytes=MAX_YAML_BYTES, what=what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValueError(f"{path}: {where}not a valid {what} ({getattr(exc, 'problem', None) or type(exc).__name__})") from None


def read_zigzag_hardware(hw_yaml: str | os.PathLike[str], mapping_yaml: str | os.PathLike[str]) -> dict[str, Any]:
    """An :class:`codesign.EdgeTpuConfig` and per-byte energies from a ZigZag hardware + mapping YAML.

    * Array: the default spatial mapping's OX/OY dimensions become the PE grid (``pe_x``: OX = Q, ``pe_y``:
      OY = P), K the lanes, C the SIMD units (the template's lanes take G/N/K/P/Q, SIMD units K or C).
    * Memories: the largest on-chip memory holding weights (``I2``) is the core memory (its capacity over all
      instances; the PE grid splits P/Q, so every PE sees all of it); the largest on-chip memory holding
      activations (``I1`` and ``O``) is split evenly over the PEs as PE memory; the DRAM port's
      ``bandwidth_max`` bits per cycle is the I/O link at a nominal 1 GHz clock (ZigZag counts cycles).
    * Energies (pJ per byte): ``r_cost``/``w_cost`` per access of a full ``bandwidth_max``-bit word, as ZigZag
      charges them: weights at the core memory's read cost, PE memory at the mean of read and write, DRAM reads
      and writes apart; MAC = ``unit_energy``.
    """
    from . import hardware

    hw_path, mp_path = os.fspath(hw_yaml), os.fspath(mapping_yaml)
    hw = _load_yaml(hw_path, "ZigZag hardware YAML")
    mp = _load_yaml(mp_path, "ZigZag mapping YAML")
    try:
        return _convert(hw, mp, hw_path, hardware)
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(hw_path):
            raise
        raise ValueError(f"{hw_path}: not a ZigZag hardware YAML that codesign can read "
                         f"({type(exc).__name__}: {str(exc)[:120]})") from None


def _convert(hw: Any, mp: Any, hw_path: str, hardware: Any) -> dict[str, Any]:
    arr = hw["operational_array"]
    dims = dict(zip(arr["dimensions"], arr["sizes"]))
    default = next(m for m in mp if m["name"] == "default")
    unroll: dict[str, tuple[str, int]] = {}
    for d, entries in default["spatial_mapping"].items():
        (entry,) = entries
        dim, size = [x.strip() for x in entry.split(",")]
        unroll[d] = (dim, int(size))
    size_of = {dim: dims[d] for d, (dim, _) in unroll.items()}
    pe_x, pe_y = size_of.get("OX", 1), size_of.get("OY", 1)
    lanes, simd = size_of.get("K", 1), size_of.get("C", 1)
    if pe_x * pe_y * lanes * simd != int(np.prod(arr["sizes"])):
        raise ValueError(f"{hw_path}: the default spatial mapping {unroll} does not unroll OX, OY, K and C over "
                         f"the whole operational array {dims}")
    mems = hw["memories"]

    def instances(m: dict[str, Any]) -> int:
        served = set(m.get("served_dimensions") or [])
        return int(np.prod([s for d, s in dims.items() if d not in served]))

    def word_bytes(m: dict[str, Any]) -> float:
        return max(p["bandwidth_max"] for p in m["ports"]) / 8.0

    dram_name = max(mems, key=lambda k: mems[k]["size"])
    onchip = {k: v for k, v in mems.items() if k != dram_name}
    w_name = max((k for k, v in onchip.items() if "I2" in v["operands"]), key=lambda k: onchip[k]["size"] * instances(onchip[k]))
    a_name = max((k for k, v in onchip.items() if {"I1", "O"} <= set(v["operands"])),
                 key=lambda k: onchip[k]["size"] * instances(onchip[k]))
    wm, am, dm = onchip[w_name], onchip[a_name], mems[dram_name]
    core_kib = wm["size"] * instances(wm) / 8 / 1024
    act_kib = am["size"] * instances(am) / 8 / 1024
    pes = pe_x * pe_y
    io_bytes = word_bytes(dm)
    prices = {"mac_pj": float(arr["unit_energy"]),
              "core_pj_per_byte": wm["r_cost"] / word_bytes(wm),
              "pe_pj_per_byte": (am["r_cost"] + am["w_cost"]) / 2 / word_bytes(am),
              "dram_read_pj_per_byte": dm["r_cost"] / io_bytes, "dram_write_pj_per_byte": dm["w_cost"] / io_bytes}
    # codesign's own energy law (one SRAM reference, sqrt of capacity) anchored at the PE memory; the comparison
    # prices codesign's access counts with the YAML's energies instead (see _priced), since one law cannot hold
    # both memories' figures.
    tech = dataclasses.replace(hardware.TECH_45NM, name=f"zigzag-{hw['name']}",
                               mac_pj={t: prices["mac_pj"] for t in ("int8", "bf16", "fp32")}, vector_op_pj=0.0,
                               sram_pj_per_byte_ref=prices["pe_pj_per_byte"], sram_ref_kib=act_kib / pes,
                               dram_pj_per_byte=(prices["dram_read_pj_per_byte"] + prices["dram_write_pj_per_byte"]) / 2,
                               leak_mw_per_kib=0.0, leak_mw_per_mac=0.0, sources=os.path.basename(hw_path))
    config = hardware.EdgeTpuConfig(pe_x, pe_y, lanes, simd, core_mem_kib=core_kib, pe_mem_kib=act_kib / pes,
                                    io_bw_gbps=io_bytes, clock_mhz=1000.0, activation_buffers=1.0, technology=tech,
                                    name=f"zigzag-{hw['name']}")
    spatial = {"pe": {"P", "Q"} if pes > 1 else None, "lanes": "K", "simd": "C"}
    return {"config": config, "prices": prices, "unroll": unroll, "weight_memory": w_name,
            "activation_memory": a_name, "dram": dram_name, "spatial": spatial, "yaml_name": hw["name"]}
