"""Cost of layers and networks on systolic arrays: one batched C++ call, numpy out.

The model (C++, ``cpp/include/codesign/model/systolic_cost.hpp``):

* **Compute** follows SCALE-Sim v3's fold model exactly (Samajdar et al., ISPASS 2020; formulas in
  shared/reference/scalesim/MODEL.md s.2-4). Per group, the GEMM view is ``M = N*P*Q``, ``Nf = K/groups``,
  ``Kw = (C/groups)*R*S``; ``os`` maps (Sr, Sc, T) = (M, Nf, Kw), ``ws`` (Kw, Nf, M), ``is`` (Kw, M, Nf);
  ``row_folds = ceil(Sr/rows)``, ``col_folds = ceil(Sc/cols)``; each fold costs ``T + rows + cols - 2``
  cycles (os) or ``T + 2*rows + cols - 2`` (ws/is, stationary preload); groups run one after the other, so a
  depthwise conv maps as badly as it really does. ``stall_free_cycles = folds * cycles_per_fold``
  (SCALE-Sim's reported "Total Cycles" is this minus one: it numbers cycles from 0).
* **mapping_efficiency** = mean over folds of mapped PEs / PEs; **compute_utilization** =
  ``macs / (stall_free_cycles * PEs)``; **overall_utilization** (totals) = ``macs / (cycles * PEs)``.
* **SRAM** accesses are operand words at the array edge (im2col, as SCALE-Sim counts them); ws/is write
  partial sums once per row fold and read them back ``row_folds - 1`` times.
* **DRAM** traffic and **stall_cycles** come from codesign's own double-buffered model: operands fetched
  once when they fit half their SRAM, else once per revisiting pass; partial sums spill only when a column
  tile of outputs does not fit half the ofmap SRAM; traffic spread evenly over folds, fold ``i+1`` loading
  and fold ``i-1`` draining while fold ``i`` computes; the first load and last drain are exposed.
  It differs from SCALE-Sim, which replays traces, issues its first fill before cycle 0, counts fold padding
  and im2col duplicates as DRAM reads, writes every partial sum to DRAM and double counts read stalls.
  :mod:`codesign.scalesim` converts our counts to SCALE-Sim's report conventions.

Units: cycles; words (of ``hw.word_bytes`` bytes) for accesses; ``latency_ms`` at ``hw.clock_mhz``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from . import _core
from .hardware import SystolicArray

__all__ = ["BatchResult", "BatchTotals", "LayerCost", "NetworkCost", "INT_FIELDS", "FLOAT_FIELDS", "evaluate", "evaluate_batch"]

#: Integer per-layer fields, in the C++ core's order.
INT_FIELDS: tuple[str, ...] = tuple(_core.SYSTOLIC_INT_FIELDS)
#: Float per-layer fields (fractions in [0, 1]).
FLOAT_FIELDS: tuple[str, ...] = tuple(_core.SYSTOLIC_FLOAT_FIELDS)
_INT_INDEX = {n: i for i, n in enumerate(INT_FIELDS)}
_FLOAT_INDEX = {n: i for i, n in enumerate(FLOAT_FIELDS)}
#: Integer fields that add up over layers (the others describe one layer's mapping).
SUMMED_FIELDS = tuple(n for n in INT_FIELDS if n not in ("sr", "sc", "t", "row_folds", "col_folds", "cycles_per_fold"))
_STATUS = tuple(_core.STATUS_NAMES)


def _layers_array(x: Any) -> tuple[np.ndarray, list[str]]:
    """(int64 (L, 16) array, names) from a Layer, a Workload or a sequence of Layers."""
    if hasattr(x, "to_array") and hasattr(x, "layers"):
        return x.to_array(), [layer.name for layer in x.layers]
    if hasattr(x, "to_row"):
        return np.asarray([x.to_row()], dtype=np.int64), [x.name]
    if isinstance(x, (list, tuple)) and x and all(hasattr(layer, "to_row") for layer in x):
        return np.asarray([layer.to_row() for layer in x], dtype=np.int64), [layer.name for layer in x]
    raise TypeError(f"expected a Layer, a Workload or a non-empty list of Layers, got {type(x).__name__}")


def _check_hw(hw: Any) -> SystolicArray:
    if not isinstance(hw, SystolicArray):
        raise TypeError(f"hw must be a codesign.SystolicArray or codesign.EdgeTpuConfig, got {type(hw).__name__}")
    return hw


def _no_mapper_for_systolic(mapper: Any) -> None:
    """A SystolicArray's dataflow fixes its mapping: a mapper other than the default is refused, never ignored."""
    if mapper is None:
        return
    m = _check_mapper(mapper)
    if (m.metric, m.budget, m.patience, m.seed) != ("latency", 0, 0, 0):
        raise ValueError(f"mapper options choose mappings on the Edge-TPU-like template; a SystolicArray's "
                         f"dataflow fixes its mapping (got {m!r})")


