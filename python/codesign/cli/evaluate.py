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
from rich.table import Table

from ._common import error_line
from ._common import fail as _fail
from ._common import fmt as _fmt

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


def load_workload(network: str, resolution: int, batch: int) -> Any:
    """A Workload from a SCALE-Sim topology CSV path or a timm model name."""
    from .. import workload as wl

    if not network.strip():
        raise UsageError("--network must name a timm model or a SCALE-Sim topology CSV, got ''")
    if network.lower().endswith(".csv") or os.path.sep in network or os.path.isfile(network):
        if os.path.isdir(network):
            raise UsageError(f"--network {network!r} is a directory, not a SCALE-Sim topology CSV")
        if not os.path.isfile(network):
            raise UsageError(f"--network {network!r}: no such file")
        try:
            return wl.from_scalesim_csv(network)
        except UnicodeDecodeError:
            raise UsageError(f"--network {network!r}: not a text (SCALE-Sim topology CSV) file") from None
    try:
        import timm  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--network {network!r}: building timm models needs the torch extra "
            "(pip install 'codesign[search]'); a SCALE-Sim topology CSV works without it"
        ) from None
    try:
        return wl.from_timm(network, resolution=resolution, batch=batch)
    except (RuntimeError, MemoryError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--network {network!r} at --resolution {resolution}, --batch {batch}: the model's forward "
                         f"pass failed ({first[:200]})") from None


SYSTOLIC_OPTIONS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "dram_bw_words_per_cycle")
EDGETPU_OPTIONS = ("pe_x", "pe_y", "lanes", "simd", "core_mem_kib", "pe_mem_kib", "global_mem_kib", "io_bw_gbps", "data_type")


def load_hardware(hw: str, overrides: dict[str, Any]) -> Any:
    """A SystolicArray or EdgeTpuConfig from a preset name or a SCALE-Sim .cfg path, with CLI overrides."""
    from .. import hardware

    if hw.lower().endswith(".cfg") or os.path.sep in hw:
        if not os.path.isfile(hw):
            raise UsageError(f"--hw {hw!r}: no such file")
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


def render_table(cost: Any, title: str, console: Console) -> None:
    cols = ("name", "macs", "row_folds", "col_folds", "cycles", "stall_cycles", "mapping_efficiency",
            "compute_utilization", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ifmap_dram_reads",
            "filter_dram_reads", "ofmap_dram_writes", "latency_ms")
    heads = ("layer", "MACs", "row folds", "col folds", "cycles", "stalls", "map eff", "util",
             "ifmap SRAM rd", "filter SRAM rd", "ofmap SRAM wr", "ifmap DRAM rd", "filter DRAM rd", "ofmap DRAM wr", "ms")
    table = Table(title=title, header_style="bold", show_lines=False, pad_edge=False)
    for i, h in enumerate(heads):
        # numbers fold onto a second line rather than being cut with an ellipsis when the terminal is narrow
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0, overflow="fold")
    for rec in cost.layers:
        table.add_row(*[escape(_fmt(rec[c])) for c in cols])
    console.print(table)
    t = cost.totals
    tot = Table(title="totals", show_header=False, header_style="bold")
    tot.add_column("metric")
    tot.add_column("value", justify="right")
    for key in ("layers", "macs", "stall_free_cycles", "stall_cycles", "cycles", "latency_ms", "compute_utilization",
                "overall_utilization", "mapping_efficiency", "sram_accesses", "dram_accesses", "dram_bytes"):
        tot.add_row(key, _fmt(t[key]))
    console.print(tot)


EDGETPU_COLUMNS = (
    "name", "macs", "ops", "cycles", "compute_cycles", "vector_cycles", "io_cycles", "fill_cycles", "overhead_cycles",
    "utilization", "bound", "energy_pj", "mac_pj", "core_w_pj", "pe_i_pj", "pe_o_pj", "onchip_w_pj", "dram_w_pj",
    "dram_i_pj", "dram_o_pj", "leak_pj", "dram_w_bytes", "dram_i_bytes", "dram_o_bytes", "weights_cached", "mapping",
    "latency_ms",
)


