"""The ``codesign`` command: ``evaluate`` a network on an accelerator, ``search`` network + hardware jointly.

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
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Co-design of neural networks and edge accelerators.",
    pretty_exceptions_enable=False,
)
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


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def load_workload(network: str, resolution: int, batch: int) -> Any:
    """A Workload from a SCALE-Sim topology CSV path or a timm model name."""
    from . import workload as wl

    if network.lower().endswith(".csv") or os.path.sep in network:
        if not os.path.isfile(network):
            raise UsageError(f"--network {network!r}: no such file")
        return wl.from_scalesim_csv(network)
    try:
        import timm  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--network {network!r}: building timm models needs the torch extra "
            "(pip install 'codesign[search]'); a SCALE-Sim topology CSV works without it"
        ) from None
    return wl.from_timm(network, resolution=resolution, batch=batch)


def load_hardware(hw: str, overrides: dict[str, Any]) -> Any:
    """A SystolicArray from a preset name or a SCALE-Sim .cfg path, with CLI overrides applied."""
    from . import hardware

    if hw.lower().endswith(".cfg") or os.path.sep in hw:
        if not os.path.isfile(hw):
            raise UsageError(f"--hw {hw!r}: no such file")
        base = hardware.from_scalesim_cfg(hw)
    else:
        base = hardware.preset(hw)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return base.replace(**changes) if changes else base


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.4e}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_table(cost: Any, title: str, console: Console) -> None:
    cols = ("name", "macs", "row_folds", "col_folds", "cycles", "stall_cycles", "mapping_efficiency",
            "compute_utilization", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ifmap_dram_reads",
            "filter_dram_reads", "ofmap_dram_writes", "latency_ms")
    heads = ("layer", "MACs", "row folds", "col folds", "cycles", "stalls", "map eff", "util",
             "ifmap SRAM rd", "filter SRAM rd", "ofmap SRAM wr", "ifmap DRAM rd", "filter DRAM rd", "ofmap DRAM wr", "ms")
    table = Table(title=title, header_style="bold", show_lines=False, pad_edge=False)
    for i, h in enumerate(heads):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for rec in cost.layers:
        table.add_row(*[_fmt(rec[c]) for c in cols])
    console.print(table)
    t = cost.totals
    tot = Table(title="totals", show_header=False, header_style="bold")
    tot.add_column("metric")
    tot.add_column("value", justify="right")
    for key in ("layers", "macs", "stall_free_cycles", "stall_cycles", "cycles", "latency_ms", "compute_utilization",
                "overall_utilization", "mapping_efficiency", "sram_accesses", "dram_accesses", "dram_bytes"):
        tot.add_row(key, _fmt(t[key]))
    console.print(tot)


def cost_records(cost: Any) -> list[dict[str, Any]]:
    return [{c: rec[c] for c in LAYER_COLUMNS} for rec in cost.layers]


@app.command()
def evaluate(
    network: str = typer.Option("mobilenetv2_100", "--network", "-n", help="timm model name or SCALE-Sim topology CSV"),
    hw: str = typer.Option("systolic", "--hw", help="hardware preset (systolic, google, scale, tiny8x8, eyeriss) or SCALE-Sim .cfg"),
    rows: Optional[int] = typer.Option(None, help="PE rows (override)"),
    cols: Optional[int] = typer.Option(None, help="PE columns (override)"),
    dataflow: Optional[str] = typer.Option(None, help="os, ws or is (override)"),
    ifmap_sram_kib: Optional[float] = typer.Option(None, help="ifmap SRAM KiB (override)"),
    filter_sram_kib: Optional[float] = typer.Option(None, help="filter SRAM KiB (override)"),
    ofmap_sram_kib: Optional[float] = typer.Option(None, help="ofmap SRAM KiB (override)"),
    bandwidth: Optional[float] = typer.Option(None, "--bandwidth", help="DRAM words per cycle (override)"),
    clock_mhz: Optional[float] = typer.Option(None, help="clock in MHz, for latency_ms (override)"),
    resolution: int = typer.Option(224, help="input resolution for timm networks (px)"),
    batch: int = typer.Option(1, help="batch size N for timm networks"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write csv/json here instead of stdout"),
) -> None:
    """Per-layer cost of a network on an accelerator: folds, cycles, utilization, SRAM/DRAM traffic, latency."""
    try:
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format must be table, csv or json, got {fmt!r}")
        for name, value in (("--resolution", resolution), ("--batch", batch)):
            if value < 1:
                raise UsageError(f"{name} must be >= 1, got {value}")
        hardware = load_hardware(hw, dict(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kib=ifmap_sram_kib,
                                          filter_sram_kib=filter_sram_kib, ofmap_sram_kib=ofmap_sram_kib,
                                          dram_bw_words_per_cycle=bandwidth, clock_mhz=clock_mhz))
        workload = load_workload(network, resolution, batch)
        from .cost import evaluate as run

        cost = run(workload, hardware)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    if fmt == "table":
        console = Console(width=max(Console().width, 200)) if output is None else Console(file=open(output, "w"), width=220)
        render_table(cost, f"{workload.name} on {hardware.name}: {hardware.rows}x{hardware.cols} {hardware.dataflow}, "
                           f"{hardware.clock_mhz:g} MHz", console)
        return
    if fmt == "json":
        doc = {"network": workload.name, "hw": hardware.to_dict(), "layers": cost_records(cost), "totals": dict(cost.totals)}
        text = json.dumps(doc, indent=1)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(LAYER_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(cost_records(cost))
        text = buf.getvalue()
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(output).write_text(text)
        err.print(f"wrote {output}")


@app.command()
def search(
    out: Path = typer.Option(Path("runs/search"), "--out", help="output folder (trials.jsonl, pareto.csv, checkpoint)"),
    budget: Optional[int] = typer.Option(None, help="number of trials"),
    population: Optional[int] = typer.Option(None, help="regularized-evolution population size"),
    target_latency_ms: Optional[float] = typer.Option(None, help="latency target T of the MnasNet reward (ms)"),
    area_limit_mm2: Optional[float] = typer.Option(None, help="hard area constraint (mm^2)"),
    proxy_steps: Optional[int] = typer.Option(None, help="Fashion-MNIST training steps per network"),
    seed: int = typer.Option(0, help="random seed"),
    resume: bool = typer.Option(False, "--resume", help="continue the search checkpointed in --out"),
) -> None:
    """Joint search of a MobileNetV2-style network and a systolic array (regularized evolution, MnasNet reward)."""
    try:
        from .search.runner import run_search
    except ImportError as exc:
        _fail(f"search needs the search extra (pip install 'codesign[search]'): {exc}")
        return
    kwargs = dict(budget=budget, population=population, target_latency_ms=target_latency_ms,
                  area_limit_mm2=area_limit_mm2, proxy_steps=proxy_steps)
    for key, value in kwargs.items():
        if value is not None and value <= 0:
            _fail(f"--{key.replace('_', '-')} must be > 0, got {value}")
    try:
        summary = run_search(out, seed=seed, resume=resume, **{k: v for k, v in kwargs.items() if v is not None})
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(str(exc).splitlines()[0])
        return
    err.print(summary if isinstance(summary, str) else getattr(summary, "describe", lambda: repr(summary))())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
