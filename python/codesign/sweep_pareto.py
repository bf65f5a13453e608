"""Pareto fronts of sweep results: a non-dominated mask, a running front per network fed chunk by chunk, and
the front of a whole result frame."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["pareto_mask", "ParetoFront", "pareto_front", "DEFAULT_OBJECTIVES"]

#: Pareto objectives (all minimised) used when none are given.
DEFAULT_OBJECTIVES = {"edgetpu": ("latency_ms", "energy_mj", "area_mm2"), "systolic": ("latency_ms", "area_mm2")}


def pareto_mask(values: Any) -> np.ndarray:
    """bool (n,): rows of ``values`` (n, m) that no other row dominates (all objectives minimised). Row ``a``
    dominates ``b`` when ``a <= b`` in every objective and ``a < b`` in one. Rows with a NaN are never optimal
    and dominate nothing; identical rows are all kept."""
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"values must be a 2-D array (rows x objectives), got shape {y.shape}")
    n = y.shape[0]
    out = np.zeros(n, dtype=bool)
    finite = ~np.isnan(y).any(axis=1)
    idx = np.flatnonzero(finite)
    if not idx.size:
        return out
    z = y[idx]
    order = np.lexsort(z.T[::-1])      # lexicographic: a row can only be dominated by rows before it
    z = z[order]
    kept: list[int] = []
    block = 256
    # process in blocks: rows of a block are checked against the front so far, then among themselves
    front = np.zeros((0, z.shape[1]))
    for start in range(0, z.shape[0], block):
        b = z[start:start + block]
        alive = ~_dominated_by(front, b)
        le = (b[None, :, :] <= b[:, None, :]).all(axis=2)
        lt = (b[None, :, :] < b[:, None, :]).any(axis=2)
        dom = le & lt                                     # dom[i, j]: row j dominates row i
        # a row dominated by any row of its block is dominated (whether or not that row survives: its own
        # dominator is lexicographically earlier still, so the chain ends in a kept row)
        alive &= ~dom.any(axis=1)
        sel = np.flatnonzero(alive)
        kept.extend((start + sel).tolist())
        front = np.vstack([front, b[sel]])
    out[idx[order[kept]]] = True
    return out


def _dominated_by(front: np.ndarray, y: np.ndarray, block: int = 2048) -> np.ndarray:
    """bool (n,): rows of ``y`` (n, m) that a row of ``front`` (f, m) dominates (minimised), in blocks of rows."""
    out = np.zeros(y.shape[0], dtype=bool)
    if not front.shape[0]:
        return out
    for start in range(0, y.shape[0], block):
        b = y[start:start + block, None, :]
        out[start:start + block] = ((front[None] <= b).all(axis=2) & (front[None] < b).any(axis=2)).any(axis=1)
    return out


class ParetoFront:
    """A running Pareto front per network over ``objectives`` (minimised): :meth:`update` with each chunk's
    rows; :attr:`frame` holds the non-dominated rows seen so far. Memory: the front only."""

    def __init__(self, objectives: Sequence[str]):
        self.objectives = tuple(objectives)
        self._fronts: dict[str, Any] = {}

    def update(self, df: Any) -> None:
        import pandas as pd

        if not len(df):
            return
        for net, part in df.groupby("network", sort=False):
            part = part[part["ok"].astype(bool)]
            if not len(part):
                continue
            prev = self._fronts.get(net)
            if prev is not None:  # rows the front dominates cannot join it: most of a chunk, dropped cheaply
                y = part[list(self.objectives)].to_numpy(dtype=np.float64)
                part = part[~_dominated_by(prev[list(self.objectives)].to_numpy(dtype=np.float64), y)]
                if not len(part):
                    continue
            both = part if prev is None else pd.concat([prev, part], ignore_index=True)
            mask = pareto_mask(both[list(self.objectives)].to_numpy(dtype=np.float64))
            self._fronts[net] = both[mask].reset_index(drop=True)

    @property
    def frame(self) -> Any:
        import pandas as pd

        if not self._fronts:
            return pd.DataFrame()
        df = pd.concat(list(self._fronts.values()), ignore_index=True)
        return df.sort_values(["network", *self.objectives, "config_id"], kind="stable").reset_index(drop=True)


def pareto_front(df: Any, objectives: Sequence[str] | None = None) -> Any:
    """The rows of a sweep result (DataFrame) that are Pareto-optimal for their network over ``objectives``
    (minimised; default latency_ms, energy_mj, area_mm2 when the frame has energy_mj, else latency_ms,
    area_mm2). Rows with ``ok`` False are never optimal."""
    if objectives is None:
        objectives = DEFAULT_OBJECTIVES["edgetpu" if "energy_mj" in df.columns else "systolic"]
    for o in objectives:
        if o not in df.columns:
            raise ValueError(f"objective {o!r} is not a column; columns: {', '.join(map(str, df.columns))}")
    front = ParetoFront(objectives)
    step = 1 << 15
    for start in range(0, len(df), step):
        front.update(df.iloc[start:start + step])
    return front.frame
