"""Hardware sweeps at scale: every configuration of a grid (or a seeded sample), for one or more networks,
through the batched C++ API, streamed in chunks to Parquet or CSV, resumable, optionally on a Dask cluster.

>>> space = load_space("edgetpu-space")                     # the template's published 50,000-point space
>>> df = sweep("mobilenetv2_100", space, where="pe_x * pe_y <= 16", sample=500, seed=0)
>>> summary = sweep(["mobilenetv2_100", "resnet18"], space, out="runs/sweep")   # Parquet dataset, resumable

Vocabulary. A *space* (:class:`SweepSpace`) is a base hardware configuration (a preset, with some fields fixed)
and, per swept field, a tuple of values; configuration ``i`` is the ``i``-th element of the Cartesian product
in C order (the last field varies fastest, as :func:`itertools.product`), so ``config_id`` names a
configuration for good. A *plan* is the ordered list of configuration ids to evaluate: every id that satisfies
``where`` (a safe expression over the configuration's fields, see :func:`compile_where`), or a sample of
``sample`` of them drawn without replacement with ``seed`` (sorted). The plan is cut into *chunks* of
``chunk_size`` ids; chunk ``k`` is evaluated for every network by one :func:`codesign.evaluate_batch` call each
and written as one unit:

* Parquet (the default; ``out`` a directory): one file ``part-000042.parquet`` per chunk, written to a hidden
  temporary name and renamed, so a killed sweep never leaves half a chunk; ``_sweep.json`` holds the sweep's
  specification, ``_chunks.jsonl`` each chunk's row count and SHA-256, ``_pareto.csv`` the Pareto-optimal rows.
  :func:`read_sweep` reads the chunks listed (``pandas.read_parquet(out)`` reads every file).
* CSV (``out`` ending in ``.csv``): one file; chunks are appended in plan order, and after each the journal
  ``OUT.sweep.json`` records the chunks done, the rows, the file's length and its SHA-256, so a resumed sweep
  cuts off a partly written chunk and goes on with the next one.

:mod:`codesign.sweep_store` writes and checks these files: a resume refuses a damaged or changed chunk and a
chunk file it did not write, naming the file.

``resume=True`` continues a sweep in ``out`` with the same specification (networks, space, where, sample,
seed, chunk size, mapper): finished chunks are not recomputed and no row is written twice. The result equals
the uninterrupted run's.

Row schema: ``config_id`` (int), ``network`` (str), one column per swept field, ``ok`` (bool: every layer
could be evaluated), ``reason`` ("" or why not), then the metrics: for the Edge-TPU-like template
``latency_ms, energy_mj, area_mm2, edp_mj_ms, cycles, utilization, dram_bytes, streamed_params_bytes,
memory_bound_layers, peak_tops``; for systolic arrays ``latency_ms, area_mm2, cycles, stall_cycles,
compute_utilization, dram_bytes, peak_tops``. Metrics of a failed configuration are NaN (its ``area_mm2`` and
``peak_tops`` stay: they do not depend on the network).

Memory stays flat: only ``chunk_size`` configurations (and, with Dask, a few chunks in flight) are held at a
time, plus the running Pareto front.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .datafile import read_document
from .where import compile_where
from .runlock import holds_run_lock
from .sweep_store import MANIFEST_VERSION, CsvStore, ParquetStore, read_parquet_dir

__all__ = [
    "SweepSpace",
    "SweepSummary",
    "BUILTIN_SPACES",
    "load_space",
    "compile_where",
    "plan_size",
    "sweep",
    "read_sweep",
    "pareto_mask",
    "pareto_front",
    "ParetoFront",
    "EDGETPU_METRICS",
    "SYSTOLIC_METRICS",
]

#: Metric columns of a sweep over Edge-TPU-like configurations, and of one over systolic arrays.
EDGETPU_METRICS = ("latency_ms", "energy_mj", "area_mm2", "edp_mj_ms", "cycles", "utilization", "dram_bytes",
                   "streamed_params_bytes", "memory_bound_layers", "peak_tops")
SYSTOLIC_METRICS = ("latency_ms", "area_mm2", "cycles", "stall_cycles", "compute_utilization", "dram_bytes",
                    "peak_tops")
#: Pareto objectives (all minimised) used when none are given.
DEFAULT_OBJECTIVES = {"edgetpu": ("latency_ms", "energy_mj", "area_mm2"), "systolic": ("latency_ms", "area_mm2")}


# ============================================================================================================
# Spaces
# ============================================================================================================
def _hw_kind(hw: Any) -> str:
    name = type(hw).__name__
    if name == "EdgeTpuConfig":
        return "edgetpu"
    if name == "SystolicArray":
        return "systolic"
    raise TypeError(f"base must be a codesign.EdgeTpuConfig or codesign.SystolicArray, got {name}")


def _settable_fields(hw: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(hw) if f.init and f.name not in ("name", "technology"))


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.str_):
        return str(v)
    return v


@dataclass(frozen=True)
class SweepSpace:
    """A grid of hardware configurations: ``base`` with each field in ``grid`` taking each of its values.

    Attributes:
        name: a label (used in configuration names and reports).
        base: a :class:`~codesign.hardware.EdgeTpuConfig` or :class:`~codesign.hardware.SystolicArray`; fields
            not swept keep the base's values.
        grid: ``{field: (value, ...)}``, in sweep order (the last field varies fastest).

    Raises:
        TypeError, ValueError: an unknown field, an empty or duplicated value list, or a value the hardware
        class rejects (the message names the field and the value).
    """

    name: str
    base: Any
    grid: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = _hw_kind(self.base)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"space name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.grid, dict) or not self.grid:
            raise ValueError(f"space {self.name!r}: grid must map at least one field to its values")
        known = _settable_fields(self.base)
        grid: dict[str, tuple] = {}
        for key, values in self.grid.items():
            if key not in known:
                raise ValueError(f"space {self.name!r}: unknown {kind} field {key!r}; fields: {', '.join(known)}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise ValueError(f"space {self.name!r}: {key} must be a list of values, got {values!r}")
            vals = tuple(_plain(v) for v in values)
            if not vals:
                raise ValueError(f"space {self.name!r}: {key} has no values")
            if len(set(vals)) != len(vals):
                dup = next(v for v in vals if vals.count(v) > 1)
                raise ValueError(f"space {self.name!r}: {key} lists the value {dup!r} twice")
            kinds = {type(v) for v in vals}
            if kinds - {int, float, str}:
                raise ValueError(f"space {self.name!r}: {key} values must be numbers or strings, got {vals!r}")
            if str in kinds and len(kinds) > 1:
                raise ValueError(f"space {self.name!r}: {key} mixes strings and numbers: {vals!r}")
            for v in vals:  # each value alone must be acceptable to the hardware class
                try:
                    self.base.replace(**{key: v})
                except (TypeError, ValueError) as exc:
                    first = str(exc).splitlines()[0]
                    if "too small" in first or "must hold" in first:
                        continue  # depends on other fields (SRAM vs array edge): judged per configuration
                    raise ValueError(f"space {self.name!r}: {key}={v!r} is invalid: {first}") from None
            grid[key] = vals
        size = math.prod(len(v) for v in grid.values())
        if size >= 1 << 62:
            raise ValueError(f"space {self.name!r} has {size:.3g} configurations; at most 2^62 can be numbered")
        object.__setattr__(self, "grid", grid)

    # -- size and decoding ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"edgetpu"`` or ``"systolic"``."""
        return _hw_kind(self.base)

    @property
    def fields(self) -> tuple[str, ...]:
        """The swept fields, in sweep order."""
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def size(self) -> int:
        """Number of configurations (the product of the value counts)."""
        return math.prod(self.shape)

    def __len__(self) -> int:
        return self.size

    def _column(self, key: str) -> np.ndarray:
        vals = self.grid[key]
        if all(isinstance(v, str) for v in vals):
            return np.asarray(vals, dtype=object)
        if all(isinstance(v, int) for v in vals):
            return np.asarray(vals, dtype=np.int64)
        return np.asarray(vals, dtype=np.float64)

    def decode(self, ids: Any) -> dict[str, np.ndarray]:
        """``{field: values}`` of configurations ``ids`` (int array), one array per swept field."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            bad = int(ids[(ids < 0) | (ids >= self.size)][0])
            raise ValueError(f"config_id {bad} is outside space {self.name!r} (0..{self.size - 1})")
        pos = np.unravel_index(ids, self.shape) if ids.size else [np.zeros(0, np.int64)] * len(self.grid)
        return {k: self._column(k)[p] for k, p in zip(self.grid, pos)}

    def constants(self) -> dict[str, Any]:
        """The base's fields that are not swept (the where-expression sees them as constants)."""
        return {k: getattr(self.base, k) for k in _settable_fields(self.base) if k not in self.grid}

    def config(self, config_id: int) -> Any:
        """The hardware configuration ``config_id`` (validated; may raise ValueError for a combination the
        hardware class rejects, e.g. an SRAM smaller than two array rows)."""
        vals = {k: _plain(v[0]) for k, v in self.decode([int(config_id)]).items()}
        return self.base.replace(name=f"{self.name}#{int(config_id)}", **vals)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (enough to rebuild the space: :meth:`from_dict`)."""
        base = self.base.to_dict()
        base.pop("name", None)
        return {"name": self.name, "kind": self.kind, "base_name": self.base.name, "base": base,
                "grid": {k: list(v) for k, v in self.grid.items()}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "SweepSpace":
        return _space_from_doc(doc, where=f"space {doc.get('name', '?')!r}")


def _published_edgetpu_space() -> SweepSpace:
    from . import hardware

    return SweepSpace(
        "edgetpu-space", hardware.preset("edgetpu-baseline"),
        {"pe_x": (1, 2, 4, 6, 8), "pe_y": (1, 2, 4, 6, 8), "simd": (16, 32, 64, 128), "lanes": (1, 2, 4, 8),
         "pe_mem_kib": (512.0, 1024.0, 2048.0, 3072.0, 4096.0), "core_mem_kib": (8.0, 16.0, 32.0, 64.0, 128.0),
         "io_bw_gbps": (5.0, 10.0, 15.0, 20.0, 25.0)})


def _systolic_space() -> SweepSpace:
    from . import hardware

    kib = (32.0, 64.0, 128.0, 256.0, 512.0)
    return SweepSpace(
        "systolic-space", hardware.preset("systolic"),
        {"rows": (8, 16, 32, 64, 128), "cols": (8, 16, 32, 64, 128), "dataflow": ("os", "ws", "is"),
         "ifmap_sram_kib": kib, "filter_sram_kib": kib, "ofmap_sram_kib": kib,
         "dram_bw_words_per_cycle": (4.0, 8.0, 16.0, 32.0)})


#: Built-in spaces: ``edgetpu-space`` is the Edge-TPU-like template's published hardware space (FACTS.md:
#: 5 x 5 PEs, 4 SIMD widths, 4 lane counts, 5 PE memories, 5 core memories, 5 I/O bandwidths = 50,000
#: configurations) around the ``edgetpu-baseline`` preset; ``systolic-space`` is the spine search's
#: systolic-array space (37,500 arrays) around the ``systolic`` preset.
BUILTIN_SPACES: dict[str, Callable[[], SweepSpace]] = {
    "edgetpu-space": _published_edgetpu_space,
    "systolic-space": _systolic_space,
}


def _expand_values(key: str, spec: Any, where: str) -> list[Any]:
    """A value list from a YAML/TOML entry: a list, or ``{start, stop, step}`` (stop included), or
    ``{values: [...]}``, or a single scalar."""
    if isinstance(spec, dict):
        if set(spec) == {"values"}:
            return _expand_values(key, spec["values"], where)
        extra = set(spec) - {"start", "stop", "step"}
        if extra or not {"start", "stop"} <= set(spec):
            raise ValueError(f"{where}: {key} must be a list or {{start, stop, step}}, got {spec!r}")
        start, stop, step = spec["start"], spec["stop"], spec.get("step", 1)
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{where}: {key}.{name} must be a number, got {v!r}")
        if step <= 0 or stop < start:
            raise ValueError(f"{where}: {key} needs step > 0 and stop >= start, got {spec!r}")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > 1_000_000:
            raise ValueError(f"{where}: {key} expands to {n} values; at most 1,000,000 per field")
        if all(isinstance(v, int) for v in (start, stop, step)):
            return [start + i * step for i in range(n)]
        return [float(start + i * step) for i in range(n)]
    if isinstance(spec, (list, tuple)):
        out = []
        for v in spec:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ValueError(f"{where}: {key} values must be numbers or strings, got {v!r}")
            out.append(v)
        return out
    if isinstance(spec, (int, float, str)) and not isinstance(spec, bool):
        return [spec]
    raise ValueError(f"{where}: {key} must be a list of values, got {spec!r}")


def _space_from_doc(doc: Any, where: str) -> SweepSpace:
    from . import hardware

    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected a mapping with 'base' and 'grid', got {type(doc).__name__}")
    unknown = set(doc) - {"name", "base", "fixed", "grid", "kind", "base_name"}
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; keys: name, base, fixed, grid")
    base_spec = doc.get("base_name") if isinstance(doc.get("base"), dict) else doc.get("base")
    if base_spec is None:
        raise ValueError(f"{where}: missing 'base' (a hardware preset name, e.g. edgetpu-baseline or systolic)")
    try:
        base = hardware.preset(str(base_spec))
    except ValueError as exc:
        raise ValueError(f"{where}: base: {exc}") from None
    fixed = dict(doc.get("base") or {}) if isinstance(doc.get("base"), dict) else {}
    fixed.pop("technology", None)
    fixed.update(doc.get("fixed") or {})
    if not isinstance(fixed, dict):
        raise ValueError(f"{where}: 'fixed' must be a mapping of field: value")
    known = _settable_fields(base)
    for k, v in fixed.items():
        if k not in known:
            raise ValueError(f"{where}: fixed: unknown {_hw_kind(base)} field {k!r}; fields: {', '.join(known)}")
    try:
        base = base.replace(**fixed) if fixed else base
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: fixed: {str(exc).splitlines()[0]}") from None
    grid_doc = doc.get("grid")
    if not isinstance(grid_doc, dict) or not grid_doc:
        raise ValueError(f"{where}: 'grid' must map at least one field to a list of values")
    grid = {str(k): tuple(_expand_values(str(k), v, where)) for k, v in grid_doc.items()}
    name = str(doc.get("name") or os.path.splitext(os.path.basename(where))[0] or "space")
    try:
        return SweepSpace(name, base, grid)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_space(spec: Any) -> SweepSpace:
    """A :class:`SweepSpace` from a built-in name (:data:`BUILTIN_SPACES`), a YAML/TOML/JSON file, or a dict.

    File format (YAML shown; TOML and JSON hold the same keys)::

        name: small-edgetpu            # optional (default: the file name)
        base: edgetpu-baseline         # a hardware preset
        fixed: {io_bw_gbps: 20}        # optional: base fields changed but not swept
        grid:                          # swept fields, in order (the last varies fastest)
          pe_x: [1, 2, 4]
          simd: [32, 64]
          pe_mem_kib: {start: 512, stop: 2048, step: 512}   # stop included

    Raises:
        ValueError: unknown name, missing file, malformed file, unknown field or bad value (named).
    """
    if isinstance(spec, SweepSpace):
        return spec
    if isinstance(spec, dict):
        return _space_from_doc(spec, where="space")
    text = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if not isinstance(text, str):
        raise TypeError(f"space must be a name, a file path, a dict or a SweepSpace, got {type(spec).__name__}")
    if text in BUILTIN_SPACES:
        return BUILTIN_SPACES[text]()
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ValueError(f"unknown space {text!r}: give {', '.join(BUILTIN_SPACES)} or a .yaml/.toml/.json file")
    if not os.path.isfile(text):
        raise ValueError(f"space file {text!r} not found")
    doc = read_document(text)
    if isinstance(doc, dict) and ({"network", "hardware"} & set(doc)) and "grid" not in doc:
        raise ValueError(f"{text}: this is a search space file ([network]/[hardware], for codesign search); "
                         "codesign sweep takes a sweep space file with base and grid (see README, 'Space files')")
    space = _space_from_doc(doc, where=text)
    if not doc.get("name"):
        space = SweepSpace(os.path.splitext(os.path.basename(text))[0], space.base, space.grid)
    return space


# ============================================================================================================
# Plans: which configurations, in which chunks
# ============================================================================================================
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
        for block in _filtered_blocks(self.space, keep):
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
              chunk_size: int = 1024) -> _Plan:
    """The plan of a sweep (validates ``where``, ``sample``, ``seed`` and ``chunk_size``)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"--chunk-size must be an int >= 1, got {chunk_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"--seed must be an int >= 0, got {seed!r}")
    keep = _predicate(space, where)
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
            raise ValueError(f"--sample must be an int >= 1, got {sample!r}")
        ids = _sample_ids(space, keep, int(sample), int(seed))
        return _Plan(space, where, int(sample), int(seed), int(chunk_size), int(ids.size), ids)
    total = space.size if keep is None else sum(int(b.size) for b in _filtered_blocks(space, keep))
    if total == 0:
        raise ValueError(f"--where {where!r} keeps none of the {space.size:,} configurations of {space.name!r}")
    return _Plan(space, where, None, int(seed), int(chunk_size), total)