def _raise_status(code: int, layer_name: str, hw: SystolicArray) -> None:
    reason = _STATUS[code] if 0 <= code < len(_STATUS) else f"status {code}"
    if reason == "overflow":
        raise ValueError(f"layer {layer_name!r}: cycle or access counts overflow int64 on {hw.name}")
    raise ValueError(f"layer {layer_name!r} cannot be evaluated on {hw.name}: {reason}")


def _reasons(status: np.ndarray, names: list[str]) -> list[str]:
    """Per row of ``status`` (A, L): "" if every layer succeeded, else the first failing layer and why."""
    out = []
    for row in status:
        bad = np.flatnonzero(row)
        out.append("" if not bad.size else f"layer {names[bad[0]]!r}: {_STATUS[int(row[bad[0]])]}")
    return out


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer on one array. Field names as in :data:`INT_FIELDS` and :data:`FLOAT_FIELDS`,
    plus ``name`` and ``latency_ms``."""

    name: str
    values: dict[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.values}


class NetworkCost:
    """Per-layer costs of a network on one array, and their totals.

    Attributes:
        hw: the array. names: layer names (L). ints: int64 (L, len(INT_FIELDS)). floats: float64 (L, 2).
    """

    def __init__(self, names: list[str], hw: SystolicArray, ints: np.ndarray, floats: np.ndarray, workload: Any = None):
        self.names = names
        self.hw = hw
        self.ints = ints
        self.floats = floats
        self.workload = workload

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, field: str) -> np.ndarray:
        """The per-layer column ``field`` (shape (L,)); also ``latency_ms``."""
        if field in _INT_INDEX:
            return self.ints[:, _INT_INDEX[field]]
        if field in _FLOAT_INDEX:
            return self.floats[:, _FLOAT_INDEX[field]]
        if field == "latency_ms":
            return self.ints[:, _INT_INDEX["cycles"]] / (self.hw.clock_mhz * 1e3)
        raise KeyError(f"unknown cost field {field!r}; known: {', '.join(INT_FIELDS + FLOAT_FIELDS)}, latency_ms")

    def layer(self, i: int) -> LayerCost:
        values: dict[str, Any] = {n: int(v) for n, v in zip(INT_FIELDS, self.ints[i].tolist())}
        values.update({n: float(v) for n, v in zip(FLOAT_FIELDS, self.floats[i].tolist())})
        values["latency_ms"] = values["cycles"] / (self.hw.clock_mhz * 1e3)
        return LayerCost(self.names[i], values)

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Per-layer records (dicts with ``name`` and every field)."""
        return [self.layer(i).to_dict() for i in range(len(self))]

    def __iter__(self) -> Iterator[LayerCost]:
        return (self.layer(i) for i in range(len(self)))

    @cached_property
    def totals(self) -> dict[str, Any]:
        """Network totals: summed counts, ``latency_ms``, and utilizations over the whole network.

        ``mapping_efficiency`` is weighted by each layer's stall-free cycles; ``compute_utilization`` is
        ``macs / (stall_free_cycles * PEs)`` and ``overall_utilization`` ``macs / (cycles * PEs)``.
        """
        sums = self.ints.sum(axis=0)
        t: dict[str, Any] = {n: int(sums[_INT_INDEX[n]]) for n in SUMMED_FIELDS}
        pes = float(self.hw.pes)
        sf = t["stall_free_cycles"]
        t["layers"] = len(self)
        t["latency_ms"] = t["cycles"] / (self.hw.clock_mhz * 1e3)
        t["compute_utilization"] = t["macs"] / (sf * pes) if sf else 0.0
        t["overall_utilization"] = t["macs"] / (t["cycles"] * pes) if t["cycles"] else 0.0
        w = self.ints[:, _INT_INDEX["stall_free_cycles"]].astype(np.float64)
        t["mapping_efficiency"] = float(np.dot(w, self.floats[:, 0]) / w.sum()) if w.sum() else 0.0
        t["sram_accesses"] = t["ifmap_sram_reads"] + t["filter_sram_reads"] + t["ofmap_sram_writes"] + t["ofmap_sram_reads"]
        t["dram_accesses"] = t["ifmap_dram_reads"] + t["filter_dram_reads"] + t["ofmap_dram_writes"] + t["ofmap_dram_reads"]
        t["dram_bytes"] = t["dram_accesses"] * self.hw.word_bytes
        return t

    def to_dict(self) -> dict[str, Any]:
        """``{"hw": ..., "layers": [...], "totals": {...}}`` (JSON-serialisable)."""
        return {"hw": self.hw.to_dict(), "layers": self.layers, "totals": dict(self.totals)}

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per layer (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.layers)


