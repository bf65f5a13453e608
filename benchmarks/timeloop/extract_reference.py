"""Copy the figures of Timeloop's Eyeriss-like AlexNet runs that compare.py needs into tests/data/timeloop/.

Reads, under the reference folder (default /work/shared/reference/timeloop): ``results/timeloop_summary.csv``
(cycles, energy), each layer's ``results/eyeriss_like_AlexNet_layerN/timeloop-mapper.stats.txt`` (per-component
energies: the ``Energy (total)`` line of each level and data space, pJ) and ``timeloop-mapper.map.txt`` (the best
loop nest, copied as is), and ``inputs/eyeriss_like_exercises_778460f/AlexNet_layerN.yaml`` (the layer shape).
Writes ``timeloop_alexnet.csv`` (one row per layer) and ``AlexNet_layerN.map.txt``.

Usage: python benchmarks/timeloop/extract_reference.py [REFERENCE_DIR] [OUT_DIR]
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
from pathlib import Path

LAYERS = range(1, 6)
SHAPE_KEYS = ("C", "M", "P", "Q", "R", "S", "Hstride", "Wstride")
#: (column, level, data space or None for the arithmetic level) read from stats.txt, pJ.
COMPONENTS = (
    ("mac_pJ", "mac", None), ("psum_spad_pJ", "psum_spad", "Outputs"), ("weights_spad_pJ", "weights_spad", "Weights"),
    ("ifmap_spad_pJ", "ifmap_spad", "Inputs"), ("glb_inputs_pJ", "shared_glb", "Inputs"),
    ("glb_outputs_pJ", "shared_glb", "Outputs"), ("dram_weights_pJ", "DRAM", "Weights"),
    ("dram_inputs_pJ", "DRAM", "Inputs"), ("dram_outputs_pJ", "DRAM", "Outputs"),
)


def stats_energies(text: str) -> dict[tuple[str, str | None], float]:
    """``Energy (total)`` in pJ per (level, data space) of a timeloop-mapper.stats.txt (level part only)."""
    out: dict[tuple[str, str | None], float] = {}
    level, space = None, None
    for line in text.split("Networks")[0].splitlines():
        if m := re.match(r"=== (\w+) ===", line):
            level, space = m.group(1), None
        elif m := re.match(r"    (Weights|Inputs|Outputs):$", line):
            space = m.group(1)
        elif m := re.match(r"\s+Energy \(total\)\s+: ([0-9.]+) pJ", line):
            out.setdefault((level, space), float(m.group(1)))
    return out


def layer_shape(yaml_text: str) -> dict[str, int]:
    """The problem instance (C, M, P, Q, R, S, strides) of a Timeloop workload file."""
    inst = yaml_text.split("instance:")[1].split("shape:")[0]
    values = dict(re.findall(r"(\w+): (\d+)", inst))
    return {k: int(values[k]) for k in SHAPE_KEYS}


def main(ref: Path, out: Path) -> None:
    summary = {r["workload"]: r for r in csv.DictReader((ref / "results/timeloop_summary.csv").open())}
    rows = []
    for i in LAYERS:
        name = f"AlexNet_layer{i}"
        run = ref / f"results/eyeriss_like_{name}"
        energies = stats_energies((run / "timeloop-mapper.stats.txt").read_text())
        row = {"layer": name, **layer_shape((ref / f"inputs/eyeriss_like_exercises_778460f/{name}.yaml").read_text())}
        row.update(macs=int(summary[name]["macs"]), cycles=int(summary[name]["cycles"]),
                   utilization=summary[name]["utilization"], energy_uJ=summary[name]["energy_uJ"])
        row.update({col: f"{energies[(lv, sp)]:.2f}" for col, lv, sp in COMPONENTS})
        rows.append(row)
        shutil.copyfile(run / "timeloop-mapper.map.txt", out / f"{name}.map.txt")
    with (out / "timeloop_alexnet.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/reference/timeloop"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else root / "tests/data/timeloop")
