"""The ``codesign map`` and ``codesign plot`` commands (``register(app)`` adds them): the map space of one layer
on one accelerator, and plots of sweep results or map spaces against a swept parameter.

Bad input is answered with one line on stderr naming the option and the value, and exit status 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ._common import error_line
from ._common import fail as _fail
from ._common import first_line as _first_line
from ._common import fmt as _fmt
from ._common import frame_table as _table
from ._common import require

err = Console(stderr=True)


def map_command(
    layer: str = typer.Option(..., "--layer", "-l", help="e.g. 'conv K=64 C=64 P=56 Q=56 R=3 S=3', 'dwconv C=96 P=56 "
                                                        "R=3 stride=2', 'fc C=1280 K=1000', 'gemm M=128 N=64 K=128'"),
    hw: str = typer.Option("edgetpu", "--hw", help="hardware preset or SCALE-Sim .cfg (as codesign evaluate)"),
    metric: str = typer.Option("latency", "--metric", help="rank by latency, energy or edp"),
    dataflow: Optional[str] = typer.Option(None, "--dataflow",
                                           help="systolic: os, ws or is (default: all three); Edge-TPU: lanes ws or os"),
    top: int = typer.Option(10, "--top", "-k", help="alternatives shown"),
    dump_all: bool = typer.Option(False, "--all", help="write the whole evaluated map space (Parquet, or CSV for .csv)"),
    out: Path = typer.Option(Path("mapspace.parquet"), "--out", "-o", help="where --all writes"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json (the top-k)"),
    budget: int = typer.Option(0, "--budget", help="mapper: most mappings (0 = exhaustive)"),
    seed: int = typer.Option(0, "--seed", help="mapper: sampling seed"),
    constraint: Optional[list[str]] = typer.Option(
        None, "--constraint", "-c", help="Edge-TPU mapper constraint, repeatable: pe_x=K, pe_y=P,Q, simd=C, "
                                         "pe_x.factor=8, tiles.C=4, order=weight|output|input, inner=ws|os"),
    space_kind: str = typer.Option("complete", "--space", help="Edge-TPU mapper's map space: complete (the one "
                                                               "listed) or compact (what evaluate and sweep search)"),
    pe_x: Optional[int] = typer.Option(None, help="Edge-TPU template: PEs in x (override)"),
    pe_y: Optional[int] = typer.Option(None, help="Edge-TPU template: PEs in y (override)"),
    lanes: Optional[int] = typer.Option(None, help="Edge-TPU template: lanes per PE (override)"),
    simd: Optional[int] = typer.Option(None, help="Edge-TPU template: SIMD units per lane (override)"),
    core_mem_kib: Optional[float] = typer.Option(None, help="Edge-TPU template: core memory per PE, KiB"),
    pe_mem_kib: Optional[float] = typer.Option(None, help="Edge-TPU template: PE memory per PE, KiB"),
    io_bw_gbps: Optional[float] = typer.Option(None, help="Edge-TPU template: I/O bandwidth, GB/s"),
    rows: Optional[int] = typer.Option(None, help="systolic: PE rows (override)"),
    cols: Optional[int] = typer.Option(None, help="systolic: PE columns (override)"),
) -> None:
    """Best mapping of one layer on one accelerator and the top-k alternatives with their costs; --all dumps the
    map space. Needs the map extra (pandas; pyarrow for a Parquet --all)."""
    require("map", "map", "pandas")
    from .evaluate import UsageError, load_hardware
    from ..cost import MapperOptions
    from ..map_constraints import MapConstraints
    from ..mapping_study import map_study, parse_layer

    try:
        if fmt not in ("table", "csv", "json"):
            raise ValueError(f"--format must be table, csv or json, got {fmt!r}")
        if top < 1:
            raise ValueError(f"--top must be >= 1, got {top}")
        for name, value in (("--budget", budget), ("--seed", seed)):
            if not 0 <= value < 2**63:
                raise ValueError(f"{name} must be between 0 and 2**63 - 1, got {value}")
        if dump_all and out.suffix.lower() not in (".csv", ".parquet", ".pq", ""):
            raise ValueError(f"--out {str(out)!r}: --all writes Parquet (.parquet) or CSV (.csv), not {out.suffix!r}")
        the_layer = parse_layer(layer)
        hardware = load_hardware(hw, dict(pe_x=pe_x, pe_y=pe_y, lanes=lanes, simd=simd, core_mem_kib=core_mem_kib,
                                          pe_mem_kib=pe_mem_kib, io_bw_gbps=io_bw_gbps, rows=rows, cols=cols))
        if type(hardware).__name__ == "SystolicArray" and (budget != 0 or seed != 0 or constraint):
            raise UsageError(f"--budget, --seed and --constraint narrow the Edge-TPU mapper's map space; {hw!r} is a "
                             f"systolic array, whose whole map space (three dataflows) is always shown")
        if space_kind not in ("compact", "complete"):
            raise ValueError(f"--space must be compact or complete, got {space_kind!r}")
        cons = MapConstraints.parse(constraint or [])
        study = map_study(the_layer, hardware, metric=metric, dataflow=dataflow,
                          mapper=MapperOptions(metric=metric, budget=budget, seed=seed, constraints=cons or None,
                                               space=space_kind))
    except (UsageError, ValueError, TypeError, OSError) as exc:
        _fail(error_line(exc))
        return
    space = study.space
    if dump_all:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".csv":
                space.to_csv(out, index=False)
            else:
                space.to_parquet(out, index=False)
        except ImportError as exc:
            _fail(f"--all needs pyarrow for Parquet (pip install pyarrow) or a .csv --out: {_first_line(exc)}")
            return
        except OSError as exc:
            _fail(f"--out {str(out)!r}: {_first_line(exc)}")
            return
        err.print(f"wrote {len(space):,} mappings to {out}")
    head = space.head(top)
    if fmt == "json":
        doc = {"layer": the_layer.name, "hw": hardware.to_dict(), "metric": metric, "map_space_size": len(space),
               "best": json.loads(head.head(1).to_json(orient="records"))[0],
               "top": json.loads(head.to_json(orient="records"))}
        if study.mapper_best is not None:
            doc["mapper_best"] = study.mapper_best
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write(head.to_csv(index=False))
        return
    console = Console()  # its own width: a terminal's, or 80 in a pipe
    edge = type(hardware).__name__ == "EdgeTpuConfig"
    cols_ = (["rank", "mapping", "cycles", "latency_ms", "energy_pj", "utilization", "bound", "core_mem_bytes",
              "pe_mem_bytes", "dram_w_bytes"] if edge else
             ["rank", "mapping", "cycles", "stall_cycles", "mapping_efficiency", "compute_utilization", "latency_ms"])
    if edge:
        head = head.assign(bound=["memory" if b else "compute" for b in head["memory_bound"]])
    best = space.iloc[0]
    shape = (f"N={the_layer.n} K={the_layer.k} C={the_layer.c} P={the_layer.p} Q={the_layer.q} R={the_layer.r} "
             f"S={the_layer.s} stride={the_layer.stride_h} groups={the_layer.groups}")
    console.print(f"[bold]{the_layer.kind} {shape}[/] on {hardware.name}: {len(space):,} legal mappings, "
                  f"ranked by {metric}")
    console.print(f"best: [bold]{best['mapping']}[/]\n      cycles {_fmt(float(best['cycles']))}"
                  + (f", energy {_fmt(float(best['energy_pj']))} pJ" if edge else ""))
    pick = study.mapper_best
    if edge and pick is not None and space_kind == "compact":  # the table ranks the complete lattice
        console.print(f"mapper's pick (--space compact, as evaluate and sweep map):\n      [bold]{pick['mapping']}[/]"
                      f"\n      cycles {_fmt(float(pick['cycles']))}, energy {_fmt(float(pick['energy_pj']))} pJ")
    table, left_out = _table(head, [c for c in cols_ if c in head.columns], f"top {len(head)}", console.width,
                             required=("rank", "mapping", "cycles", "latency_ms"))
    console.print(table)
    if edge:  # how to read a mapping (edgetpu_cost._mapping_texts)
        console.print("mapping: dims on pe_x/pe_y/lanes/simd, tile counts > 1, tile order, ws/os lanes",
                      style="dim", highlight=False)
    if left_out:
        console.print(f"not shown at this width: {', '.join(left_out)} (--format csv or json has them)", style="dim",
                      highlight=False)


def plot_command(
    results: Path = typer.Argument(..., help="sweep output (Parquet directory or CSV) or a map space (codesign map --all)"),
    x: str = typer.Option(..., "--x", help="swept parameter on the x axis, e.g. pe_x, simd, io_bw_gbps"),
    y: Optional[str] = typer.Option(None, "--y", help="metrics, comma-separated (default latency_ms,energy_mj)"),
    network: Optional[str] = typer.Option(None, "--network", "-n", help="only this network"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG path (default: RESULTS_X.png next to it)"),
    title: Optional[str] = typer.Option(None, "--title", help="figure title"),
) -> None:
    """Plot latency/energy (or any metric) against a swept parameter: every point, best and median per value
    (PNG). Needs the plot extra (pandas, matplotlib; pyarrow for Parquet)."""
    require("plot", "plot", "pandas", "matplotlib")
    from ..mapping_study import plot_sweep, read_table

    try:
        df = read_table(results)
        ys = [c.strip() for c in y.split(",") if c.strip()] if y else None
        target = out or results.with_name(f"{results.stem}_{x}.png")
        path = plot_sweep(df, x, y=ys, out=target, network=network, title=title)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        _fail(error_line(exc))
        return
    err.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``map`` and ``plot`` commands to the ``codesign`` Typer app."""
    app.command("map")(map_command)
    app.command("plot")(plot_command)
