"""SCALE-Sim, ZigZag and codesign on the same work, in one run: CPU seconds, ratios, and how the results agree.

    /work/venv/bin/python benchmarks/peers/run_peers.py                 # runs both peers (about 15 CPU minutes)
    /work/venv/bin/python benchmarks/peers/run_peers.py --reuse         # reuse peer results in results/, rerun codesign
    /work/venv/bin/python benchmarks/peers/run_peers.py --only scalesim --no-readme

The peers run in their own virtual environments, as subprocesses (never imported here, never a dependency of
codesign): SCALE-Sim (``python3 -m venv /work/scalesim-venv && /work/scalesim-venv/bin/pip install
"scalesim==3.0.0" "numpy<2.4"``) through ``scalesim_runner.py`` and ZigZag (``python3 -m venv /work/zigzag-venv
&& /work/zigzag-venv/bin/pip install zigzag-dse six``) through ``zigzag_runner.py``. Their JSON outputs are kept
in ``benchmarks/peers/results/``; the summary goes to ``results/summary.json`` and, between the
``<!-- peers:begin -->`` / ``<!-- peers:end -->`` markers, to ``benchmarks/README.md``.

What is compared (README "Peers side by side" explains the model differences):

* SCALE-Sim: a few layers x arrays x dataflows. Per layer, its stall-free cycles ("Total Cycles" - "Stall
  Cycles") must equal codesign's ``stall_free_cycles - 1`` exactly (it numbers cycles from 0), and its SRAM
  read/write counts equal :func:`codesign.scalesim.report`'s. Cycles with stalls differ (its trace-replayed
  DRAM model vs our closed form) and are reported as a ratio.
* ZigZag: its own ``edge_tpu_like`` and ``tpu_like`` examples (hardware + mapping YAML) with MobileNetV2 and
  ResNet-18 (ONNX), optimised for latency. The hardware YAML is read into codesign terms
  (:func:`codesign.zigzag_hardware.read_zigzag_hardware`): the same MAC array (its spatial dimensions become PEs / lanes / SIMD units),
  the same weight and activation memory sizes and DRAM bandwidth, and its per-access energies. Each layer is
  mapped by codesign's exhaustive mapper with ZigZag's conventions (every layer reads its weights and input
  from DRAM and writes its output back: no caching, no inter-layer locality), once restricted to ZigZag's
  spatial unrolling ("same") and once free ("free"); energy is codesign's access counts priced with the YAML's
  per-access energies.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"

SCALESIM_CASES = (  # (config, dataflow, topology subset)
    ("google", "os", "resnet18_fc"),
    ("google", "ws", "alexnet_conv5"),
    ("google", "is", "resnet18_fc"),
    ("scale", "os", "mobilenet_conv24_conv26"),
    ("scale", "ws", "resnet18_fc"),
    ("scale", "is", "mobilenet_conv24_conv26"),
)
ZIGZAG_CASES = (("mobilenetv2", "edge_tpu_like"), ("resnet18", "edge_tpu_like"), ("mobilenetv2", "tpu_like"),
                ("resnet18", "tpu_like"))
AGREE = 0.25  # "within 25%"
DIMS = ("G", "N", "K", "C", "P", "Q", "R", "S")  # codesign's loop dimensions (map_* fields index them)
ZZ_TO_CS = {"K": "K", "C": "C", "OX": "Q", "OY": "P", "B": "N", "G": "G", "FX": "S", "FY": "R"}


# ============================================================================================================
# helpers
# ============================================================================================================
def _cpu_per_call(fn: Any, min_seconds: float = 0.3) -> float:
    """CPU seconds per call of fn(), from repeated calls (process CPU time, so other load does not count)."""
    fn()
    n, total = 1, 0.0
    while True:
        c0 = time.process_time()
        for _ in range(n):
            fn()
        total = time.process_time() - c0
        if total >= min_seconds:
            return total / n
        n *= 4


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=RESULTS)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    log.unlink()


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def _within(r: float) -> bool:
    return bool(np.isfinite(r) and abs(r - 1.0) <= AGREE)


# ============================================================================================================
# SCALE-Sim
# ============================================================================================================
def run_scalesim(ref: Path, venv: Path, reuse: bool) -> list[dict[str, Any]]:
    import dataclasses

    import codesign
    from codesign.hardware import read_scalesim_cfg
    from codesign.scalesim import report

    out = []
    for cfg_name, flow, topo in SCALESIM_CASES:
        cfg_path = ref / "scalesim" / "configs" / f"{cfg_name}.cfg"
        topo_path = ref / "scalesim" / "subsets" / f"{topo}.csv"
        res_path = RESULTS / f"scalesim_{cfg_name}_{flow}_{topo}.json"
        if not (reuse and res_path.exists()):
            print(f"SCALE-Sim {cfg_name} {flow} {topo} ...", file=sys.stderr, flush=True)
            _run([str(venv / "bin" / "python"), str(HERE / "scalesim_runner.py"), str(cfg_path), str(topo_path), flow,
                  str(res_path)], res_path.with_suffix(".log"))
        peer = json.loads(res_path.read_text())
        wl = codesign.from_scalesim_csv(topo_path)
        cfg = read_scalesim_cfg(cfg_path)
        cfg = dataclasses.replace(cfg, array=cfg.array.replace(dataflow=flow))
        ours = report(wl, cfg)
        cost = codesign.evaluate(wl, cfg.array)
        layers = []
        for i, layer in enumerate(wl.layers):
            comp, acc, mine = peer["compute"][i], peer["access"][i], ours[i]
            ss_sf = comp["Total Cycles"] - comp["Stall Cycles"]
            rec = {"layer": layer.name, "scalesim_stall_free": ss_sf, "codesign_stall_free": mine["total_cycles"],
                   "stall_free_identical": ss_sf == mine["total_cycles"],
                   "sram_identical": (acc["SRAM IFMAP Reads"] == mine["sram_ifmap_reads"]
                                      and acc["SRAM Filter Reads"] == mine["sram_filter_reads"]
                                      and acc["SRAM OFMAP Writes"] == mine["sram_ofmap_writes"]),
                   "scalesim_total_cycles": comp["Total Cycles"], "scalesim_stall_cycles": comp["Stall Cycles"],
                   "scalesim_cycles_incl_prefetch": comp["Total Cycles (incl. prefetch)"],
                   "codesign_cycles": int(cost.layer(i).cycles) - 1,
                   "codesign_cpu_s": _cpu_per_call(lambda layer=layer: codesign.evaluate(layer, cfg.array))}
            layers.append(rec)
        batch_hws = [cfg.array] * 20_000
        per_eval = _cpu_per_call(lambda: codesign.evaluate_batch(wl, batch_hws, threads=1), 0.3) / (
            len(batch_hws) * len(wl.layers))
        out.append({"config": cfg_name, "dataflow": flow, "topology": topo, "layers": layers,
                    "scalesim_cpu_s": peer["cpu_s"], "scalesim_cpu_s_per_layer": peer["cpu_s"] / len(layers),
                    "codesign_cpu_s_per_layer": float(np.mean([r["codesign_cpu_s"] for r in layers])),
                    "codesign_batch_cpu_s_per_layer": per_eval})
    return out


# ============================================================================================================
# ZigZag: its hardware YAML in codesign terms
# ============================================================================================================
def _onnx_layer(rec: dict[str, Any]) -> Any:
    import codesign

    a = rec["attrs"]
    if rec["op"] != "Conv":
        n = rec["in_shape"][0]
        return codesign.Layer.fc(rec["name"], in_features=rec["in_shape"][1], out_features=rec["out_shape"][1], n=n)
    n, c, h, w = rec["in_shape"]
    k, _, r, s = rec["weight_shape"]
    pads = a.get("pads", [0, 0, 0, 0])
    assert pads[0] == pads[2] and pads[1] == pads[3], rec
    return codesign.Layer.conv(rec["name"], c=c, k=k, h=h, w=w, r=r, s=s, stride=tuple(a.get("strides", [1, 1])),
                               padding=(pads[0], pads[1]), dilation=tuple(a.get("dilations", [1, 1])),
                               groups=a.get("group", 1), n=n)


def _priced(ms: dict[str, np.ndarray], p: dict[str, float]) -> dict[str, np.ndarray]:
    mac = ms["macs"] * p["mac_pj"]
    onchip = ms["core_mem_bytes"] * p["core_pj_per_byte"] + ms["pe_mem_bytes"] * p["pe_pj_per_byte"]
    dram = (ms["dram_w_bytes"] + ms["dram_i_bytes"]) * p["dram_read_pj_per_byte"] + ms["dram_o_bytes"] * p[
        "dram_write_pj_per_byte"]
    return {"mac": mac, "onchip": onchip, "dram": dram, "total": mac + onchip + dram}


#: Why a layer is more than 25% away from ZigZag: codes used in the README table, each a documented difference.
REASONS = {
    "A": "DRAM-bound layer: ZigZag's latency is below the time its own DRAM port needs for the layer's DRAM bytes "
         "(its port model compares each transfer with the period it may take instead of adding up all traffic of "
         "the shared read-write port); codesign's roofline is bounded by that time (DRAM bytes / port bytes per "
         "cycle), plus the exposed fill of the first tile",
    "B": "DRAM-bound in codesign: I/O cycles above compute cycles, plus the exposed fill of the first tile",
    "C": "ZigZag stalls on a memory port (its loop order refetches through a narrow port); codesign's double-"
         "buffered tiles overlap transfers with compute",
    "D": "ZigZag's onloading (filling its lowest memory levels before the first MAC) is longer than codesign's "
         "first-tile fill",
    "E": "compute cycles differ: different temporal tiling (codesign: ceil per tile; ZigZag: loop prime factors)",
    "F": "on-chip energy higher in codesign: it has no per-MAC register files (ZigZag's rf levels keep weights and "
         "partial sums next to the MACs); it reads inputs from PE memory once per MAC / K-broadcast and moves "
         "partial sums as 4-byte words",
    "G": "on-chip energy lower in codesign: ZigZag charges every access of a memory a full port-width word (416 pJ "
         "for 2,048 bits of the 2 MB SRAM) even when the loop nest uses fewer bytes of it (depthwise layers keep 1 "
         "MAC of a 32x32 K x C array busy); codesign prices the bytes it accesses",
    "H": "DRAM energy higher in codesign: its latency-best tiling re-reads weights or inputs once per tile; ZigZag's "
         "loop order reads each once",
    "I": "DRAM energy lower in codesign",
    "J": "energy: several small differences add up",
}


def _explain(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """Reason codes (:data:`REASONS`) with the layer's own figures, for a layer more than 25% away from ZigZag."""
    why: list[tuple[str, str]] = []
    lat = rec["latency_ratio_same"]
    if not _within(lat):
        zz_port = rec["zz_dram_bytes"] / rec["io_bytes_per_cycle"]
        comp = _ratio(rec["cs_compute_cycles"], rec["zz_ideal_temporal_cycles"])
        if not _within(comp):
            why.append(("E", f"compute {rec['cs_compute_cycles']:.0f} vs {rec['zz_ideal_temporal_cycles']:.0f}"))
        if lat > 1 and rec["cs_memory_bound"] and rec["zz_latency_cycles"] < zz_port:
            why.append(("A", f"ZigZag {rec['zz_latency_cycles']:.0f} < {zz_port:.0f} port cycles"))
        elif lat > 1 and rec["cs_memory_bound"]:
            why.append(("B", f"I/O {rec['cs_io_cycles']:.0f} vs compute {rec['cs_compute_cycles']:.0f}, fill "
                             f"{rec['cs_fill_cycles']:.0f}"))
        if lat < 1 and rec["zz_stall_cycles"] > 0.1 * rec["zz_latency_cycles"]:
            why.append(("C", f"{rec['zz_stall_cycles']:.0f} stall cycles"))
        if lat < 1 and rec["zz_onloading_cycles"] > 0.1 * rec["zz_latency_cycles"]:
            why.append(("D", f"{rec['zz_onloading_cycles']:.0f} vs {rec['cs_fill_cycles']:.0f}"))
        if not why:
            why.append(("E", f"fill {rec['cs_fill_cycles']:.0f}, onloading {rec['zz_onloading_cycles']:.0f}"))
    if not _within(rec["energy_ratio"]):
        n = len(why)
        for part, hi, lo in (("onchip", "F", "G"), ("dram", "H", "I")):
            r = _ratio(rec[f"cs_{part}_pj"], rec[f"zz_{part}_pj"])
            if not _within(r) and rec[f"zz_{part}_pj"] > 0.05 * rec["zz_energy_pj"]:
                why.append((hi if r > 1 else lo, f"{part} x{_g(r, 2)}"))
        if len(why) == n:
            why.append(("J", ", ".join(f"{p} x{_g(_ratio(rec[f'cs_{p}_pj'], rec[f'zz_{p}_pj']), 2)}"
                                       for p in ("mac", "onchip", "dram"))))
    return why