def evaluate(x: Any, hw: Any, *, threads: int = 1, mapper: Any = None) -> Any:
    """Cost of a layer (-> :class:`LayerCost`) or a workload / list of layers (-> :class:`NetworkCost`) on a
    :class:`~codesign.hardware.SystolicArray`; on an :class:`~codesign.hardware.EdgeTpuConfig`, the mapper's
    best mapping of every layer (-> :class:`EdgeTpuNetworkCost`, see :func:`evaluate_edgetpu`).

    Raises:
        TypeError: ``x`` or ``hw`` of the wrong type. ValueError: a layer the array cannot run (the message
        names the layer and the reason, e.g. overflow of int64 counts).
    """
    if type(hw).__name__ == "EdgeTpuConfig":
        return evaluate_edgetpu(x, hw, mapper=mapper)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an int >= 0, got {threads!r}")
    hw = _check_hw(hw)
    _no_mapper_for_systolic(mapper)
    layers, names = _layers_array(x)
    status, ints, floats = _core.systolic_batch(layers, np.asarray([hw.to_row()]), threads)
    bad = np.flatnonzero(status[0])
    if bad.size:
        _raise_status(int(status[0, bad[0]]), names[bad[0]], hw)
    cost = NetworkCost(names, hw, ints[0], floats[0], workload=x if hasattr(x, "layers") else None)
    if hasattr(x, "to_row"):
        return cost.layer(0)
    return cost


class BatchResult:
    """Costs of L layers on A arrays from one C++ call.

    Attributes:
        hws: the A arrays. names: the L layer names. status: int32 (A, L), 0 where the evaluation succeeded
        (see ``STATUS_NAMES``). ints: int64 (A, L, len(INT_FIELDS)). floats: float64 (A, L, 2).
    """

    def __init__(self, hws: list[SystolicArray], names: list[str], status: np.ndarray, ints: np.ndarray, floats: np.ndarray):
        self.hws, self.names, self.status, self.ints, self.floats = hws, names, status, ints, floats

    @property
    def ok(self) -> np.ndarray:
        """bool (A,): arrays on which every layer could be evaluated."""
        return ~self.status.any(axis=1)

    def field(self, name: str) -> np.ndarray:
        """(A, L) values of one per-layer field."""
        if name in _INT_INDEX:
            return self.ints[:, :, _INT_INDEX[name]]
        if name in _FLOAT_INDEX:
            return self.floats[:, :, _FLOAT_INDEX[name]]
        raise KeyError(f"unknown cost field {name!r}")

    def total(self, name: str) -> np.ndarray:
        """(A,) network totals of a summed field, or ``latency_ms``; NaN for arrays with a failed layer."""
        if name == "latency_ms":
            clock = np.array([h.clock_mhz for h in self.hws]) * 1e3
            out = self.field("cycles").sum(axis=1) / clock
        elif name in SUMMED_FIELDS:
            out = self.field(name).sum(axis=1).astype(np.float64)
        else:
            raise KeyError(f"{name!r} is not a summed field; summed: {', '.join(SUMMED_FIELDS)}, latency_ms")
        return np.where(self.ok, out, np.nan)

    def network(self, a: int) -> NetworkCost:
        """The :class:`NetworkCost` of array ``a``."""
        return NetworkCost(self.names, self.hws[a], self.ints[a], self.floats[a])

    def reasons(self) -> list[str]:
        """Per array: "" if ok, else the first failing layer and why."""
        return _reasons(self.status, self.names)