def plan_size(space: Any, *, where: str | None = None, sample: int | None = None, seed: int = 0) -> int:
    """Number of configurations a sweep would evaluate."""
    return make_plan(load_space(space), where=where, sample=sample, seed=seed).total


# ============================================================================================================
# Evaluating a chunk (also what a Dask worker runs)
# ============================================================================================================
def _column_dtype(space: SweepSpace, key: str) -> Any:
    return space._column(key).dtype


def evaluate_chunk(space: SweepSpace, networks: Sequence[Any], ids: np.ndarray, *, mapper: Any = None,
                   threads: int = 0) -> Any:
    """Rows (a pandas DataFrame, schema in the module docstring) of configurations ``ids`` for every network:
    one :func:`codesign.evaluate_batch` call per network. Configurations the hardware class rejects are rows
    with ``ok=False`` and the reason; they are not evaluated."""
    import pandas as pd

    from .cost import evaluate_batch

    ids = np.asarray(ids, dtype=np.int64)
    values = space.decode(ids)
    hws: list[Any] = []
    built: list[int] = []
    bad: dict[int, str] = {}
    cols = list(values)
    # Configurations built column-wise: each column converted to Python values once (tolist), the base's other
    # fields gathered once; each object is then one constructor call (dataclasses.replace, minus its per-call
    # field scan), validated as ever.
    make = type(space.base)
    fixed = {f.name: getattr(space.base, f.name) for f in dataclasses.fields(space.base) if f.init}
    names = [f"{space.name}#{i}" for i in ids.tolist()]
    for j, row in enumerate(zip(*(values[k].tolist() for k in cols))):
        try:
            hws.append(make(**{**fixed, **dict(zip(cols, row)), "name": names[j]}))
            built.append(j)
        except (TypeError, ValueError) as exc:
            bad[j] = f"invalid configuration: {str(exc).splitlines()[0]}"
    kind = space.kind
    metrics = EDGETPU_METRICS if kind == "edgetpu" else SYSTOLIC_METRICS
    frames = []
    built_idx = np.asarray(built, dtype=np.int64)
    for wl in networks:
        n = ids.size
        m = {name: np.full(n, np.nan) for name in metrics}
        ok = np.zeros(n, dtype=bool)
        reason = np.array([bad.get(j, "") for j in range(n)], dtype=object)
        if hws:
            # sweeps read network totals only: no per-layer records
            res = evaluate_batch(wl, hws, threads=threads, mapper=mapper, totals_only=True)
            ok[built_idx] = res.ok
            reason[built_idx] = np.asarray(res.reasons(), dtype=object)
            m["latency_ms"][built_idx] = res.total("latency_ms")
            m["cycles"][built_idx] = res.total("cycles")
            m["area_mm2"][built_idx] = [h.area_mm2 for h in hws]
            m["peak_tops"][built_idx] = [h.peak_tops for h in hws]
            if kind == "edgetpu":
                m["energy_mj"][built_idx] = res.total("energy_mj")
                m["edp_mj_ms"][built_idx] = m["energy_mj"][built_idx] * m["latency_ms"][built_idx]
                m["utilization"][built_idx] = res.total("utilization")
                m["dram_bytes"][built_idx] = res.total("dram_bytes")
                m["streamed_params_bytes"][built_idx] = res.total("streamed_params_bytes")
                m["memory_bound_layers"][built_idx] = res.total("memory_bound_layers")
            else:
                m["stall_cycles"][built_idx] = res.total("stall_cycles")
                sf = res.total("stall_free_cycles")
                macs = res.total("macs")
                pes = np.array([h.pes for h in hws], dtype=np.float64)
                with np.errstate(all="ignore"):
                    m["compute_utilization"][built_idx] = np.where(sf > 0, macs / (sf * pes), 0.0)
                wb = np.array([h.word_bytes for h in hws], dtype=np.float64)
                dram = sum(res.total(f) for f in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes",
                                                  "ofmap_dram_reads"))
                m["dram_bytes"][built_idx] = dram * wb
        data: dict[str, Any] = {"config_id": ids, "network": np.full(n, wl.name, dtype=object)}
        for k in cols:
            data[k] = values[k]
        data["ok"] = ok
        data["reason"] = reason
        data.update(m)
        frames.append(pd.DataFrame(data))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for k in cols:
        if _column_dtype(space, k) == object:
            df[k] = df[k].astype(str)
    df["network"] = df["network"].astype(str)
    df["reason"] = df["reason"].astype(str)
    return df


