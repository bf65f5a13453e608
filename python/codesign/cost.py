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
from .hardware import EdgeTpuConfig, SystolicArray

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
    from .edgetpu_cost import _check_mapper

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
    status = np.asarray(status)
    out = [""] * status.shape[0]
    if status.size:
        failed = status.any(axis=1)
        first = np.argmax(status != 0, axis=1)
        for a in np.flatnonzero(failed).tolist():
            out[a] = f"layer {names[first[a]]!r}: {_STATUS[int(status[a, first[a]])]}"
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


def _check_threads(threads: Any, name: str = "threads") -> None:
    """ValueError unless ``threads`` is an int in [0, 2**63) (0: every core), named ``name`` in the message."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 0 <= threads < 2**63:
        raise ValueError(f"{name} must be an int between 0 and 2**63 - 1, got {threads!r}")


def evaluate(x: Any, hw: Any, *, threads: int = 1, mapper: Any = None) -> Any:
    """Cost of a layer (-> :class:`LayerCost`) or a workload / list of layers (-> :class:`NetworkCost`) on a
    :class:`~codesign.hardware.SystolicArray`; on an :class:`~codesign.hardware.EdgeTpuConfig`, the mapper's
    best mapping of every layer (-> :class:`EdgeTpuNetworkCost`, see :func:`evaluate_edgetpu`).

    Raises:
        TypeError: ``x`` or ``hw`` of the wrong type. ValueError: a layer the array cannot run (the message
        names the layer and the reason, e.g. overflow of int64 counts).
    """
    _check_threads(threads)
    if isinstance(hw, EdgeTpuConfig):  # one configuration is mapped on one thread (MapperOptions.threads aside)
        from .edgetpu_cost import evaluate_edgetpu

        return evaluate_edgetpu(x, hw, mapper=mapper)
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
    _check_threads(threads)
    if not isinstance(totals_only, (bool, np.bool_)):
        raise TypeError(f"totals_only must be a bool, got {totals_only!r}")
    if all(isinstance(h, EdgeTpuConfig) for h in hws):
        from .edgetpu_cost import _check_mapper, _edgetpu_run

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


# The Edge-TPU-like template's side (codesign.edgetpu_cost), re-exported here: ``from codesign.cost import
# MapperOptions`` and the like keep working, and importing this module does not import that one.
_EDGETPU_NAMES = frozenset({"EDGETPU_FIELDS", "EDGETPU_TOTALS", "ENERGY_PARTS", "TILE_ORDERS", "MapperOptions",
                            "EdgeTpuNetworkCost", "EdgeTpuBatchResult", "evaluate_edgetpu", "map_space", "map_layer",
                            "_check_mapper", "_edgetpu_run", "_E_INDEX", "_T_INDEX"})


def __getattr__(name: str) -> Any:
    if name in _EDGETPU_NAMES:
        from . import edgetpu_cost

        return getattr(edgetpu_cost, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

