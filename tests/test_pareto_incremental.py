"""The incremental Pareto archive: after every batch its front equals a rebuild from every point offered so far."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.search.pareto import EDGETPU_OBJECTIVES, ParetoArchive

NAMES = [n for n, _ in EDGETPU_OBJECTIVES]
SIGN = np.array([-1.0 if s == "max" else 1.0 for _, s in EDGETPU_OBJECTIVES])
# small integer grids: many ties and exact duplicates, where the first-offered rule matters
point = st.tuples(*(st.integers(0, 4) for _ in NAMES)).map(lambda t: tuple(float(x) for x in t))
batches = st.lists(st.lists(point, min_size=0, max_size=8), min_size=1, max_size=12)


def rebuilt_front(points: list[tuple[float, ...]]) -> list[int]:
    """Brute force, from the definition: indices of points no other point dominates, the first of equal points
    only, best-first as ParetoArchive.front() orders them."""
    m = np.asarray(points) * SIGN
    keep = []
    for i in range(len(points)):
        dominated = any(np.all(m[j] <= m[i]) and np.any(m[j] < m[i]) for j in range(len(points)))
        earlier_equal = any(np.array_equal(m[j], m[i]) for j in range(i))
        if not dominated and not earlier_equal:
            keep.append(i)
    return sorted(keep, key=lambda i: tuple(m[i]))


@settings(max_examples=150, deadline=None)
@given(batches)
def test_incremental_front_equals_the_rebuild_after_every_batch(batches):
    arc = ParetoArchive(EDGETPU_OBJECTIVES)
    seen: list[tuple[float, ...]] = []
    for batch in batches:
        offers = [(dict(zip(NAMES, p)), len(seen) + i) for i, p in enumerate(batch)]
        added = arc.extend(offers)
        seen.extend(batch)
        assert 0 <= added <= len(batch)
        expect = rebuilt_front(seen) if seen else []
        assert [item for item, _ in arc.front()] == expect
        assert len(arc) == len(expect)
        np.testing.assert_array_equal(arc.points(), np.asarray([seen[i] for i in expect]).reshape(-1, len(NAMES)))
    fresh = ParetoArchive(EDGETPU_OBJECTIVES)
    fresh.extend((dict(zip(NAMES, p)), i) for i, p in enumerate(seen))
    assert fresh.front() == arc.front()


def test_extend_counts_and_rejects_bad_metrics():
    arc = ParetoArchive()
    assert arc.extend([({"accuracy": 0.9, "latency_ms": 2.0, "area_mm2": 1.0}, "a"),
                       ({"accuracy": 0.9, "latency_ms": 2.0, "area_mm2": 1.0}, "dup"),
                       ({"accuracy": 0.95, "latency_ms": 1.0, "area_mm2": 1.0}, "b")]) == 2
    assert [k for k, _ in arc.front()] == ["b"]  # b evicted a
    with pytest.raises(ValueError, match="latency_ms"):
        arc.extend([({"accuracy": 0.5, "latency_ms": float("inf"), "area_mm2": 1.0}, "c")])
    assert [k for k, _ in arc.front()] == ["b"]
