"""Per-trial cost of the search's Pareto archive against the budget (figures in benchmarks/README.md, section
"Co-design search"). Today's runner rebuilds the archive from all trials after every batch (cost per trial grows
with the budget); the incremental archive offers each batch's trials once. Synthetic trials: four objectives
(accuracy max, latency, energy, area min) drawn with the trade-offs of a search (faster and smaller costs
accuracy), batches of 8, seeded."""
from __future__ import annotations

import time

import numpy as np
import pytest

from codesign.search.pareto import EDGETPU_OBJECTIVES, ParetoArchive

NAMES = [n for n, _ in EDGETPU_OBJECTIVES]
BATCH = 8


def trials(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    size = rng.uniform(0, 1, n)  # a network's size drives accuracy up and cost up
    acc = 0.6 + 0.3 * size + rng.normal(0, 0.03, n)
    lat = np.exp(rng.normal(0, 0.3, n)) * (0.5 + 3 * size)
    energy = np.exp(rng.normal(0, 0.3, n)) * (0.2 + 2 * size)
    area = rng.uniform(10, 60, n)
    return [dict(zip(NAMES, map(float, row))) for row in zip(acc, lat, energy, area)]


def incremental(ts: list[dict[str, float]]) -> ParetoArchive:
    arc = ParetoArchive(EDGETPU_OBJECTIVES)
    for start in range(0, len(ts), BATCH):
        arc.extend((m, start + i) for i, m in enumerate(ts[start:start + BATCH]))
    return arc


def rebuild_every_batch(ts: list[dict[str, float]]) -> ParetoArchive:
    """What the runner does today: a fresh archive from all trials so far after every batch."""
    arc = ParetoArchive(EDGETPU_OBJECTIVES)
    for stop in range(BATCH, len(ts) + BATCH, BATCH):
        arc = ParetoArchive(EDGETPU_OBJECTIVES)
        arc.extend((m, i) for i, m in enumerate(ts[:stop]))
    return arc


@pytest.mark.parametrize("budget", [1000, 10_000])
def test_archive_per_trial_cost(benchmark, budget):
    ts = trials(budget)
    arc = benchmark.pedantic(incremental, args=(ts,), rounds=3, iterations=1)
    info = {"budget": budget, "front": len(arc), "us_per_trial": benchmark.stats.stats.mean / budget * 1e6}
    if budget <= 1000:  # the rebuild is quadratic: measured beside it at the smaller budget only
        t0 = time.perf_counter()
        ref = rebuild_every_batch(ts)
        rebuild_s = time.perf_counter() - t0
        assert ref.front() == arc.front()
        info.update({"rebuild_us_per_trial": rebuild_s / budget * 1e6,
                     "speedup_vs_rebuild": rebuild_s / benchmark.stats.stats.mean})
    benchmark.extra_info.update(info)
