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
``sample`` of them drawn without replacement with ``seed``, visited in the plan's order
(:mod:`codesign.sweep_plan`: ascending ids, or, for Edge-TPU-like spaces that sweep ``pe_x`` and ``pe_y``, a grid
beside its transpose, whose mapping the mapper mirrors instead of searching again). The plan is cut into *chunks* of
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
import os
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from .runlock import holds_run_lock
from .sweep_pareto import DEFAULT_OBJECTIVES, ParetoFront, pareto_front, pareto_mask
from .sweep_plan import _Plan, make_plan, plan_size
from .sweep_space import BUILTIN_SPACES, SweepSpace, load_space
from .sweep_store import MANIFEST_VERSION, CsvStore, ParquetStore, read_parquet_dir
from .where import compile_where

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


# ============================================================================================================
# Evaluating a chunk (also what a Dask worker runs)
# ============================================================================================================
def _column_dtype(space: SweepSpace, key: str) -> Any:
    return space._column(key).dtype


class _ChunkConfigs(NamedTuple):
    """A chunk's configurations: ``built`` (indices of the valid ones), ``bad`` ({index: reason}), their areas and
    peak TOPS (in ``built`` order), ``hws`` (the objects, systolic only) and ``run(network)``, the batched call."""

    hws: list[Any] | None
    built: np.ndarray
    bad: dict[int, str]
    area_mm2: Any
    peak_tops: Any
    run: Callable[[Any], Any]


def _edgetpu_configs(space: SweepSpace, values: dict[str, np.ndarray], names: list[str], mapper: Any,
                     threads: int) -> _ChunkConfigs:
    """A chunk's Edge-TPU-like configurations as one block of rows (:mod:`codesign.hardware_block`: no object
    per configuration; identical rows), and the call that evaluates a network on its valid ones."""
    from .edgetpu_cost import evaluate_block
    from .hardware_block import edgetpu_block

    block = edgetpu_block(space.base, values, names)
    built = np.flatnonzero(block.ok)
    bad = {j: f"invalid configuration: {e}" for j, e in enumerate(block.errors) if e}
    return _ChunkConfigs(None, built, bad, block.area_mm2[built], block.peak_tops[built],
                         lambda wl: evaluate_block(wl, block, mapper=mapper, threads=threads, totals_only=True))


def _systolic_configs(space: SweepSpace, values: dict[str, np.ndarray], names: list[str], mapper: Any,
                      threads: int) -> _ChunkConfigs:
    """A chunk's systolic arrays, built column-wise: each column converted to Python values once (tolist), the
    base's other fields gathered once; each object is then one constructor call, validated as ever."""
    from .cost import evaluate_batch

    make = type(space.base)
    fixed = {f.name: getattr(space.base, f.name) for f in dataclasses.fields(space.base) if f.init}
    cols = list(values)
    hws: list[Any] = []
    built: list[int] = []
    bad: dict[int, str] = {}
    for j, row in enumerate(zip(*(values[k].tolist() for k in cols))):
        try:
            hws.append(make(**{**fixed, **dict(zip(cols, row)), "name": names[j]}))
            built.append(j)
        except (TypeError, ValueError) as exc:
            bad[j] = f"invalid configuration: {str(exc).splitlines()[0]}"
    return _ChunkConfigs(hws, np.asarray(built, dtype=np.int64), bad, [h.area_mm2 for h in hws],
                         [h.peak_tops for h in hws],
                         lambda wl: evaluate_batch(wl, hws, threads=threads, mapper=mapper, totals_only=True))


