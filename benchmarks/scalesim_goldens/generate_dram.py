"""Generate tests/data/scalesim/dram/cases.csv: SCALE-Sim v3 runs whose ifmap/filter overflow half their SRAM.

Not run by CI. Same environment and mechanics as generate.py (one SCALE-Sim run per case through its Python API,
config from tests/data/scalesim/random/config_template.cfg, same CSV columns):

    /work/scalesim-venv/bin/python benchmarks/scalesim_goldens/generate_dram.py            # writes cases.csv
    /work/scalesim-venv/bin/python benchmarks/scalesim_goldens/generate_dram.py --dry-run  # only lists the draws

The draws target the regimes of codesign.scalesim_dram (SRAMs of 1 or 2 kB so that operands do not fit, demand
in prefetch order: os with P <= rows or N <= cols, ws/is with K <= rows; CALC cases anywhere) plus a share of
unconstrained layers, so that the not-comparable flag is exercised too. Deterministic for a given --seed.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as g  # noqa: E402  (same folder)

OUT = g.ROOT / "tests" / "data" / "scalesim" / "dram" / "cases.csv"
SEED = 20261203
N_CASES = 96


def _draw(rng: random.Random, i: int, dataflow: str) -> dict:
    rows, cols = rng.randint(2, 16), rng.randint(2, 16)
    case = {"case": f"dram{i:02d}", "rows": rows, "cols": cols, "dataflow": dataflow,
            "ifmap_kb": rng.choice((1, 2)), "filter_kb": rng.choice((1, 2)), "ofmap_kb": 64}
    if rng.random() < 0.25:
        case.update(interface="CALC", bandwidth=10, ifmap_bank_bw=10, ifmap_bank_num=10, filter_bank_bw=10,
                    filter_bank_num=10)
    elif rng.random() < 0.3:
        case.update(interface="USER", bandwidth=rng.choice((4, 16)), ifmap_bank_bw=rng.choice((4, 8, 16)),
                    ifmap_bank_num=rng.choice((1, 2, 4)), filter_bank_bw=rng.choice((3, 6, 12)),
                    filter_bank_num=rng.choice((1, 3)))
    else:
        case.update(interface="USER", bandwidth=10, ifmap_bank_bw=10, ifmap_bank_num=10, filter_bank_bw=10,
                    filter_bank_num=10)
    targeted = i % 4 != 3  # every 4th case unconstrained
    for f in g.LAYER_FIELDS:
        case[f] = ""
    while True:
        if rng.random() < 0.7:  # GEMM
            m, n, k = rng.randint(1, 200), rng.randint(1, 64), rng.randint(1, 200)
            if targeted and dataflow == "os":
                if rng.random() < 0.5:
                    m = rng.randint(1, rows)
                else:
                    n = rng.randint(1, cols)
            elif targeted:
                k = rng.randint(1, rows)
            case.update(kind="gemm", m=m, n=n, k=k)
        else:  # conv with stride >= filter size (no repeated ifmap addresses), or unconstrained
            r, s = rng.randint(1, 3), rng.randint(1, 3)
            st = max(r, s) + rng.randint(0, 1) if targeted else rng.randint(1, 3)
            h, w = rng.randint(max(r, 4), 24), rng.randint(max(s, 4), 24)
            case.update(kind="conv", ifmap_h=h, ifmap_w=w, filter_r=r, filter_s=s, channels=rng.randint(1, 16),
                        num_filter=rng.randint(1, 40), stride=st)
        p, kw, n = g._gemm_shape(case)
        big = max(p * kw, kw * n) > 1024 * min(case["ifmap_kb"], case["filter_kb"]) // 2
        if big and g.stall_free_cycles(case) <= g.CYCLE_BUDGET:
            return case


def draw_cases(seed: int = SEED, n: int = N_CASES) -> list[dict]:
    rng = random.Random(seed)
    dataflows = [("os", "ws", "is")[i % 3] for i in range(n)]
    rng.shuffle(dataflows)
    return [_draw(rng, i, df) for i, df in enumerate(dataflows)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("-n", type=int, default=N_CASES)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    cases = draw_cases(args.seed, args.n)
    if args.dry_run:
        for c in cases:
            print(c["case"], c["rows"], c["cols"], c["dataflow"], c["interface"], c["kind"], g._gemm_shape(c),
                  g.stall_free_cycles(c))
        return 0
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(g.run_case, cases))
    for r in results:
        r.pop("_wall_s")
    return g.write_cases(args.out, results, g.FIELDS, t0)


if __name__ == "__main__":
    sys.exit(main())
