"""Shared by the CLI modules: the one-line error with exit status 2, the number format of their tables
and a table of a DataFrame."""
from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

err = Console(stderr=True)


def fail(message: str) -> None:
    """Print ``error: message`` on stderr (user text escaped, so ``[...]`` is never read as markup); exit 2."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def fmt(v: Any) -> str:
    """A table cell: ``-`` for None, integers (and floats from 1e5 to 1e15, rounded to whole units: cycles, bytes,
    pJ) with thousands separators, so that a column's large values read alike; other floats to 4 significant
    digits (scientific from 1e15 on), NaN as ``nan``."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if (v.is_integer() or abs(v) >= 1e5) and abs(v) < 1e15:
            return f"{round(v):,}"
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.4e}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def require(command: str, extra: str, *modules: str) -> None:
    """Fail with one line naming the extra to install when one of ``modules`` cannot be imported."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            fail(f"codesign {command} needs {name}: pip install 'codesign[{extra}]'")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def error_line(exc: BaseException) -> str:
    """One line for an error: ``PATH: reason`` for an OSError that names a file (permission denied, a directory
    where a file was expected, ...), else the first line of the message."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    return first_line(exc)


# A column name's unit suffix as the unit is written (energy_pj -> "energy pJ", pe_mem_kib -> "pe mem KiB").
_UNITS = {"pj": "pJ", "mj": "mJ", "kib": "KiB", "mib": "MiB", "gbps": "GB/s", "mhz": "MHz", "mm2": "mm²"}


def _heading(column: str) -> str:
    """A narrow table's heading: the name broken at ``_``, its unit as written."""
    if column == "utilization":
        return "util."
    words = column.split("_")
    return " ".join(words[:-1] + [_UNITS.get(words[-1], words[-1])])


def frame_table(df: Any, columns: list[str], title: str, width: int | None = None,
                required: tuple[str, ...] = ()) -> tuple[Table, list[str]]:
    """A rich table of the DataFrame's ``columns`` (ids and ranks as written, other cells by :func:`fmt`), and the
    columns it leaves out.

    ``width``: the console's. A table wider than that gets, in turn, headings broken at ``_`` and numbers to 3
    significant digits (``2,048``, ``0.0214``, ``1.23M``), then loses columns from the right that are not in
    ``required``, until it fits. No cell is split or cut: each column is at least as wide as its longest cell
    (text cells with spaces, e.g. a mapping, may wrap at a space).
    """
    from .layer_tables import short

    def cells(narrow: bool, cols: list[str]) -> list[list[str]]:
        conv = short if narrow else fmt
        return [[str(v) if c in ("config_id", "rank") else conv(v.item() if hasattr(v, "item") else v)
                 for c, v in zip(cols, rec)] for rec in df[cols].itertuples(index=False)]

    def layout(narrow: bool, cols: list[str]) -> tuple[Table, int]:
        rows = cells(narrow, cols)
        t = Table(title=title, header_style="bold", pad_edge=False)
        heads = [_heading(c) if narrow else c for c in cols]
        widths = []
        for i, (c, head) in enumerate(zip(cols, heads)):
            texts = [r[i] for r in rows]
            words = [w for x in texts for w in x.split()] if c == "mapping" and narrow else texts
            widths.append(max([len(x) for x in words] + [max(len(p) for p in head.split()) if narrow else len(head)]))
        total = sum(widths) + 3 * len(cols) - 1  # borders and padding of a heavy-head box without edge padding
        if narrow and "mapping" in cols and width is not None and total < width:  # the slack to the mapping text
            m = cols.index("mapping")
            grow = min(width - total, max(len(r[m]) for r in rows) - widths[m]) if rows else 0
            widths[m] += max(0, grow)
            total += max(0, grow)
        for i, (c, head) in enumerate(zip(cols, heads)):
            t.add_column(head, justify="left" if i == 0 or c == "mapping" else "right", overflow="fold",
                         no_wrap=c != "mapping" and not narrow, **({"width": widths[i]} if narrow else {}))
        for r in rows:
            t.add_row(*[escape(x) for x in r])
        return t, total

    cols = list(columns)
    table, need = layout(False, cols)
    if width is None or need <= width:
        return table, []
    while True:
        table, need = layout(True, cols)
        droppable = [c for c in cols if c not in required]
        if need <= width or not droppable:
            return table, [c for c in columns if c not in cols]
        cols.remove(droppable[-1])