def _same_and_free(layer: Any, hw: Any, prices: dict[str, float], flags: dict[str, bool]) -> tuple:
    """codesign's map space of a layer (ZigZag's DRAM conventions), its YAML-priced energies, the best mapping
    under ZigZag's spatial unrolling (lanes = K, SIMD = C, PEs = OX/OY) and the best one overall (by cycles,
    then energy). A depthwise layer has K = C = 1 per group, so ZigZag's K and C unrolling leaves those MAC
    units idle; codesign's map space never gives lanes or SIMD units a dimension of size 1, so "same" is
    evaluated on the same array with those units removed (lanes = simd = 1), which is what idle units are."""
    from codesign.cost import map_space

    code = {d: i for i, d in enumerate(DIMS)}

    def pick(ms: dict[str, np.ndarray], e: dict[str, np.ndarray], constrain: bool) -> int | None:
        sel = np.ones(len(ms["cycles"]), dtype=bool)
        if constrain:
            if hw_.lanes > 1:
                sel &= ms["map_lanes"] == code["K"]
            if hw_.simd > 1:
                sel &= ms["map_simd"] == code["C"]
            if hw_.pes > 1:
                pe = {(code["P"], code["Q"]), (code["Q"], code["P"])}
                sel &= np.array([(int(a), int(b)) in pe for a, b in zip(ms["map_pe_x"], ms["map_pe_y"])])
        idx = np.flatnonzero(sel)
        return int(idx[np.lexsort((e["total"][idx], ms["cycles"][idx]))[0]]) if idx.size else None

    hw_ = hw
    ms = map_space(layer, hw, **flags)
    e = _priced(ms, prices)
    free = pick(ms, e, False)
    same = pick(ms, e, True)
    note = ""
    if same is None and layer.k // layer.groups == 1 and layer.c // layer.groups == 1:
        hw_ = hw.replace(lanes=1, simd=1)
        ms2 = map_space(layer, hw_, **flags)
        e2 = _priced(ms2, prices)
        same2 = pick(ms2, e2, True)
        if same2 is not None:
            # report the constrained mapping from the reduced array, the free one from the full array
            merged_ms = {k: np.concatenate([ms[k], ms2[k]]) for k in ms}
            merged_e = {k: np.concatenate([e[k], e2[k]]) for k in e}
            return merged_ms, merged_e, len(ms["cycles"]) + same2, free, "depthwise: lanes and SIMD idle"
    if same is None:
        same, note = free, "ZigZag's unrolling not in codesign's map space: free mapping"
    return ms, e, same, free, note


