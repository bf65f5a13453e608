"""The ``codesign evaluate`` command (``register(app)`` adds it): the per-layer cost of a network on an
accelerator, and the readers of ``--network`` and ``--hw`` that the other commands share.

Bad input is answered with one line on stderr naming the field and the value, and exit status 2.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..datafile import missing_file
from ._common import error_line
from ._common import fail as _fail
from .layer_tables import render_edgetpu, render_systolic

err = Console(stderr=True)

# Per-layer columns of the table, CSV and JSON outputs (names as in the Python API).
LAYER_COLUMNS = (
    "name", "macs", "row_folds", "col_folds", "stall_free_cycles", "stall_cycles", "cycles",
    "mapping_efficiency", "compute_utilization", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
    "ofmap_sram_reads", "ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes", "ofmap_dram_reads",
    "latency_ms",
)


class UsageError(Exception):
    """Bad user input: printed as one line, exit status 2."""


#: Largest input resolution and batch the CLI traces (shape propagation runs a real forward pass on the CPU).
MAX_RESOLUTION = 2048
MAX_BATCH = 256


def load_workload(network: str, resolution: Optional[int], batch: int, cache: bool = True) -> Any:
    """A Workload from an ONNX file, a SCALE-Sim topology CSV path or a timm model name. A timm name of
    :data:`codesign.workload.timm_analytic.ANALYTIC_MODELS` is built analytically, any other is read from the
    on-disk cache of :mod:`codesign.workload.cache`; neither imports torch or timm. ``cache`` False traces every
    timm model. ``resolution`` None: the timm model's own default input size."""
    from .. import workload as wl
    from ..workload import cache as workload_cache
    from ..workload.timm_analytic import from_timm_analytic, is_analytic

    if not network.strip():
        raise UsageError("--network must name a timm model or a SCALE-Sim topology CSV, got ''")
    if os.path.isfile(network) and (network.lower().endswith(".onnx") or _is_binary(network)):
        try:
            return wl.from_onnx(network)
        except ImportError:
            raise UsageError(f"--network {network!r}: reading ONNX needs the onnx extra "
                             "(pip install 'codesign[onnx]')") from None
    if network.lower().endswith(".csv") or os.path.sep in network or os.path.isfile(network):
        if os.path.isdir(network):
            raise UsageError(f"--network {network!r} is a directory, not a SCALE-Sim topology CSV")
        if not os.path.isfile(network):
            raise UsageError(f"--network {network!r}: {missing_file(network)}")
        try:
            return wl.from_scalesim_csv(network)
        except UnicodeDecodeError:
            raise UsageError(f"--network {network!r}: not a text (SCALE-Sim topology CSV) file") from None
    if cache and is_analytic(network):  # a named EfficientNet-family model: built from facts, no torch
        return from_timm_analytic(network, resolution=resolution, batch=batch)
    hit = workload_cache.load(workload_cache.entry_key(network, resolution=resolution, batch=batch)) if cache else None
    if hit is not None:
        return hit
    try:
        import timm  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--network {network!r}: building timm models needs the torch extra "
            "(pip install 'codesign[search]'); a SCALE-Sim topology CSV works without it"
        ) from None
    try:
        return workload_cache.from_timm(network, resolution=resolution, batch=batch, cache=cache)
    except (RuntimeError, MemoryError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--network {network!r} at --resolution {resolution}, --batch {batch}: the model's forward "
                         f"pass failed ({first[:200]})") from None