# ============================================================================================================
# Pareto fronts
# ============================================================================================================
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
        if front.shape[0]:
            le = (front[None, :, :] <= b[:, None, :]).all(axis=2)
            lt = (front[None, :, :] < b[:, None, :]).any(axis=2)
            alive = ~(le & lt).any(axis=1)
        else:
            alive = np.ones(b.shape[0], dtype=bool)
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


# ============================================================================================================
# Output: Parquet dataset or CSV, with resume
# ============================================================================================================
def _format_of(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"--format must be parquet or csv, got {fmt!r}")
        return fmt
    return "csv" if out.suffix.lower() == ".csv" else "parquet"


def _fingerprint(wl: Any) -> str:
    arr = np.ascontiguousarray(wl.to_array(), dtype=np.int64)
    h = hashlib.sha256(arr.tobytes())
    h.update("\0".join(layer.name for layer in wl.layers).encode())
    return h.hexdigest()[:16]


def _spec(space: SweepSpace, networks: Sequence[Any], plan: _Plan, mapper: Any, fmt: str) -> dict[str, Any]:
    mp = dataclasses.asdict(mapper) if mapper is not None else None
    if mp is not None:
        mp.pop("threads", None)
    return {"version": MANIFEST_VERSION, "format": fmt, "space": space.to_dict(),
            "networks": [{"name": wl.name, "layers": len(wl.layers), "fingerprint": _fingerprint(wl)} for wl in networks],
            "where": plan.where, "sample": plan.sample, "seed": plan.seed if plan.sample is not None else None,
            "chunk_size": plan.chunk_size, "configs": plan.total, "chunks": plan.n_chunks, "mapper": mp}