def run_zigzag(ref: Path, venv: Path, reuse: bool, cases: tuple = ZIGZAG_CASES) -> list[dict[str, Any]]:
    from codesign.cost import MapperOptions, map_layer, map_space
    from codesign.zigzag_hardware import read_zigzag_hardware

    zz_in = ref / "zigzag" / "inputs"
    out = []
    for net, hw_name in cases:
        res_path = RESULTS / f"zigzag_{net}_{hw_name}.json"
        onnx_path = zz_in / "workload" / f"{net}.onnx"
        if not (reuse and res_path.exists()):
            print(f"ZigZag {net} on {hw_name} (minutes) ...", file=sys.stderr, flush=True)
            _run([str(venv / "bin" / "python"), str(HERE / "zigzag_runner.py"), str(onnx_path),
                  str(zz_in / "hardware" / f"{hw_name}.yaml"), str(zz_in / "mapping" / f"{hw_name}.yaml"),
                  str(res_path)], res_path.with_suffix(".log"))
        peer = json.loads(res_path.read_text())
        if "onnx_layers" not in peer:
            tmp = RESULTS / f"{net}.onnx_layers.json"
            if not tmp.exists():
                _run([str(venv / "bin" / "python"), str(HERE / "zigzag_runner.py"), str(onnx_path), "-", "-", str(tmp),
                      "--layers-only"], tmp.with_suffix(".log"))
            peer["onnx_layers"] = json.loads(tmp.read_text())["onnx_layers"]
        conv = read_zigzag_hardware(zz_in / "hardware" / f"{hw_name}.yaml", zz_in / "mapping" / f"{hw_name}.yaml")
        hw, prices = conv["config"], conv["prices"]
        by_name = {r["name"]: r for r in peer["onnx_layers"]}
        flags = dict(weights_cached=False, input_spilled=True, output_spilled=True)
        layers, recs = [], []
        for zl in peer["layers"]:
            layer = _onnx_layer(by_name[zl["name"]])
            layers.append(layer)
            ms, e, same, free, note = _same_and_free(layer, hw, prices, flags)
            zz_dram = sum(v[-1] for v in zl["mem_energy_pj"].values())
            zz_dram_bytes = sum(v[-1] / (prices["dram_write_pj_per_byte"] if op == "O" else prices["dram_read_pj_per_byte"])
                                for op, v in zl["mem_energy_pj"].items())
            zz_onchip = sum(sum(v[:-1]) for v in zl["mem_energy_pj"].values())
            rec = {"layer": zl["name"], "kind": "fc" if layer.kind == "fc" else (
                "depthwise" if layer.is_depthwise else "conv"), "depthwise": bool(layer.is_depthwise),
                   "macs": int(layer.macs), "zz_macs": zl["macs"],
                   "zz_latency_cycles": zl["latency_cycles"], "zz_stall_cycles": zl["stall_slack_comb"] or 0.0,
                   "zz_energy_pj": zl["energy_pj"], "zz_mac_pj": zl["mac_energy_pj"], "zz_onchip_pj": zz_onchip,
                   "zz_dram_pj": zz_dram, "zz_spatial_mapping": zl["spatial_mapping"],
                   "note": note, "cs_latency_same": float(ms["cycles"][same]), "cs_latency_free": float(ms["cycles"][free]),
                   "cs_mapping_same": str(ms["mapping"][same]), "cs_mapping_free": str(ms["mapping"][free]),
                   "cs_memory_bound": bool(ms["memory_bound"][same]),
                   "cs_compute_cycles": float(ms["compute_cycles"][same]), "cs_io_cycles": float(ms["io_cycles"][same]),
                   "cs_fill_cycles": float(ms["fill_cycles"][same]),
                   "cs_dram_bytes": float(ms["dram_w_bytes"][same] + ms["dram_i_bytes"][same] + ms["dram_o_bytes"][same]),
                   "zz_ideal_temporal_cycles": zl["ideal_temporal_cycle"], "zz_onloading_cycles": zl["onloading_cycles"],
                   "zz_dram_bytes": zz_dram_bytes, "io_bytes_per_cycle": hw.to_row()[7],
                   "cs_energy_pj": float(e["total"][same]), "cs_mac_pj": float(e["mac"][same]),
                   "cs_onchip_pj": float(e["onchip"][same]), "cs_dram_pj": float(e["dram"][same])}
            rec["latency_ratio_same"] = _ratio(rec["cs_latency_same"], rec["zz_latency_cycles"])
            rec["latency_ratio_free"] = _ratio(rec["cs_latency_free"], rec["zz_latency_cycles"])
            rec["energy_ratio"] = _ratio(rec["cs_energy_pj"], rec["zz_energy_pj"])
            rec["agrees"] = _within(rec["latency_ratio_same"]) and _within(rec["energy_ratio"])
            rec["why"] = [] if rec["agrees"] else _explain(rec)
            recs.append(rec)
        wl = codesign.Workload(net, layers)
        mapper = MapperOptions(metric="latency")
        cpu_layers = _cpu_per_call(lambda: [map_layer(layer, hw, mapper=mapper, **flags) for layer in layers], 0.5)
        cpu_net = _cpu_per_call(lambda: codesign.evaluate_batch(wl, [hw], threads=1, mapper=mapper), 0.5)
        tot = {k: float(sum(r[k] for r in recs)) for k in ("zz_latency_cycles", "cs_latency_same", "cs_latency_free",
                                                           "zz_energy_pj", "cs_energy_pj", "zz_mac_pj", "cs_mac_pj",
                                                           "zz_onchip_pj", "cs_onchip_pj", "zz_dram_pj", "cs_dram_pj")}
        out.append({"network": net, "hardware": hw_name, "config": hw.to_dict(), "prices": prices,
                    "memories": {"weights": conv["weight_memory"], "activations": conv["activation_memory"],
                                 "dram": conv["dram"]},
                    "layers": recs, "totals": tot, "zigzag_cpu_s": peer["cpu_s"],
                    "zigzag_cpu_s_per_layer": peer["cpu_s"] / len(recs),
                    "codesign_cpu_s_map_layers": cpu_layers, "codesign_cpu_s_network": cpu_net,
                    "latency_within": sum(_within(r["latency_ratio_same"]) for r in recs),
                    "energy_within": sum(_within(r["energy_ratio"]) for r in recs), "n_layers": len(recs)})
    return out