def evaluate_chunk(space: SweepSpace, networks: Sequence[Any], ids: np.ndarray, *, mapper: Any = None,
                   threads: int = 0) -> Any:
    """Rows (a pandas DataFrame, schema in the module docstring) of configurations ``ids`` for every network:
    one :func:`codesign.evaluate_batch` call per network. Configurations the hardware class rejects are rows
    with ``ok=False`` and the reason; they are not evaluated."""
    import pandas as pd

    ids = np.asarray(ids, dtype=np.int64)
    values = space.decode(ids)
    cols = list(values)
    names = [f"{space.name}#{i}" for i in ids.tolist()]
    make = _edgetpu_configs if space.kind == "edgetpu" else _systolic_configs
    hws, built, bad, area, peak, run = make(space, values, names, mapper, threads)
    kind = space.kind
    metrics = EDGETPU_METRICS if kind == "edgetpu" else SYSTOLIC_METRICS
    frames = []
    for wl in networks:
        n = ids.size
        m = {name: np.full(n, np.nan) for name in metrics}
        ok = np.zeros(n, dtype=bool)
        reason = np.array([bad.get(j, "") for j in range(n)], dtype=object)
        if built.size:
            res = run(wl)  # sweeps read network totals only: no per-layer records
            ok[built] = res.ok
            reason[built] = np.asarray(res.reasons(), dtype=object)
            m["latency_ms"][built] = res.total("latency_ms")
            m["cycles"][built] = res.total("cycles")
            m["area_mm2"][built] = area
            m["peak_tops"][built] = peak
            if kind == "edgetpu":
                m["energy_mj"][built] = res.total("energy_mj")
                m["edp_mj_ms"][built] = m["energy_mj"][built] * m["latency_ms"][built]
                m["utilization"][built] = res.total("utilization")
                m["dram_bytes"][built] = res.total("dram_bytes")
                m["streamed_params_bytes"][built] = res.total("streamed_params_bytes")
                m["memory_bound_layers"][built] = res.total("memory_bound_layers")
            else:
                m["stall_cycles"][built] = res.total("stall_cycles")
                sf = res.total("stall_free_cycles")
                macs = res.total("macs")
                pes = np.array([h.pes for h in hws], dtype=np.float64)
                with np.errstate(all="ignore"):
                    m["compute_utilization"][built] = np.where(sf > 0, macs / (sf * pes), 0.0)
                wb = np.array([h.word_bytes for h in hws], dtype=np.float64)
                dram = sum(res.total(f) for f in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes",
                                                  "ofmap_dram_reads"))
                m["dram_bytes"][built] = dram * wb
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
            "chunk_size": plan.chunk_size, "order": plan.order, "configs": plan.total, "chunks": plan.n_chunks,
            "mapper": mp}


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