class BatchTotals:
    """Network totals of A systolic arrays from one C++ call, without per-layer rows
    (``evaluate_batch(..., totals_only=True)``): the same :meth:`total`, :attr:`ok` and :meth:`reasons` as
    :class:`BatchResult`, equal to it, in 8 bytes per summed field and array instead of 196 per layer.

    Attributes:
        hws: the A arrays. names: the L layer names. status: int32 (A,), the first failing layer's status (0: all
        succeeded). bad_layer: int64 (A,), its index (-1: none). sums: int64 (A, len(SUMMED_FIELDS)).
    """

    def __init__(self, hws: list[SystolicArray], names: list[str], status: np.ndarray, bad_layer: np.ndarray,
                 sums: np.ndarray):
        self.hws, self.names, self.status, self.bad_layer, self.sums = hws, names, status, bad_layer, sums

    @property
    def ok(self) -> np.ndarray:
        """bool (A,): arrays on which every layer could be evaluated."""
        return self.status == 0

    def field(self, name: str) -> np.ndarray:
        """Per-layer fields are not kept here: a ValueError (as :class:`EdgeTpuBatchResult` with totals only)."""
        raise ValueError(f"per-layer field {name!r}: per-layer records were not kept (evaluate_batch(..., "
                         "totals_only=True)); evaluate again without totals_only for them")

    def total(self, name: str) -> np.ndarray:
        """(A,) network totals of a summed field, or ``latency_ms``; NaN for arrays with a failed layer."""
        if name == "latency_ms":
            clock = np.array([h.clock_mhz for h in self.hws]) * 1e3
            out = self.sums[:, _SUM_INDEX["cycles"]] / clock
        elif name in _SUM_INDEX:
            out = self.sums[:, _SUM_INDEX[name]].astype(np.float64)
        else:
            raise KeyError(f"{name!r} is not a summed field; summed: {', '.join(SUMMED_FIELDS)}, latency_ms")
        return np.where(self.ok, out, np.nan)

    def reasons(self) -> list[str]:
        """Per array: "" if ok, else the first failing layer and why."""
        return ["" if not st else f"layer {self.names[b]!r}: {_STATUS[st]}" if b >= 0
                else f"network totals: {_STATUS[st]} (a sum over layers exceeds int64)"
                for st, b in zip(self.status.tolist(), self.bad_layer.tolist())]


_SUM_INDEX = {n: i for i, n in enumerate(_core.SYSTOLIC_TOTAL_FIELDS)}
assert tuple(_core.SYSTOLIC_TOTAL_FIELDS) == SUMMED_FIELDS, "C++ totals and SUMMED_FIELDS disagree"


def evaluate_batch(x: Any, hws: Any, *, threads: int = 0, mapper: Any = None, totals_only: bool = False) -> Any:
    """Evaluate every layer of ``x`` (Layer, Workload or list of Layers) on every array in ``hws``.

    One C++ call; the GIL is released while it runs and ``threads`` workers share the work (0 = all cores).
    Results are identical for any thread count. Layers an array cannot run are flagged in ``status``, not
    raised. ``totals_only=True`` keeps network totals only, for sweeps and searches (the same totals, faster, in a
    fraction of the memory): a :class:`BatchTotals` for systolic arrays, an :class:`EdgeTpuBatchResult` without
    per-layer records (``values`` None) for Edge-TPU configurations.

    Raises:
        TypeError: wrong argument types. ValueError: an empty list of arrays, a negative thread count.
    """
    if isinstance(hws, (SystolicArray, EdgeTpuConfig)):
        hws = [hws]
    if not isinstance(hws, (list, tuple)) and not hasattr(hws, "__iter__"):
        raise TypeError(f"hws must be a SystolicArray, an EdgeTpuConfig or a sequence of them, got {type(hws).__name__}")
    hws = list(hws)
    if not hws:
        raise ValueError("hws must hold at least one SystolicArray or EdgeTpuConfig, got an empty sequence")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an int >= 0, got {threads!r}")
    if not isinstance(totals_only, (bool, np.bool_)):
        raise TypeError(f"totals_only must be a bool, got {totals_only!r}")
    if all(isinstance(h, EdgeTpuConfig) for h in hws):
        return _edgetpu_run(x, hws, _check_mapper(mapper), int(threads), bool(totals_only))
    odd = next((i for i, h in enumerate(hws) if not isinstance(h, (SystolicArray, EdgeTpuConfig))), None)
    if odd is not None:
        raise TypeError(f"hws[{odd}] must be a SystolicArray or an EdgeTpuConfig, got {type(hws[odd]).__name__}")
    if any(isinstance(h, EdgeTpuConfig) for h in hws):
        raise TypeError("hws must be all SystolicArray or all EdgeTpuConfig, got a mix; evaluate them in two calls")
    hws = [_check_hw(h) for h in hws]
    _no_mapper_for_systolic(mapper)
    layers, names = _layers_array(x)
    archs = np.asarray([h.to_row() for h in hws], dtype=np.float64)
    if totals_only:
        return BatchTotals(hws, names, *_core.systolic_totals(layers, archs, int(threads)))
    status, ints, floats = _core.systolic_batch(layers, archs, int(threads))
    return BatchResult(hws, names, status, ints, floats)


# =====================================================================================================
# Edge-TPU-like template: mapper + cost model (C++ cpp/include/codesign/model/edgetpu_cost.hpp)
# =====================================================================================================
from .hardware import EdgeTpuConfig  # noqa: E402

