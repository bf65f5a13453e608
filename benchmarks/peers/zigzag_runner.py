"""Run ZigZag (zigzag-dse, installed in its own venv) on one workload / hardware / mapping and dump per-layer
results as JSON. Run it with the ZigZag venv's python, never with codesign's:

    /work/zigzag-venv/bin/python benchmarks/peers/zigzag_runner.py WORKLOAD.onnx HW.yaml MAPPING.yaml OUT.json [--opt latency]

Only ZigZag's public API (``zigzag.api.get_hardware_performance_zigzag``) and the attributes of the cost model
evaluations it returns are used. Output: {"cpu_s", "wall_s", "energy_pj", "latency_cycles", "layers": [...]}.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time


def _num(x):
    try:
        return float(x)
    except Exception:
        return None


def _layer_record(cme) -> dict:
    layer = cme.layer
    dims = {}
    try:
        for d, size in layer.layer_dim_sizes.items():
            dims[str(d)] = int(size)
    except Exception:
        pass
    rec = {
        "name": str(getattr(layer, "name", "")),
        "id": _num(getattr(layer, "id", None)),
        "type": str(getattr(layer, "type", "")),
        "dims": dims,
        "macs": _num(getattr(layer, "total_mac_count", None)),
        "energy_pj": _num(cme.energy_total),
        "mac_energy_pj": _num(cme.mac_energy),
        "latency_cycles": _num(cme.latency_total2),
        "ideal_cycle": _num(getattr(cme, "ideal_cycle", None)),
        "ideal_temporal_cycle": _num(getattr(cme, "ideal_temporal_cycle", None)),
        "stall_slack_comb": _num(getattr(cme, "stall_slack_comb", None)),
        "onloading_cycles": _num(getattr(cme, "data_onloading_cycle", None)),
        "offloading_cycles": _num(getattr(cme, "data_offloading_cycle", None)),
        "spatial_mapping": str(getattr(cme, "spatial_mapping", "")),
        "temporal_mapping": str(getattr(cme, "temporal_mapping", "")),
    }
    mem = {}
    try:
        for op, per_level in cme.mem_energy_breakdown.items():
            mem[str(op)] = [float(v) for v in per_level]
    except Exception:
        pass
    rec["mem_energy_pj"] = mem
    return rec


def _layers(cmes) -> list:
    """Per-layer cost model evaluations from the API's return value (a list of (cme, extra) pairs, the first
    of which may be the network sum holding the per-layer list)."""
    out = []

    def walk(x):
        if hasattr(x, "energy_total") and hasattr(x, "layer") and hasattr(x, "latency_total2"):
            out.append(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)

    for pair in cmes:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[1], (list, tuple)):
            walk(pair[1])
        else:
            walk(pair)
    return out


def onnx_layers(path: str) -> list:
    """Conv and Gemm nodes of an ONNX graph with their attributes and inferred shapes (for codesign's Layer)."""
    import onnx
    from onnx import helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(path, load_external_data=False))
    g = model.graph
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {t.name: list(t.dims) for t in g.initializer}
    out = []
    for n in g.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        out.append({"name": n.name, "op": n.op_type, "attrs": {k: (list(v) if isinstance(v, (list, tuple)) else v)
                                                              for k, v in attrs.items() if not isinstance(v, bytes)},
                    "in_shape": shapes.get(n.input[0]), "out_shape": shapes.get(n.output[0]),
                    "weight_shape": inits.get(n.input[1]) if len(n.input) > 1 else None})
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("hardware")
    ap.add_argument("mapping")
    ap.add_argument("out")
    ap.add_argument("--opt", default="latency")
    ap.add_argument("--layers-only", action="store_true", help="only dump the ONNX layers (no ZigZag run)")
    args = ap.parse_args()
    if args.layers_only:
        with open(args.out, "w") as f:
            json.dump({"workload": os.path.basename(args.workload), "onnx_layers": onnx_layers(args.workload)}, f,
                      indent=1)
        return 0
    logging.disable(logging.CRITICAL)
    from zigzag.api import get_hardware_performance_zigzag

    dump = tempfile.mkdtemp(prefix="zigzag-")
    t0, c0 = time.perf_counter(), time.process_time()
    energy, latency, cmes = get_hardware_performance_zigzag(
        args.workload, args.hardware, args.mapping, opt=args.opt, dump_folder=dump,
        loma_show_progress_bar=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    layers = [_layer_record(c) for c in _layers(cmes)]
    doc = {"workload": os.path.basename(args.workload), "hardware": os.path.basename(args.hardware),
           "opt": args.opt, "cpu_s": cpu, "wall_s": wall, "energy_pj": float(energy),
           "latency_cycles": float(latency), "layers": layers, "onnx_layers": onnx_layers(args.workload)}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{args.workload} on {args.hardware}: {len(layers)} layers, {cpu:.1f} CPU s, energy {energy:.4g} pJ, "
          f"latency {latency:.4g} cycles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