def _is_binary(path: str) -> bool:
    """True when a file's first 4 KiB are not text (an ONNX protobuf, not a CSV)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not just a multi-byte character cut at the end
    return b"\x00" in head


SYSTOLIC_OPTIONS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "dram_bw_words_per_cycle")
EDGETPU_OPTIONS = ("pe_x", "pe_y", "lanes", "simd", "core_mem_kib", "pe_mem_kib", "global_mem_kib", "io_bw_gbps", "data_type")


def load_hardware(hw: str, overrides: dict[str, Any]) -> Any:
    """A SystolicArray or EdgeTpuConfig from a preset name or a SCALE-Sim .cfg path, with CLI overrides."""
    from .. import hardware

    if hw.lower().endswith(".cfg") or os.path.sep in hw:
        if not os.path.isfile(hw):
            raise UsageError(f"--hw {hw!r}: {missing_file(hw)}")
        try:
            base = hardware.from_scalesim_cfg(hw)
        except UnicodeDecodeError:
            raise UsageError(f"--hw {hw!r}: not a text (SCALE-Sim .cfg) file") from None
    else:
        base = hardware.preset(hw)
    changes = {k: v for k, v in overrides.items() if v is not None}
    own = EDGETPU_OPTIONS if isinstance(base, hardware.EdgeTpuConfig) else SYSTOLIC_OPTIONS
    other = [k for k in changes if k not in own and k != "clock_mhz"]
    if other:
        flag = "--" + other[0].replace("_", "-").replace("dram-bw-words-per-cycle", "bandwidth")
        raise UsageError(f"{flag} does not apply to --hw {hw} ({type(base).__name__})")
    return base.replace(**changes) if changes else base


EDGETPU_COLUMNS = (
    "name", "macs", "ops", "cycles", "compute_cycles", "vector_cycles", "io_cycles", "fill_cycles", "overhead_cycles",
    "utilization", "bound", "energy_pj", "mac_pj", "core_w_pj", "pe_i_pj", "pe_o_pj", "onchip_w_pj", "dram_w_pj",
    "dram_i_pj", "dram_o_pj", "leak_pj", "dram_w_bytes", "dram_i_bytes", "dram_o_bytes", "weights_cached", "mapping",
    "latency_ms",
)


def cost_records(cost: Any) -> list[dict[str, Any]]:
    cols = LAYER_COLUMNS if type(cost).__name__ == "NetworkCost" else EDGETPU_COLUMNS
    return [{c: rec[c] for c in cols} for rec in cost.layers]


def segments_record(seg: Any, n_layers: int) -> dict[str, Any]:
    """The JSON record of a segmented network (codesign.edgetpu_deploy.Segmented)."""
    ends = list(seg.starts[1:]) + [n_layers]
    parts = [{"layers": [s, e], "latency_ms": c.totals["latency_ms"],
              "cached_params_bytes": c.totals["cached_params_bytes"],
              "streamed_params_bytes": c.totals["streamed_params_bytes"]}
             for s, e, c in zip(seg.starts, ends, seg.costs)]
    return {"num_segments": len(parts), "latency_ms": seg.latency_ms, "throughput_ips": seg.throughput_ips,
            "segments": parts}


def segments_text(seg: Any, n_layers: int) -> str:
    """Lines that show a segmented network's split: per segment its layers, ms and cached / streamed bytes."""
    rec = segments_record(seg, n_layers)
    lines = [f"segmented over {rec['num_segments']} Edge TPUs: {rec['latency_ms']:.3f} ms per inference, "
             f"{rec['throughput_ips']:.1f} inferences/s pipelined"]
    for i, p in enumerate(rec["segments"]):
        lines.append(f"  segment {i}: layers {p['layers'][0]}..{p['layers'][1] - 1}, {p['latency_ms']:.3f} ms, "
                     f"cached {p['cached_params_bytes']:,.0f} B, streamed {p['streamed_params_bytes']:,.0f} B")
    return "\n".join(lines)