#: Per-layer fields of the Edge-TPU model (float64), in the C++ core's order.
EDGETPU_FIELDS: tuple[str, ...] = tuple(_core.EDGETPU_OUT_FIELDS)
EDGETPU_TOTALS: tuple[str, ...] = tuple(_core.EDGETPU_TOTAL_FIELDS)
_E_INDEX = {n: i for i, n in enumerate(EDGETPU_FIELDS)}
_T_INDEX = {n: i for i, n in enumerate(EDGETPU_TOTALS)}
_DIMS = tuple(_core.DIM_NAMES)
_METRICS = ("latency", "energy", "edp")
#: Energy components of a layer, by memory level and data space (pJ).
ENERGY_PARTS = ("mac_pj", "vector_pj", "core_w_pj", "pe_i_pj", "pe_o_pj", "onchip_w_pj", "dram_w_pj", "dram_i_pj",
                "dram_o_pj", "leak_pj")


@dataclass(frozen=True)
class MapperOptions:
    """Options of the per-layer mapper.

    metric: ``latency``, ``energy`` or ``edp`` (ties broken by the other of latency/energy).
    budget: most mappings evaluated per layer (0 = the whole map space, usually a few hundred mappings).
    patience: when sampling (budget below the map-space size), stop after this many non-improving mappings.
    seed: sampling order; results are deterministic for a seed. threads: batch calls (0 = all cores).
    constraints: a :class:`codesign.map_constraints.MapConstraints` narrowing the map space (None: free).
    space: ``compact`` (default: per spatial unrolling the fewest weight tiles that fit, x1, x2, x4, each with the
    fewest activation tiles, x1, x2, x4; the complete space when none is legal) or ``complete`` (tiles along every
    dimension, every power-of-two size; exact by branch and bound, slower).
    memo: batch calls remember mapped layers (exact; False maps every layer anew, to check the memo).
    """

    metric: str = "latency"
    budget: int = 0
    patience: int = 0
    seed: int = 0
    threads: int = 0
    constraints: Any = None
    space: str = "compact"
    memo: bool = True

    def __post_init__(self) -> None:
        if self.metric not in _METRICS:
            raise ValueError(f"metric must be one of {', '.join(_METRICS)}, got {self.metric!r}")
        for name in ("budget", "patience", "seed", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**63:
                raise ValueError(f"{name} must be an int between 0 and 2**63 - 1, got {value!r}")
        if self.space not in ("compact", "complete"):
            raise ValueError(f"space must be compact or complete, got {self.space!r}")
        if not isinstance(self.memo, bool):
            raise TypeError(f"memo must be a bool, got {self.memo!r}")
        from .map_constraints import MapConstraints
        if self.constraints is not None and not isinstance(self.constraints, MapConstraints):
            raise TypeError(f"constraints must be a codesign.map_constraints.MapConstraints, got {self.constraints!r}")

    def args(self) -> tuple[int, int, int, int]:
        return _METRICS.index(self.metric), int(self.budget), int(self.patience), int(self.seed)

    def constraint_row(self) -> np.ndarray | None:
        return None if not self.constraints else self.constraints.to_row()


#: Tile-loop orders (mapper/mapping.hpp): which data space's tiles are fetched once.
TILE_ORDERS = ("weight", "output", "input")
_TILE_FIELDS = ("tiles_g", "tiles_n", "tiles_k", "tiles_c", "tiles_p", "tiles_q")


def _mapping_texts(values: np.ndarray) -> np.ndarray:
    """Mapping text of each row of (M, F) values, e.g. ``K/P/Q/C tiles K4 C2 order=weight ws``: spatial
    dimensions (PE x, PE y, lanes, SIMD), tile counts above one, tile-loop order, lane stationarity (vectorised:
    map spaces have up to millions of rows)."""
    values = np.atleast_2d(values)
    dims = np.array(_DIMS)
    col = lambda name: values[:, _E_INDEX[name]]  # noqa: E731
    text = dims[col("map_pe_x").astype(int)]
    for k in ("map_pe_y", "map_lanes", "map_simd"):
        text = np.char.add(np.char.add(text, "/"), dims[col(k).astype(int)])
    tiles = np.full(len(values), "", dtype=object)
    for f in _TILE_FIELDS:
        v = col(f)
        part = np.char.add(f" {f[-1].upper()}", v.astype(np.int64).astype(str))
        tiles = np.where(v > 1, np.char.add(tiles.astype(str), part), tiles.astype(str))
    tiles = np.where(tiles == "", " -", tiles)
    order = np.array([f" order={o}" for o in TILE_ORDERS])[col("order").astype(int)]
    inner = np.where(col("inner") == 0, " ws", " os")
    return np.char.add(np.char.add(np.char.add(np.char.add(text, " tiles"), tiles), order), inner)


def _mapping_text(row: np.ndarray) -> str:
    """The mapping text of one row of values (see :func:`_mapping_texts`)."""
    return str(_mapping_texts(row)[0])


class EdgeTpuNetworkCost:
    """Per-layer costs of a network on one :class:`~codesign.hardware.EdgeTpuConfig`, and their totals.

    ``values`` is float64 (L, len(EDGETPU_FIELDS)); ``net`` the C++ network totals. Cycles and bytes are
    per inference; energies in pJ (``energy_mj`` in totals); ``latency_ms`` includes the per-inference overhead.
    """

    def __init__(self, names: list[str], hw: EdgeTpuConfig, values: np.ndarray, net: np.ndarray):
        self.names, self.hw, self.values, self.net = names, hw, values, net

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, field: str) -> np.ndarray:
        if field in _E_INDEX:
            return self.values[:, _E_INDEX[field]]
        if field == "latency_ms":
            return self.values[:, _E_INDEX["cycles"]] / (self.hw.clock_mhz * 1e3)
        raise KeyError(f"unknown cost field {field!r}; known: {', '.join(EDGETPU_FIELDS)}, latency_ms")

    def layer(self, i: int) -> dict[str, Any]:
        row = self.values[i]
        rec: dict[str, Any] = {"name": self.names[i]}
        for n, v in zip(EDGETPU_FIELDS, row.tolist()):
            rec[n] = v
        rec["latency_ms"] = rec["cycles"] / (self.hw.clock_mhz * 1e3)
        rec["bound"] = "memory" if rec["memory_bound"] else "compute"
        rec["mapping"] = _mapping_text(row)
        return rec

    @property
    def layers(self) -> list[dict[str, Any]]:
        return [self.layer(i) for i in range(len(self))]

    @cached_property
    def totals(self) -> dict[str, Any]:
        t: dict[str, Any] = {n: float(v) for n, v in zip(EDGETPU_TOTALS, self.net.tolist())}
        t["layers"] = len(self)
        t["energy_mj"] = t["energy_pj"] * 1e-9
        for part in ENERGY_PARTS:
            t[part] = float(self[part].sum())
        t["edp_mj_ms"] = t["energy_mj"] * t["latency_ms"]
        t["area_mm2"] = self.hw.area_mm2
        t["memory_bound_layers"] = int(self["memory_bound"].sum())
        return t

    def to_dict(self) -> dict[str, Any]:
        return {"hw": self.hw.to_dict(), "layers": self.layers, "totals": dict(self.totals)}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.layers)


