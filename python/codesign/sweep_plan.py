"""Sweep plans: which configurations of a space a sweep evaluates (all that satisfy ``where``, or a seeded
sample), in which order, cut into chunks.

Orders (a plan's ``order``, recorded in the sweep's journal so that a resume cuts the same chunks):

* ``"id"``: ascending ``config_id``. Systolic spaces, and Edge-TPU-like spaces that do not sweep both
  ``pe_x`` and ``pe_y``; also every sweep journal written before orders existed.
* ``"pe-pairs"``: Edge-TPU-like spaces that sweep both ``pe_x`` and ``pe_y``. The ids are visited by the
  unordered pair ``(min(pe_x, pe_y), max(pe_x, pe_y))``, then by the other fields in C order, then the
  ``pe_x <= pe_y`` orientation before its mirror. A grid and its transpose thus fall next to each other in one
  chunk, where the mapper maps the second as the mirror of the first (``cpp/src/mapper/mirror.hpp``) instead of
  searching again; in id order they are ``|pe_x - pe_y|`` strides apart and never share a chunk. The result of
  each configuration does not depend on the order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .sweep_space import SweepSpace, load_space
from .where import compile_where

__all__ = ["make_plan", "plan_size", "PLAN_ORDERS"]

#: The orders a plan visits configurations in (module docstring).
PLAN_ORDERS = ("id", "pe-pairs")


_BLOCK = 1 << 18          # ids filtered at a time
_MATERIALISE = 1 << 22    # sample by materialising the filtered ids up to this space size; above it, rejection


def _predicate(space: SweepSpace, where: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if where is None:
        return None
    consts = space.constants()
    fn = compile_where(where, space.fields + tuple(consts))

    def keep(ids: np.ndarray) -> np.ndarray:
        env: dict[str, Any] = {k: (np.asarray(v, dtype=object) if isinstance(v, str) else v)
                               for k, v in consts.items()}
        env.update(space.decode(ids))
        return fn(env, int(ids.size))

    return keep


def _filtered_blocks(space: SweepSpace, keep: Callable[[np.ndarray], np.ndarray] | None) -> Iterator[np.ndarray]:
    for start in range(0, space.size, _BLOCK):
        ids = np.arange(start, min(start + _BLOCK, space.size), dtype=np.int64)
        yield ids[keep(ids)] if keep is not None else ids


def default_order(space: SweepSpace) -> str:
    """The order a new sweep of ``space`` visits its configurations in: ``"pe-pairs"`` for an Edge-TPU-like space
    that sweeps both ``pe_x`` and ``pe_y``, else ``"id"``."""
    return "pe-pairs" if space.kind == "edgetpu" and {"pe_x", "pe_y"} <= set(space.grid) else "id"


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, step = [0] * len(shape), 1
    for i in range(len(shape) - 1, -1, -1):
        out[i], step = step, step * shape[i]
    return out


def _pe_pairs(xs: tuple[Any, ...], ys: tuple[Any, ...]) -> Iterator[list[tuple[int, int]]]:
    """The (pe_x index, pe_y index) combinations of each unordered pair of values, pairs ascending by (min, max),
    ``pe_x <= pe_y`` first: generated, not listed (a grid of 4,096 values each has 16.8 million pairs)."""
    ix = {v: i for i, v in enumerate(xs)}
    iy = {v: i for i, v in enumerate(ys)}
    values = sorted(set(xs) | set(ys))
    for i, lo in enumerate(values):
        for hi in values[i:]:
            combos = [(ix[lo], iy[hi])] if lo in ix and hi in iy else []
            if hi != lo and hi in ix and lo in iy:
                combos.append((ix[hi], iy[lo]))
            if combos:
                yield combos


def _pe_pair_blocks(space: SweepSpace) -> Iterator[np.ndarray]:
    """Every id of ``space`` once, in ``"pe-pairs"`` order, in blocks of about ``_BLOCK`` ids."""
    fields, shape = space.fields, space.shape
    ax, ay = fields.index("pe_x"), fields.index("pe_y")
    strides = _strides(shape)
    rest = [i for i in range(len(shape)) if i not in (ax, ay)]
    rest_shape = tuple(shape[i] for i in rest)
    n_rest = int(np.prod(rest_shape, dtype=np.int64)) if rest else 1
    for combos in _pe_pairs(space.grid["pe_x"], space.grid["pe_y"]):
        bases = np.array([a * strides[ax] + b * strides[ay] for a, b in combos], dtype=np.int64)
        step = max(1, _BLOCK // bases.size)
        for r0 in range(0, n_rest, step):
            r = np.arange(r0, min(r0 + step, n_rest), dtype=np.int64)
            off = np.zeros(r.size, dtype=np.int64)
            if rest:
                for i, idx in zip(rest, np.unravel_index(r, rest_shape)):
                    off += idx * strides[i]
            yield (off[:, None] + bases[None, :]).ravel()


def _ordered_blocks(space: SweepSpace, order: str,
                    keep: Callable[[np.ndarray], np.ndarray] | None) -> Iterator[np.ndarray]:
    """The ids that ``keep`` keeps, in blocks, in ``order``."""
    if order == "id":
        yield from _filtered_blocks(space, keep)
        return
    for ids in _pe_pair_blocks(space):
        yield ids[keep(ids)] if keep is not None else ids


def order_ids(space: SweepSpace, ids: np.ndarray, order: str) -> np.ndarray:
    """``ids`` (distinct) sorted into ``order``: the relative order in which :func:`_ordered_blocks` visits them."""
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    if order == "id" or not ids.size:
        return ids
    pos = np.unravel_index(ids, space.shape)
    fields = space.fields
    ax, ay = fields.index("pe_x"), fields.index("pe_y")
    x = np.asarray(space.grid["pe_x"])[pos[ax]]
    y = np.asarray(space.grid["pe_y"])[pos[ay]]
    rest = [i for i in range(len(fields)) if i not in (ax, ay)]
    rank = (np.ravel_multi_index([pos[i] for i in rest], tuple(space.shape[i] for i in rest)) if rest
            else np.zeros(ids.size, dtype=np.int64))
    return ids[np.lexsort((x > y, rank, np.maximum(x, y), np.minimum(x, y)))]


def _sample_ids(space: SweepSpace, keep: Callable[[np.ndarray], np.ndarray] | None, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if space.size <= _MATERIALISE:
        pool = np.concatenate(list(_filtered_blocks(space, keep)) or [np.zeros(0, np.int64)])
        if n > pool.size:
            what = "configurations that satisfy --where" if keep is not None else "configurations in the space"
            raise ValueError(f"--sample {n} exceeds the {pool.size:,} {what}")
        return np.sort(rng.choice(pool, size=n, replace=False))
    chosen: dict[int, None] = {}
    draws = 0
    while len(chosen) < n:
        cand = rng.integers(0, space.size, size=max(4 * (n - len(chosen)), 1024), dtype=np.int64)
        draws += cand.size
        if keep is not None:
            cand = cand[keep(cand)]
        for c in cand.tolist():
            chosen.setdefault(c, None)
            if len(chosen) == n:
                break
        if draws > 200 * n + 10_000_000 and len(chosen) < n:
            raise ValueError(f"--sample {n}: --where keeps too few of the {space.size:,} configurations to sample "
                             f"{n} (found {len(chosen):,} in {draws:,} draws)")
    return np.sort(np.fromiter(chosen, dtype=np.int64, count=n))


@dataclass
class _Plan:
    space: SweepSpace
    where: str | None
    sample: int | None
    seed: int
    chunk_size: int
    total: int
    order: str = "id"
    _ids: np.ndarray | None = None

    @property
    def n_chunks(self) -> int:
        return (self.total + self.chunk_size - 1) // self.chunk_size

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(chunk id, configuration ids) in plan order."""
        if self._ids is not None:
            for k in range(self.n_chunks):
                yield k, self._ids[k * self.chunk_size:(k + 1) * self.chunk_size]
            return
        keep = _predicate(self.space, self.where)
        buf: list[np.ndarray] = []
        have, k = 0, 0
        for block in _ordered_blocks(self.space, self.order, keep):
            if not block.size:
                continue
            buf.append(block)
            have += block.size
            while have >= self.chunk_size:
                cat = np.concatenate(buf)
                yield k, cat[:self.chunk_size]
                k += 1
                rest = cat[self.chunk_size:]
                buf, have = ([rest] if rest.size else []), rest.size
        if have:
            yield k, np.concatenate(buf)


