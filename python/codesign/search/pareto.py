"""Pareto archive and hypervolume.

Default objectives: ``accuracy`` (maximise, fraction), ``latency_ms`` (minimise, ms), ``area_mm2``
(minimise, mm^2); :data:`EDGETPU_OBJECTIVES` adds ``energy_mj`` (minimise, mJ per inference). A point *dominates* another if it is no worse in every objective and strictly better in at
least one. The hypervolume is the Lebesgue measure of the region dominated by the front and bounded by a
reference point (Zitzler & Thiele, PPSN 1998); it is exact in any dimension: 1-D, 2-D (staircase sweep,
O(n log n)), and k >= 3 by slicing along the last objective and summing exact (k-1)-D volumes ("HSO", While et
al., IEEE TEC 2006; O(n^(k-1) log n), fine for the fronts of a search).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_OBJECTIVES", "EDGETPU_OBJECTIVES", "dominates", "nondominated", "hypervolume", "ParetoArchive"]

#: (metric name, "max" | "min") of the default archive.
DEFAULT_OBJECTIVES: tuple[tuple[str, str], ...] = (("accuracy", "max"), ("latency_ms", "min"), ("area_mm2", "min"))
#: Objectives of searches on the Edge-TPU-like template (which reports energy).
EDGETPU_OBJECTIVES: tuple[tuple[str, str], ...] = (("accuracy", "max"), ("latency_ms", "min"), ("energy_mj", "min"),
                                                    ("area_mm2", "min"))


def _check_senses(senses: Sequence[str], k: int) -> tuple[str, ...]:
    senses = tuple(senses)
    if len(senses) != k:
        raise ValueError(f"senses has {len(senses)} entries but points have {k} objectives")
    for s in senses:
        if s not in ("max", "min"):
            raise ValueError(f"each sense must be 'max' or 'min', got sense={s!r}")
    return senses


def _as_minimisation(points: Any, senses: Sequence[str]) -> np.ndarray:
    p = np.asarray(points, dtype=float)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2:
        raise ValueError(f"points must have shape (n, k), got shape {p.shape}")
    senses = _check_senses(senses, p.shape[1])
    if not np.all(np.isfinite(p)):
        raise ValueError("points must be finite")
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    return p * sign


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[str] = ("max", "min", "min")) -> bool:
    """True if objective vector ``a`` Pareto-dominates ``b`` under ``senses`` (one "max"/"min" per objective):
    ``a`` is no worse than ``b`` everywhere and strictly better somewhere."""
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    if a_.shape != b_.shape or a_.ndim != 1:
        raise ValueError(f"a and b must be vectors of equal length, got shapes {a_.shape} and {b_.shape}")
    m = _as_minimisation(np.stack([a_, b_]), senses)
    return bool(np.all(m[0] <= m[1]) and np.any(m[0] < m[1]))


def nondominated(points: Any, senses: Sequence[str]) -> np.ndarray:
    """Indices (ascending) of the points of an ``(n, k)`` array that no other point dominates. Duplicate
    points are all kept."""
    m = _as_minimisation(points, senses)
    keep = []
    for i in range(m.shape[0]):
        le = np.all(m <= m[i], axis=1)
        lt = np.any(m < m[i], axis=1)
        if not np.any(le & lt):
            keep.append(i)
    return np.asarray(keep, dtype=int)


def _hv2d(m: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-D hypervolume of minimisation points strictly better than ``ref`` in both coordinates."""
    if m.shape[0] == 0:
        return 0.0
    order = np.lexsort((m[:, 1], m[:, 0]))
    xs, ys = m[order, 0], m[order, 1]
    kept_x: list[float] = []
    kept_y: list[float] = []
    best_y = ref[1]
    for x, y in zip(xs, ys):
        if y < best_y:
            kept_x.append(float(x))
            kept_y.append(float(y))
            best_y = y
    hv = 0.0
    for i, (x, y) in enumerate(zip(kept_x, kept_y)):
        nxt = kept_x[i + 1] if i + 1 < len(kept_x) else float(ref[0])
        hv += (nxt - x) * (float(ref[1]) - y)
    return hv


def hypervolume(points: Any, reference: Sequence[float], senses: Sequence[str]) -> float:
    """Hypervolume dominated by ``points`` ((n, k) array, any k >= 1) and bounded by ``reference``.

    Args:
        points: objective vectors, shape ``(n, k)``.
        reference: the reference (worst acceptable) point, length ``k``; points not strictly better than it in
            every objective contribute nothing.
        senses: "max" or "min" per objective.

    Units are the product of the objectives' units (e.g. accuracy x ms for a 2-D accuracy/latency front).
    Example (minimise both): points (1,3), (2,2), (3,1) with reference (4,4) -> 6.0.
    """
    ref_ = np.asarray(reference, dtype=float)
    p = np.asarray(points, dtype=float)
    if p.size == 0:
        return 0.0
    m = _as_minimisation(p, senses)
    k = m.shape[1]
    if ref_.shape != (k,):
        raise ValueError(f"reference must have {k} entries, got shape {ref_.shape}")
    if not np.all(np.isfinite(ref_)):
        raise ValueError(f"reference must be finite, got {reference!r}")
    r = _as_minimisation(ref_[None, :], senses)[0]
    m = m[np.all(m < r, axis=1)]
    if m.shape[0] == 0:
        return 0.0
    return float(_hv(m, r))


