"""Generate tests/data/scalesim/random/cases.csv by running the real SCALE-Sim v3 on random small cases.

Not run by CI. Needs a separate environment with SCALE-Sim (it must not be imported into the test venv):

    python3 -m venv /work/scalesim-venv
    /work/scalesim-venv/bin/pip install "scalesim==3.0.0" "numpy<2.4"
    /work/scalesim-venv/bin/python benchmarks/scalesim_goldens/generate.py            # writes cases.csv
    /work/scalesim-venv/bin/python benchmarks/scalesim_goldens/generate.py --dry-run  # only lists the draws

Cases: -n random draws (rndNN) followed by the fixed EDGE_CASES (edgeNN). Each case is one SCALE-Sim run
of one layer (one topology row) on one config built from tests/data/scalesim/random/config_template.cfg.
It runs through the Python API
(``scalesim.scale_sim.scalesim(save_disk_space=True)``, so no traces are written) in a temporary directory,
and the figures of its COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv are copied verbatim (as the text
SCALE-Sim wrote) into one CSV row next to the inputs. tests/test_scalesim_random.py rebuilds each case from
that row and the same template.

The draws are deterministic for a given --seed (Python's ``random.Random``); the default seed and count are
the ones the committed data was generated with.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scalesim" / "random"
TEMPLATE = DATA / "config_template.cfg"

SEED = 20261129
N_CASES = 60
# Stall-free cycle budget per case (folds * cycles per fold, MODEL.md s.3): keeps each SCALE-Sim run short.
CYCLE_BUDGET = 25_000

SRAM_KB = (1, 2, 4, 8, 64)
# Arrays that must appear (non-square, extreme aspect ratios, the smallest and largest); the rest are random.
FORCED_ARRAYS = ((4, 12), (16, 3), (2, 2), (16, 16), (3, 16), (12, 4), (2, 16), (16, 2), (5, 7), (13, 9))

CONFIG_FIELDS = ("case", "rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb", "interface",
                 "bandwidth", "ifmap_bank_bw", "ifmap_bank_num", "filter_bank_bw", "filter_bank_num")
LAYER_FIELDS = ("kind", "ifmap_h", "ifmap_w", "filter_r", "filter_s", "channels", "num_filter", "stride",
                "m", "n", "k")
# COMPUTE_REPORT.csv columns 1..6 and DETAILED_ACCESS_REPORT.csv read/write counts, as SCALE-Sim printed them.
RESULT_FIELDS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "overall_util_pct",
                 "mapping_efficiency_pct", "compute_util_pct",
                 "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
                 "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")
FIELDS = CONFIG_FIELDS + LAYER_FIELDS + RESULT_FIELDS


def topology_text(case: dict) -> str:
    """The SCALE-Sim topology CSV of a case (one row, trailing commas as SCALE-Sim needs)."""
    if case["kind"] == "gemm":
        return f"Layer, M, N, K,\n{case['case']},{case['m']},{case['n']},{case['k']},\n"
    return ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
            f"{case['case']},{case['ifmap_h']},{case['ifmap_w']},{case['filter_r']},{case['filter_s']},"
            f"{case['channels']},{case['num_filter']},{case['stride']},\n")


def config_text(case: dict) -> str:
    return TEMPLATE.read_text().format(**{k: case[k] for k in CONFIG_FIELDS})


def _gemm_shape(case: dict) -> tuple[int, int, int]:
    """(P, Kw, N) as SCALE-Sim forms them (MODEL.md s.1)."""
    if case["kind"] == "gemm":
        return case["m"], case["k"], case["n"]
    s = case["stride"]
    e = math.ceil((case["ifmap_h"] - case["filter_r"] + s) / s)
    f = math.ceil((case["ifmap_w"] - case["filter_s"] + s) / s)
    return e * f, case["filter_r"] * case["filter_s"] * case["channels"], case["num_filter"]


def stall_free_cycles(case: dict) -> int:
    p, kw, n = _gemm_shape(case)
    sr, sc, t = {"os": (p, n, kw), "ws": (kw, n, p), "is": (kw, p, n)}[case["dataflow"]]
    ra, ca = case["rows"], case["cols"]
    folds = math.ceil(sr / ra) * math.ceil(sc / ca)
    return folds * (t + ra + ca - 2 + (ra if case["dataflow"] != "os" else 0))


def _dim(rng: random.Random, hi: int) -> int:
    """1..hi, with the edges (1, hi) and small values a little more likely than uniform."""
    u = rng.random()
    if u < 0.08:
        return 1
    if u < 0.14:
        return hi
    return rng.randint(1, hi)


def _draw_layer(rng: random.Random, case: dict) -> None:
    for f in LAYER_FIELDS:
        case[f] = ""
    if rng.random() < 0.4:
        case.update(kind="gemm", m=_dim(rng, 64), n=_dim(rng, 64), k=_dim(rng, 64))
    else:
        h, w = rng.randint(3, 20), rng.randint(3, 20)
        case.update(kind="conv", ifmap_h=h, ifmap_w=w, filter_r=rng.randint(1, min(5, h)),
                    filter_s=rng.randint(1, min(5, w)), channels=rng.randint(1, 16),
                    num_filter=_dim(rng, 40), stride=rng.randint(1, 3))


def draw_cases(seed: int = SEED, n: int = N_CASES) -> list[dict]:
    rng = random.Random(seed)
    dataflows = [("os", "ws", "is")[i % 3] for i in range(n)]
    rng.shuffle(dataflows)
    cases = []
    for i in range(n):
        case: dict = {"case": f"rnd{i:02d}", "dataflow": dataflows[i]}
        if i < len(FORCED_ARRAYS):
            case["rows"], case["cols"] = FORCED_ARRAYS[i]
        else:
            case["rows"], case["cols"] = rng.randint(2, 16), rng.randint(2, 16)
        case["ifmap_kb"], case["filter_kb"], case["ofmap_kb"] = (rng.choice(SRAM_KB) for _ in range(3))
        u = rng.random()
        if u < 0.25:  # CALC: read bandwidth estimated, ofmap drained at ArrayWidth words/cycle
            case.update(interface="CALC", bandwidth=10, ifmap_bank_bw=10, ifmap_bank_num=10,
                        filter_bank_bw=10, filter_bank_num=10)
        elif u < 0.35:  # USER with unequal, non-10 bandwidths (bank bandwidth divisible by bank count)
            case.update(interface="USER", bandwidth=rng.choice((2, 4, 16)),
                        ifmap_bank_bw=rng.choice((4, 8, 16)), ifmap_bank_num=rng.choice((1, 2, 4)),
                        filter_bank_bw=rng.choice((3, 6, 12)), filter_bank_num=rng.choice((1, 3)))
        else:  # USER, SCALE-Sim's usual 10 words/cycle everywhere
            case.update(interface="USER", bandwidth=10, ifmap_bank_bw=10, ifmap_bank_num=10,
                        filter_bank_bw=10, filter_bank_num=10)
        while True:
            _draw_layer(rng, case)
            if stall_free_cycles(case) <= CYCLE_BUDGET:
                break
        cases.append(case)
    return cases


# Hand-placed cases on the boundaries the random draws rarely hit exactly (they follow the random ones as edgeNN).
# SCALE-Sim's read-buffer model (memory/read_buffer.py): an SRAM of W words holds sets of eps = ceil(W/100)
# non-null prefetch entries; ceil((W/2)/eps) sets are active. CALC mode (read_buffer_estimate_bw.py): sets of
# floor(W/100) distinct demanded words, 50 active; the window slides as soon as the 50th set is complete.
_EDGE_BASE = dict(rows=4, cols=4, dataflow="os", ifmap_kb=64, filter_kb=64, ofmap_kb=64, interface="USER",
                  bandwidth=10, ifmap_bank_bw=10, ifmap_bank_num=10, filter_bank_bw=10, filter_bank_num=10,
                  kind="gemm")
EDGE_CASES = (
    # USER, 1 kB ifmap: 47 active sets of 11 = 517 entries. M*K = 517 fits exactly (the padded prefetch
    # sequence, 564 words, is longer than the 512-word active half).
    dict(_EDGE_BASE, ifmap_kb=1, m=11, n=8, k=47),
    # ... and M*K = 518 does not fit.
    dict(_EDGE_BASE, ifmap_kb=1, m=14, n=8, k=37),
    # CALC, 1 kB ifmap: 50 sets of 10 distinct words. 500 distinct words re-read by 2 column folds: the window
    # slides on the 500th word, so every re-read misses.
    dict(_EDGE_BASE, ifmap_kb=1, interface="CALC", m=20, n=8, k=25),
    # ... 480 distinct words stay resident.
    dict(_EDGE_BASE, ifmap_kb=1, interface="CALC", m=20, n=8, k=24),
    # USER ws, 2 kB filter: 49 active sets of 21 = 1029 entries. K*N = 1029 fits exactly ...
    dict(_EDGE_BASE, rows=8, cols=8, dataflow="ws", filter_kb=2, m=10, n=49, k=21),
    # ... K*N = 1032 does not.
    dict(_EDGE_BASE, rows=8, cols=8, dataflow="ws", filter_kb=2, m=10, n=24, k=43),
    # USER is, 8 kB ifmap: 50 sets of 82 = 4100 entries = M*K exactly; padded sequence 4592 words.
    dict(_EDGE_BASE, rows=8, cols=8, dataflow="is", ifmap_kb=8, m=50, n=4, k=82),
    # USER os, 1 kB ofmap holding exactly M*N = 512 outputs (half the SRAM) with a 16-word drain bandwidth.
    dict(_EDGE_BASE, rows=8, cols=8, ofmap_kb=1, bandwidth=16, m=16, n=32, k=5),
)


def edge_cases() -> list[dict]:
    out = []
    for i, e in enumerate(EDGE_CASES):
        case = {f: "" for f in LAYER_FIELDS}
        case.update(e, case=f"edge{i:02d}")
        assert stall_free_cycles(case) <= CYCLE_BUDGET
        out.append(case)
    return out


def _read_report(path: Path) -> list[str]:
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    assert len(lines) == 2, f"{path}: expected a header and one layer row, got {len(lines)} lines"
    cells = [c.strip() for c in lines[1].split(",")]
    assert cells[-1] == "", path
    return cells[1:-1]  # drop LayerID and the empty cell after the trailing comma


def run_case(case: dict) -> dict:
    """Run SCALE-Sim on one case in a temporary directory; return the case with the report figures."""
    from scalesim.scale_sim import scalesim  # only in the SCALE-Sim venv

    with tempfile.TemporaryDirectory(prefix=f"scalesim_{case['case']}_") as tmp:
        tmp_path = Path(tmp)
        cfg = tmp_path / f"{case['case']}.cfg"
        topo = tmp_path / f"{case['case']}.csv"
        cfg.write_text(config_text(case))
        topo.write_text(topology_text(case))
        t0 = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            # The topology doubles as the layout file: SCALE-Sim opens one even with custom layout off.
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo),
                           layout=str(topo), input_type_gemm=case["kind"] == "gemm")
            sim.run_scale(top_path=str(tmp_path / "out"))
        wall = time.perf_counter() - t0
        run_dir = tmp_path / "out" / case["case"]
        comp = _read_report(run_dir / "COMPUTE_REPORT.csv")
        detail = _read_report(run_dir / "DETAILED_ACCESS_REPORT.csv")
    assert len(comp) == 6 and len(detail) == 18, (comp, detail)
    out = dict(case)
    out.update(zip(RESULT_FIELDS[:6], comp))
    for j, f in enumerate(RESULT_FIELDS[6:]):
        out[f] = detail[3 * j + 2]  # (start cycle, stop cycle, count) per column group
    for f in RESULT_FIELDS[6:]:
        out[f] = str(int(float(out[f])))
    out["_wall_s"] = wall
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("-n", type=int, default=N_CASES)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=DATA / "cases.csv")
    ap.add_argument("--dry-run", action="store_true", help="print the drawn cases and their cycle estimates")
    args = ap.parse_args(argv)

    cases = draw_cases(args.seed, args.n) + edge_cases()
    if args.dry_run:
        for c in cases:
            print(c["case"], c["rows"], c["cols"], c["dataflow"], c["interface"], c["kind"],
                  _gemm_shape(c), stall_free_cycles(c))
        return 0
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_case, cases))
    for r in results:
        print(f"{r['case']}: {r['rows']}x{r['cols']} {r['dataflow']} {r['interface']} {r['kind']} "
              f"cycles={r['total_cycles']} stalls={r['stall_cycles']} ({r.pop('_wall_s'):.1f} s)", file=sys.stderr)
    return write_cases(args.out, results, FIELDS, t0)


def write_cases(out, results, fields, t0: float) -> int:
    """Writes the cases as CSV (the columns `fields`) and says how many and how long it took."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(results)
    print(f"wrote {len(results)} cases to {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
