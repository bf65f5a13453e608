"""The ``codesign sweep`` command (``register(app)`` adds it): a hardware space swept for one or more networks.

Bad input is answered with one line on stderr naming the option and the value, and exit status 2.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console

from ._common import error_line
from ._common import fail as _fail
from ._common import frame_table as _table
from ._common import require

err = Console(stderr=True)


def sweep_command(
    network: List[str] = typer.Option(["mobilenetv2_100"], "--network", "-n",
                                      help="timm model name or SCALE-Sim topology CSV (repeat for several)"),
    space: str = typer.Option("edgetpu-space", "--space",
                              help="edgetpu-space (the template's 50,000 published configurations), systolic-space, "
                                   "or a YAML/TOML/JSON space file"),
    where: Optional[str] = typer.Option(None, "--where",
                                        help="filter over configuration fields, e.g. 'pe_x * pe_y <= 16 and simd >= 32'"),
    sample: Optional[int] = typer.Option(None, "--sample", help="evaluate N configurations drawn at random"),
    seed: int = typer.Option(0, "--seed", help="seed of --sample"),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o",
                             help="a directory (Parquet dataset) or a .csv file"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="parquet or csv (default: from --out)"),
    chunk_size: int = typer.Option(1024, "--chunk-size", help="configurations per batched call and written chunk"),
    threads: int = typer.Option(0, "--threads", help="C++ threads per batched call (0 = all cores)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="start a Dask LocalCluster of N worker processes"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://HOST:PORT"),
    resume: bool = typer.Option(False, "--resume", help="continue the sweep in --out"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start afresh even if --out holds a sweep"),
    metric: str = typer.Option("latency", "--metric", help="Edge-TPU mapper metric: latency, energy or edp"),
    budget: int = typer.Option(0, "--budget", help="Edge-TPU mapper: most mappings per layer (0 = all)"),
    patience: int = typer.Option(0, "--patience", help="Edge-TPU mapper: stop after N non-improving mappings"),
    mapper_seed: int = typer.Option(0, "--mapper-seed", help="Edge-TPU mapper: sampling seed"),
    objectives: Optional[str] = typer.Option(None, "--objectives",
                                             help="Pareto objectives, comma-separated (default: latency_ms, "
                                                  "energy_mj, area_mm2; latency_ms, area_mm2 for systolic spaces)"),
    top: int = typer.Option(15, "--top", help="Pareto rows printed per network"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar on stderr"),
    resolution: Optional[int] = typer.Option(None, "--resolution",
                                             help="input resolution for timm networks (px); default: the model's "
                                                  "own (pretrained_cfg input_size)"),
    batch: int = typer.Option(1, "--batch", help="batch size N for timm networks"),
) -> None:
    """Sweep a hardware space for one or more networks: batched, streamed to Parquet/CSV, resumable, Dask-ready;
    prints the Pareto front. Needs the sweep extra (pandas; pyarrow for Parquet output, dask for --workers)."""
    require("sweep", "sweep", "pandas")
    if not (fmt == "csv" or (fmt is None and out.suffix.lower() == ".csv")):
        require("sweep", "sweep", "pyarrow")
    if workers is not None or scheduler is not None:
        require("sweep", "sweep", "dask.distributed")
    from ..cost import MapperOptions
    from ..sweep import sweep

    try:
        for name, value in (("--resolution", resolution), ("--batch", batch), ("--top", top)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0 <= mapper_seed < 2**63:
            raise ValueError(f"--mapper-seed must be between 0 and 2**63 - 1, got {mapper_seed}")
        for net in network:
            if not net.strip():
                raise ValueError(f"--network must be a timm model name or a SCALE-Sim topology CSV, got {net!r}")
        mapper = MapperOptions(metric=metric, budget=budget, patience=patience, seed=mapper_seed)
        objs = [o.strip() for o in objectives.split(",") if o.strip()] if objectives else None
        if objectives is not None and not objs:
            raise ValueError(f"--objectives must name at least one metric, got {objectives!r}")
        summary = sweep(list(network), space, where=where, sample=sample, seed=seed, out=out, fmt=fmt, resume=resume,
                        overwrite=overwrite, chunk_size=chunk_size, threads=threads, mapper=mapper,
                        scheduler=scheduler, workers=workers, objectives=objs, progress=progress,
                        resolution=resolution, batch=batch)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        _fail(error_line(exc))
        return
    except KeyboardInterrupt:
        Console(stderr=True).print(f"interrupted: every finished chunk is kept in {out}; continue with the same "
                                   "command and --resume", highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    console = Console()  # its own width: a terminal's, or 80 in a pipe
    resumed = f", {summary.chunks_skipped} resumed" if summary.chunks_skipped else ""
    console.print(f"[bold]{summary.configs:,}[/] configurations x {len(network)} network(s) = {summary.rows:,} rows in "
                  f"{summary.chunks} chunks ({summary.chunks_computed} computed{resumed}) in {summary.seconds:.1f} s "
                  f"(evaluation {summary.eval_seconds:.1f} s, {summary.configs_per_s:,.0f} configurations/s); "
                  f"{summary.failed:,} rows with ok=False")
    pareto = summary.pareto
    if len(pareto):
        from ..sweep import load_space

        fields = list(load_space(space).fields)
        for net, part in pareto.groupby("network", sort=False):
            cols = ["config_id", *fields, *summary.objectives]
            title = (f"{net}: {len(part):,} Pareto-optimal configurations (minimising "
                     f"{', '.join(summary.objectives)}){'; first ' + str(top) if len(part) > top else ''}")
            table, left_out = _table(part.head(top), cols, title, console.width,
                                     required=("config_id", *summary.objectives))
            console.print(table)
            if left_out:
                console.print(f"not shown at this width: {', '.join(left_out)} (in {summary.pareto_path})",
                              style="dim", highlight=False)
    else:
        console.print("no configuration could be evaluated: no Pareto front")
    console.print(f"results: {summary.out} ({summary.format})\nPareto front: {summary.pareto_path}")


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to the ``codesign`` Typer app."""
    app.command("sweep")(sweep_command)
