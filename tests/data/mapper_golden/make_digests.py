"""Writes edgetpu_digests.json: per-column SHA-256 digests (first 16 hex digits) of `_core.edgetpu_batch` on a fixed
sample of the published 50,000-configuration Edge-TPU space (40 random groups of five configurations that differ in
io_bw_gbps alone, and each one's (pe_x, pe_y) transpose) x three networks x three metrics (latency, energy, EDP).
The calibrated fixed costs (per op, per layer, per inference: constants added after mapping, refitted whenever the
calibration is) are set to zero, so that the digests pin the mapper and the cost of a mapping alone.

Provenance: the committed file was written by the mapper of commit aa073fa (before issue 15's mapper rework), run as
`python tests/data/mapper_golden/make_digests.py` in a virtual environment holding that commit's build. The rework
must reproduce it bit for bit (tests/test_mapper_memo.py): every column on the grids with pe_x <= pe_y; on the
transposed ones (pe_x > pe_y, now mapped as their transpose and mirrored back) each layer's cycles and energy and the
network's cycles, latency and energy (among mappings that tie on cycles and energy the rework picks the mirror of
the transposed grid's pick, so the other columns may name another, equally good, mapping).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from codesign import _core, from_scalesim_csv
from codesign.cost import _layers_array
from codesign.sweep import load_space

HERE = Path(__file__).resolve().parent
TOPO = HERE.parent / "scalesim" / "topologies"
NETWORKS = ["mobilenet.csv", "Resnet50.csv", "alexnet_conv5.csv"]
CYCLES, ENERGY = 0, 17  # per-layer record indices of cycles and energy_pj (codesign.cost.EDGETPU_FIELDS)
TRANSPOSED_TOTALS = (0, 1, 2)  # network cycles, latency_ms, energy_pj (codesign.cost.EDGETPU_TOTALS)


FIXED_COSTS = ("layer_overhead_us", "inference_overhead_us", "conv_op_us", "depthwise_op_us", "pool_op_us",
               "eltwise_op_us", "act_op_us", "other_op_us", "concat_op_us", "resize_op_us")


def sample_rows() -> np.ndarray:
    space = load_space("edgetpu-space")
    grid = space.grid
    base = space.base.replace(**{name: 0.0 for name in FIXED_COSTS if hasattr(space.base, name)})
    rng = np.random.default_rng(15)
    hws = []
    for _ in range(40):
        pick = {k: grid[k][rng.integers(len(grid[k]))] for k in grid if k != "io_bw_gbps"}
        group = [base.replace(**pick, io_bw_gbps=bw) for bw in grid["io_bw_gbps"]]
        hws += group
        if pick["pe_x"] != pick["pe_y"]:
            hws += [h.replace(pe_x=h.pe_y, pe_y=h.pe_x) for h in group]
    return np.asarray([h.to_row() for h in hws]), np.asarray([hws[0].energy_row()])


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def digests(threads: int = 1, memo: bool = True) -> dict:
    archs, energy = sample_rows()
    upright = archs[:, 0] <= archs[:, 1]
    out = {}
    for name in NETWORKS:
        layers, _ = _layers_array(from_scalesim_csv(TOPO / name))
        for metric in (0, 1, 2):
            status, values, totals = _core.edgetpu_batch(layers, archs, energy, metric, 0, 0, 0, threads, None,
                                                         False, memo)
            turned = ~upright
            out[f"{name}/{metric}"] = {
                "status": digest(status),
                "values": [digest(values[upright, :, j]) for j in range(values.shape[2])],
                "totals": [digest(totals[upright, j]) for j in range(totals.shape[1])],
                "transposed": [digest(values[turned, :, CYCLES]), digest(values[turned, :, ENERGY]),
                               *(digest(totals[turned, j]) for j in TRANSPOSED_TOTALS)],
            }
    return out


if __name__ == "__main__":
    (HERE / "edgetpu_digests.json").write_text(json.dumps(digests(), indent=1) + "\n")
