"""Cost of layers and networks on the Edge-TPU-like template: the mapper's best mapping of every layer and the
model's cost of it, one batched C++ call, numpy out (C++: ``cpp/include/codesign/model/edgetpu_cost.hpp``, the
mapper in ``cpp/include/codesign/mapper/mapper.hpp``). The systolic-array model and the entry points that take
either kind of hardware (``evaluate``, ``evaluate_batch``) are in :mod:`codesign.cost`, which also re-exports this
module's names.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from . import _core
from .cost import _layers_array, _reasons, _STATUS, _raise_status
from .hardware import EdgeTpuConfig

__all__ = ["EDGETPU_FIELDS", "EDGETPU_TOTALS", "ENERGY_PARTS", "TILE_ORDERS", "MapperOptions", "EdgeTpuNetworkCost", "EdgeTpuBatchResult", "evaluate_edgetpu", "map_space", "map_layer"]

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
    dimension, every power-of-two size; exact over that lattice by branch and bound, slower; the compact counts are
    not all on the lattice, so on a few layers the compact pick costs less).
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
        """(A,) network totals (``latency_ms``, ``energy_pj``, ``cycles``, ...; ``area_mm2``, ``energy_mj``,
        ``edp_mj_ms`` as :attr:`EdgeTpuNetworkCost.totals` derives them); NaN where a layer failed."""
        if name == "area_mm2":
            return np.array([h.area_mm2 for h in self.hws])
        if name == "energy_mj":
            return self.total("energy_pj") * 1e-9
        if name == "edp_mj_ms":
            return self.total("energy_mj") * self.total("latency_ms")
        if name not in _T_INDEX:
            raise KeyError(f"unknown total {name!r}; known: {', '.join(EDGETPU_TOTALS)}, area_mm2, energy_mj, "
                           f"edp_mj_ms")
        return np.where(self.ok, self.totals_array[:, _T_INDEX[name]], np.nan)

    def network(self, a: int) -> EdgeTpuNetworkCost:
        return EdgeTpuNetworkCost(self.names, self.hws[a], self._per_layer()[a], self.totals_array[a])

    def reasons(self) -> list[str]:
        """Per array: "" if ok, else the first failing layer and why (totals only: an overflow is the network's)."""
        out = _reasons(self.status, self.names)
        if self.values is None:  # _flag_overflow put a network-total overflow on layer 0
            out = ["network totals: overflow (a count exceeds int64)" if self.status[a, 0] == _OVERFLOW else r
                   for a, r in enumerate(out)]
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


def _flag_overflow(status: np.ndarray, values: np.ndarray | None, totals: np.ndarray) -> np.ndarray:
    """``status`` (A, L) with "overflow" where a layer's count, or a network total, is >= 2**63. A network-total
    overflow is put on its longest layer, or on its first with totals only (``values`` None: counts are
    non-negative, so a layer's count beyond int64 makes its network's total so too)."""
    status = np.array(status, copy=True)
    with np.errstate(invalid="ignore"):
        if values is not None:
            status[~(values[:, :, _E_COUNTS] < _INT64_LIMIT).all(axis=2) & (status == 0)] = _OVERFLOW
        net_over = ~(totals[:, _T_COUNTS] < _INT64_LIMIT).all(axis=1) & ~status.any(axis=1)
    for a in np.flatnonzero(net_over):
        status[a, 0 if values is None else int(np.argmax(values[a, :, _E_INDEX["cycles"]]))] = _OVERFLOW
    return status


def _edgetpu_run(x: Any, hws: list[EdgeTpuConfig], mapper: MapperOptions, threads: int,
                 totals_only: bool = False) -> EdgeTpuBatchResult:
    archs = np.asarray([h.to_row() for h in hws], dtype=np.float64)
    rows = [h.energy_row() for h in hws]
    energy = np.asarray(rows[:1] if all(r == rows[0] for r in rows) else rows, dtype=np.float64)
    return _edgetpu_run_rows(x, hws, archs, energy, mapper, threads, totals_only)


def evaluate_block(x: Any, block: Any, *, mapper: MapperOptions | None = None, threads: int = 0,
                   totals_only: bool = True) -> EdgeTpuBatchResult:
    """:func:`codesign.evaluate_batch` of a workload on the valid configurations of a
    :class:`~codesign.hardware_block.EdgeTpuBlock` (``block.ok``; in their order), from the block's rows: the same
    result as on the configurations themselves, without building them (``hws`` holds them, built when read)."""
    keep = np.flatnonzero(block.ok)
    energy = block.energy if block.energy.shape[0] == 1 else block.energy[keep]
    return _edgetpu_run_rows(x, _BlockConfigs(block, keep), block.rows[keep], energy, _check_mapper(mapper),
                             int(threads), bool(totals_only))


class _BlockConfigs:
    """The configurations of a block, a read-only sequence that builds each when asked for it."""

    def __init__(self, block: Any, index: np.ndarray):
        self.block, self.index = block, index

    def __len__(self) -> int:
        return int(self.index.size)

    def __getitem__(self, i: int) -> EdgeTpuConfig:
        return self.block.config(int(self.index[i]))

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))


def _edgetpu_run_rows(x: Any, hws: Any, archs: np.ndarray, energy: np.ndarray, mapper: MapperOptions,
                      threads: int, totals_only: bool) -> EdgeTpuBatchResult:
    layers, names = _layers_array(x)
    metric, budget, patience, seed = mapper.args()
    status, values, totals = _core.edgetpu_batch(layers, archs, energy, metric, budget, patience, seed, threads,
                                                 mapper.constraint_row(), mapper.space == "complete", mapper.memo,
                                                 bool(totals_only))
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
        if not where:  # the smallest tile fits: a sample (a budget) drew no legal mapping
            budget = mapper.budget if mapper is not None else 0
            return (f"layer {name!r}: the sample of {budget:,} mappings (budget={budget}) holds none that fits on "
                    f"{hw.name}, though the layer has legal mappings: raise the budget, or use budget=0 (the whole "
                    f"map space)")
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
    if isinstance(max_mappings, bool) or not isinstance(max_mappings, (int, np.integer)) or not 1 <= max_mappings < 2**63:
        raise ValueError(f"max_mappings must be an int between 1 and 2**63 - 1, got {max_mappings!r}")
    opts = MapperOptions(constraints=constraints)
    row = np.asarray(layer.to_row(), np.int64)
    try:
        st, status, values = _core.edgetpu_map_space(row, np.asarray(hw.to_row()), np.asarray(hw.energy_row()),
                                                     weights_cached, input_spilled, output_spilled,
                                                     opts.constraint_row(), max_mappings)
    except ValueError:  # the core stops listing past max_mappings (its only ValueError for checked inputs)
        raise ValueError(f"{layer.name}: the map space has more than max_mappings = {max_mappings:,} legal mappings, "
                         f"too many to list: narrow it with constraints (CLI: -c pe_x=K -c pe_y=P), or map it alone "
                         f"with map_layer (CLI: codesign evaluate)") from None
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