_SPEC_ORDER = ("networks", "space", "where", "sample", "seed", "chunk_size", "mapper", "format")


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The first difference between two specifications (the user-facing keys first), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b), key=lambda k: (_SPEC_ORDER.index(k) if k in _SPEC_ORDER else len(_SPEC_ORDER), k))
        for k in keys:
            d = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if a != b:
        return f"{path}: {a!r} here, {b!r} in the sweep on disk"
    return None


# ============================================================================================================
# The sweep
# ============================================================================================================
@dataclass
class SweepSummary:
    """What :func:`sweep` did when writing to ``out``.

    Attributes: out (path), format (``parquet`` or ``csv``), configs (in the plan), rows (written in all runs),
    chunks, chunks_computed (this run), chunks_skipped (done before: resumed), failed (rows with ``ok`` False,
    this run), seconds (this run, all of it), eval_seconds (this run, from the first chunk on: without loading
    networks, planning, reading back a resumed sweep or starting a cluster), configs_per_s (evaluated this run
    / eval_seconds), objectives, pareto (DataFrame of the non-dominated rows per network, over every chunk),
    pareto_path.
    """

    out: Path
    format: str
    configs: int
    rows: int
    chunks: int
    chunks_computed: int
    chunks_skipped: int
    failed: int
    seconds: float
    eval_seconds: float
    configs_per_s: float
    objectives: tuple[str, ...]
    pareto: Any
    pareto_path: Path | None = None

    def read(self, columns: list[str] | None = None) -> Any:
        """The whole result as a pandas DataFrame (loads every row)."""
        return read_sweep(self.out, columns=columns)


