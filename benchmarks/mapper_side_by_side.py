"""The published 50,000-configuration Edge-TPU space x MobileNetV2 (timm's layers, built analytically), one batched
mapper call, and MobileNetV2 on the `edgetpu` preset alone (one configuration, latency and energy metrics, the
best of 7 x 200 calls), timed here and, side by side in the same run, with another build of codesign (issue 15's
"today"):

    python benchmarks/mapper_side_by_side.py [--threads 2] [--reference /path/to/other/venv/bin/python]

The reference interpreter must import its own codesign (e.g. a venv holding an older commit's build); each run
is a fresh subprocess that prints its wall and CPU seconds. Arrays are written once to a temporary folder, so both
builds map exactly the same rows.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUN = r"""
import sys, time
import numpy as np
from codesign import _core
d = sys.argv[1]; threads = int(sys.argv[2])
L, A, E = (np.load(f"{d}/{n}.npy") for n in ("layers", "archs", "energy"))
from codesign.hardware import EDGETPU_FIELDS  # this build's row: fields it lacks are appended ones (per-op costs)
A = A[:, :len(EDGETPU_FIELDS)] if A.shape[1] >= len(EDGETPU_FIELDS) else np.pad(A, ((0, 0), (0, len(EDGETPU_FIELDS) - A.shape[1])))
extra = {"totals_only": True} if "totals_only" in (_core.edgetpu_batch.__doc__ or "") else {}
t, c = time.perf_counter(), time.process_time()
st, v, tot = _core.edgetpu_batch(L, A, E, 0, 0, 0, 0, threads, None, False, True, **extra)
print(f"{time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} CPU-s, "
      f"{'totals only' if extra else 'per-layer records'}, latency sum {np.nansum(tot[:, 1]):.6f} ms")
"""

ONE = r"""
import sys, timeit
import numpy as np
from codesign import _core
d = sys.argv[1]
L, A, E = (np.load(f"{d}/{n}.npy") for n in ("layers", "one", "energy"))
from codesign.hardware import EDGETPU_FIELDS
A = A[:, :len(EDGETPU_FIELDS)] if A.shape[1] >= len(EDGETPU_FIELDS) else np.pad(A, ((0, 0), (0, len(EDGETPU_FIELDS) - A.shape[1])))
for metric, name in ((0, "latency"), (1, "energy")):
    f = lambda: _core.edgetpu_batch(L, A, E, metric, 0, 0, 0, 1, None, False, True)
    best = min(timeit.repeat(f, number=200, repeat=7)) / 200
    print(f"one configuration, {name} metric: {best * 1e3:.3f} ms (latency {f()[2][0, 1]:.6f} ms)")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference", help="python of another codesign build, run on the same arrays")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import codesign
    from test_bench_edgetpu import published_space

    hws = published_space()
    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/layers.npy", codesign.from_timm("mobilenetv2_100").to_array())
        np.save(f"{d}/archs.npy", np.asarray([h.to_row() for h in hws]))
        np.save(f"{d}/energy.npy", np.asarray([hws[0].energy_row()]))
        np.save(f"{d}/one.npy", np.asarray([codesign.preset("edgetpu").to_row()]))
        for label, python in (("this build", sys.executable), ("reference", args.reference)):
            if python:
                for script, extra in ((RUN, [str(args.threads)]), (ONE, [])):
                    out = subprocess.run([python, "-c", script, d, *extra], capture_output=True, text=True)
                    for line in (out.stdout.strip() or out.stderr.strip().splitlines()[-1]).splitlines():
                        print(f"{label}: {line}")


if __name__ == "__main__":
    main()
