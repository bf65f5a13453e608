"""Rank correlations, in numpy (no scipy needed).

* :func:`spearman`: Spearman's rho, the Pearson correlation of the ranks (ties get their average rank), as
  ``scipy.stats.spearmanr``.
* :func:`kendall`: Kendall's tau-b (Kendall 1945; ties in either variable corrected), as
  ``scipy.stats.kendalltau``'s default; O(n^2) pairs, fine for the few thousand candidates a study scores.

Both return NaN when either input is constant or has fewer than two finite pairs; pairs where either value
is NaN are dropped first.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["rankdata", "spearman", "kendall"]


def rankdata(x: Sequence[float] | np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (float64), ties given the mean of the ranks they span."""
    a = np.asarray(x, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(a.size, dtype=np.float64)
    sorted_a = a[order]
    i = 0
    while i < a.size:
        j = i
        while j + 1 < a.size and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    return ranks


def _pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"rank correlation needs equal lengths, got {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` in [-1, 1] (NaN if undefined)."""
    x, y = _pairs(a, b)
    if x.size < 2:
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b of ``a`` and ``b`` in [-1, 1] (NaN if undefined):
    ``(concordant - discordant) / sqrt((n0 - ties_a) * (n0 - ties_b))`` over all ``n0 = n(n-1)/2`` pairs."""
    x, y = _pairs(a, b)
    n = x.size
    if n < 2:
        return float("nan")
    iu = np.triu_indices(n, k=1)
    dx = np.sign(x[iu[0]] - x[iu[1]])
    dy = np.sign(y[iu[0]] - y[iu[1]])
    n0 = dx.size
    s = float((dx * dy).sum())
    tx, ty = float((dx == 0).sum()), float((dy == 0).sum())
    den = np.sqrt((n0 - tx) * (n0 - ty))
    return s / den if den > 0 else float("nan")