def _load_network(x: Any, resolution: int | None = None, batch: int = 1) -> Any:
    from . import workload

    if hasattr(x, "layers") and hasattr(x, "to_array"):
        return x
    if isinstance(x, (list, tuple)) and x and all(hasattr(v, "to_row") for v in x):
        return workload.Workload("layers", x)
    if isinstance(x, os.PathLike) or (isinstance(x, str) and (x.lower().endswith(".csv") or os.sep in x)):
        path = os.fspath(x)
        if not os.path.isfile(path):
            from .datafile import missing_file

            raise ValueError(f"--network {path!r}: {missing_file(path)}")
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
          progress: bool = False, resolution: int | None = None, batch: int = 1,
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
        resolution, batch: for timm networks (resolution None: the model's own input size, as `evaluate`).
        on_chunk: called as ``on_chunk(chunk_id, n_configs)`` after each chunk is written (tests, logging).

    Returns:
        ``out=None``: a pandas DataFrame of every row (schema in the module docstring). Otherwise a
        :class:`SweepSummary` (with the Pareto rows).

    Raises:
        ValueError: bad input (space, where, sample, chunk size, networks, an existing ``out`` without
        ``resume``/``overwrite``, a resume whose specification differs); the message names it.
    """
    import pandas as pd

    from .cost import MapperOptions, _check_threads

    t0 = time.perf_counter()
    space = load_space(space)
    if mapper is None:
        mapper = MapperOptions()
    elif not isinstance(mapper, MapperOptions):
        raise TypeError(f"mapper must be a codesign.MapperOptions, got {type(mapper).__name__}")
    _check_threads(threads, "--threads")
    if scheduler and workers:
        raise ValueError("give --scheduler or --workers, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"--workers must be an int >= 1, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"--scheduler must be an address such as tcp://HOST:8786, got {scheduler!r}")
    if space.kind != "edgetpu" and dataclasses.replace(mapper, threads=0) != MapperOptions():
        raise ValueError(f"--metric, --budget, --patience and --mapper-seed choose mappings on the Edge-TPU-like "
                         f"template; {space.name} holds systolic arrays, whose dataflow fixes the mapping")
    if out is not None and (not isinstance(out, (str, os.PathLike)) or not os.fspath(out)):
        raise ValueError(f"--out must be a file or directory path, got {out!r}")
    metric_cols = EDGETPU_METRICS if space.kind == "edgetpu" else SYSTOLIC_METRICS
    if isinstance(objectives, str):
        objectives = [objectives]
    objectives = tuple(objectives) if objectives else DEFAULT_OBJECTIVES[space.kind]
    for o in objectives:
        if o not in metric_cols:
            raise ValueError(f"--objectives: unknown metric {o!r} for {space.kind} sweeps; metrics: "
                             f"{', '.join(metric_cols)}")
    if len(set(objectives)) != len(objectives):
        raise ValueError(f"--objectives lists a metric twice: {', '.join(objectives)}")
    plan = make_plan(space, where=where, sample=sample, seed=seed, chunk_size=chunk_size)
    if isinstance(networks, (str, os.PathLike)) or hasattr(networks, "to_array"):
        networks = [networks]
    if not isinstance(networks, (list, tuple)):
        raise TypeError(f"networks must be a Workload, a timm model name, a topology CSV or a list of them, "
                        f"got {type(networks).__name__}")
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
        if fmt == "parquet" and not sink.exists() and out_path.is_dir() and any(
                not p.name.startswith(".") for p in out_path.iterdir()):  # dot files: the run lock, temporaries
            raise ValueError(f"--out {str(out_path)!r} is a directory holding other files and no sweep; give a new "
                             "or empty directory")
        fresh = True
        if sink.exists():
            old = sink.read_spec()
            if resume:
                if old is None:
                    raise ValueError(f"--resume: {out_path} holds no sweep journal; start it with --overwrite")
                if isinstance(old, dict) and "order" not in old and plan.order != "id":
                    # a journal written before plan orders existed: its chunks were cut in id order
                    plan = make_plan(space, where=where, sample=sample, seed=seed, chunk_size=chunk_size, order="id")
                    spec = json.loads(json.dumps(_spec(space, wls, plan, mapper if space.kind == "edgetpu" else None,
                                                       fmt)))
                    spec.pop("order")
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
            _run_pipelined(space, wls, todo, mapper, int(threads), consume)
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


def _run_pipelined(space: SweepSpace, wls: list[Any], todo: Iterator[tuple[int, np.ndarray]], mapper: Any,
                   threads: int, consume: Callable[[int, Any, int], None]) -> None:
    """Chunks evaluated here, each written (``consume``: Parquet/CSV, Pareto front, progress) on a worker thread
    while the next one is mapped (the C++ call releases the GIL, so the two overlap). Chunks are written in plan
    order, one at a time; a write's error (or an ``on_chunk`` callback's) is raised here before the next chunk is
    handed over. Ctrl-C reaches the mapping here at once, as in a serial loop; at most two chunks are held."""
    from concurrent.futures import Future, ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="codesign-sweep-writer") as writer:
        writing: Future[None] | None = None
        for k, ids in todo:
            df = evaluate_chunk(space, wls, ids, mapper=mapper, threads=threads)
            if writing is not None:
                writing.result()
            writing = writer.submit(consume, k, df, int(ids.size))
        if writing is not None:
            writing.result()


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
