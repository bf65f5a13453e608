"""Run SCALE-Sim v3 (installed in its own venv, never imported by codesign) on one topology and config, and dump
its per-layer reports as JSON. Run it with the SCALE-Sim venv's python:

    /work/scalesim-venv/bin/python benchmarks/peers/scalesim_runner.py CONFIG.cfg TOPOLOGY.csv DATAFLOW OUT.json

The config is copied with ``Dataflow`` and ``run_name`` replaced; SCALE-Sim runs through its Python API with
``save_disk_space=True`` (no traces) in a temporary directory. ``cpu_s`` is the process CPU time of the
simulation alone (imports excluded); COMPUTE_REPORT and DETAILED_ACCESS_REPORT rows are kept verbatim.
"""
from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path


def _rows(path: Path) -> list[dict]:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    head = [c.strip() for c in lines[0].split(",")]
    out = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split(",")]
        out.append({h: float(c) for h, c in zip(head, cells) if h})
    return out


def main() -> int:
    cfg_in, topo_in, dataflow, out_json = sys.argv[1:5]
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="scalesim_peer_") as tmp:
        tmp_path = Path(tmp)
        text = Path(cfg_in).read_text()
        text = re.sub(r"(?m)^(\s*Dataflow\s*[:=]\s*)\S+", rf"\g<1>{dataflow}", text)
        text = re.sub(r"(?m)^(\s*run_name\s*=\s*)\S+", r"\g<1>peer", text)
        cfg = tmp_path / "peer.cfg"
        cfg.write_text(text)
        topo = tmp_path / "topology.csv"
        topo.write_text(Path(topo_in).read_text())
        t0, c0 = time.perf_counter(), time.process_time()
        with redirect_stdout(io.StringIO()):
            # The topology doubles as the layout file: SCALE-Sim opens one even with custom layout off.
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo), layout=str(topo))
            sim.run_scale(top_path=str(tmp_path / "out"))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        run_dir = tmp_path / "out" / "peer"
        doc = {"config": Path(cfg_in).name, "topology": Path(topo_in).name, "dataflow": dataflow, "cpu_s": cpu,
               "wall_s": wall, "compute": _rows(run_dir / "COMPUTE_REPORT.csv"),
               "access": _rows(run_dir / "DETAILED_ACCESS_REPORT.csv")}
    Path(out_json).write_text(json.dumps(doc, indent=1))
    print(f"SCALE-Sim {Path(topo_in).name} on {Path(cfg_in).name} {dataflow}: {cpu:.1f} CPU s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