def _load_network(x: Any, resolution: int = 224, batch: int = 1) -> Any:
    from . import workload

    if hasattr(x, "layers") and hasattr(x, "to_array"):
        return x
    if isinstance(x, (list, tuple)) and x and all(hasattr(v, "to_row") for v in x):
        return workload.Workload("layers", x)
    if isinstance(x, os.PathLike) or (isinstance(x, str) and (x.lower().endswith(".csv") or os.sep in x)):
        path = os.fspath(x)
        if not os.path.isfile(path):
            raise ValueError(f"--network {path!r}: no such file")
        return workload.from_scalesim_csv(path)
    if not isinstance(x, str):
        raise TypeError(f"network must be a Workload, a timm model name or a SCALE-Sim CSV path, got {type(x).__name__}")
    from .workload import cache as workload_cache  # a traced timm workload is read back from disk (no torch import) when cached

    from .workload.timm_analytic import is_analytic

    if is_analytic(x):  # built from block strings in about a millisecond, without torch
        return workload_cache.from_timm(x, resolution=resolution, batch=batch)
    hit = workload_cache.load(workload_cache.entry_key(x, resolution=resolution, batch=batch))
    if hit is not None:
        return hit
    try:
        import timm  # noqa: F401
    except ImportError:
        raise ValueError(f"--network {x!r}: building timm models needs the torch extra "
                         "(pip install 'codesign[search]'); a SCALE-Sim topology CSV works without it") from None
    try:
        return workload_cache.from_timm(x, resolution=resolution, batch=batch)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise ValueError(f"--network {x!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--scheduler/--workers need dask.distributed (pip install 'dask[distributed]')") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"--scheduler {scheduler!r}: cannot connect: {exc}") from None
    cluster = LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=True,
                           dashboard_address=":0", worker_dashboard_address=None)
    return Client(cluster), cluster