def _hv(m: np.ndarray, r: np.ndarray) -> float:
    """Exact hypervolume of minimisation points (all strictly better than ``r``), any dimension."""
    k = m.shape[1]
    if m.shape[0] == 0:
        return 0.0
    if k == 1:
        return float(r[0] - m[:, 0].min())
    if k == 2:
        return _hv2d(m, r)
    m = m[nondominated(m, ("min",) * k)] if m.shape[0] > 1 else m
    zs = np.unique(m[:, -1])
    hv = 0.0
    for i, z in enumerate(zs):
        z_next = zs[i + 1] if i + 1 < len(zs) else r[-1]
        hv += _hv(m[m[:, -1] <= z][:, :-1], r[:-1]) * float(z_next - z)
    return hv


class ParetoArchive:
    """Archive of mutually non-dominated items, kept incrementally.

    Args:
        objectives: sequence of (metric name, "max" | "min"); default :data:`DEFAULT_OBJECTIVES`
            (accuracy max, latency_ms min, area_mm2 min).

    :meth:`add` keeps an item only if no member dominates or equals it, and evicts the members it dominates; so
    after any sequence of :meth:`add` / :meth:`extend` calls the members are exactly the offered points that no
    other offered point dominates, the first offered of equal points (the same front as building a fresh archive
    from every point offered so far, in that order). One offer costs one vectorised comparison with the current
    front, O(front size x objectives), whatever the number of points offered before: a search keeps one archive
    and offers each batch's new trials instead of rebuilding it from all trials.
    """

    def __init__(self, objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES) -> None:
        objectives = tuple((str(n), str(s)) for n, s in objectives)
        if not objectives:
            raise ValueError("objectives must not be empty")
        _check_senses([s for _, s in objectives], len(objectives))
        names = [n for n, _ in objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"objective names must be unique, got {names}")
        self.objectives = objectives
        self.names = tuple(names)
        self.senses = tuple(s for _, s in objectives)
        self._sign = np.array([-1.0 if s == "max" else 1.0 for s in self.senses])
        self._items: list[tuple[Any, dict[str, Any], np.ndarray]] = []
        self._min = np.zeros((0, len(names)))  # the members' vectors as minimisation, row i = self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ParetoArchive(objectives={self.objectives}, size={len(self)})"

    def vector(self, metrics: Mapping[str, Any]) -> np.ndarray:
        """Objective vector of ``metrics`` in archive order; ValueError naming a missing or non-finite metric."""
        out = []
        for name in self.names:
            if name not in metrics:
                raise ValueError(f"metrics lacks objective {name!r}")
            try:
                v = float(metrics[name])
            except (TypeError, ValueError):
                raise ValueError(f"objective {name}={metrics[name]!r} is not a number") from None
            if not math.isfinite(v):
                raise ValueError(f"objective {name}={v!r} is not finite")
            out.append(v)
        return np.asarray(out)

    def add(self, metrics: Mapping[str, Any], item: Any = None) -> bool:
        """Offer ``item`` with its ``metrics``; return True if it joined the front. ValueError naming the
        objective when a metric is missing or not finite."""
        v = self.vector(metrics)
        mv = v * self._sign
        if self._min.shape[0] and np.all(self._min <= mv, axis=1).any():  # a member dominates or equals it
            return False
        evicted = np.all(mv <= self._min, axis=1) & np.any(mv < self._min, axis=1)
        if evicted.any():
            keep = np.flatnonzero(~evicted)
            self._items = [self._items[i] for i in keep]
            self._min = self._min[keep]
        self._items.append((item, dict(metrics), v))
        self._min = np.vstack([self._min, mv[None, :]])
        return True

    def extend(self, offers: Iterable[tuple[Mapping[str, Any], Any]]) -> int:
        """Offer ``(metrics, item)`` pairs in order (as repeated :meth:`add`); return how many joined the front
        (some may have been evicted again by later ones)."""
        return sum(self.add(metrics, item) for metrics, item in offers)

    def front(self) -> list[tuple[Any, dict[str, Any]]]:
        """Members as (item, metrics), sorted best-first by the first objective, then the following ones."""
        order = sorted(range(len(self._items)), key=lambda i: tuple(self._min[i]))
        return [(self._items[i][0], dict(self._items[i][1])) for i in order]

    def points(self) -> np.ndarray:
        """Objective vectors of the members, shape ``(len(self), k)``, in :meth:`front` order."""
        k = len(self.names)
        if not self._items:
            return np.zeros((0, k))
        return np.stack([self.vector(m) for _, m in self.front()])

    def hypervolume(self, reference: Sequence[float]) -> float:
        """:func:`hypervolume` of the members."""
        return hypervolume(self.points(), reference, self.senses)