# ============================================================================================================
# report
# ============================================================================================================
def _g(x: float, digits: int = 3) -> str:
    if x != x:
        return "-"
    if abs(x) >= 1e5 or (abs(x) < 1e-3 and x):
        m, e = f"{x:.{digits - 1}e}".split("e")
        return f"{m}e{int(e)}"
    return f"{x:.{digits}g}"


def markdown(scalesim: list[dict[str, Any]], zigzag: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"Generated by `benchmarks/peers/run_peers.py` on {meta['date']} ({meta['machine']}); CPU seconds are "
             "process CPU time (the peers' imports excluded), measured on a shared 2-core machine.", ""]
    if scalesim:
        lines += ["**SCALE-Sim v3** (`scalesim==3.0.0`) vs codesign, same layers and arrays "
                  "(`shared/reference/scalesim/`):", "",
                  "| array | dataflow | layers | SCALE-Sim CPU s / layer | codesign CPU s / layer (`evaluate`) | "
                  "ratio | codesign batched CPU s / layer | ratio | stall-free cycles identical | SRAM counts "
                  "identical | cycles with DRAM, codesign / SCALE-Sim incl. prefetch (/ Total Cycles) |", "|" + "---|" * 11]
        for c in scalesim:
            n = len(c["layers"])
            sf = sum(r["stall_free_identical"] for r in c["layers"])
            sram = sum(r["sram_identical"] for r in c["layers"])
            tot = ", ".join(f"{_g(_ratio(r['codesign_cycles'], r['scalesim_cycles_incl_prefetch']))} "
                            f"({_g(_ratio(r['codesign_cycles'], r['scalesim_total_cycles']))})" for r in c["layers"])
            lines.append(f"| {c['config']} | {c['dataflow']} | {c['topology']} ({n}) | {_g(c['scalesim_cpu_s_per_layer'])} | "
                         f"{_g(c['codesign_cpu_s_per_layer'])} | {_g(c['scalesim_cpu_s_per_layer'] / c['codesign_cpu_s_per_layer'])}x | "
                         f"{_g(c['codesign_batch_cpu_s_per_layer'])} | "
                         f"{_g(c['scalesim_cpu_s_per_layer'] / c['codesign_batch_cpu_s_per_layer'])}x | {sf}/{n} | {sram}/{n} | {tot} |")
        lines.append("")
    if zigzag:
        lines += ["**ZigZag** (`zigzag-dse` 3.9.1, LOMA, `opt=latency`) vs codesign on ZigZag's own examples "
                  "(`shared/reference/zigzag/inputs`), per layer in ZigZag's conventions (see below):", "",
                  "| network | hardware | layers | ZigZag CPU s | codesign CPU s (map every layer) | ratio | codesign "
                  "CPU s (network, batched) | ratio | latency, codesign / ZigZag (same unrolling; free) | energy, "
                  "codesign / ZigZag | layers within 25%: latency, energy |", "|" + "---|" * 11]
        for c in zigzag:
            t = c["totals"]
            lines.append(f"| {c['network']} | {c['hardware']} | {c['n_layers']} | {_g(c['zigzag_cpu_s'])} | "
                         f"{_g(c['codesign_cpu_s_map_layers'])} | {_g(c['zigzag_cpu_s'] / c['codesign_cpu_s_map_layers'])}x | "
                         f"{_g(c['codesign_cpu_s_network'])} | {_g(c['zigzag_cpu_s'] / c['codesign_cpu_s_network'])}x | "
                         f"{_g(t['cs_latency_same'] / t['zz_latency_cycles'])}; {_g(t['cs_latency_free'] / t['zz_latency_cycles'])} | "
                         f"{_g(t['cs_energy_pj'] / t['zz_energy_pj'])} | {c['latency_within']}/{c['n_layers']}, "
                         f"{c['energy_within']}/{c['n_layers']} |")
        lines += ["", "Energy by part, network totals (mJ = 1e9 pJ), ZigZag / codesign:", "",
                  "| network | hardware | MAC | on-chip memories | DRAM | total |", "|---|---|---|---|---|---|"]
        for c in zigzag:
            t = c["totals"]
            lines.append(f"| {c['network']} | {c['hardware']} | " + " | ".join(
                f"{_g(t['zz_' + p + '_pj'] / 1e9)} / {_g(t['cs_' + p + '_pj'] / 1e9)}"
                for p in ("mac", "onchip", "dram", "energy")) + " |")
        lines += ["", "Layers outside 25% of ZigZag (latency or energy), grouped; the letters are the documented "
                  "model differences listed below the table, with the layer's own figures:", "",
                  "| network | hardware | layers | latency x | energy x | why |", "|---|---|---|---|---|---|"]
        used: set[str] = set()
        for c in zigzag:
            groups: dict[tuple, list[str]] = {}
            for r in c["layers"]:
                if r["agrees"]:
                    continue
                key = (_g(r["latency_ratio_same"], 2), _g(r["energy_ratio"], 2),
                       "; ".join(f"{code} ({detail})" for code, detail in r["why"]))
                used.update(code for code, _ in r["why"])
                parts = r["layer"].strip("/").split("/")[:-1] or [r["layer"]]
                name = (f"{parts[1]}/{parts[-1]}" if len(parts) >= 3 else "/".join(parts)).replace("features.", "f")
                groups.setdefault(key, []).append(name)
            for (lat, en, why), names in groups.items():
                shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
                lines.append(f"| {c['network']} | {c['hardware']} | {shown} | {lat} | {en} | {why} |")
        lines += [""] + [f"* **{code}**: {REASONS[code]}." for code in sorted(used)]
        lines.append("")
    return "\n".join(lines)