def _progress(enabled: bool, total: int, done: int, label: str) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, \
        TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} configs/s" if speed else "- configs/s", no_wrap=True)

    console = Console(stderr=True)
    if not console.is_terminal:  # a pipe or a log: plain lines (the bar would draw nothing until the end)
        from .progress import PlainProgress

        prog: Any = PlainProgress(label, "configurations", min_interval_s=1.0)
    else:
        prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
    prog.start()
    prog.add_task(label, total=total, completed=done)
    return prog


# run-folder lock (codesign.runlock): one writer per --out (a folder, or for CSV the file)
@holds_run_lock("codesign sweep", folder_arg="out", file_output=lambda a: _format_of(Path(a["out"]), a["fmt"]) == "csv")
def sweep(networks: Any, space: Any = "edgetpu-space", *, where: str | None = None, sample: int | None = None,
          seed: int = 0, out: str | os.PathLike[str] | None = None, fmt: str | None = None, resume: bool = False,
          overwrite: bool = False, chunk_size: int = 1024, threads: int = 0, mapper: Any = None,
          scheduler: str | None = None, workers: int | None = None, objectives: Sequence[str] | None = None,
          progress: bool = False, resolution: int = 224, batch: int = 1,
          on_chunk: Callable[[int, int], None] | None = None) -> Any:
    """Evaluate every configuration of ``space`` that satisfies ``where`` (or a sample of them) for every network.

    Args:
        networks: a Workload, a timm model name, a SCALE-Sim topology CSV, or a list of these.
        space: a :class:`SweepSpace`, a built-in name (``edgetpu-space``, ``systolic-space``), a YAML/TOML/JSON
            file or a dict (:func:`load_space`).
        where: a filter over configuration fields (:func:`compile_where`), e.g. ``"pe_x * pe_y <= 16"``.
        sample, seed: evaluate ``sample`` configurations drawn without replacement with ``seed`` instead of all.
        out: ``None`` (return every row as a DataFrame), a directory (Parquet dataset) or a ``.csv`` file.
        fmt: ``parquet`` or ``csv`` (default: from ``out``'s suffix).
        resume: continue the sweep in ``out`` (same specification); overwrite: start afresh even if ``out``
            holds a sweep. With neither, an existing sweep in ``out`` is an error.
        chunk_size: configurations per batched call and per written chunk.
        threads: C++ threads per batched call (0 = all cores; with Dask, 1 per task unless given).
        mapper: :class:`codesign.MapperOptions` for Edge-TPU-like configurations.
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler; workers: start a LocalCluster of that many
            processes. Results are identical to the single-process run.
        objectives: Pareto objectives (minimised; default latency_ms, energy_mj, area_mm2 for Edge-TPU-like
            spaces, latency_ms, area_mm2 for systolic ones).
        progress: show a progress bar on stderr.
        resolution, batch: for timm networks.
        on_chunk: called as ``on_chunk(chunk_id, n_configs)`` after each chunk is written (tests, logging).

    Returns:
        ``out=None``: a pandas DataFrame of every row (schema in the module docstring). Otherwise a
        :class:`SweepSummary` (with the Pareto rows).

    Raises:
        ValueError: bad input (space, where, sample, chunk size, networks, an existing ``out`` without
        ``resume``/``overwrite``, a resume whose specification differs); the message names it.
    """
    import pandas as pd

    from .cost import MapperOptions

    t0 = time.perf_counter()
    space = load_space(space)
    if mapper is None:
        mapper = MapperOptions()
    elif not isinstance(mapper, MapperOptions):
        raise TypeError(f"mapper must be a codesign.MapperOptions, got {type(mapper).__name__}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"--threads must be an int >= 0, got {threads!r}")
    if scheduler and workers:
        raise ValueError("give --scheduler or --workers, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"--workers must be an int >= 1, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"--scheduler must be an address such as tcp://HOST:8786, got {scheduler!r}")
    if space.kind != "edgetpu" and dataclasses.replace(mapper, threads=0) != MapperOptions():
        raise ValueError(f"--metric, --budget, --patience and --mapper-seed choose mappings on the Edge-TPU-like "
                         f"template; {space.name} holds systolic arrays, whose dataflow fixes the mapping")
    metric_cols = EDGETPU_METRICS if space.kind == "edgetpu" else SYSTOLIC_METRICS
    objectives = tuple(objectives) if objectives else DEFAULT_OBJECTIVES[space.kind]
    for o in objectives:
        if o not in metric_cols:
            raise ValueError(f"--objectives: unknown metric {o!r} for a {space.kind} sweep; metrics: "
                             f"{', '.join(metric_cols)}")
    if len(set(objectives)) != len(objectives):
        raise ValueError(f"--objectives lists a metric twice: {', '.join(objectives)}")
    plan = make_plan(space, where=where, sample=sample, seed=seed, chunk_size=chunk_size)
    if isinstance(networks, (str, os.PathLike)) or hasattr(networks, "to_array"):
        networks = [networks]
    networks = list(networks)
    if not networks:
        raise ValueError("--network: give at least one network")
    wls = [_load_network(n, resolution, batch) for n in networks]
    names = [w.name for w in wls]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"--network {dup!r} is given twice")

    sink: ParquetStore | CsvStore | None = None
    done: set[int] = set()
    front = ParetoFront(objectives)
    if out is not None:
        out_path = Path(out)
        fmt = _format_of(out_path, fmt)
        sink = ParquetStore(out_path) if fmt == "parquet" else CsvStore(out_path)
        if fmt == "parquet" and out_path.exists() and not out_path.is_dir():
            raise ValueError(f"--out {str(out_path)!r} is a file; a Parquet sweep writes a directory "
                             "(use a .csv name for CSV)")
        spec = json.loads(json.dumps(_spec(space, wls, plan, mapper if space.kind == "edgetpu" else None, fmt)))
        if resume and overwrite:
            raise ValueError("give --resume or --overwrite, not both")
        fresh = True
        if sink.exists():
            old = sink.read_spec()
            if resume:
                if old is None:
                    raise ValueError(f"--resume: {out_path} holds no sweep journal; start it with --overwrite")
                diff = _first_difference(spec, old)
                if diff:
                    raise ValueError(f"--resume: the sweep in {out_path} has another specification ({diff})")
                fresh = False
            elif not overwrite:
                raise ValueError(f"--out {str(out_path)!r} already holds a sweep: --resume to continue it, "
                                 "--overwrite to start again")
        elif resume:
            raise ValueError(f"--resume: nothing to resume in {out_path}")
        done = sink.start(spec, fresh, plan.n_chunks)
        if done:   # the front over finished chunks, read back column-wise
            cols = ["config_id", "network", *space.fields, "ok", "reason", *metric_cols]
            for part in sink.read_chunks(done, columns=cols):
                front.update(part)
    elif resume or overwrite:
        raise ValueError("--resume/--overwrite need --out")

    todo_configs = plan.total - sum(min(plan.chunk_size, plan.total - k * plan.chunk_size) for k in done
                                    if k < plan.n_chunks)
    bar = _progress(progress, plan.total, plan.total - todo_configs, f"{space.name} x {len(wls)} network(s)")
    frames: list[Any] = []
    stats = {"configs": 0, "chunks": 0, "failed": 0}

    def consume(k: int, df: Any, n_cfg: int) -> None:
        if sink is not None:
            sink.write(k, df)
        else:
            frames.append(df)
        front.update(df)
        stats["configs"] += n_cfg
        stats["chunks"] += 1
        stats["failed"] += int((~df["ok"].to_numpy(bool)).sum())
        if bar is not None:
            bar.advance(bar.task_ids[0], n_cfg)
        if on_chunk is not None:
            on_chunk(k, n_cfg)

    client = cluster = None
    t_eval = time.perf_counter()
    try:
        todo = ((k, ids) for k, ids in plan.chunks() if k not in done)
        if scheduler or workers:
            client, cluster = _client(scheduler, workers)
            t_eval = time.perf_counter()
            _run_dask(client, space, wls, todo, mapper, threads or 1, consume)
        else:
            for k, ids in todo:
                consume(k, evaluate_chunk(space, wls, ids, mapper=mapper, threads=int(threads)), int(ids.size))
    finally:
        if bar is not None:
            bar.stop()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    now = time.perf_counter()
    seconds, eval_seconds = now - t0, now - t_eval
    pareto = front.frame
    if sink is None:
        df = pd.concat(frames, ignore_index=True) if frames else evaluate_chunk(space, wls, np.zeros(0, np.int64),
                                                                                  mapper=mapper)
        return df
    pareto_path = sink.pareto_path
    pareto.to_csv(pareto_path, index=False)
    rows = plan.total * len(wls)
    return SweepSummary(out=Path(out), format=fmt or "parquet", configs=plan.total, rows=rows, chunks=plan.n_chunks,
                        chunks_computed=stats["chunks"], chunks_skipped=len(done), failed=stats["failed"],
                        seconds=seconds, eval_seconds=eval_seconds,
                        configs_per_s=stats["configs"] / eval_seconds if eval_seconds > 0 else 0.0,
                        objectives=objectives, pareto=pareto, pareto_path=pareto_path)


