"""The search loop's cost per trial against the budget (issue 15: flat in the budget). A network-only search of
NAS-Bench-201 cells on the `edgetpu` preset with the table accuracy (a lookup, so what is timed is the loop: ask,
workload, batched cost call, tell, archive, checkpoint), at 1,000 and 8,000 trials; the ratio of the two per-trial
times is the figure (1.0 = flat). Before the incremental archive and the incremental checkpoint form of the
accuracy cache it was 2.4 (3.2 -> 7.5 ms per trial); 05c5412 (before the fast NB201 builder and the loop's
remembered parts) took 4.91 and 5.54 ms per trial in the run where they take 2.02-2.27 and 1.76 (benchmarks/README.md).

Run: pytest benchmarks/test_bench_search_loop.py --benchmark-only
"""
from __future__ import annotations

import time

import pytest

from codesign.search import run_search

PER_TRIAL: dict[int, float] = {}


@pytest.mark.parametrize("budget", [1000, 8000])
def test_search_loop_per_trial(benchmark, tmp_path, budget):
    def run():
        t = time.perf_counter()
        run_search(tmp_path / f"b{budget}", space="nb201", hw="edgetpu", strategy="network-only",
                   accuracy="nb201:cifar10", budget=budget, batch_size=8, progress=False, plot=False,
                   controller="evolution", overwrite=True)
        return time.perf_counter() - t

    seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    PER_TRIAL[budget] = seconds / budget
    benchmark.extra_info["ms_per_trial"] = round(1e3 * seconds / budget, 3)
    if len(PER_TRIAL) == 2:
        benchmark.extra_info["ratio_8000_to_1000"] = round(PER_TRIAL[8000] / PER_TRIAL[1000], 3)