def evaluate(
    network: str = typer.Option("mobilenetv2_100", "--network", "-n", help="timm model name, SCALE-Sim topology CSV or ONNX file"),
    hw: str = typer.Option("systolic", "--hw", help="hardware preset (systolic arrays: systolic, google = "
                           "tpu-v1-systolic, scale, tiny8x8, eyeriss-systolic; Edge-TPU-like template: edgetpu, "
                           "edgetpu-devboard, edgetpu-eagle-rig, edgetpu-baseline, tpu-v1-template, "
                           "eyeriss-template) or a SCALE-Sim .cfg"),
    rows: Optional[int] = typer.Option(None, help="PE rows (override)"),
    cols: Optional[int] = typer.Option(None, help="PE columns (override)"),
    dataflow: Optional[str] = typer.Option(None, help="os, ws or is (override)"),
    ifmap_sram_kib: Optional[float] = typer.Option(None, help="ifmap SRAM KiB (override)"),
    filter_sram_kib: Optional[float] = typer.Option(None, help="filter SRAM KiB (override)"),
    ofmap_sram_kib: Optional[float] = typer.Option(None, help="ofmap SRAM KiB (override)"),
    bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="DRAM words per cycle (override)"),
    clock_mhz: Optional[float] = typer.Option(None, help="clock in MHz, for latency_ms (override)"),
    pe_x: Optional[int] = typer.Option(None, help="Edge-TPU template: PEs in x (override)"),
    pe_y: Optional[int] = typer.Option(None, help="Edge-TPU template: PEs in y (override)"),
    lanes: Optional[int] = typer.Option(None, help="Edge-TPU template: compute lanes per PE (override)"),
    simd: Optional[int] = typer.Option(None, help="Edge-TPU template: SIMD units per lane (override)"),
    core_mem_kib: Optional[float] = typer.Option(None, help="Edge-TPU template: core memory per PE, KiB"),
    pe_mem_kib: Optional[float] = typer.Option(None, help="Edge-TPU template: PE memory per PE, KiB"),
    global_mem_kib: Optional[float] = typer.Option(None, help="Edge-TPU template: shared global memory, KiB"),
    io_bw_gbps: Optional[float] = typer.Option(None, help="Edge-TPU template: I/O (DRAM/host) bandwidth, GB/s"),
    data_type: Optional[str] = typer.Option(None, help="Edge-TPU template: int8, bf16 or fp32"),
    metric: str = typer.Option("latency", help="mapper metric: latency, energy or edp"),
    budget: int = typer.Option(0, help="mapper: most mappings per layer (0 = whole map space)"),
    seed: int = typer.Option(0, help="mapper: sampling seed"),
    resolution: Optional[int] = typer.Option(None, help="input resolution for timm networks (px); default: the "
                                                        "model's own (pretrained_cfg input_size)"),
    batch: int = typer.Option(1, help="batch size N for timm networks"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    wide: bool = typer.Option(False, "--wide", help="table: every column, full numbers (default: the columns that "
                              "fit the width, 80 in a pipe, numbers shortened)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write the table, csv or json here instead "
                                          "of stdout (missing folders are made)"),
    num_segments: int = typer.Option(1, "--num-segments", help="Edge-TPU template: also cost the network "
                                     "segmented over N devices (edgetpu_compiler --num_segments): per-segment ms, "
                                     "per-inference latency and pipelined throughput"),
    no_cache: bool = typer.Option(False, "--no-cache", help="trace the timm network through torch, ignoring the analytic models and the workload "
                                  "cache ($CODESIGN_CACHE_DIR or ~/.cache/codesign)"),
) -> None:
    """Per-layer cost of a network on an accelerator: folds, cycles, utilization, SRAM/DRAM traffic, latency."""
    try:
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format must be table, csv or json, got {fmt!r}")
        for name, value, top in (("--resolution", resolution, MAX_RESOLUTION), ("--batch", batch, MAX_BATCH)):
            if value is not None and not 1 <= value <= top:
                raise UsageError(f"{name} must be between 1 and {top}, got {value}")
        if not 0 <= seed < 2**63:
            raise UsageError(f"--seed must be between 0 and 2**63 - 1, got {seed}")
        hardware = load_hardware(hw, dict(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kib=ifmap_sram_kib,
                                          filter_sram_kib=filter_sram_kib, ofmap_sram_kib=ofmap_sram_kib,
                                          dram_bw_words_per_cycle=bandwidth, clock_mhz=clock_mhz, pe_x=pe_x, pe_y=pe_y,
                                          lanes=lanes, simd=simd, core_mem_kib=core_mem_kib, pe_mem_kib=pe_mem_kib,
                                          global_mem_kib=global_mem_kib, io_bw_gbps=io_bw_gbps, data_type=data_type))
        from ..cost import MapperOptions
        from ..cost import evaluate as run

        if type(hardware).__name__ == "SystolicArray" and (metric != "latency" or budget != 0 or seed != 0):
            given = ", ".join(f"{o} {v}" for o, v, default in (("--metric", metric, "latency"), ("--budget", budget, 0),
                                                               ("--seed", seed, 0)) if v != default)
            raise UsageError(f"--metric, --budget and --seed choose mappings on the Edge-TPU template; {hw!r} is a "
                             f"systolic array, whose dataflow fixes the mapping (got {given})")
        mapper = MapperOptions(metric=metric, budget=budget, seed=seed)
        if not 1 <= num_segments <= 64:
            raise UsageError(f"--num-segments must be between 1 and 64, got {num_segments}")
        workload = load_workload(network, resolution, batch, cache=not no_cache)
        cost = run(workload, hardware, mapper=mapper)
        segments = None
        if num_segments != 1:
            if type(hardware).__name__ != "EdgeTpuConfig":
                raise UsageError(f"--num-segments splits a network over Edge TPUs; {hw!r} is a systolic array")
            from ..edgetpu_deploy import segment

            segments = segment(workload, hardware, num_segments, mapper=mapper)
    except (UsageError, ValueError, TypeError, OSError) as exc:
        _fail(error_line(exc))
        return
    if output is not None:
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)  # one policy: missing output folders are made
        except OSError as exc:
            _fail(f"--output {str(output)!r}: cannot make its folder ({exc.strerror or exc})")
    if fmt == "table":
        try:
            sink = open(output, "w", encoding="utf-8") if output is not None else None
        except OSError as exc:
            _fail(f"--output {str(output)!r}: cannot write ({exc.strerror or exc})")
            return
        # a terminal: its width; a pipe or a file: rich's 80 columns (--wide: every column, any width)
        console = Console(file=sink, width=100_000 if wide else None)
        render = render_systolic if type(cost).__name__ == "NetworkCost" else render_edgetpu
        shape = getattr(workload, "input_shape", None)  # the input the layers were traced with, when known
        shown = f"{workload.name} (input {'x'.join(map(str, shape))})" if shape else workload.name
        if render is render_systolic:
            title = (f"{shown} on {hardware.name}: {hardware.rows}x{hardware.cols} {hardware.dataflow}, "
                     f"{hardware.clock_mhz:g} MHz")
        else:
            title = (f"{shown} on {hardware.name}: {hardware.pe_x}x{hardware.pe_y} PEs x {hardware.lanes} "
                     f"lanes x {hardware.simd} SIMD, {hardware.clock_mhz:g} MHz, {hardware.data_type}; mapper "
                     f"metric {metric}")
        render(cost, title, console, wide=wide)
        if segments is not None:
            console.print(segments_text(segments, len(workload.layers)))
        if sink is not None:
            sink.close()
            err.print(f"wrote {escape(str(output))}")
        return
    records = cost_records(cost)
    if fmt == "json":
        doc = {"network": workload.name, "hw": hardware.to_dict(), "layers": records, "totals": dict(cost.totals)}
        if segments is not None:
            doc["segments"] = segments_record(segments, len(workload.layers))
        try:
            text = json.dumps(doc, indent=1, allow_nan=False)
        except ValueError:
            _fail("the result holds an infinite or NaN value (check --clock-mhz and bandwidths); refusing to write invalid JSON")
            return
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(records[0]) if records else list(LAYER_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        text = buf.getvalue()
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            Path(output).write_text(text)
        except OSError as exc:
            _fail(f"--output {str(output)!r}: cannot write ({exc.strerror or exc})")
            return
        err.print(f"wrote {escape(str(output))}")


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to ``app``."""
    app.command("evaluate")(evaluate)