class EdgeTpuBatchResult:
    """One network on A configurations: status int32 (A, L), values float64 (A, L, F) or None
    (``evaluate_batch(..., totals_only=True)``: no per-layer records kept), totals float64 (A, T)."""

    def __init__(self, hws: list[EdgeTpuConfig], names: list[str], status: np.ndarray, values: np.ndarray | None,
                 totals: np.ndarray):
        self.hws, self.names, self.status, self.values, self.totals_array = hws, names, status, values, totals

    @property
    def ok(self) -> np.ndarray:
        return ~self.status.any(axis=1)

    def _per_layer(self) -> np.ndarray:
        if self.values is None:
            raise ValueError("per-layer records were not kept (evaluate_batch(..., totals_only=True)); "
                             "evaluate again without totals_only for them")
        return self.values

    def field(self, name: str) -> np.ndarray:
        return self._per_layer()[:, :, _E_INDEX[name]]

    def total(self, name: str) -> np.ndarray:
        """(A,) network totals (``latency_ms``, ``energy_pj``, ``cycles``, ...; ``area_mm2``); NaN where a layer failed."""
        if name == "area_mm2":
            return np.array([h.area_mm2 for h in self.hws])
        if name == "energy_mj":
            return self.total("energy_pj") * 1e-9
        if name not in _T_INDEX:
            raise KeyError(f"unknown total {name!r}; known: {', '.join(EDGETPU_TOTALS)}, area_mm2, energy_mj")
        return np.where(self.ok, self.totals_array[:, _T_INDEX[name]], np.nan)

    def network(self, a: int) -> EdgeTpuNetworkCost:
        return EdgeTpuNetworkCost(self.names, self.hws[a], self._per_layer()[a], self.totals_array[a])

    def reasons(self) -> list[str]:
        """Per array: "" if ok, else the first failing layer and why (totals only: an overflow is the network's)."""
        out = _reasons(self.status, self.names)
        if self.values is None:
            over = f"layer {self.names[0]!r}: overflow" if self.names else None
            out = [f"network totals: overflow (a count exceeds int64)" if r == over and self.status[a, 0] == _OVERFLOW
                   else r for a, r in enumerate(out)]
        return out


