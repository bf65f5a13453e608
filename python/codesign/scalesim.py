"""SCALE-Sim v3 compatibility: our model's counts in SCALE-Sim's report conventions.

SCALE-Sim (Samajdar et al., "A Systematic Methodology for Characterizing Scalability of DNN Accelerators
using SCALE-Sim", ISPASS 2020; v3 = pip ``scalesim==3.0.0``) reports some quantities with conventions of
its own, written out in shared/reference/scalesim/MODEL.md. :func:`report` reproduces its per-layer
COMPUTE_REPORT and DETAILED_ACCESS_REPORT columns from our closed-form model:

* ``total_cycles`` = ``stall_free_cycles - 1`` (it numbers cycles from 0; stall-free, i.e. its "Total
  Cycles" minus "Stall Cycles").
* ``compute_util_pct`` = mean over folds of ``mapped MACs / (PEs * util_cycles)``, where for ws/is it adds the
  stationary block's width (``cols - 1``) to each fold's cycles (MODEL.md s.4).
* ``sram_ofmap_writes``: for os it adds ``rows + cols`` per fold on top of the true count (its bug B2);
  ``sram_ofmap_writes_true`` is the real count.
* DRAM ifmap/filter reads: SCALE-Sim 3.0.0's read-buffer policy in closed form, re-fetches included, from
  :mod:`codesign.scalesim_dram` (formulas, derivation and source there). ``dram_*_fits``: the operand is resident
  in the active half (only the first fill is read). ``dram_*_comparable``: the figure is exact; where it is not
  (regimes listed in that module) ``dram_*_reads`` is None and ``dram_*_reason`` says why.
* These are SCALE-Sim's counts, not ours: codesign's own DRAM traffic is the double-buffered systolic model of
  :func:`codesign.cost.evaluate` (C++), unchanged and documented there.

Everything here is arithmetic on :func:`codesign.cost.evaluate` results; nothing runs SCALE-Sim.
"""
from __future__ import annotations

import os
from typing import Any

from .cost import NetworkCost, evaluate
from .hardware import ScaleSimConfig, read_scalesim_cfg
from .scalesim_dram import ifmap_entries, operand_dram_reads

__all__ = ["report"]


def _layer_report(c: dict[str, Any], layer: Any, cfg: ScaleSimConfig) -> dict[str, Any]:
    groups = layer.groups
    gemm = (layer.gemm_m, layer.gemm_n, layer.gemm_k)
    hw = cfg.array
    R, C = hw.rows, hw.cols
    pes = R * C
    M, Nf, Kw = gemm
    rf, cf, folds, cyc = c["row_folds"], c["col_folds"], c["folds"], c["cycles_per_fold"]
    util_cyc = cyc + (C - 1 if hw.dataflow in ("ws", "is") else 0)
    out: dict[str, Any] = {
        "name": c["name"],
        "total_cycles": c["stall_free_cycles"] - 1,
        "mapping_efficiency_pct": 100.0 * c["mapping_efficiency"],
        "compute_util_pct": 100.0 * c["macs"] / (folds * util_cyc * pes),
        "overall_util_pct": 100.0 * c["macs"] / ((c["stall_free_cycles"] - 1) * pes),
        "sram_ifmap_reads": c["ifmap_sram_reads"],
        "sram_filter_reads": c["filter_sram_reads"],
        "sram_ofmap_writes_true": c["ofmap_sram_writes"],
        "sram_ofmap_writes": c["ofmap_sram_writes"] + (folds * (R + C) if hw.dataflow == "os" else 0),
        # every ofmap SRAM write is drained to DRAM; when outputs overflow half the ofmap SRAM, SCALE-Sim's
        # timing-dependent flushes can add a few padding slots on top of this count.
        "dram_ofmap_writes": c["ofmap_sram_writes"],
    }
    # Length of the prefetch sequence: operand matrix cut into folds, each padded to the array edge.
    seq = {
        "os": (rf * R * Kw, cf * C * Kw),
        "ws": (rf * R * M, cf * C * Kw),
        "is": (cf * C * Kw, rf * R * Nf),
    }[hw.dataflow]
    if_entries, if_dup_free = ifmap_entries(layer)
    operands = {
        "ifmap": (hw.ifmap_sram_words, cfg.ifmap_bw, seq[0], if_entries, c["ifmap_words"] // groups, if_dup_free),
        "filter": (hw.filter_sram_words, cfg.filter_bw, seq[1], Kw * Nf, Kw * Nf, True),
    }
    for op, (words, bw, sq, entries, distinct, dup_free) in operands.items():
        r = operand_dram_reads(op, hw.dataflow, gemm, R, C, interface=cfg.interface, words=words, bw=bw, seq=sq,
                               entries=entries, distinct=distinct, dup_free=dup_free)
        out[f"dram_{op}_reads"] = None if r.reads is None else groups * r.reads
        out[f"dram_{op}_fits"] = r.fits
        out[f"dram_{op}_comparable"] = r.reads is not None
        out[f"dram_{op}_reason"] = r.reason
    return out


def report(x: Any, config: ScaleSimConfig | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Per-layer SCALE-Sim-convention figures for a Layer, Workload or list of Layers.

    Args:
        x: what to evaluate (SCALE-Sim conventions assume layers from
            :func:`codesign.workload.from_scalesim_csv`: no padding, batch 1).
        config: a :class:`~codesign.hardware.ScaleSimConfig` or the path of a SCALE-Sim ``.cfg``.

    Returns:
        One dict per layer: ``total_cycles``, ``mapping_efficiency_pct``, ``compute_util_pct``,
        ``overall_util_pct`` (stall-free), ``sram_ifmap_reads``, ``sram_filter_reads``, ``sram_ofmap_writes``
        (with bug B2) and ``sram_ofmap_writes_true``, ``dram_ifmap_reads``/``dram_filter_reads`` (words; None where
        ``dram_*_comparable`` is False) with ``dram_*_fits``, ``dram_*_comparable`` and ``dram_*_reason``
        (``""`` when comparable), ``dram_ofmap_writes``.
    """
    cfg = config if isinstance(config, ScaleSimConfig) else read_scalesim_cfg(config)
    layers = list(x.layers) if hasattr(x, "layers") else ([x] if hasattr(x, "to_row") else list(x))
    cost = evaluate(layers, cfg.array)
    assert isinstance(cost, NetworkCost)
    out = []
    for layer, rec in zip(layers, cost.layers):
        out.append(_layer_report(rec, layer, cfg))
    return out
