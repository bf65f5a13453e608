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
    """A table cell: ``-`` for None, integers (and integral floats below 1e15) with thousands separators, other
    floats to 4 significant digits (scientific from 1e5 on), NaN as ``nan``."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
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


def frame_table(df: Any, columns: list[str], title: str) -> Table:
    """A rich table of the DataFrame's ``columns`` (ids and ranks as written, other cells by :func:`fmt`)."""
    t = Table(title=title, header_style="bold", pad_edge=False)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 or c == "mapping" else "right", no_wrap=c == "mapping")
    for rec in df[columns].itertuples(index=False):
        t.add_row(*[str(v) if c in ("config_id", "rank") else fmt(v.item() if hasattr(v, "item") else v)
                    for c, v in zip(columns, rec)])
    return t
