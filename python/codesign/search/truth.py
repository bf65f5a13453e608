"""Ground truth for a search: the true Pareto front of a tabular space, and how close a search came to it.

:func:`true_front` costs *every* network of a tabular space (e.g. all 15,625 NAS-Bench-201 cells) on one accelerator,
or on each of a list of accelerators (the joint truth of cells x a hardware sample), takes each network's real
accuracy from a table-backed evaluator, and returns a :class:`TrueFront`: all points, the non-dominated ones, and
the reference point for hypervolumes. :meth:`TrueFront.ratio` scores any set of designs (a search's trials) as
``hypervolume(their front) / hypervolume(true front)`` under that same reference: 1.0 means the search found the
whole true front.

Reference point: accuracy 0 and, for each cost metric, the largest value over all evaluated designs (the nadir
of the whole space, so every design counts). Accuracies are fractions, as the search records them.

Example::

    tf = true_front("nb201", "edgetpu", "nb201:cifar10")           # 15,625 cells, 20-40 s on 2 cores
    tf.ratio(trials)                                               # trials: trials.jsonl records or (acc, ms) rows
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .pareto import hypervolume, nondominated

__all__ = ["TrueFront", "true_front", "hv_curve"]


@dataclass
class TrueFront:
    """All designs of a tabular space on the given accelerators, and their Pareto front.

    Attributes:
        metrics: objective names, first ``accuracy`` (max), then cost metrics (min), e.g. ``latency_ms``.
        points: ``(n_designs, len(metrics))`` float array, accuracy as a fraction.
        networks: the network candidate of each design (length n_networks); ``design_net[i]`` / ``design_hw[i]``
            index networks / ``hws`` for design ``i``. hws: the accelerators.
        front: indices of the non-dominated designs. reference: the hypervolume reference point.
        hypervolume: of the front. infeasible: designs the accelerator cannot run (not in ``points``).
    """

    metrics: tuple[str, ...]
    points: np.ndarray
    networks: list[Any]
    design_net: np.ndarray
    design_hw: np.ndarray
    hws: list[Any]
    front: np.ndarray
    reference: tuple[float, ...]
    hypervolume: float
    infeasible: int = 0
    seconds: float = 0.0
    senses: tuple[str, ...] = field(default=())

    @property
    def front_box(self) -> tuple[float, ...]:
        """A stricter reference point: the true front's own worst accuracy and largest costs. Under it only the
        region next to the front counts, so a search that finds good but not front designs scores well below 1."""
        f = self.points[self.front]
        return (float(f[:, 0].min()), *(float(v) for v in f[:, 1:].max(axis=0)))

    def ratio(self, designs: Any, reference: Sequence[float] | None = None) -> float:
        """``hypervolume(front of designs) / hypervolume(true front)``, both under ``reference`` (default
        :attr:`reference`, the space's nadir; :attr:`front_box` is stricter). ``designs`` are trial records (dicts
        with ``metrics``; only complete ones count) or rows of :attr:`metrics` values. Points no better than the
        reference in some metric add nothing."""
        ref = np.asarray(self.reference if reference is None else reference, dtype=float)
        truth = self.hypervolume if reference is None else _hv_above(self.points[self.front], ref, self.senses)
        pts = _points_of(designs, self.metrics)
        if len(pts) == 0 or truth <= 0:
            return 0.0
        return _hv_above(pts, ref, self.senses) / truth

    def front_points(self) -> np.ndarray:
        """The front's points, sorted by the first cost metric."""
        f = self.points[self.front]
        return f[np.argsort(f[:, 1], kind="stable")]


def _hv_above(pts: np.ndarray, ref: np.ndarray, senses: Sequence[str]) -> float:
    """Hypervolume of the points strictly better than ``ref`` in every objective (the others add nothing)."""
    keep = (pts[:, 0] > ref[0]) & np.all(pts[:, 1:] < ref[1:], axis=1)
    return float(hypervolume(pts[keep], tuple(ref), senses)) if keep.any() else 0.0


def _points_of(designs: Any, metrics: Sequence[str]) -> np.ndarray:
    rows = []
    for d in designs:
        if isinstance(d, dict):
            if d.get("status", "complete") != "complete":
                continue
            m = d.get("metrics", d)
            if not all(k in m and m[k] is not None for k in metrics):
                continue
            rows.append([float(m[k]) for k in metrics])
        else:
            rows.append([float(v) for v in d])
    return np.asarray(rows, dtype=float).reshape(-1, len(metrics))


def _resolve(space: Any, hw: Any, accuracy: Any) -> tuple[Any, list[Any], Any]:
    from codesign.hardware import preset

    from .resolve import resolve_accuracy
    from codesign.space.joint import JointSpace
    from codesign.space.registry import network_space

    net = network_space(space) if isinstance(space, str) else space
    hws = list(hw) if isinstance(hw, (list, tuple)) else [hw]
    hws = [preset(h) if isinstance(h, str) else h for h in hws]
    if not hws:
        raise ValueError("hw must be a configuration, a preset name or a non-empty list of them")
    if isinstance(accuracy, str):
        from codesign.space.hw import EdgeTpuHardwareSpace

        accuracy, _ = resolve_accuracy(accuracy, JointSpace(net, EdgeTpuHardwareSpace()), None, 1, None)
    return net, hws, accuracy