def _check_mapper(mapper: Any) -> MapperOptions:
    if mapper is None:
        return MapperOptions()
    if not isinstance(mapper, MapperOptions):
        raise TypeError(f"mapper must be a codesign.MapperOptions, got {mapper!r}")
    return mapper


def _check_edgetpu(hw: Any) -> EdgeTpuConfig:
    if not isinstance(hw, EdgeTpuConfig):
        raise TypeError(f"hw must be a codesign.EdgeTpuConfig (the mapper works on the Edge-TPU-like template), got {type(hw).__name__}")
    return hw


#: Edge-TPU outputs that are counts (cycles, MACs, bytes). The template computes them in doubles; the systolic
#: model counts in checked int64. A count at or above 2**63 is reported as the systolic model reports it: status
#: "overflow" for the layer (and for the network when only a total is that large), never a number such as
#: 9.9e27 MACs (issue 16).
_E_COUNTS = [i for n, i in _E_INDEX.items() if n in ("cycles", "macs", "ops") or n.endswith(("_cycles", "_bytes"))]
_T_COUNTS = [EDGETPU_TOTALS.index(n) for n in ("cycles", "macs", "dram_bytes", "params_bytes",
                                               "cached_params_bytes", "streamed_params_bytes")]
_OVERFLOW = _STATUS.index("overflow")
_INT64_LIMIT = 2.0 ** 63