def update_readme(path: Path, table: str) -> None:
    begin, end = "<!-- peers:begin -->", "<!-- peers:end -->"
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{table}\n{end}{tail}"
    else:
        text = text.rstrip() + f"\n\n{begin}\n{table}\n{end}\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="shared/reference folder")
    ap.add_argument("--scalesim-venv", type=Path, default=Path("/work/scalesim-venv"))
    ap.add_argument("--zigzag-venv", type=Path, default=Path("/work/zigzag-venv"))
    ap.add_argument("--reuse", action="store_true", help="reuse peer results already in results/")
    ap.add_argument("--only", choices=("scalesim", "zigzag"), help="run one peer only")
    ap.add_argument("--zigzag-cases", help="comma-separated NETWORK:HARDWARE pairs (default: all four)")
    ap.add_argument("--readme", type=Path, default=ROOT / "benchmarks" / "README.md")
    ap.add_argument("--no-readme", action="store_true", help="do not touch benchmarks/README.md")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    prev = json.loads((RESULTS / "summary.json").read_text()) if (RESULTS / "summary.json").exists() else {}
    scalesim = prev.get("scalesim", []) if args.only == "zigzag" else run_scalesim(
        args.reference, args.scalesim_venv, args.reuse)
    cases = tuple(tuple(c.split(":")) for c in args.zigzag_cases.split(",")) if args.zigzag_cases else ZIGZAG_CASES
    zigzag = prev.get("zigzag", []) if args.only == "scalesim" else run_zigzag(
        args.reference, args.zigzag_venv, args.reuse, cases)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                                                           f"Python {platform.python_version()}"}
    (RESULTS / "summary.json").write_text(json.dumps({"meta": meta, "scalesim": scalesim, "zigzag": zigzag},
                                                     indent=1, default=float))
    table = markdown(scalesim, zigzag, meta)
    print(table)
    if not args.no_readme:
        update_readme(args.readme, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