def true_front(space: Any, hw: Any, accuracy: Any, *, metrics: Sequence[str] = ("latency_ms",),
               candidates: Iterable[Any] | None = None, mapper: Any = None, processes: int | None = None) -> TrueFront:
    """The true Pareto front (accuracy max, ``metrics`` min) of every network of ``space`` on ``hw``.

    Args:
        space: a tabular network space (name or object with ``candidates()``, e.g. ``"nb201"``).
        hw: one accelerator (configuration or preset name) or a list of them (every network on every one).
        accuracy: a table-backed evaluator or its name (``"nb201:cifar10"``...): ``evaluate(arch)`` -> fraction.
        metrics: cost metrics of the batched cost call's totals (``latency_ms``, ``energy_mj`` on Edge-TPU-like
            hardware, ``cycles``...), all minimised.
        candidates: the networks to enumerate (default ``space.candidates()``).
        mapper: :class:`codesign.cost.MapperOptions` for Edge-TPU-like hardware.
        processes: worker processes that build and cost the networks (default: the CPU count; 1 = in this
            process). Networks whose layer tables are equal are costed once per process. The result does not
            depend on the count.

    Raises ValueError for a space that cannot enumerate its candidates, or bad metrics.
    """
    import time

    t0 = time.perf_counter()
    net, hws, acc = _resolve(space, hw, accuracy)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one cost metric, e.g. ('latency_ms',)")
    if candidates is None:
        if not hasattr(net, "candidates"):
            raise ValueError(f"{net!r} cannot enumerate its candidates; pass candidates=")
        candidates = net.candidates()
    networks = list(candidates)
    if not networks:
        raise ValueError("candidates must hold at least one network of the space, got none")
    accs = np.array([float(acc.evaluate(c)["accuracy"]) for c in networks])
    n_proc = max(1, min(processes if processes is not None else (os.cpu_count() or 1), len(networks) // 256 or 1))
    chunks = [networks[i::n_proc] for i in range(n_proc)]  # interleaved: equal work per process
    if n_proc == 1:
        parts = [_cost_chunk(net, hws, mapper, metrics, networks)]
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # fork is safe while no threaded library (torch's OpenMP pool) is loaded; else a clean forkserver
        method = "fork" if "torch" not in sys.modules and "fork" in mp.get_all_start_methods() else "forkserver"
        with ProcessPoolExecutor(max_workers=n_proc, mp_context=mp.get_context(method)) as pool:
            parts = list(pool.map(_cost_chunk, [net] * n_proc, [hws] * n_proc, [mapper] * n_proc,
                                  [metrics] * n_proc, chunks))
    per_net = [None] * len(networks)
    for i, part in enumerate(parts):
        for j, vals_j in enumerate(part):
            per_net[i + j * n_proc] = vals_j
    vals = np.concatenate(per_net, axis=0)  # (n_networks * n_hws, k), network-major
    design_net = np.repeat(np.arange(len(networks)), len(hws))
    design_hw = np.tile(np.arange(len(hws)), len(networks))
    ok = np.all(np.isfinite(vals), axis=1)
    pts = np.column_stack([accs[design_net], vals])[ok]
    senses = ("max",) + ("min",) * len(metrics)
    front = _front2(pts) if len(metrics) == 1 else nondominated(pts, senses)
    reference = (0.0, *(float(v) for v in pts[:, 1:].max(axis=0))) if len(pts) else (0.0,) * (1 + len(metrics))
    hv = hypervolume(pts[front], reference, senses) if len(pts) else 0.0
    return TrueFront(metrics=("accuracy", *metrics), points=pts, networks=networks, design_net=design_net[ok],
                     design_hw=design_hw[ok], hws=hws, front=front, reference=reference, hypervolume=hv,
                     infeasible=int((~ok).sum()), seconds=time.perf_counter() - t0, senses=senses)


def _cost_chunk(net: Any, hws: list[Any], mapper: Any, metrics: tuple[str, ...], networks: list[Any]) -> list[np.ndarray]:
    """Per network: its ``(len(hws), len(metrics))`` totals (NaN where an accelerator cannot run it). Networks with
    equal layer tables are costed once (the cost model sees only the table)."""
    from codesign.cost import evaluate_batch

    kwargs = {"mapper": mapper} if mapper is not None else {}
    memo: dict[bytes, np.ndarray] = {}
    out = []
    for cand in networks:
        wl = net.workload(cand)
        key = wl.to_array().tobytes()
        vals = memo.get(key)
        if vals is None:
            res = evaluate_batch(wl, hws, threads=1, **kwargs)
            vals = np.stack([np.asarray(res.total(m), dtype=float) for m in metrics], axis=1)
            vals[~np.asarray(res.ok, dtype=bool)] = np.nan
            memo[key] = vals
        out.append(vals)
    return out


def _front2(pts: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points of (accuracy max, cost min), O(n log n); ties all kept."""
    order = np.lexsort((-pts[:, 0], pts[:, 1]))  # cost ascending, then accuracy descending
    keep = []
    best = -math.inf
    prev: tuple[float, float] | None = None
    for i in order:
        a, c = pts[i, 0], pts[i, 1]
        if a > best or (prev is not None and (a, c) == prev):
            keep.append(i)
            best = max(best, a)
            prev = (a, c)
    return np.sort(np.asarray(keep, dtype=int))


def hv_curve(trials: Sequence[dict[str, Any]], truth: TrueFront, at: Sequence[int],
             reference: Sequence[float] | None = None) -> list[float]:
    """:meth:`TrueFront.ratio` of the first ``n`` trials for each ``n`` in ``at`` (a search-quality curve)."""
    return [truth.ratio(trials[:n], reference) for n in at]