def _flag_overflow(status: np.ndarray, values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """``status`` (A, L) with "overflow" where a layer's count, or a network total, is >= 2**63."""
    status = np.array(status, copy=True)
    with np.errstate(invalid="ignore"):
        over = ~(values[:, :, _E_COUNTS] < _INT64_LIMIT).all(axis=2) & (status == 0)
        status[over] = _OVERFLOW
        net_over = ~(totals[:, _T_COUNTS] < _INT64_LIMIT).all(axis=1) & ~status.any(axis=1)
    for a in np.flatnonzero(net_over):
        status[a, int(np.argmax(values[a, :, _E_INDEX["cycles"]]))] = _OVERFLOW
    return status


def _flag_total_overflow(status: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Totals only: "overflow" on the first layer where a network total is >= 2**63 (counts are non-negative, so
    a layer's count beyond int64 makes its network's total so too)."""
    status = np.array(status, copy=True)
    with np.errstate(invalid="ignore"):
        net_over = ~(totals[:, _T_COUNTS] < _INT64_LIMIT).all(axis=1) & ~status.any(axis=1)
    status[net_over, 0] = _OVERFLOW
    return status


def _edgetpu_run(x: Any, hws: list[EdgeTpuConfig], mapper: MapperOptions, threads: int,
                 totals_only: bool = False) -> EdgeTpuBatchResult:
    layers, names = _layers_array(x)
    archs = np.asarray([h.to_row() for h in hws], dtype=np.float64)
    rows = [h.energy_row() for h in hws]
    energy = np.asarray(rows[:1] if all(r == rows[0] for r in rows) else rows, dtype=np.float64)
    metric, budget, patience, seed = mapper.args()
    status, values, totals = _core.edgetpu_batch(layers, archs, energy, metric, budget, patience, seed, threads,
                                                 mapper.constraint_row(), mapper.space == "complete", mapper.memo,
                                                 bool(totals_only))
    if values is None:
        return EdgeTpuBatchResult(hws, names, _flag_total_overflow(status, totals), None, totals)
    return EdgeTpuBatchResult(hws, names, _flag_overflow(status, values, totals), values, totals)


def _explain(code: int, name: str, hw: Any, row: np.ndarray | None = None, mapper: MapperOptions | None = None) -> str:
    reason = _STATUS[code] if 0 <= code < len(_STATUS) else f"status {code}"
    if reason == "overflow":  # worded as the systolic model's (_raise_status)
        return f"layer {name!r}: cycle or access counts overflow int64 on {hw.name}"
    if reason == "no legal mapping":
        if row is None:
            return (f"layer {name!r} has no legal mapping on {hw.name}: its smallest tile does not fit half the "
                    f"core memory ({hw.core_mem_kib:g} KiB) or half the PE memory ({hw.pe_mem_kib:g} KiB)")
        _, core_b, pe_b, _ = _core.edgetpu_smallest_tile(np.asarray(row, np.int64), np.asarray(hw.to_row()))
        where = [f"{b:g} B in core memory (half of {hw.core_mem_kib:g} KiB = {hw.core_mem_kib * 512:g} B)"
                 for b in [core_b] if b > hw.core_mem_kib * 512]
        where += [f"{b:g} B in PE memory (half of {hw.pe_mem_kib:g} KiB = {hw.pe_mem_kib * 512:g} B)"
                  for b in [pe_b] if b > hw.pe_mem_kib * 512]
        return (f"layer {name!r} has no legal mapping on {hw.name}: its smallest tile (one output element's working "
                f"set) needs {' and '.join(where)}")
    if reason == "no mapping meets the mapping constraints":
        cons = mapper.constraints.describe() if mapper is not None and mapper.constraints else "?"
        return f"layer {name!r} has no mapping on {hw.name} that meets the mapping constraints ({cons})"
    return f"layer {name!r} cannot be evaluated on {hw.name}: {reason}"


def evaluate_edgetpu(x: Any, hw: EdgeTpuConfig, *, mapper: MapperOptions | None = None) -> EdgeTpuNetworkCost:
    """Map and cost a workload (or layer list) on one Edge-TPU-like configuration.

    Raises:
        ValueError: a layer with no legal mapping (the message names it and the memories) or invalid input.
    """
    mapper = _check_mapper(mapper)
    res = _edgetpu_run(x, [_check_edgetpu(hw)], mapper, 1)
    bad = np.flatnonzero(res.status[0])
    if bad.size:
        rows, _ = _layers_array(x)
        raise ValueError(_explain(int(res.status[0, bad[0]]), res.names[bad[0]], hw, rows[bad[0]], mapper))
    return res.network(0)


def map_space(layer: Any, hw: EdgeTpuConfig, *, weights_cached: bool = True, input_spilled: bool = False,
              output_spilled: bool = False, constraints: Any = None, max_mappings: int = 2_000_000) -> dict[str, np.ndarray]:
    """Every legal mapping of one layer on ``hw`` (under ``constraints``, a
    :class:`~codesign.map_constraints.MapConstraints`), costed: a dict of (M,) arrays, one per field, plus
    ``mapping`` (text). Use it to check the mapper or to plot a map space.

    Raises:
        ValueError: invalid input, or more than ``max_mappings`` legal mappings (narrow them with constraints).
    """
    if not hasattr(layer, "to_row"):
        raise TypeError(f"layer must be a codesign.Layer, got {type(layer).__name__}")
    hw = _check_edgetpu(hw)
    opts = MapperOptions(constraints=constraints)
    row = np.asarray(layer.to_row(), np.int64)
    st, status, values = _core.edgetpu_map_space(row, np.asarray(hw.to_row()), np.asarray(hw.energy_row()),
                                                 weights_cached, input_spilled, output_spilled, opts.constraint_row(),
                                                 max_mappings)
    if st:
        raise ValueError(_explain(st, layer.name, hw, row, opts))
    with np.errstate(invalid="ignore"):
        fits = (values[:, _E_COUNTS] < _INT64_LIMIT).all(axis=1)
    if not (fits & (status == 0)).any() and (status == 0).any():
        raise ValueError(_explain(_OVERFLOW, layer.name, hw))
    ok = (status == 0) & fits  # a mapping whose counts reach 2**63 is dropped, as the systolic model would refuse it
    out = {n: values[ok, i] for i, n in enumerate(EDGETPU_FIELDS)}
    out["mapping"] = _mapping_texts(values[ok]) if ok.any() else np.array([], dtype=str)
    return out


def map_layer(layer: Any, hw: EdgeTpuConfig, *, mapper: MapperOptions | None = None, weights_cached: bool = True,
              input_spilled: bool = False, output_spilled: bool = False) -> dict[str, Any]:
    """The mapper's best mapping of one layer (a record of every field, ``mapping`` as text)."""
    mapper = _check_mapper(mapper)
    if not hasattr(layer, "to_row"):
        raise TypeError(f"layer must be a codesign.Layer, got {type(layer).__name__}")
    hw = _check_edgetpu(hw)
    metric, budget, patience, seed = mapper.args()
    row = np.asarray(layer.to_row(), np.int64)
    st, values = _core.edgetpu_map_layer(row, np.asarray(hw.to_row()), np.asarray(hw.energy_row()), weights_cached,
                                         input_spilled, output_spilled, metric, budget, patience, seed,
                                         mapper.constraint_row(), mapper.space == "complete")
    if st:
        raise ValueError(_explain(st, layer.name, hw, row, mapper))
    if not (values[_E_COUNTS] < _INT64_LIMIT).all():
        raise ValueError(_explain(_OVERFLOW, layer.name, hw))
    rec = {"name": layer.name, **dict(zip(EDGETPU_FIELDS, values.tolist()))}
    rec["mapping"] = _mapping_text(values)
    return rec