def _run_dask(client: Any, space: SweepSpace, wls: list[Any], todo: Iterator[tuple[int, np.ndarray]], mapper: Any,
              threads: int, consume: Callable[[int, Any, int], None]) -> None:
    """Chunks to the cluster, a bounded number in flight; results consumed in plan order (so CSV output and
    the returned frame are in the same order as a single-process run)."""
    from collections import deque

    from dask.distributed import as_completed

    n_threads = sum(client.nthreads().values()) or 1
    window = max(2, 2 * n_threads)
    wl_futures = client.scatter(list(wls), broadcast=True)
    [space_future] = client.scatter([space], broadcast=True)
    meta: dict[Any, tuple[int, int]] = {}
    ready: dict[int, tuple[Any, int]] = {}
    order: deque[int] = deque()
    it = iter(todo)
    ac = as_completed()

    def submit_next() -> None:
        try:
            k, ids = next(it)
        except StopIteration:
            return
        fut = client.submit(evaluate_chunk, space_future, wl_futures, ids, mapper=mapper, threads=threads, pure=False)
        meta[fut] = (k, int(ids.size))
        order.append(k)
        ac.add(fut)

    for _ in range(window):
        submit_next()
    while order:
        if order[0] in ready:
            k = order.popleft()
            df, n_cfg = ready.pop(k)
            consume(k, df, n_cfg)
            submit_next()
            continue
        fut = next(ac)
        k, n_cfg = meta.pop(fut)
        ready[k] = (fut.result(), n_cfg)
        fut.release()


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


def read_sweep(out: str | os.PathLike[str], *, columns: list[str] | None = None) -> Any:
    """Every row a sweep wrote to ``out`` (a Parquet directory or a CSV file), in plan order."""
    import pandas as pd

    path = Path(out)
    if not path.exists():
        raise ValueError(f"{path}: no such sweep output")
    if path.is_dir():
        return pd.concat(read_parquet_dir(path, columns), ignore_index=True)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path, columns=columns)
        df = pd.read_csv(path, usecols=columns, keep_default_na=False, na_values=[""],
                         dtype={"reason": str, "network": str})
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a CSV results table (byte {exc.start} is not UTF-8 text)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{path}: not a results table ({first[:200]})") from None
    except Exception as exc:  # pyarrow's errors for a damaged Parquet file
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{path}: not a readable Parquet file ({first[:200]})") from None
    if "reason" in df:
        df["reason"] = df["reason"].fillna("")
    return df


class _CallableModule(types.ModuleType):
    """``codesign.sweep`` is both this module and, called, :func:`sweep`: importing the submodule binds the
    package attribute ``codesign.sweep`` to the module, so the module itself must be callable for
    ``codesign.sweep(...)`` to work whichever happens first."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