def make_plan(space: SweepSpace, *, where: str | None = None, sample: int | None = None, seed: int = 0,
              chunk_size: int = 1024, order: str | None = None) -> _Plan:
    """The plan of a sweep (validates ``where``, ``sample``, ``seed``, ``chunk_size`` and ``order``: one of
    :data:`PLAN_ORDERS`, default :func:`default_order`). A sample is the same set of ids in any order."""
    allowed = ("id", "pe-pairs") if default_order(space) == "pe-pairs" else ("id",)
    if order is None:
        order = allowed[-1]
    if not isinstance(order, str) or order not in allowed:
        raise ValueError(f"plan order must be {' or '.join(allowed)} for space {space.name!r}, got {order!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"--chunk-size must be an int >= 1, got {chunk_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"--seed must be an int >= 0, got {seed!r}")
    keep = _predicate(space, where)
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
            raise ValueError(f"--sample must be an int >= 1, got {sample!r}")
        ids = order_ids(space, _sample_ids(space, keep, int(sample), int(seed)), order)
        return _Plan(space, where, int(sample), int(seed), int(chunk_size), int(ids.size), order, ids)
    total = space.size if keep is None else sum(int(b.size) for b in _filtered_blocks(space, keep))
    if total == 0:
        raise ValueError(f"--where {where!r} keeps none of the {space.size:,} configurations of {space.name!r}")
    return _Plan(space, where, None, int(seed), int(chunk_size), total, order)


def plan_size(space: Any, *, where: str | None = None, sample: int | None = None, seed: int = 0) -> int:
    """Number of configurations a sweep would evaluate."""
    return make_plan(load_space(space), where=where, sample=sample, seed=seed).total