def render_edgetpu_table(cost: Any, title: str, console: Console) -> None:
    cols = ("name", "macs", "cycles", "compute_cycles", "io_cycles", "utilization", "bound", "energy_pj", "dram_w_bytes",
            "dram_i_bytes", "dram_o_bytes", "mapping", "latency_ms")
    heads = ("layer", "MACs", "cycles", "compute", "I/O", "util", "bound", "energy pJ", "DRAM W B", "DRAM I B",
             "DRAM O B", "mapping (PEx/PEy/lane/SIMD, tiles, order, lanes)", "ms")
    table = Table(title=title, header_style="bold", pad_edge=False)
    for i, h in enumerate(heads):
        table.add_column(h, justify="left" if i in (0, 6, 11) else "right", no_wrap=i == 0, overflow="fold")
    for rec in cost.layers:
        row = []
        for c in cols:
            v = rec[c]
            if c == "mapping" and not rec["macs"]:
                v = "- (vector unit)"
            elif c != "utilization" and isinstance(v, float) and v.is_integer():
                v = int(v)
            row.append(escape(_fmt(v)))
        table.add_row(*row)
    console.print(table)
    t = cost.totals
    tot = Table(title="totals", show_header=False)
    tot.add_column("metric")
    tot.add_column("value", justify="right")
    for key in ("layers", "macs", "cycles", "latency_ms", "utilization", "energy_mj", "mac_pj", "core_w_pj", "pe_i_pj",
                "pe_o_pj", "onchip_w_pj", "dram_w_pj", "dram_i_pj", "dram_o_pj", "leak_pj", "edp_mj_ms", "dram_bytes",
                "params_bytes", "cached_params_bytes", "streamed_params_bytes", "memory_bound_layers", "area_mm2"):
        v = t[key]
        tot.add_row(key, _fmt(int(v) if isinstance(v, float) and v.is_integer() and key != "utilization" else v))
    console.print(tot)


def cost_records(cost: Any) -> list[dict[str, Any]]:
    cols = LAYER_COLUMNS if type(cost).__name__ == "NetworkCost" else EDGETPU_COLUMNS
    return [{c: rec[c] for c in cols} for rec in cost.layers]


def evaluate(
    network: str = typer.Option("mobilenetv2_100", "--network", "-n", help="timm model name or SCALE-Sim topology CSV"),
    hw: str = typer.Option("systolic", "--hw", help="hardware preset (systolic, google/tpu-v1, scale, tiny8x8, eyeriss; "
                           "edgetpu, edgetpu-baseline, tpu-v1-like, eyeriss-like) or a SCALE-Sim .cfg"),
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
    resolution: int = typer.Option(224, help="input resolution for timm networks (px)"),
    batch: int = typer.Option(1, help="batch size N for timm networks"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write csv/json here instead of stdout"),
) -> None:
    """Per-layer cost of a network on an accelerator: folds, cycles, utilization, SRAM/DRAM traffic, latency."""
    try:
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format must be table, csv or json, got {fmt!r}")
        for name, value, top in (("--resolution", resolution, MAX_RESOLUTION), ("--batch", batch, MAX_BATCH)):
            if not 1 <= value <= top:
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

        if type(hardware).__name__ == "SystolicArray" and (metric != "latency" or budget != 0):
            raise UsageError(f"--metric and --budget choose mappings on the Edge-TPU template; {hw!r} is a systolic "
                             f"array, whose dataflow fixes the mapping (got --metric {metric}, --budget {budget})")
        mapper = MapperOptions(metric=metric, budget=budget, seed=seed)
        workload = load_workload(network, resolution, batch)
        cost = run(workload, hardware, mapper=mapper)
    except (UsageError, ValueError, TypeError, OSError) as exc:
        _fail(error_line(exc))
        return
    if fmt == "table":
        if output is None:
            probe = Console()  # a terminal: its own width (numbers fold); a pipe or file: wide enough for every column
            console = probe if probe.is_terminal else Console(width=160)
        else:
            try:
                console = Console(file=open(output, "w"), width=240)
            except OSError as exc:
                _fail(f"--output {str(output)!r}: cannot write ({exc.strerror or exc})")
                return
        if type(cost).__name__ == "NetworkCost":
            render_table(cost, f"{workload.name} on {hardware.name}: {hardware.rows}x{hardware.cols} {hardware.dataflow}, "
                               f"{hardware.clock_mhz:g} MHz", console)
        else:
            render_edgetpu_table(cost, f"{workload.name} on {hardware.name}: {hardware.pe_x}x{hardware.pe_y} PEs x "
                                       f"{hardware.lanes} lanes x {hardware.simd} SIMD, {hardware.clock_mhz:g} MHz, "
                                       f"{hardware.data_type}; mapper metric {metric}", console)
        return
    records = cost_records(cost)
    if fmt == "json":
        doc = {"network": workload.name, "hw": hardware.to_dict(), "layers": records, "totals": dict(cost.totals)}
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
