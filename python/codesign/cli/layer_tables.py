"""The per-layer tables of ``codesign evaluate``: readable at 80 columns and in a pipe, complete with ``--wide``.

A number is never split over lines. By default the table keeps the columns that fit the console's width (80 in
a pipe or a file, rich's default), in order of importance (layer, MACs, cycles, ms, utilization first), with
counts shortened to three significant digits and an SI suffix (``107M``, ``3.35G``); a line under it names the
columns left out. ``wide=True`` shows every column with full numbers (thousands separators), whatever the
width. The totals table always holds every total with full numbers.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from ._common import fmt

__all__ = ["render_systolic", "render_edgetpu", "short"]

#: (record key, heading): in order of importance, the first kept when the console is narrow.
SYSTOLIC_COLUMNS = (
    ("name", "layer"), ("macs", "MACs"), ("cycles", "cycles"), ("latency_ms", "ms"), ("compute_utilization", "util"),
    ("mapping_efficiency", "map eff"), ("stall_cycles", "stalls"), ("row_folds", "row folds"),
    ("col_folds", "col folds"), ("ifmap_dram_reads", "ifmap DRAM rd"), ("filter_dram_reads", "filter DRAM rd"),
    ("ofmap_dram_writes", "ofmap DRAM wr"), ("ifmap_sram_reads", "ifmap SRAM rd"),
    ("filter_sram_reads", "filter SRAM rd"), ("ofmap_sram_writes", "ofmap SRAM wr"),
)
SYSTOLIC_ORDER = ("name", "macs", "row_folds", "col_folds", "cycles", "stall_cycles", "mapping_efficiency",
                  "compute_utilization", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                  "ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes", "latency_ms")
SYSTOLIC_TOTALS = ("layers", "macs", "stall_free_cycles", "stall_cycles", "cycles", "latency_ms",
                   "compute_utilization", "overall_utilization", "mapping_efficiency", "sram_accesses",
                   "dram_accesses", "dram_bytes")

EDGETPU_COLUMNS = (
    ("name", "layer"), ("macs", "MACs"), ("cycles", "cycles"), ("latency_ms", "ms"), ("utilization", "util"),
    ("bound", "bound"), ("energy_pj", "energy pJ"), ("compute_cycles", "compute"), ("io_cycles", "I/O"),
    ("dram_w_bytes", "DRAM W B"), ("dram_i_bytes", "DRAM I B"), ("dram_o_bytes", "DRAM O B"),
    ("mapping", "mapping (PEx/PEy/lane/SIMD, tiles, order, lanes)"), ("cached_w_bytes", "cached W B"),
    ("streamed_w_bytes", "streamed W B"), ("on_host", "host"),
)
EDGETPU_ORDER = ("name", "macs", "cycles", "compute_cycles", "io_cycles", "utilization", "bound", "energy_pj",
                 "dram_w_bytes", "dram_i_bytes", "dram_o_bytes", "cached_w_bytes", "streamed_w_bytes", "on_host",
                 "mapping", "latency_ms")
EDGETPU_TOTALS = ("layers", "macs", "cycles", "latency_ms", "utilization", "energy_mj", "mac_pj", "core_w_pj",
                  "pe_i_pj", "pe_o_pj", "onchip_w_pj", "dram_w_pj", "dram_i_pj", "dram_o_pj", "leak_pj",
                  "edp_mj_ms", "dram_bytes", "params_bytes", "cached_params_bytes", "streamed_params_bytes",
                  "memory_bound_layers", "activation_reserve_bytes", "device_cycles", "transfer_cycles",
                  "host_cycles", "host_layers", "area_mm2")
_TEXT = ("name", "bound", "mapping")
_LAYER_MIN = 8  # the layer name may shrink to this (with an ellipsis) once only the core columns are left
_CORE = 4  # layer, MACs, cycles, ms


def short(v: Any) -> str:
    """A compact cell: integers below 100,000 in full, larger ones to 3 significant digits with k/M/G/T/P/E
    (from 1e21 on in scientific notation); fractions and other floats to 3 significant digits; ``-`` for None."""
    if v is None or isinstance(v, (str, bool)):
        return fmt(v)
    x = float(v)
    if x != x:
        return "nan"
    if x.is_integer() and abs(x) < 1e5:
        return f"{int(x):,}"
    if abs(x) >= 1e5:
        for k, suffix in enumerate("kMGTPE", 1):
            text = f"{x / 1000.0 ** k:.3g}"
            if abs(float(text)) < 1000:  # rounded: 999,999 is 1M, not 1e+03k
                return text + suffix
    return f"{x:.3g}"


def _table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]],
           cell: Callable[[dict[str, Any], str], str], name_width: int | None = None) -> Table:
    table = Table(title=title, header_style="bold", pad_edge=False)
    for key, head in columns:
        table.add_column(head, justify="left" if key in _TEXT else "right", no_wrap=True,
                         overflow="ellipsis" if key == "name" else "fold",
                         max_width=name_width if key == "name" else None)
    for rec in rows:
        table.add_row(*[escape(cell(rec, key)) for key, _ in columns])
    return table


def _fit(console: Console, title: str, rows: Sequence[dict[str, Any]], ranked: Sequence[tuple[str, str]],
         cell: Callable[[dict[str, Any], str], str]) -> tuple[Table, list[str]]:
    """The table of the most important columns that fit the console with whole layer names; when even the four
    first columns (layer, MACs, cycles, ms) do not, the names are shortened with an ellipsis (to 8 characters
    at least)."""
    name_natural = max([len("layer"), *(len(str(r["name"])) for r in rows)])
    keep = list(ranked)

    # A column's natural width is its widest cell's: the rows holding some column's widest cell measure as all of
    # them do (rich measures every cell, slowly: 0.3 s for a 64-layer network).
    widest = sorted({max(range(len(rows)), key=lambda i: len(cell(rows[i], k))) for k, _ in ranked}) if rows else []
    probe = [rows[i] for i in widest]

    def natural(columns: list[tuple[str, str]]) -> int:
        return Measurement.get(console, console.options.update_width(1 << 20), _table(title, probe, columns, cell)).maximum

    # Drop columns by their own widths (each costs its widest cell or header plus padding and a rule), measured once
    # with rich; the loop below then checks the guess and drops more only if rich lays it out wider.
    width = {k: max(len(h), *(len(cell(r, k)) for r in rows)) + 3 for k, h in ranked}
    total = natural(keep)
    while len(keep) > _CORE and total > console.width:
        total -= width[keep.pop()[0]]
    while True:
        excess = natural(keep) - console.width
        if excess <= 0:
            return _table(title, rows, keep, cell), [h for k, h in ranked if (k, h) not in keep]
        if len(keep) <= _CORE:
            table = _table(title, rows, keep, cell, name_width=max(_LAYER_MIN, name_natural - excess))
            return table, [h for k, h in ranked if (k, h) not in keep]
        keep.pop()


def _render(cost: Any, title: str, console: Console, *, wide: bool, ranked: Sequence[tuple[str, str]],
            order: Sequence[str], totals: Sequence[str], cell_full: Callable[[dict[str, Any], str], str]) -> None:
    rows = cost.layers
    if wide:
        heads = dict(ranked)
        table, dropped = _table(title, rows, [(k, heads[k]) for k in order], cell_full), []
    else:
        def cell_short(rec: dict[str, Any], key: str) -> str:
            return cell_full(rec, key) if key in _TEXT else short(rec[key])

        table, dropped = _fit(console, title, rows, ranked, cell_short)
    console.print(table)
    if dropped:
        console.print(f"{len(dropped)} more columns ({', '.join(dropped)}): --wide, or --format csv",
                      highlight=False, style="dim")
    tot = Table(title="totals", show_header=False)
    tot.add_column("metric", no_wrap=True)
    tot.add_column("value", justify="right", no_wrap=True)
    t = cost.totals
    for key in totals:
        v = t[key]
        if isinstance(v, float) and v.is_integer() and key not in ("utilization", "compute_utilization"):
            v = int(v)
        tot.add_row(key, fmt(v))
    console.print(tot)


def render_systolic(cost: Any, title: str, console: Console, *, wide: bool = False) -> None:
    """The per-layer table and totals of a :class:`codesign.cost.NetworkCost`."""
    _render(cost, title, console, wide=wide, ranked=SYSTOLIC_COLUMNS, order=SYSTOLIC_ORDER, totals=SYSTOLIC_TOTALS,
            cell_full=lambda rec, key: fmt(rec[key]))


def _edgetpu_cell(rec: dict[str, Any], key: str) -> str:
    v = rec[key]
    if key == "mapping" and not rec["macs"]:
        return "- (vector unit)"
    if key != "utilization" and isinstance(v, float) and v.is_integer():
        v = int(v)
    return fmt(v)


def render_edgetpu(cost: Any, title: str, console: Console, *, wide: bool = False) -> None:
    """The per-layer table and totals of a :class:`codesign.cost.EdgeTpuNetworkCost`."""
    _render(cost, title, console, wide=wide, ranked=EDGETPU_COLUMNS, order=EDGETPU_ORDER, totals=EDGETPU_TOTALS,
            cell_full=_edgetpu_cell)
